// An in-process stand-in for the Web Locks API (`navigator.locks`), which Node 20 lacks:
// enough of `request(name, { ifAvailable: true }, callback)` for LocalStore's client-id lease.
import type { LockManagerLike } from '../../src/net/client-id-lease'

export function memoryLocks(): LockManagerLike & { held(): string[] } {
  const held = new Set<string>()
  return {
    held: () => [...held],
    async request(name, _options, callback) {
      if (held.has(name)) return callback(null)
      held.add(name)
      try {
        return await callback({ name })
      } finally {
        held.delete(name)
      }
    },
  }
}
