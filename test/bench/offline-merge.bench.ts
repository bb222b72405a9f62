// Issue 5 item 6: two replicas of one room (real RoomDocuments holding real encrypted, signed
// records composed by src/session/authoring.ts) each write 10k messages offline, then both come
// online and sync through a real Parley relay (port 0) with stock y-websocket providers. Reported:
// WebSocket payload bytes against the bytes of the records each side was missing, time to
// converge, and the naive model (a Y.Map per message, plaintext) synced the same way beside it.
import { randomBytes } from 'node:crypto'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import {
  deriveRoomKeys,
  generateSigningIdentity,
  newRoomSecret,
  toBase64Url,
  type RoomKeys,
  type SigningIdentity,
} from '../../src/crypto'
import { HybridClock, RoomDocument } from '../../src/model'
import { composeMember, composeMessage, newMessageId } from '../../src/session/authoring'
import { roomIdForToken } from '../../signaling/relay/room-access'
import { startTestServer, type TestServer } from '../support/server-harness'
import { countingWebSocket, type ByteCounter } from './load/counting-websocket'
import { BenchReport, median, quick, sizeLabel } from './support/report'
import { fixtureTexts } from './support/room-fixture'

const MESSAGES = quick ? 500 : 10_000
const REPEATS = quick ? 1 : 3
/** Crypto runs on libuv's thread pool: compose this many at once. */
const COMPOSE_BATCH = 256
const CONVERGE_TIMEOUT_MS = 120_000
/** After converging, the relay's "saved" acknowledgements and their answers still flow. */
const SETTLE_MS = 1_000

const report = new BenchReport('offline-merge')
console.log(`Offline merge: two replicas, ${sizeLabel(MESSAGES)} offline messages each`)

interface Replica {
  doc: Y.Doc
  /** Bytes of the records this replica wrote offline (what the other one is missing). */
  newBytes: number
  count: () => number
}

/** A replica of a Parley room: the members both had before going offline, then N messages. */
async function parleyReplica(
  keys: RoomKeys,
  base: Uint8Array,
  author: SigningIdentity,
  texts: string[],
  startWall: number,
): Promise<Replica> {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, base)
  const room = new RoomDocument(doc)
  let wall = startWall
  const clock = new HybridClock(() => wall)
  let newBytes = 0
  for (let start = 0; start < texts.length; start += COMPOSE_BATCH) {
    const batch = texts.slice(start, start + COMPOSE_BATCH).map((text) => {
      wall += 1_000
      return { id: newMessageId(), stamp: clock.next(), text }
    })
    const records = await Promise.all(
      batch.map((m) => composeMessage(keys, author, m.id, m.stamp, m.text, true)),
    )
    batch.forEach((m, i) => {
      room.insertMessage(m.id, records[i])
      newBytes += (room.maps.messages.get(m.id) as Uint8Array).byteLength
    })
  }
  return { doc, newBytes, count: () => room.maps.messages.size }
}

/** The naive model: a Y.Map of plaintext fields per message in a Y.Array. */
function naiveReplica(author: string, texts: string[], startWall: number): Replica {
  const doc = new Y.Doc()
  const messages = doc.getArray<Y.Map<unknown>>('messages')
  let newBytes = 0
  texts.forEach((text, i) => {
    const id = newMessageId()
    const ts = startWall + i * 1_000
    doc.transact(() => {
      const message = new Y.Map<unknown>()
      message.set('id', id)
      message.set('ts', ts)
      message.set('author', author)
      message.set('text', text)
      messages.push([message])
    })
    newBytes += Buffer.byteLength(id) + 8 + Buffer.byteLength(author) + Buffer.byteLength(text)
  })
  return { doc, newBytes, count: () => messages.length }
}

interface SyncOutcome {
  convergeMs: number
  a: ByteCounter
  b: ByteCounter
}

