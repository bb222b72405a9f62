// Convergence fuzz with an adversary (issue 11 §2, docs/threat-model.md): three honest
// replicas send, edit, delete and look at the room (which is when a browser learns history,
// history-ledger.ts) over a seeded network that reorders, duplicates and partitions, while a
// fourth replica holding only the document's write access deletes entries, deletes
// tombstones, replays old records, forges tombstones with its own key, takes entries over and
// deletes member entries. Honest replicas must hold the same document, accept no change the
// honest authors did not make, and never accept two different states of one message; once
// they have seen the same history, they show the same rows. The seed is printed on failure.
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  HybridClock,
  encodeMessage,
  encodeTombstone,
  isV2Message,
  parseMessage,
  RoomDocument,
  type MessageRecord,
} from '../../src/model'
import {
  deriveRoomKeys,
  generateSigningIdentity,
  newRoomSecret,
  toBase64Url,
  type RoomKeys,
  type SigningIdentity,
} from '../../src/crypto'
import { MemberDirectory } from '../../src/session/members'
import { MessageContentResolver, type ResolvedEntry } from '../../src/session/message-content'
import { Timeline } from '../../src/session/timeline'
import { HistoryLedger } from '../../src/session/history-ledger'
import { HistoryKeeper } from '../../src/session/history-keeper'
import {
  AuthoringError,
  RoomWriter,
  composeMember,
  composeMessage,
  composeRevisionOf,
  composeTombstone,
  newMessageId,
} from '../../src/session/authoring'
import { seededRandom, type Random } from '../support/seeded-random'

const NETWORK = Symbol('network')
const HONEST = 3

interface Honest {
  readonly index: number
  readonly name: string
  readonly identity: SigningIdentity
  readonly room: RoomDocument
  readonly members: MemberDirectory
  readonly timeline: Timeline
  readonly ledger: HistoryLedger
  readonly resolver: MessageContentResolver
  readonly writer: RoomWriter
  readonly keeper: HistoryKeeper
  readonly mine: string[]
  readonly shown: Map<string, Shown>
}

/** What the honest authors wrote: each revision's text per id, and the ids they deleted. */
interface Truth {
  readonly texts: Map<string, string[]>
  readonly authorOf: Map<string, string>
  readonly deleted: Set<string>
}

async function honestReplica(keys: RoomKeys, index: number, now: () => number): Promise<Honest> {
  const doc = new Y.Doc({ gc: true })
  doc.clientID = index + 1
  const room = new RoomDocument(doc)
  const identity = await generateSigningIdentity()
  const clock = new HybridClock(now)
  const members = new MemberDirectory(room, keys)
  const ledger = new HistoryLedger(keys.roomId, undefined)
  const timeline = new Timeline(room, (stamp) => clock.observe(stamp), now)
  timeline.attachLedger(ledger, room)
  const resolver = new MessageContentResolver(keys, members, ledger)
  members.changed.subscribe(() => resolver.membersChanged())
  const writer = new RoomWriter(keys, identity, room, clock)
  const name = `honest ${index}`
  const keeper = new HistoryKeeper(keys.roomId, room, ledger, toBase64Url(identity.keyId), () =>
    writer.member(name),
  )
  await writer.member(name)
  return {
    index,
    name,
    identity,
    room,
    members,
    timeline,
    ledger,
    resolver,
    writer,
    keeper,
    mine: [],
    shown: new Map(),
  }
}

/** One row as a person reads it. */
function rowOf(entry: { key: { author: string } }, resolved: ResolvedEntry): string {
  if (resolved.kind === 'anomaly') return 'anomaly'
  if (resolved.kind === 'deleted') return `deleted by ${entry.key.author}`
  return `${resolved.authenticity} ${entry.key.author}: ${resolved.text}`
}

/** The rows a fresh look at the replica shows (a resolver without cache, the same ledger). */
async function rowsOf(keys: RoomKeys, replica: Honest): Promise<Map<string, string>> {
  const resolver = new MessageContentResolver(keys, replica.members, replica.ledger)
  const rows = new Map<string, string>()
  for (const entry of replica.timeline.entries())
    rows.set(entry.id, rowOf(entry, await resolver.resolve(entry)))
  return rows
}

/** What one replica has shown of each id so far, kept by the test apart from the ledger. */
interface Shown {
  revision: number
  author: string
  deleted: boolean
}

