// A room's IndexedDB holding hostile entries (fake-indexeddb: IndexedDB's semantics in Node). The
// stored updates LocalStore replays go through the same structural guard as updates from the
// network (src/net/stored-update-guard.ts): a damaged or tampered entry is skipped before Yjs
// reads any of it, counted as damaged (the room view says so), and the rest of the room loads.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { LocalStore } from '../../src/net/local-store'

/** Inserts "hi" into text `t`, then a struct whose origin is its own client's later clock:
 * Yjs integrates the first and throws on the second, leaving "hi" in the document. */
function halfAppliedUpdate(): Uint8Array {
  const encoder = encoding.createEncoder()
  const uint = (n: number) => encoding.writeVarUint(encoder, n)
  uint(1) // clients
  uint(2) // structs
  uint(5) // client
  uint(0) // clock
  encoding.writeUint8(encoder, 4) // String item, parent given
  uint(1) // parent is a key
  encoding.writeVarString(encoder, 't')
  encoding.writeVarString(encoder, 'hi')
  encoding.writeUint8(encoder, 128 | 4) // String item with an origin
  uint(5) // origin: client 5 ...
  uint(7) // ... clock 7, after this struct's own clock 2
  encoding.writeVarString(encoder, 'x')
  uint(0) // delete set: no clients
  return encoding.toUint8Array(encoder)
}

/** `[clients][structs][client][clock]` claiming 2^24 - 1 structs in 7 bytes: Yjs allocates an
 * array of that length before reading a struct (docs/relay.md). */
function decodeBomb(): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const n of [1, 2 ** 24 - 1, 0, 0]) encoding.writeVarUint(encoder, n)
  return encoding.toUint8Array(encoder)
}

/** Writes `values` into a store of the room's database, as a tampering page or a damaged disk. */
function tamper(factory: IDBFactory, store: string, values: [unknown, string?][]): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = factory.open('room')
    open.onerror = () => reject(open.error ?? new Error('open failed'))
    open.onsuccess = () => {
      const tx = open.result.transaction(store, 'readwrite')
      for (const [value, key] of values) {
        if (key === undefined) tx.objectStore(store).add(value)
        else tx.objectStore(store).put(value, key)
      }
      tx.oncomplete = () => {
        open.result.close()
        resolve()
      }
      tx.onerror = () => reject(tx.error ?? new Error('write failed'))
    }
  })
}

async function openStore(factory: IDBFactory) {
  const doc = new Y.Doc()
  const store = new LocalStore('room', doc, { factory, locks: null, storage: null })
  await store.loaded()
  return { doc, store }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('LocalStore replaying a tampered IndexedDB', () => {
  it('skips hostile entries before Yjs reads them, counts and names them, and loads the rest', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const factory = new IDBFactory()
    const first = await openStore(factory)
    first.doc.getMap<string>('m').set('before', 'kept')
    await first.store.destroy()

    const later = new Y.Doc()
    later.getMap<string>('m').set('after', 'kept too')
    await tamper(factory, 'updates', [
      [halfAppliedUpdate()],
      [decodeBomb()],
      ['a string where an update belongs'],
      [Y.encodeStateAsUpdate(later)],
    ])

    const again = await openStore(factory)
    // Every honest entry, before and after the hostile ones, is in the document.
    expect(again.doc.getMap<string>('m').toJSON()).toEqual({
      before: 'kept',
      after: 'kept too',
    })
    // Nothing of the half-applicable update got in (Yjs alone would have integrated "hi").
    expect(again.doc.store.clients.has(5)).toBe(false)
    expect(again.doc.getText('t').toJSON()).toBe('')
    expect(again.store.damagedUpdates).toBe(3)
    // One line names the first refusal and its reason; the others are only counted.
    const lines = warn.mock.calls.map((call) => String(call[0]))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('struct 5:2 refers to its own later clock 7')
    // The room goes on: new writes are stored and load again.
    again.doc.getMap<string>('m').set('new', 'stored')
    await again.store.destroy()
    const third = await openStore(factory)
    expect(third.doc.getMap<string>('m').get('new')).toBe('stored')
    await third.store.destroy()
  })

  it('does not paint a tampered cache of the newest messages', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const factory = new IDBFactory()
    const first = await openStore(factory)
    const recent = new Y.Doc()
    recent.getMap<string>('m').set('k', 'v')
    await first.store.saveRecent(Y.encodeStateAsUpdate(recent))
    await first.store.destroy()
    expect(await LocalStore.readRecent('room', factory)).toBeInstanceOf(Uint8Array)

    await tamper(factory, 'custom', [[decodeBomb(), 'recent']])
    expect(await LocalStore.readRecent('room', factory)).toBeUndefined()
    // The room itself still opens from its updates.
    const again = await openStore(factory)
    expect(again.store.damagedUpdates).toBe(0)
    await again.store.destroy()
  })
})
