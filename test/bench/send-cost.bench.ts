// Item 5: the cost of sending one message as history grows (docs/architecture.md, "History grows; cost
// must not"): RoomSession.send — compose (encrypt, sign), insert, index, store — in rooms of
// 1k, 10k and 100k messages loaded from local storage, and after 1,000 past sessions of this
// browser in one room, against an empty room measured in the same run. Sends are timed round
// robin across the rooms (so machine noise hits all alike) and the median is reported.
import 'fake-indexeddb/auto'
import * as Y from 'yjs'
import { generateSigningIdentity, newRoomSecret, type SigningIdentity } from '../../src/crypto'
import { RoomDocument, parseMessage } from '../../src/model'
import { LocalStore } from '../../src/net/local-store'
import { RoomSession, type RoomSessionConfig } from '../../src/session/room-session'
import { BenchReport, median, quick, sizeLabel } from './support/report'
import { fixtureRecords, fixtureTexts, roomFixture } from './support/room-fixture'
import { memoryLocks } from '../support/memory-locks'
import { seededRandom } from '../support/seeded-random'

// Node 20 has no Web Locks: LocalStore reuses client ids only with them, as a browser does.
;(globalThis as { navigator?: unknown }).navigator ??= { locks: memoryLocks(), onLine: true }

const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]
const PAST_SESSIONS = quick ? 100 : 1_000
const ROUNDS = quick ? 5 : 15
const SENDS_PER_ROUND = 20

const config: RoomSessionConfig = { signalingUrls: [], iceServers: [], displayName: 'Bench' }
const turn = () => new Promise((resolve) => setImmediate(resolve))

/** Stores a room's document in this "browser" the way LocalStore keeps it. */
async function seedLocalRoom(roomId: string, update: Uint8Array): Promise<void> {
  const doc = new Y.Doc()
  const store = new LocalStore(roomId, doc, { locks: null })
  await store.loaded()
  Y.applyUpdate(doc, update)
  await store.destroy()
  doc.destroy()
}

interface Scenario {
  label: string
  id: string
  session: RoomSession
  samples: number[]
}

async function open(label: string, id: string, secret: string, identity: SigningIdentity) {
  const session = await RoomSession.open(secret, identity, config)
  return { label, id, session, samples: [] } satisfies Scenario
}

const report = new BenchReport('send-cost')
console.log('Cost of sending one message as history grows (RoomSession.send)')
const identity = await generateSigningIdentity()
const texts = fixtureTexts(SENDS_PER_ROUND * ROUNDS, 99)
const scenarios: Scenario[] = [await open('empty room', 'empty', newRoomSecret(), identity)]

for (const n of SIZES) {
  const fixture = await roomFixture(n)
  // One room per size: the fixtures share a secret, so give each its own.
  const secret = newRoomSecret()
  const session = await RoomSession.open(secret, identity, config)
  const roomId = session.roomId
  await session.destroy()
  // Re-key the fixture's records? Not needed: cost does not depend on whether they decrypt.
  await seedLocalRoom(roomId, fixture.update)
  scenarios.push(await open(`${sizeLabel(n)} messages`, `${sizeLabel(n)}`, secret, identity))
}

/** A room of 1k messages this browser has opened PAST_SESSIONS times before, sending a message
 * each time; `reuse` false: without Web Locks, so every session takes a fresh client id (what
 * y-indexeddb-era Parley did). */
async function afterPastSessions(reuse: boolean): Promise<Scenario> {
  const nav = globalThis as unknown as { navigator: { locks: unknown } }
  const locks = nav.navigator.locks
  if (!reuse) nav.navigator.locks = undefined
  try {
    const fixture = await roomFixture(1_000)
    const secret = newRoomSecret()
    const first = await RoomSession.open(secret, identity, config)
    const roomId = first.roomId
    await first.destroy()
    await seedLocalRoom(roomId, fixture.update)
    const started = performance.now()
    for (let i = 0; i < PAST_SESSIONS; i++) {
      const past = await RoomSession.open(secret, identity, config)
      await past.send(`session ${i}`)
      await past.destroy()
    }
    const scenario = await open(
      `1k messages after ${PAST_SESSIONS.toLocaleString('en')} past sessions${reuse ? '' : ', no client-id reuse'}`,
      reuse ? 'past-sessions' : 'past-sessions-no-reuse',
      secret,
      identity,
    )
    report.note(
      `${PAST_SESSIONS} past sessions (${reuse ? 'reusing' : 'not reusing'} the client id) took ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `the document then holds ${scenario.session.doc.store.clients.size} client ids (the 1k fixture itself ${new Set(fixtureClientIds(fixture.update)).size})`,
    )
    return scenario
  } finally {
    nav.navigator.locks = locks
  }
}
scenarios.push(await afterPastSessions(true), await afterPastSessions(false))

// For comparison: 1,000 *different* browsers have written (not fixable by reusing ids).
{
  const fixture = await roomFixture(1_000)
  const doc = new Y.Doc()
  Y.applyUpdate(doc, fixture.update)
  const room = new RoomDocument(doc)
  const random = seededRandom(5)
  const records = fixtureRecords(fixture)
  for (let i = 0; i < PAST_SESSIONS; i++) {
    doc.clientID = random.int(2 ** 31)
    const parsed = parseMessage(records[i % records.length].bytes)
    if (!parsed.ok) throw new Error(parsed.reason)
    room.insertMessage(`writer${String(i).padStart(16, '0')}`, parsed.value)
  }
  const secret = newRoomSecret()
  const first = await RoomSession.open(secret, identity, config)
  const roomId = first.roomId
  await first.destroy()
  await seedLocalRoom(roomId, Y.encodeStateAsUpdate(doc))
  scenarios.push(
    await open(
      `1k messages by ${PAST_SESSIONS.toLocaleString('en')} distinct writers`,
      'distinct-writers',
      secret,
      identity,
    ),
  )
}

function fixtureClientIds(update: Uint8Array): number[] {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  return [...doc.store.clients.keys()]
}

for (let round = 0; round < ROUNDS; round++) {
  for (const scenario of scenarios) {
    for (let i = 0; i < SENDS_PER_ROUND; i++) {
      const text = texts[round * SENDS_PER_ROUND + i]
      const start = performance.now()
      await scenario.session.send(text)
      scenario.samples.push(performance.now() - start)
      // Storage and other deferred work run between sends, as between keystrokes.
      await turn()
    }
  }
}

const empty = median(scenarios[0].samples)
report.add({ id: 'send-ms-empty', name: 'Send, empty room', unit: 'ms', parley: empty })
for (const scenario of scenarios.slice(1)) {
  const distinct = scenario.id === 'distinct-writers' || scenario.id === 'past-sessions-no-reuse'
  report.add({
    id: `send-ms-${scenario.id}`,
    name: `Send, ${scenario.label}`,
    unit: 'ms',
    parley: median(scenario.samples),
    peer: empty,
    peerLabel: 'empty room',
    goal: distinct ? undefined : { maxRatio: 2, text: '≤ 2× empty room' },
    note: distinct ? 'for comparison (yjs#415: a transaction walks every client id)' : undefined,
  })
}
for (const scenario of scenarios) await scenario.session.destroy()
report.write()
// lib0's BroadcastChannel ports (y-webrtc's same-browser channel) stay open after destroy().
process.exit(0)
