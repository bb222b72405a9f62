// Micro-benchmark of the room document (docs/architecture.md, "History grows; cost must not"): the cost
// of sending one message and of loading the room at 1k, 10k and 100k messages, reported as
// ratios to the 1k case, beside the naive layout (push onto one Y.Array) measured in the same
// run. Run with `npm run bench` (or `-- --quick` for 1k and 10k only).
import * as Y from 'yjs'
import { HybridClock, RoomDocument, type MessageRecord } from '../../src/model'
import { Timeline } from '../../src/session/timeline'
import { toBase64Url } from '../../src/crypto'
import { seededRandom } from '../support/seeded-random'
import { BenchReport, median, sizeLabel } from './support/report'

const random = seededRandom(42)
const quick = process.argv.includes('--quick')
const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]
/** Sends timed per size: enough to average out timer noise, few enough to keep history fixed. */
const SENDS = 300
const author = random.bytes(16)

function record(clock: HybridClock): MessageRecord {
  // ~100-byte envelopes, like a short chat line after encryption.
  return { stamp: clock.next(), author, envelope: random.bytes(100), signature: random.bytes(64) }
}

function buildRoom(size: number): { room: RoomDocument; clock: HybridClock } {
  const room = new RoomDocument(new Y.Doc())
  const clock = new HybridClock()
  // Built in batches: building is not what is measured.
  for (let done = 0; done < size; done += 1_000)
    room.doc.transact(() => {
      for (let i = done; i < Math.min(size, done + 1_000); i++)
        room.insertMessage(toBase64Url(random.bytes(16)), record(clock))
    })
  return { room, clock }
}

function timeSends(send: () => void): number {
  const samples: number[] = []
  for (let i = 0; i < SENDS; i++) {
    const start = performance.now()
    send()
    samples.push(performance.now() - start)
  }
  return median(samples)
}

function naiveArraySend(size: number): number {
  const doc = new Y.Doc()
  const messages = doc.getArray<Uint8Array>('messages')
  for (let done = 0; done < size; done += 1_000)
    doc.transact(() => {
      for (let i = done; i < Math.min(size, done + 1_000); i++) messages.push([random.bytes(200)])
    })
  return timeSends(() => messages.push([random.bytes(200)]))
}

interface Row {
  size: number
  sendMs: number
  naiveSendMs: number
  loadMs: number
  bytesPerMessage: number
}

const rows: Row[] = []
for (const size of SIZES) {
  const { room, clock } = buildRoom(size)
  const sendMs = timeSends(() => room.insertMessage(toBase64Url(random.bytes(16)), record(clock)))
  const update = Y.encodeStateAsUpdate(room.doc)
  const loads: number[] = []
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    const fresh = new RoomDocument(new Y.Doc())
    Y.applyUpdate(fresh.doc, update)
    const timeline = new Timeline(fresh)
    if (timeline.entries().length !== size + SENDS) throw new Error('load lost messages')
    loads.push(performance.now() - start)
    timeline.destroy()
  }
  rows.push({
    size,
    sendMs,
    naiveSendMs: naiveArraySend(size),
    loadMs: median(loads),
    bytesPerMessage: update.length / (size + SENDS),
  })
}

const base = rows[0]
console.log('Room document: cost as history grows (ratios to the 1k-message room, same run)')
console.log(
  'messages | send ms | send ×1k | naive push ms | naive ×1k | load ms | load/msg ×1k | bytes/msg',
)
for (const r of rows) {
  const perMsg = r.loadMs / r.size / (base.loadMs / base.size)
  console.log(
    [
      r.size.toLocaleString('en'),
      r.sendMs.toFixed(4),
      (r.sendMs / base.sendMs).toFixed(2),
      r.naiveSendMs.toFixed(4),
      (r.naiveSendMs / base.naiveSendMs).toFixed(2),
      r.loadMs.toFixed(1),
      perMsg.toFixed(2),
      r.bytesPerMessage.toFixed(1),
    ].join(' | '),
  )
}

const report = new BenchReport('model')
for (const r of rows.slice(1)) {
  report.add({
    id: `model-send-${sizeLabel(r.size)}`,
    name: `Model only (no crypto, no storage): insert at ${sizeLabel(r.size)} vs 1k`,
    unit: 'ms',
    parley: r.sendMs,
    peer: base.sendMs,
    peerLabel: '1k room',
    note: `naive push onto one Y.Array: ${(r.naiveSendMs / base.naiveSendMs).toFixed(1)}× its 1k cost`,
  })
  report.add({
    id: `model-load-${sizeLabel(r.size)}`,
    name: `Model only: load + index per message at ${sizeLabel(r.size)} vs 1k`,
    unit: 'µs',
    parley: (r.loadMs / r.size) * 1000,
    peer: (base.loadMs / base.size) * 1000,
    peerLabel: '1k room',
  })
}
report.write()