/**
 * Looking at the room: every row resolved, as the list does for what is on screen, and held
 * to what this replica showed before: an honest author's row says what they wrote, never an
 * older revision than shown, never again after their delete, and is never taken over.
 */
async function look(replica: Honest, truth: Truth): Promise<void> {
  const authors = new Set(truth.authorOf.values())
  for (const entry of replica.timeline.entries()) {
    const resolved = await replica.resolver.resolve(entry)
    const author = entry.key.author
    const before = replica.shown.get(entry.id)
    const where = `replica ${replica.index}, ${entry.id}: ${rowOf(entry, resolved)}`
    if (resolved.kind === 'message' && resolved.authenticity === 'verified') {
      if (before && before.author !== author) throw new Error(`taken over: ${where}`)
      if (!authors.has(author)) continue
      const revision = truth.texts.get(entry.id)?.indexOf(resolved.text ?? '') ?? -1
      if (truth.authorOf.get(entry.id) !== author || revision < 0)
        throw new Error(`forged: ${where}`)
      if (before?.deleted) throw new Error(`resurrected: ${where}`)
      if (before && before.revision > revision) throw new Error(`rolled back: ${where}`)
      replica.shown.set(entry.id, { revision, author, deleted: false })
    } else if (resolved.kind === 'deleted' && authors.has(author)) {
      if (truth.authorOf.get(entry.id) !== author || !truth.deleted.has(entry.id))
        throw new Error(`forged delete: ${where}`)
      if (before && before.author !== author) throw new Error(`deleted by another: ${where}`)
      replica.shown.set(entry.id, { revision: before?.revision ?? 0, author, deleted: true })
    }
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 1))

