// The relay under the worst updates we can craft (docs/relay.md, "A bad update"), while another
// room is in use: concurrent inserts that make Yjs' integration quadratic (against a long run in
// an array and a long chain of overwrites of one map key), updates that pass the structural
// check but throw inside Yjs, seeded mutations of those, and the decode bomb. Every attacker is
// closed with a named code; the honest member of the attacked room and the other room's clients
// stay connected; the other room's message latency stays within LATENCY_BOUND_MS. The seed is
// printed on failure (replay with FUZZ_SEED).

import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { CloseCode } from '../../signaling/close-codes'
import {
  RawRelayClient,
  newRoom,
  relayUrl,
  syncUpdateFrame,
  textsOf,
  untilSaved,
  untilSynced,
  writeText,
  type RoomCredentials,
} from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'
import { seededRandom } from '../support/seeded-random'
import type { TestServer } from '../support/server-harness'

// Unattacked, a message crosses this loopback relay in a few ms; 68 s of quadratic integration
// (what 18 KB once cost) blocks everything. 250 ms allows for this shared 2-core machine, and is
// far below one unbounded attack (seconds).
const LATENCY_BOUND_MS = 250
const RUN = 20_000
const CONCURRENT = 1_000
const WAIT = { timeout: 20_000, interval: 5 }
/** How long the attacks go on, so the probe measures enough messages. */
const ATTACK_MS = 3_000

const scope = relayTestScope()

/** A run of RUN items that do not merge (binary), each written after the one before. */
function longRun(clientID: number): { whole: Uint8Array; first: Uint8Array } {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const firsts: Uint8Array[] = []
  doc.once('update', (update: Uint8Array) => firsts.push(update))
  const array = doc.getArray<Uint8Array>('run')
  array.push([new Uint8Array([0])])
  for (let i = 1; i < RUN; i++) array.push([new Uint8Array([i & 255])])
  return { whole: Y.encodeStateAsUpdate(doc), first: firsts[0] }
}

/** CONCURRENT inserts from as many clients, each right after the run's first item. */
function concurrentInserts(first: Uint8Array, firstClient: number): Uint8Array {
  const updates: Uint8Array[] = []
  for (let j = 0; j < CONCURRENT; j++) {
    const doc = new Y.Doc()
    doc.clientID = firstClient + j
    Y.applyUpdate(doc, first)
    doc.once('update', (update: Uint8Array) => updates.push(update))
    doc.getArray<Uint8Array>('run').insert(1, [new Uint8Array([1])])
  }
  return Y.mergeUpdates(updates)
}

/**
 * RUN overwrites of one map key by two writers taking turns (so the overwritten items, deleted,
 * do not merge into one), then CONCURRENT writers that saw only the first.
 */
function keyChainAttack(clientID: number): { chain: Uint8Array; attack: Uint8Array } {
  const writers = [new Y.Doc(), new Y.Doc()]
  writers[0].clientID = clientID
  writers[1].clientID = clientID + 1
  const firsts: Uint8Array[] = []
  writers[0].once('update', (update: Uint8Array) => firsts.push(update))
  for (let i = 0; i < RUN; i++) {
    const [writer, reader] = i % 2 === 0 ? writers : [writers[1], writers[0]]
    const updates: Uint8Array[] = []
    writer.once('update', (update: Uint8Array) => updates.push(update))
    writer.getMap<number>('messages').set('k', i)
    Y.applyUpdate(reader, updates[0])
  }
  const updates: Uint8Array[] = []
  for (let j = 0; j < CONCURRENT; j++) {
    const late = new Y.Doc()
    late.clientID = clientID + 2 + j
    Y.applyUpdate(late, firsts[0])
    late.once('update', (update: Uint8Array) => updates.push(update))
    late.getMap<number>('messages').set('k', -j)
  }
  return { chain: Y.encodeStateAsUpdate(writers[0]), attack: Y.mergeUpdates(updates) }
}

// Passed the structural check once, and Yjs threw on the second half-way (relay-limits.test.ts).
const BREAKING_BASE = Buffer.from(
  '0106010008010161017701788101000183010101012801016d016b017701762701016d016e0104010174036162630101010101',
  'hex',
)
const BREAKING = Buffer.from(
  '01060200c80100010101770171c70211010102040002010177a801030177017546010501620131c6010601070162046e756c6c010103010103010601',
  'hex',
)
const DECODE_BOMB = new Uint8Array([1, 0xff, 0xff, 0xff, 0x07, 0, 0])

