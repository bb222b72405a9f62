// LocalStore when storage fails (fake-indexeddb made to refuse writes, or closed as a browser
// does when it evicts a site): the failure is an observable `problem`, nothing written is
// dropped, and storage working again clears it. Also: a room new in this browser asks for
// persistent storage once it is stored.
import 'fake-indexeddb/auto'
import { IDBFactory, forceCloseDatabase } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { LocalStore } from '../../src/net/local-store'
import type { StorageManagerLike } from '../../src/net/storage-problem'
import { refuseWrites } from '../support/failing-indexeddb'

function fakeStorageManager(): StorageManagerLike & { asked: number; granted: boolean } {
  const manager = {
    asked: 0,
    granted: false,
    persisted: () => Promise.resolve(manager.granted),
    persist: () => {
      manager.asked += 1
      manager.granted = true
      return Promise.resolve(true)
    },
  }
  return manager
}

async function openStore(factory: IDBFactory, storage: StorageManagerLike | null = null) {
  const doc = new Y.Doc()
  const store = new LocalStore('room', doc, { factory, locks: null, storage })
  await store.loaded()
  return { doc, store, text: doc.getMap<string>('m') }
}

describe('LocalStore when storage fails', () => {
  it('a full quota is a problem until a write succeeds, and the refused update is written then', async () => {
    const factory = new IDBFactory()
    const { store, text } = await openStore(factory)
    const seen: (string | null)[] = []
    store.problemChanged.subscribe(() => seen.push(store.problem))
    const restore = refuseWrites('updates')
    try {
      text.set('refused', 'first')
      await store.flushed()
    } finally {
      restore()
    }
    expect(store.problem).toBe('quota')
    expect(store.writeError?.name).toBe('QuotaExceededError')
    text.set('later', 'second')
    await store.flushed()
    expect(store.problem).toBeNull()
    expect(seen).toEqual(['quota', null])
    await store.destroy()
    const again = await openStore(factory)
    expect(again.text.toJSON()).toEqual({ refused: 'first', later: 'second' })
    await again.store.destroy()
  })

  it('the browser closing the database (eviction) is a problem too', async () => {
    const factory = new IDBFactory()
    const { store, text } = await openStore(factory)
    const changed = new Promise<void>((resolve) => store.problemChanged.subscribe(resolve))
    const db = (store as unknown as { db: IDBDatabase }).db
    // fake-indexeddb types its argument as the class, but it takes the connection.
    forceCloseDatabase(db as unknown as Parameters<typeof forceCloseDatabase>[0])
    await changed
    expect(store.problem).toBe('failed')
    text.set('not stored', 'x')
    await store.flushed()
    expect(store.problem).toBe('failed')
    await store.destroy()
  })

  it('asks for persistent storage once a new room is stored, not for a room stored before', async () => {
    const factory = new IDBFactory()
    const storage = fakeStorageManager()
    const first = await openStore(factory, storage)
    expect(storage.asked).toBe(0)
    first.text.set('a', '1')
    await first.store.flushed()
    await expect.poll(() => storage.asked).toBe(1)
    await first.store.destroy()
    storage.granted = false
    const again = await openStore(factory, storage)
    again.text.set('b', '2')
    await again.store.flushed()
    await again.store.destroy()
    expect(storage.asked).toBe(1)
  })
})