async function runScenario(seed: number, steps: number, adversaryLate: boolean) {
  const random = seededRandom(seed)
  const keys = await deriveRoomKeys(newRoomSecret())
  let time = 1_700_000_000_000
  const now = () => time
  const honest: Honest[] = []
  for (let i = 0; i < HONEST; i++) honest.push(await honestReplica(keys, i, now))
  const mallory = await generateSigningIdentity()
  const vandalDoc = new Y.Doc({ gc: true })
  vandalDoc.clientID = 99
  const vandal = new RoomDocument(vandalDoc)
  const docs = [...honest.map((h) => h.room.doc), vandalDoc]
  const truth: Truth = { texts: new Map(), authorOf: new Map(), deleted: new Set() }
  /** Every record value the vandal has held, per id, to replay. */
  const seen = new Map<string, Uint8Array[]>()
  const inFlight: { to: number; update: Uint8Array }[] = []
  const partitioned = new Array<boolean>(docs.length).fill(false)
  docs.forEach((doc, from) =>
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === NETWORK) return
      docs.forEach((_, to) => to !== from && inFlight.push({ to, update }))
    }),
  )
  // The member entries written before the network was wired: everyone starts with them.
  for (const a of docs)
    for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a), NETWORK)
  const deliverSome = (count: number) => {
    for (let n = count; n > 0 && inFlight.length > 0; n--) {
      const at = random.int(inFlight.length)
      const message = inFlight[at]
      if (partitioned[message.to]) continue
      inFlight.splice(at, 1)
      Y.applyUpdate(docs[message.to], message.update, NETWORK)
      if (random.chance(0.1)) Y.applyUpdate(docs[message.to], message.update, NETWORK)
    }
  }
  const syncAll = () => {
    while (inFlight.length > 0) {
      const { to, update } = inFlight.splice(random.int(inFlight.length), 1)[0]
      Y.applyUpdate(docs[to], update, NETWORK)
    }
    for (const a of docs)
      for (const b of docs)
        if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), NETWORK)
  }
  /** Everyone connected until nothing more is written: the keepers put back what they hold
   * proof of, and those writes travel too. */
  const heal = async () => {
    partitioned.fill(false)
    for (let round = 0; round < 8; round++) {
      syncAll()
      for (const replica of honest) await look(replica, truth)
      await settle()
      if (inFlight.length === 0) break
    }
    syncAll()
  }
  const remember = () => {
    for (const map of ['messages', 'tombstones'] as const)
      vandal.maps[map].forEach((value, id) => {
        if (!(value instanceof Uint8Array)) return
        const list = seen.get(id) ?? []
        if (!list.some((bytes) => toBase64Url(bytes) === toBase64Url(value))) list.push(value)
        seen.set(id, list)
      })
  }

  const honestStep = async (actor: Honest) => {
    const roll = random.next()
    if (roll < 0.4) {
      const text = `${actor.name} says ${random.int(1e6)}`
      const id = newMessageId()
      await actor.writer.message(id, text, false)
      truth.texts.set(id, [text])
      truth.authorOf.set(id, toBase64Url(actor.identity.keyId))
      actor.mine.push(id)
    } else if (roll < 0.55 && actor.mine.length > 0) {
      const id = random.pick(actor.mine)
      const text = `${actor.name} edits ${random.int(1e6)}`
      const record = actor.room.message(id)
      const revision = record?.ok && isV2Message(record.value) ? record.value.revision + 1 : -1
      const texts = truth.texts.get(id)!
      // Only the next revision of what the author wrote last: an older one here was replayed.
      if (revision === texts.length && !truth.deleted.has(id)) {
        try {
          await actor.writer.edit(id, text)
          texts.push(text)
        } catch (error) {
          // The entry the author would edit is someone else's now (a takeover).
          if (!(error instanceof AuthoringError)) throw error
        }
      }
    } else if (roll < 0.65 && actor.mine.length > 0) {
      const id = random.pick(actor.mine)
      const record = actor.room.message(id)
      if (record?.ok && !truth.deleted.has(id) && actor.ledger.seen(id)) {
        try {
          await actor.writer.remove(id)
          truth.deleted.add(id)
        } catch (error) {
          if (!(error instanceof AuthoringError)) throw error
        }
      }
    } else if (roll < 0.8) {
      await look(actor, truth)
    } else if (roll < 0.86) {
      partitioned[actor.index] = !partitioned[actor.index]
    } else deliverSome(1 + random.int(8))
  }

  // The vandal keeps every record it is sent, to replay.
  vandalDoc.on('update', remember)
  const vandalStep = async () => {
    const ids = [...seen.keys()]
    if (ids.length === 0) return
    const id = random.pick(ids)
    const roll = random.next()
    const { messages, tombstones, members } = vandal.maps
    const present = vandal.message(id)
    if (roll < 0.2) vandalDoc.transact(() => messages.delete(id))
    else if (roll < 0.35) vandalDoc.transact(() => tombstones.delete(id))
    else if (roll < 0.55) {
      // Replay: a record an id once had, under it again, often with its tombstone removed (a
      // resurrection); ids that had several records first (a rollback of an edit).
      const several = ids.filter((other) => seen.get(other)!.length > 1)
      const target = several.length > 0 && random.chance(0.8) ? random.pick(several) : id
      const current = vandal.maps.messages.get(target)
      const old = seen.get(target)!.filter((bytes) => bytes !== current && parseMessage(bytes).ok)
      if (old.length > 0) {
        const bytes = random.pick(old)
        const resurrect = random.chance(0.5)
        vandalDoc.transact(() => {
          messages.set(target, bytes)
          if (resurrect) tombstones.delete(target)
        })
      }
    } else if (roll < 0.7 && present?.ok) {
      // A delete in her own name, of someone else's message.
      const stone = await composeTombstone(keys, mallory, id, present.value)
      vandal.deleteMessage(id, stone)
    } else if (roll < 0.8 && present?.ok) {
      // Her own revision in the author's entry; or one claiming the author's key id.
      const takeover = await composeRevisionOf(keys, mallory, id, present.value, next(), 'mine now')
      const claimed = random.chance(0.5) ? { ...takeover, author: present.value.author } : takeover
      vandalDoc.transact(() => messages.set(id, encodeMessage(claimed)))
    } else if (roll < 0.88) {
      const keys = [...members.keys()]
      if (keys.length > 0) vandalDoc.transact(() => members.delete(random.pick(keys)))
    } else if (roll < 0.94) {
      const ownId = newMessageId()
      vandal.insertMessage(ownId, await composeMessage(keys, mallory, ownId, next(), 'hi', false))
      vandal.setMember(toBase64Url(mallory.keyId), await composeMember(keys, mallory, next(), 'M'))
    } else if (present?.ok) {
      // A tombstone with the author's key id over her own key.
      const stone = await composeTombstone(keys, mallory, id, present.value)
      vandalDoc.transact(() => {
        tombstones.set(id, encodeTombstone({ ...stone, author: present.value.author }))
        messages.delete(id)
      })
    }
    partitioned[HONEST] = random.chance(0.2)
  }
  const next = () => ({ wall: time, counter: random.int(100) })

  const phases: ('honest' | 'all' | 'vandal')[] = adversaryLate ? ['honest', 'vandal'] : ['all']
  for (const phase of phases) {
    for (let step = 0; step < steps; step++) {
      time += random.int(2_000)
      const vandalTurn = phase === 'vandal' || (phase === 'all' && random.chance(0.25))
      if (vandalTurn) await vandalStep()
      if (phase === 'vandal') {
        if (random.chance(0.5)) deliverSome(1 + random.int(8))
        if (random.chance(0.2)) await look(random.pick(honest), truth)
      } else if (!vandalTurn) await honestStep(random.pick(honest))
      if (random.chance(0.3)) deliverSome(1 + random.int(4))
    }
    await heal()
  }
  return { keys, honest, truth, mallory }
}

