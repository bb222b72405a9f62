// The embedded store in a child process, so tests can SIGKILL it mid-write or hold its lock.
// Run as `node --import tsx level-store-child.ts` with an IPC channel; configured by environment:
//
//   PARLEY_DATA_DIR   the data directory
//   PARLEY_MODE       `write`: append to PARLEY_ROOMS rooms as fast as it can, forever;
//                     `hold`: open the store and keep it open
//   child → {event:'ready'}                     store open
//           {event:'acked', room, index}        append of update `<room>:<index>` resolved
//           {event:'fatal', message}

import { silentLogger } from '../../signaling/log'
import { LevelRoomStore } from '../../signaling/store/level-store'

export type LevelChildEvent =
  | { event: 'ready' }
  | { event: 'acked'; room: string; index: number }
  | { event: 'fatal'; message: string }

// An orphan (parent killed before cleanup) must not write forever: longer than any test.
const WATCHDOG_MS = 60_000

function report(event: LevelChildEvent): void {
  process.send?.(event)
}

async function main(): Promise<void> {
  setTimeout(() => process.exit(2), WATCHDOG_MS).unref()
  const dataDir = process.env.PARLEY_DATA_DIR
  if (!dataDir) throw new Error('PARLEY_DATA_DIR is not set')
  const store = await LevelRoomStore.open({ dataDir, logger: silentLogger })
  report({ event: 'ready' })
  if (process.env.PARLEY_MODE === 'hold') {
    setInterval(() => undefined, 1_000)
    return
  }
  const rooms = Number(process.env.PARLEY_ROOMS ?? '4')
  // Updates a few KB each, so the process is killed while LevelDB is writing, not idle.
  const filler = new Uint8Array(4096).fill(1)
  await Promise.all(
    Array.from({ length: rooms }, async (_, r) => {
      const room = `room-${r}`
      for (let index = 0; ; index++) {
        const label = new TextEncoder().encode(`${room}:${index}|`)
        const value = new Uint8Array(label.length + filler.length)
        value.set(label)
        value.set(filler, label.length)
        await store.append(room, [value])
        report({ event: 'acked', room, index })
      }
    }),
  )
}

main().catch((error: unknown) => {
  report({ event: 'fatal', message: error instanceof Error ? error.message : String(error) })
  process.exit(1)
})
