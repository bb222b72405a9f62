// LocalStore against IndexedDB semantics (fake-indexeddb, a fresh factory per test): geometric
// compaction keeps every update and bounds what is written, another tab's writes survive our
// compaction, a corrupt entry is skipped, and the client id is reused only when it is safe.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { LocalStore } from '../../src/net/local-store'
import { CLIENT_LEASE_KEY } from '../../src/net/client-id-lease'
import { memoryLocks } from '../support/memory-locks'

function readAll(
  factory: IDBFactory,
  name: string,
  store: string,
  what: 'values' | 'keys' = 'values',
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const open = factory.open(name)
    open.onerror = () => reject(open.error ?? new Error('open failed'))
    open.onsuccess = () => {
      const db = open.result
      const objects = db.transaction(store).objectStore(store)
      const request = what === 'keys' ? objects.getAllKeys() : objects.getAll()
      request.onsuccess = () => {
        db.close()
        resolve(request.result)
      }
      request.onerror = () => reject(request.error ?? new Error('read failed'))
    }
  })
}

async function openStore(factory: IDBFactory, locks = memoryLocks(), name = 'room') {
  const doc = new Y.Doc()
  const store = new LocalStore(name, doc, { factory, locks })
  await store.loaded()
  return { doc, store, text: doc.getMap<string>('m') }
}

