// Item 3b: bytes written to IndexedDB per message sent (the sum of the sizes of the values
// put), while a room grows from empty to n messages, one transaction per message as people
// send them, against the bytes of the message's own update. Parley's LocalStore beside stock
// y-indexeddb (as patched in patches/), with IndexedDB semantics from fake-indexeddb.
// y-indexeddb compacts 1 s after the 500th update once writes pause; messages are seconds
// apart in a chat, so its timer is set to 0 here and every message gets its own turn.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { RoomDocument, parseMessage } from '../../src/model'
import { LocalStore } from '../../src/net/local-store'
import { BenchReport, quick, sizeLabel } from './support/report'
import { fixtureRecords, roomFixture } from './support/room-fixture'
import { memoryLocks } from '../support/memory-locks'

const SIZES = quick ? [1_000] : [1_000, 100_000]
/** Stock y-indexeddb rewrites the whole room every 500 messages: 100k takes many minutes. */
const STOCK_MAX = quick ? 1_000 : 100_000

let written = 0
function valueBytes(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength
  if (value instanceof ArrayBuffer) return value.byteLength
  return new TextEncoder().encode(JSON.stringify(value) ?? '').length
}
for (const method of ['add', 'put'] as const) {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
  const original = IDBObjectStore.prototype[method]
  IDBObjectStore.prototype[method] = function (
    this: IDBObjectStore,
    value: unknown,
    key?: IDBValidKey,
  ) {
    written += valueBytes(value)
    return original.call(this, value, key)
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

interface Grown {
  written: number
  own: number
  /** Bytes written per message over the last tenth of the growth (the marginal cost). */
  lastTenth: number
}

async function grow(
  records: { id: string; bytes: Uint8Array }[],
  open: (doc: Y.Doc) => Promise<() => Promise<void>>,
): Promise<Grown> {
  const doc = new Y.Doc()
  const room = new RoomDocument(doc)
  let own = 0
  doc.on('update', (update: Uint8Array) => (own += update.length))
  const close = await open(doc)
  written = 0
  own = 0
  const tenth = Math.floor(records.length * 0.9)
  let writtenAtTenth = 0
  for (const [i, { id, bytes }] of records.entries()) {
    if (i === tenth) writtenAtTenth = written
    const parsed = parseMessage(bytes)
    if (!parsed.ok) throw new Error(parsed.reason)
    room.insertMessage(id, parsed.value)
    await turn()
  }
  await close()
  doc.destroy()
  return { written, own, lastTenth: (written - writtenAtTenth) / (records.length - tenth) }
}

const openParley = async (doc: Y.Doc) => {
  const store = new LocalStore('bench-room', doc, {
    factory: new IDBFactory(),
    locks: memoryLocks(),
  })
  await store.loaded()
  return async () => {
    await store.flushed()
    await store.destroy()
  }
}

const openStock = async (doc: Y.Doc) => {
  ;(globalThis as { indexedDB: IDBFactory }).indexedDB = new IDBFactory()
  const persistence = new IndexeddbPersistence('bench-room', doc)
  persistence._storeTimeout = 0
  await persistence.whenSynced
  return async () => {
    // Let a pending compaction (timer 0, then its reads and writes) finish.
    for (let i = 0; i < 50; i++) await turn()
    await persistence.destroy()
  }
}

const report = new BenchReport('local-store')
console.log('Bytes written to IndexedDB per message sent')
const fixture = await roomFixture(Math.max(...SIZES))
const all = fixtureRecords(fixture)
for (const n of SIZES) {
  const records = all.slice(0, n)
  const started = performance.now()
  const parley = await grow(records, openParley)
  const parleyMs = performance.now() - started
  const stockN = Math.min(n, STOCK_MAX)
  const stock = await grow(records.slice(0, stockN), openStock)
  const perMessage = parley.written / n
  report.add({
    id: `idb-bytes-per-message-${sizeLabel(n)}`,
    name: `IndexedDB bytes written per message, room grown to ${sizeLabel(n)}`,
    unit: 'B',
    parley: perMessage,
    peer: parley.own / n,
    peerLabel: "the message's own update",
    goal: { maxRatio: 4, text: '≤ 4× own bytes' },
    note: `over the last tenth: ${(parley.lastTenth / (parley.own / n)).toFixed(1)}×; grown in ${(parleyMs / 1000).toFixed(1)} s`,
  })
  report.add({
    id: `idb-bytes-vs-y-indexeddb-${sizeLabel(n)}`,
    name: `IndexedDB bytes written per message vs stock y-indexeddb, ${sizeLabel(n)}`,
    unit: 'B',
    parley: perMessage,
    peer: stock.written / stockN,
    peerLabel: `stock y-indexeddb${stockN < n ? ` (at ${sizeLabel(stockN)})` : ''}`,
    note: `stock: ${(stock.written / stock.own).toFixed(1)}× its own bytes, ${(stock.lastTenth / (stock.own / stockN)).toFixed(0)}× over the last tenth`,
  })
}
report.write()