async function assertNothingForged(keys: RoomKeys, replica: Honest, truth: Truth) {
  const authors = new Set(truth.authorOf.values())
  for (const entry of replica.timeline.entries()) {
    const resolved = await new MessageContentResolver(
      keys,
      replica.members,
      replica.ledger,
    ).resolve(entry)
    const author = entry.key.author
    if (
      resolved.kind === 'message' &&
      resolved.authenticity === 'verified' &&
      authors.has(author)
    ) {
      // An honest author's row says what that author wrote under this id, and is not deleted
      // where this replica knows the delete.
      expect(truth.authorOf.get(entry.id)).toBe(author)
      expect(truth.texts.get(entry.id)).toContain(resolved.text)
      if (replica.ledger.deletedProof(entry.id)) throw new Error(`resurrected ${entry.id}`)
    }
    if (resolved.kind === 'deleted' && authors.has(author)) {
      expect(truth.authorOf.get(entry.id)).toBe(author)
      expect(truth.deleted.has(entry.id)).toBe(true)
    }
  }
}

async function check(seed: number, adversaryLate: boolean, steps: number) {
  const { keys, honest, truth } = await runScenario(seed, steps, adversaryLate)
  try {
    const state = (r: Honest) =>
      (['messages', 'tombstones', 'members'] as const).map((map) =>
        [...r.room.maps[map].entries()]
          .map(([k, v]) => `${k}=${toBase64Url(v as Uint8Array)}`)
          .sort(),
      )
    for (const replica of honest.slice(1)) expect(state(replica)).toEqual(state(honest[0]))
    for (const replica of honest) await assertNothingForged(keys, replica, truth)
    const rows = await Promise.all(honest.map((replica) => rowsOf(keys, replica)))
    const ids = new Set(rows.flatMap((r) => [...r.keys()]))
    for (const id of ids) {
      const views = rows.map((r) => r.get(id))
      if (adversaryLate && truth.authorOf.has(id)) {
        // Every honest replica saw the honest history before the adversary struck.
        expect(new Set(views).size, `${id}: ${views.join(' | ')}`).toBe(1)
      } else {
        // Never two different accepted states; a replica that saw more shows an anomaly.
        const accepted = views.filter((v) => v !== undefined && v !== 'anomaly')
        expect(new Set(accepted).size, `${id}: ${views.join(' | ')}`).toBeLessThanOrEqual(1)
      }
    }
    expect(truth.texts.size).toBeGreaterThan(5)
  } catch (error) {
    console.error(`history adversary fuzz failed: seed ${seed} (adversary late: ${adversaryLate})`)
    throw error
  } finally {
    for (const replica of honest) {
      replica.keeper.close()
      replica.writer.close()
      replica.timeline.destroy()
      replica.members.destroy()
    }
  }
}

/** Seeds that once failed stay here as named regression cases. */
const PINNED_SEEDS: number[] = []

describe('history fuzz with an adversarial replica', () => {
  const base = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
  const seeds = [...PINNED_SEEDS, ...Array.from({ length: 4 }, (_, i) => base + i)]
  for (const seed of seeds) {
    it(`honest replicas agree and accept nothing forged (seed ${seed})`, async () => {
      await check(seed, false, 250)
    })
    it(`honest replicas that saw one history show the same rows after an attack (seed ${seed})`, async () => {
      await check(seed, true, 120)
    })
  }
})

export type { MessageRecord, Random }
