// Convergence fuzz (STYLE.md): replicas of a room exchange updates over a seeded in-memory
// network with random delivery order, duplication and partitions while they send, edit and
// delete. At the end every replica must hold the same document and show the same timeline in
// the same order. The seed is printed on failure; pin failing seeds in PINNED_SEEDS.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { HybridClock, RoomDocument } from '../../src/model'
import { Timeline } from '../../src/session/timeline'
import { toBase64Url } from '../../src/crypto'
import { seededRandom, type Random } from '../support/seeded-random'

interface Replica {
  readonly index: number
  readonly doc: Y.Doc
  readonly room: RoomDocument
  readonly timeline: Timeline
  readonly clock: HybridClock
  readonly author: Uint8Array
  readonly mine: string[]
}

interface InFlight {
  readonly to: number
  readonly update: Uint8Array
}

const NETWORK = Symbol('network')

function makeReplicas(random: Random, count: number, now: () => number): Replica[] {
  return Array.from({ length: count }, (_, index) => {
    const doc = new Y.Doc({ gc: true })
    doc.clientID = index + 1 // distinct and stable so a seed replays exactly
    const room = new RoomDocument(doc)
    // Each replica's wall clock is skewed by up to ±5 s, like real devices.
    const skew = random.int(10_000) - 5_000
    const clock = new HybridClock(() => now() + skew)
    const timeline = new Timeline(room, (stamp) => clock.observe(stamp), now)
    return { index, doc, room, timeline, clock, author: random.bytes(16), mine: [] }
  })
}

function runScenario(seed: number, replicaCount = 5, steps = 600) {
  const random = seededRandom(seed)
  let time = 1_700_000_000_000
  const replicas = makeReplicas(random, replicaCount, () => time)
  const inFlight: InFlight[] = []
  // partitioned[i] = true while replica i is cut off from everyone.
  const partitioned = new Array<boolean>(replicaCount).fill(false)

  for (const replica of replicas) {
    replica.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === NETWORK) return
      for (const other of replicas)
        if (other !== replica) inFlight.push({ to: other.index, update })
    })
  }

  const deliver = (message: InFlight): void => {
    Y.applyUpdate(replicas[message.to].doc, message.update, NETWORK)
  }

  for (let step = 0; step < steps; step++) {
    time += random.int(2_000)
    const actor = random.pick(replicas)
    const roll = random.next()
    if (roll < 0.35) {
      const id = toBase64Url(random.bytes(16))
      actor.room.insertMessage(id, {
        stamp: actor.clock.next(),
        author: actor.author,
        envelope: random.bytes(20 + random.int(60)),
        signature: random.bytes(64),
      })
      actor.mine.push(id)
    } else if (roll < 0.45 && actor.mine.length > 0) {
      const id = random.pick(actor.mine)
      if (actor.room.maps.messages.has(id))
        actor.room.setEdit(id, {
          stamp: actor.clock.next(),
          author: actor.author,
          envelope: random.bytes(30),
          signature: random.bytes(64),
        })
    } else if (roll < 0.52 && actor.mine.length > 0) {
      const id = random.pick(actor.mine)
      const entry = actor.timeline.get(id)
      if (entry?.record)
        actor.room.deleteMessage(id, {
          stamp: entry.record.stamp,
          author: actor.author,
          signature: random.bytes(64),
        })
    } else if (roll < 0.58) {
      const who = random.int(replicaCount)
      partitioned[who] = !partitioned[who]
    } else {
      // Deliver a few messages in random order; sometimes twice (duplication).
      for (let n = random.int(6); n > 0 && inFlight.length > 0; n--) {
        const at = random.int(inFlight.length)
        const message = inFlight[at]
        if (partitioned[message.to]) continue
        inFlight.splice(at, 1)
        deliver(message)
        if (random.chance(0.1)) deliver(message)
      }
    }
  }

  // Heal: deliver whatever is left in random order, then a full state-vector sync, as
  // providers do on reconnect.
  partitioned.fill(false)
  while (inFlight.length > 0) deliver(inFlight.splice(random.int(inFlight.length), 1)[0])
  for (const a of replicas)
    for (const b of replicas)
      if (a !== b)
        Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)), NETWORK)
  return replicas
}

function snapshot(replica: Replica) {
  const { messages, edits, tombstones } = replica.room.maps
  const sortedEntries = (map: Y.Map<unknown>) =>
    [...map.entries()].map(([k, v]) => [k, toBase64Url(v as Uint8Array)]).sort()
  return {
    messages: sortedEntries(messages),
    edits: sortedEntries(edits),
    tombstones: sortedEntries(tombstones),
    timeline: replica.timeline.entries().map((e) => `${e.id}:${e.state}`),
  }
}

function assertConverged(seed: number, replicas: Replica[]) {
  const first = snapshot(replicas[0])
  try {
    for (const replica of replicas.slice(1)) expect(snapshot(replica)).toEqual(first)
    // The shared order is the HLC order, whatever order updates arrived in.
    const keys = replicas[0].timeline.entries().map((e) => e.key)
    for (let i = 1; i < keys.length; i++) {
      const [a, b] = [keys[i - 1], keys[i]]
      expect(a.wall < b.wall || (a.wall === b.wall && a.counter <= b.counter)).toBe(true)
    }
    // Deleted messages' ciphertext is gone from every replica, not just hidden.
    for (const [id] of first.tombstones) expect(replicas[0].room.maps.messages.has(id)).toBe(false)
  } catch (error) {
    console.error(`convergence fuzz failed: seed ${seed}`)
    throw error
  }
}

/** Seeds that once failed stay here as named regression cases. */
const PINNED_SEEDS: number[] = []

describe('convergence fuzz', () => {
  const base = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
  const seeds = [...PINNED_SEEDS, ...Array.from({ length: 20 }, (_, i) => base + i)]
  for (const seed of seeds) {
    it(`replicas converge (seed ${seed})`, () => {
      const replicas = runScenario(seed)
      assertConverged(seed, replicas)
      expect(replicas[0].timeline.entries().length).toBeGreaterThan(50)
      for (const replica of replicas) replica.timeline.destroy()
    })
  }

  it('holds with seven replicas and long partitions', () => {
    const seed = base + 1000
    const replicas = runScenario(seed, 7, 1500)
    assertConverged(seed, replicas)
  })
})