describe('LocalStore', () => {
  it('keeps every update through compactions, and the log stays bounded', async () => {
    const factory = new IDBFactory()
    const { doc, store, text } = await openStore(factory)
    const line = 'x'.repeat(200)
    for (let i = 0; i < 2_000; i++) {
      text.set(`k${i}`, `${line}${i}`)
      if (i % 50 === 0) await store.flushed()
    }
    await store.destroy()
    doc.destroy()
    const entries = await readAll(factory, 'room', 'updates')
    // Compacted at least once (2,000 separate updates otherwise).
    expect(entries.length).toBeLessThan(2_000)
    const again = await openStore(factory)
    expect(again.text.size).toBe(2_000)
    expect(again.text.get('k1999')).toBe(`${line}1999`)
    await again.store.destroy()
  })

  it("stores a newcomer's first sync once: it is the snapshot, not a log to compact", async () => {
    const factory = new IDBFactory()
    const { doc, store } = await openStore(factory)
    await store.flushed()
    const keysBefore = await readAll(factory, 'room', 'updates', 'keys')
    const peer = new Y.Doc()
    for (let i = 0; i < 1_000; i++) peer.getMap<string>('m').set(`k${i}`, 'z'.repeat(300))
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer))
    await store.flushed()
    // Far above the compaction threshold, yet only added: nothing rewritten, nothing removed.
    const keys = await readAll(factory, 'room', 'updates', 'keys')
    expect(keys.slice(0, -1)).toEqual(keysBefore)
    const entries = (await readAll(factory, 'room', 'updates')) as Uint8Array[]
    expect(entries[entries.length - 1].length).toBeGreaterThan(300_000)
    await store.destroy()
  })

  it("applies another tab's updates before compacting, so none is lost", async () => {
    const factory = new IDBFactory()
    const locks = memoryLocks()
    const a = await openStore(factory, locks)
    const b = await openStore(factory, locks)
    b.text.set('from-b', 'kept')
    await b.store.flushed()
    // A never received B's update (no provider between them), then compacts.
    for (let i = 0; i < 500; i++) a.text.set(`a${i}`, 'y'.repeat(300))
    await a.store.flushed()
    await a.store.destroy()
    await b.store.destroy()
    const reopened = await openStore(factory, locks)
    expect(reopened.text.get('from-b')).toBe('kept')
    expect(reopened.text.size).toBe(501)
    await reopened.store.destroy()
  })

  it('skips a corrupt entry and counts it', async () => {
    const factory = new IDBFactory()
    const first = await openStore(factory)
    first.text.set('a', '1')
    await first.store.destroy()
    await new Promise<void>((resolve, reject) => {
      const open = factory.open('room')
      open.onsuccess = () => {
        const tx = open.result.transaction('updates', 'readwrite')
        tx.objectStore('updates').add(Uint8Array.of(0, 255, 255, 255, 255, 7, 1, 2, 3))
        tx.oncomplete = () => {
          open.result.close()
          resolve()
        }
        tx.onerror = () => reject(tx.error ?? new Error('write failed'))
      }
    })
    const again = await openStore(factory)
    expect(again.store.damagedUpdates).toBe(1)
    expect(again.text.get('a')).toBe('1')
    await again.store.destroy()
  })

  it('reuses the client id of a session that ended cleanly, one tab at a time', async () => {
    const factory = new IDBFactory()
    const locks = memoryLocks()
    const first = await openStore(factory, locks)
    first.text.set('a', '1')
    const id = first.doc.clientID
    expect(first.store.reusedClientId).toBe(false)
    // A second tab while the first is open takes a fresh id.
    const second = await openStore(factory, locks)
    expect(second.store.reusedClientId).toBe(false)
    expect(second.doc.clientID).not.toBe(id)
    await second.store.destroy()
    await first.store.destroy()

    const next = await openStore(factory, locks)
    expect(next.store.reusedClientId).toBe(true)
    expect(next.doc.clientID).toBe(id)
    // It continues the clock where the id's last write left off.
    next.text.set('b', '2')
    expect(Y.encodeStateVector(next.doc)).toEqual(
      Y.encodeStateVector(
        (() => {
          const d = new Y.Doc()
          d.clientID = id
          d.getMap('m').set('a', '1')
          d.getMap('m').set('b', '2')
          return d
        })(),
      ),
    )
    await next.store.destroy()
  })

  it('reuses an id only with what its last session stored after we loaded', async () => {
    const factory = new IDBFactory()
    const locks = memoryLocks()
    const first = await openStore(factory, locks)
    first.text.set('a', '1')
    await first.store.flushed()
    // A second tab loads the database, but gets the lock only once the first has closed.
    let openGate = () => undefined as void
    const gate = new Promise<void>((resolve) => (openGate = resolve))
    const gated: typeof locks = {
      held: () => locks.held(),
      request: async (name, options, callback) => {
        await gate
        return locks.request(name, options, callback)
      },
    }
    const doc = new Y.Doc()
    const second = new LocalStore('room', doc, { factory, locks: gated })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(doc.getMap('m').get('a')).toBe('1')
    first.text.set('late', '2')
    await first.store.destroy()
    openGate()
    await second.loaded()
    expect(second.reusedClientId).toBe(true)
    expect(doc.clientID).toBe(first.doc.clientID)
    expect(doc.getMap('m').get('late')).toBe('2')
    await second.destroy()
  })

  it('takes a fresh id after a session that did not end cleanly, or without Web Locks', async () => {
    const factory = new IDBFactory()
    const locks = memoryLocks()
    const crashed = await openStore(factory, locks)
    crashed.text.set('a', '1')
    await crashed.store.flushed()
    // No destroy(): the lease stays "in use", as after a crash. Free the lock as a dead tab would.
    const lease = (await readAll(factory, 'room', 'custom'))[0] as { clean: boolean }
    expect(lease.clean).toBe(false)
    const afterCrash = await openStore(factory, memoryLocks())
    expect(afterCrash.store.reusedClientId).toBe(false)
    expect(afterCrash.doc.clientID).not.toBe(crashed.doc.clientID)
    await afterCrash.store.destroy()

    const noLocks = new LocalStore('room', new Y.Doc(), { factory, locks: null })
    await noLocks.loaded()
    expect(noLocks.reusedClientId).toBe(false)
    await noLocks.destroy()
    expect(CLIENT_LEASE_KEY).toMatch(/client/)
  })

  it('reports a failed write', async () => {
    const factory = new IDBFactory()
    const { doc, store, text } = await openStore(factory)
    const failures: Error[] = []
    store.onWriteError((error) => failures.push(error))
    // Simulate the database going away under us (e.g. the browser evicting it).
    ;(store as unknown as { db: IDBDatabase }).db.close()
    text.set('lost', 'value')
    await store.flushed()
    expect(failures).toHaveLength(1)
    expect(store.writeError).toBe(failures[0])
    await store.destroy()
    doc.destroy()
  })
})