/** Both replicas come online at once; resolves when each holds every message. */
async function syncThroughRelay(server: TestServer, a: Replica, b: Replica): Promise<SyncOutcome> {
  const token = randomBytes(32).toString('base64url')
  const roomId = roomIdForToken(token)
  const total = a.count() + b.count()
  const counters = { a: { sent: 0, received: 0 }, b: { sent: 0, received: 0 } }
  const started = performance.now()
  const providers = (['a', 'b'] as const).map(
    (side) =>
      new WebsocketProvider(server.wsUrl('/relay'), roomId, (side === 'a' ? a : b).doc, {
        params: { token },
        disableBc: true,
        WebSocketPolyfill: countingWebSocket(counters[side]),
      }),
  )
  try {
    const deadline = started + CONVERGE_TIMEOUT_MS
    while (a.count() < total || b.count() < total) {
      if (performance.now() > deadline) {
        throw new Error(`no convergence: ${a.count()} and ${b.count()} of ${total}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const convergeMs = performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    return { convergeMs, ...counters }
  } finally {
    for (const provider of providers) provider.destroy()
  }
}

const secret = newRoomSecret()
const keys = await deriveRoomKeys(secret)
const [alice, bob] = await Promise.all([generateSigningIdentity(), generateSigningIdentity()])
// What both replicas held before they went offline: the room's two members.
const baseDoc = new Y.Doc()
{
  const room = new RoomDocument(baseDoc)
  const clock = new HybridClock(() => Date.now() - 86_400_000)
  for (const [who, name] of [
    [alice, 'Alice'],
    [bob, 'Bob'],
  ] as const) {
    room.setMember(toBase64Url(who.keyId), await composeMember(keys, who, clock.next(), name))
  }
}
const base = Y.encodeStateAsUpdate(baseDoc)
const textsA = fixtureTexts(MESSAGES, 11)
const textsB = fixtureTexts(MESSAGES, 12)
const wall = Date.now() - 3_600_000

const server = await startTestServer()
const parleyRuns: (SyncOutcome & { missing: number; own: number })[] = []
const naiveRuns: (SyncOutcome & { missing: number })[] = []
try {
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const a = await parleyReplica(keys, base, alice, textsA, wall)
    const b = await parleyReplica(keys, base, bob, textsB, wall + 500)
    const outcome = await syncThroughRelay(server, a, b)
    parleyRuns.push({ ...outcome, missing: a.newBytes + b.newBytes, own: a.newBytes + b.newBytes })
    a.doc.destroy()
    b.doc.destroy()
    const na = naiveReplica('alice', textsA, wall)
    const nb = naiveReplica('bob', textsB, wall + 500)
    naiveRuns.push({
      ...(await syncThroughRelay(server, na, nb)),
      missing: na.newBytes + nb.newBytes,
    })
    na.doc.destroy()
    nb.doc.destroy()
  }
} finally {
  await server.close()
}

const down = (r: SyncOutcome) => r.a.received + r.b.received
const up = (r: SyncOutcome) => r.a.sent + r.b.sent
const parleyMissing = parleyRuns[0].missing
report.add({
  id: 'bytes-down',
  name: `Bytes the relay sent the two replicas, ${sizeLabel(MESSAGES)} offline messages each`,
  unit: 'B',
  parley: median(parleyRuns.map(down)),
  peer: parleyMissing,
  peerLabel: 'bytes of the records each was missing',
  goal: { maxRatio: 1.2, text: '≤ 1.2× missing records' },
})
report.add({
  id: 'bytes-up',
  name: `Bytes the two replicas sent the relay, ${sizeLabel(MESSAGES)} offline messages each`,
  unit: 'B',
  parley: median(parleyRuns.map(up)),
  peer: parleyRuns[0].own,
  peerLabel: 'bytes of the records they wrote offline',
  goal: { maxRatio: 1.2, text: '≤ 1.2× records written' },
})
report.add({
  id: 'converge-ms',
  name: `Time to converge through the relay, ${sizeLabel(MESSAGES)} offline messages each`,
  unit: 'ms',
  parley: median(parleyRuns.map((r) => r.convergeMs)),
  peer: median(naiveRuns.map((r) => r.convergeMs)),
  peerLabel: 'naive model (Y.Map per message, plaintext)',
})
report.add({
  id: 'bytes-down-vs-naive',
  name: 'Bytes the relay sent the replicas, against the naive model',
  unit: 'B',
  parley: median(parleyRuns.map(down)),
  peer: median(naiveRuns.map(down)),
  peerLabel: 'naive model',
})
report.note(
  `naive model: relay sent ${median(naiveRuns.map(down)).toLocaleString('en')} B for ${naiveRuns[0].missing.toLocaleString('en')} B of missing plaintext fields (${(median(naiveRuns.map(down)) / naiveRuns[0].missing).toFixed(2)}×); replicas sent ${median(naiveRuns.map(up)).toLocaleString('en')} B`,
)
report.note(
  `Parley records average ${(parleyMissing / (2 * MESSAGES)).toFixed(0)} B; payload bytes are WebSocket message payloads (framing and TCP not counted), medians of ${REPEATS} runs`,
)
report.write()
process.exit(0)