async function attacker(harness: TestServer, room: RoomCredentials): Promise<RawRelayClient> {
  const client = await RawRelayClient.connect(
    relayUrl(harness.wsUrl('/relay'), room.roomId, { token: room.token }),
  )
  scope.defer(() => client.close())
  return client
}

/** Two clients in a room of their own, timing messages from one to the other meanwhile. */
async function latencyProbe(harness: TestServer) {
  const room = newRoom()
  const a = scope.client(harness, room)
  const b = scope.client(harness, room)
  await untilSynced(a)
  await untilSynced(b)
  const latencies: number[] = []
  let stop = false
  const running = (async () => {
    for (let i = 0; !stop; i++) {
      const sent = performance.now()
      writeText(a, `probe ${i}`)
      await vi.waitFor(() => expect(textsOf(b)).toContain(`probe ${i}`), WAIT)
      latencies.push(performance.now() - sent)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  return {
    clients: [a, b],
    async finish(): Promise<number[]> {
      stop = true
      await running
      return latencies.sort((x, y) => x - y)
    },
  }
}

describe('relay work bound (fuzz)', () => {
  it('closes every hostile sender with a named code and keeps serving other rooms', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
    const random = seededRandom(seed)
    const harness = await scope.server()
    const room = newRoom()
    const honest = scope.client(harness, room)
    await untilSynced(honest)
    // The long run and the key chain go in honestly (appending costs nothing to integrate).
    const run = longRun(1)
    const chain = keyChainAttack(5_000_000)
    const builder = await attacker(harness, room)
    builder.send(syncUpdateFrame(run.whole))
    builder.send(syncUpdateFrame(chain.chain))
    await vi.waitFor(() => expect(honest.doc.getArray('run').length).toBe(RUN), WAIT)
    builder.close()

    const hostile: Uint8Array[][] = [
      [concurrentInserts(run.first, 1_000)],
      [chain.attack],
      [BREAKING_BASE, BREAKING],
      [DECODE_BOMB],
    ]
    for (let i = 0; i < 8; i++) {
      // Seeded mutations of the breaking pair: a flipped byte anywhere in the second.
      const mutated = Uint8Array.from(BREAKING)
      mutated[random.int(mutated.length)] ^= 1 << random.int(8)
      hostile.push([BREAKING_BASE, mutated])
    }
    // Built before the probe starts: the test shares its event loop with the relay.
    const probe = await latencyProbe(harness)
    // Round after round, for ATTACK_MS at least: each attack on a connection of its own.
    const closes: number[] = []
    const started = performance.now()
    while (closes.length < hostile.length || performance.now() - started < ATTACK_MS) {
      for (const updates of hostile) {
        const client = await attacker(harness, room)
        for (const update of updates) client.send(syncUpdateFrame(update))
        const closed = await Promise.race([
          client.closed,
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 2_000)),
        ])
        // A mutation may be harmless (then it is applied like any update, and nobody closes).
        closes.push(closed?.code ?? 0)
        client.close()
      }
    }
    writeText(honest, 'after the attacks')
    await untilSaved(honest)
    const latencies = await probe.finish()
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]
    const context = `seed ${seed}; latencies ms ${latencies.map((l) => l.toFixed(1)).join(' ')}`
    // The quadratic ones are refused for their cost, the rest as malformed.
    expect(closes.slice(0, 4), context).toEqual([
      CloseCode.UPDATE_TOO_COSTLY,
      CloseCode.UPDATE_TOO_COSTLY,
      CloseCode.MALFORMED_MESSAGE,
      CloseCode.MALFORMED_MESSAGE,
    ])
    for (const code of closes) {
      expect([0, CloseCode.UPDATE_TOO_COSTLY, CloseCode.MALFORMED_MESSAGE], context).toContain(code)
    }
    expect(honest.closes, context).toEqual([])
    for (const client of probe.clients) expect(client.closes, context).toEqual([])
    expect(
      harness.logs.filter((line) => line.event === 'relay.room_reset'),
      context,
    ).toEqual([])
    expect(latencies.length, context).toBeGreaterThan(50)
    expect(p99, context).toBeLessThan(LATENCY_BOUND_MS)
    console.log(
      `relay work fuzz: seed ${seed}, ${latencies.length} probes, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`,
    )
  }, 120_000)
})
