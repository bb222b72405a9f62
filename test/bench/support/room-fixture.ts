// Rooms of n realistic messages, written the way Parley writes them: real keys derived from a
// room secret, real Ed25519 members, each message composed by src/session/authoring.ts
// (encrypted, signed) and inserted by RoomDocument, one transaction per message, by a few
// authors in sessions of a few dozen messages, each browser keeping its Yjs client id across
// sessions except when it cannot (1 session in 20), as LocalStore does.
// Building 100k messages takes a while, so the snapshot is cached in the OS temp dir.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { HybridClock, RoomDocument, ROOM_DOC_FORMAT, type MessageRecord } from '../../../src/model'
import {
  deriveRoomKeys,
  generateSigningIdentity,
  toBase64Url,
  type RoomKeys,
} from '../../../src/crypto'
import { composeMember, composeMessage, newMessageId } from '../../../src/session/authoring'
import { seededRandom } from '../../support/seeded-random'
import { chatLines } from './chat-text'

/** Bump when what a fixture contains changes, so stale caches are not reused. */
const FIXTURE_VERSION = 2
const AUTHORS = 4
/** Messages an author writes per session on average. */
const MESSAGES_PER_SESSION = 40
/** Sessions that cannot reuse the browser's client id (a second tab, a crash before the
 * session ended cleanly) take a fresh one: client-id-lease.ts. */
const FRESH_ID_PER_SESSION = 0.05
/** Crypto runs on libuv's thread pool: compose this many at once. */
const COMPOSE_BATCH = 256

export interface RoomFixture {
  readonly secret: string
  readonly keys: RoomKeys
  /** The whole room as one Yjs update (what a compacted local store holds). */
  readonly update: Uint8Array
  /** Message texts in sending order (the newest last). */
  readonly texts: readonly string[]
  /** Message ids in sending order. */
  readonly ids: readonly string[]
}

export const FIXTURE_SEED = 7

export function fixtureSecret(seed = FIXTURE_SEED): string {
  return toBase64Url(seededRandom(seed * 7919).bytes(16))
}

export function fixtureTexts(n: number, seed = FIXTURE_SEED): string[] {
  const next = chatLines(seed)
  return Array.from({ length: n }, next)
}

function cacheFile(n: number, seed: number): string {
  const dir = join(tmpdir(), `parley-bench-fixtures-v${FIXTURE_VERSION}-f${ROOM_DOC_FORMAT}`)
  mkdirSync(dir, { recursive: true })
  return join(dir, `room-${seed}-${n}.bin`)
}

interface Composed {
  id: string
  record: MessageRecord
}

/** Every message of the room, composed with real crypto, in sending order. */
async function composeAll(
  keys: RoomKeys,
  texts: readonly string[],
  seed: number,
): Promise<{
  members: Awaited<ReturnType<typeof composeMember>>[]
  keyIds: string[]
  messages: Composed[]
  authorOf: number[]
}> {
  const random = seededRandom(seed)
  const identities = await Promise.all(Array.from({ length: AUTHORS }, generateSigningIdentity))
  // Stamps a few seconds apart on average, starting a year ago.
  let wall = Date.now() - 365 * 24 * 3600_000
  const clock = new HybridClock(() => wall)
  const members = await Promise.all(
    identities.map((identity, i) => composeMember(keys, identity, clock.next(), `Person ${i}`)),
  )
  const authorOf = texts.map(() => random.int(AUTHORS))
  const stamps = texts.map(() => {
    wall += 1 + random.int(8_000)
    return clock.next()
  })
  const messages: Composed[] = []
  for (let start = 0; start < texts.length; start += COMPOSE_BATCH) {
    const batch = texts.slice(start, start + COMPOSE_BATCH)
    messages.push(
      ...(await Promise.all(
        batch.map(async (text, j) => {
          const i = start + j
          const id = newMessageId()
          const record = await composeMessage(
            keys,
            identities[authorOf[i]],
            id,
            stamps[i],
            text,
            false,
          )
          return { id, record }
        }),
      )),
    )
  }
  return { members, keyIds: identities.map((i) => toBase64Url(i.keyId)), messages, authorOf }
}

export async function roomFixture(n: number, seed = FIXTURE_SEED): Promise<RoomFixture> {
  const secret = fixtureSecret(seed)
  const keys = await deriveRoomKeys(secret)
  const texts = fixtureTexts(n, seed)
  const file = cacheFile(n, seed)
  if (existsSync(file)) {
    const update = new Uint8Array(readFileSync(file))
    const ids = JSON.parse(readFileSync(`${file}.ids.json`, 'utf8')) as string[]
    return { secret, keys, update, texts, ids }
  }
  const { members, keyIds, messages, authorOf } = await composeAll(keys, texts, seed)
  const random = seededRandom(seed + 1)
  const doc = new Y.Doc()
  const room = new RoomDocument(doc)
  const clientOf = keyIds.map(() => random.int(2 ** 31))
  const sentInSession = keyIds.map(() => 0)
  members.forEach((member, a) => {
    doc.clientID = clientOf[a]
    room.setMember(keyIds[a], member)
  })
  messages.forEach(({ id, record }, i) => {
    const a = authorOf[i]
    if (++sentInSession[a] > MESSAGES_PER_SESSION * (0.5 + random.next())) {
      if (random.chance(FRESH_ID_PER_SESSION)) clientOf[a] = random.int(2 ** 31)
      sentInSession[a] = 0
    }
    doc.clientID = clientOf[a]
    room.insertMessage(id, record)
  })
  const update = Y.encodeStateAsUpdate(doc)
  const ids = messages.map((m) => m.id)
  writeFileSync(`${file}.ids.json`, JSON.stringify(ids))
  writeFileSync(`${file}.tmp`, update)
  renameSync(`${file}.tmp`, file)
  doc.destroy()
  return { secret, keys, update, texts, ids }
}

/** The message records of a fixture in sending order, as bytes stored in the document. */
export function fixtureRecords(fixture: RoomFixture): { id: string; bytes: Uint8Array }[] {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, fixture.update)
  const messages = new RoomDocument(doc).maps.messages
  return fixture.ids.map((id) => {
    const bytes = messages.get(id)
    if (!(bytes instanceof Uint8Array)) throw new Error(`fixture lost message ${id}`)
    return { id, bytes }
  })
}
