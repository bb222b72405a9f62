// Newest records first (docs/relay.md): a real relay on port 0 sends a newcomer that asks for
// them (`?newest=1`, empty state vector) the room's newest messages with their edits,
// tombstones and authors' member entries, bounded in size, just before the whole room; nobody
// else gets them. Then a raw `ws` server plays a relay to a real RelayLink: the newest records
// are shown before the room's state is applied, and oversized, malformed or unasked-for ones are
// refused without costing the connection.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import * as Y from 'yjs'
import {
  NEWEST_MESSAGES,
  NEWEST_RECORDS_MAX_BYTES,
  NEWEST_RECORDS_MESSAGE,
  RoomDocument,
  decodeNewestRecords,
} from '../../src/model'
import { deriveRoomKeys, generateSigningIdentity, toBase64Url } from '../../src/crypto'
import {
  composeEdit,
  composeMember,
  composeMessage,
  composeTombstone,
  newMessageId,
} from '../../src/session/authoring'
import { RelayLink } from '../../src/net/relay-link'
import {
  RawRelayClient,
  relayUrl,
  syncStep1Frame,
  untilSaved,
  untilSynced,
} from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'
import type { TestServer } from '../support/server-harness'

;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const WAIT = { timeout: 15_000, interval: 20 }
const SYNC = 0
const SYNC_STEP_2 = 1

const scope = relayTestScope()

interface BuiltRoom {
  readonly room: RoomDocument
  readonly token: string
  readonly roomId: string
  /** Message ids in display order (oldest first). */
  readonly ids: string[]
  readonly author: string
}

/** A room of `n` messages by one author, written as Parley writes them, one a second. */
async function buildRoom(n: number, text: (i: number) => string): Promise<BuiltRoom> {
  const keys = await deriveRoomKeys(toBase64Url(crypto.getRandomValues(new Uint8Array(16))))
  const identity = await generateSigningIdentity()
  const room = new RoomDocument(new Y.Doc())
  const start = Date.now() - n * 1000
  room.setMember(
    toBase64Url(identity.keyId),
    await composeMember(keys, identity, { wall: start, counter: 0 }, 'Ada'),
  )
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const id = newMessageId()
    const stamp = { wall: start + (i + 1) * 1000, counter: 0 }
    room.insertMessage(id, await composeMessage(keys, identity, id, stamp, text(i), false))
    ids.push(id)
  }
  return {
    room,
    token: keys.relayToken,
    roomId: keys.roomId,
    ids,
    author: toBase64Url(identity.keyId),
  }
}

/** Pushes the room to the relay with a stock client; resolves once the relay stored it. */
async function pushRoom(harness: TestServer, built: BuiltRoom): Promise<void> {
  const stock = scope.client(harness, built, { doc: built.room.doc })
  await untilSynced(stock)
  await untilSaved(stock)
}

/** Connects raw, sends `stateVector` as step 1, and returns the frames up to the step 2. */
async function newcomerFrames(
  harness: TestServer,
  built: BuiltRoom,
  params: Record<string, string>,
  stateVector?: Uint8Array,
): Promise<Uint8Array[]> {
  const url = relayUrl(harness.wsUrl('/relay'), built.roomId, { token: built.token, ...params })
  const raw = await RawRelayClient.connect(url)
  scope.defer(() => raw.close())
  raw.send(syncStep1Frame(stateVector))
  await vi.waitFor(() => expect(raw.received.some(isStep2)).toBe(true), WAIT)
  return raw.received.slice(0, raw.received.findIndex(isStep2) + 1)
}

function isStep2(frame: Uint8Array): boolean {
  return frame[0] === SYNC && frame[1] === SYNC_STEP_2
}

/** The update a newest-records frame carries. */
function newestUpdate(frame: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(frame)
  expect(decoding.readVarUint(decoder)).toBe(NEWEST_RECORDS_MESSAGE)
  const update = decoding.readVarUint8Array(decoder)
  expect(decoding.hasContent(decoder)).toBe(false)
  return update
}

function sortedIds(room: RoomDocument): string[] {
  const keyed = room.idsOf('messages').map((id) => {
    const key = room.messageKey(id)
    return { id, wall: key?.ok ? key.value.stamp.wall : 0 }
  })
  const stones = room
    .idsOf('tombstones')
    .filter((id) => !room.maps.messages.has(id))
    .map((id) => {
      const stone = room.tombstone(id)
      return { id, wall: stone?.ok ? stone.value.stamp.wall : 0 }
    })
  return [...keyed, ...stones].sort((a, b) => a.wall - b.wall).map(({ id }) => id)
}

describe('relay: newest records first', () => {
  it('sends an asking newcomer the newest messages, edits, tombstones and members, then the room', async () => {
    const harness = await scope.server()
    const built = await buildRoom(NEWEST_MESSAGES + 30, (i) => `message ${i}`)
    await pushRoom(harness, built)

    const frames = await newcomerFrames(harness, built, { newest: '1' })
    const types = frames.map((frame) => frame[0])
    // The relay's own step 1 and presence come first, then the newest records, then the room.
    expect(types.filter((type) => type === NEWEST_RECORDS_MESSAGE)).toHaveLength(1)
    const at = types.indexOf(NEWEST_RECORDS_MESSAGE)
    expect(at).toBe(frames.length - 2)
    const update = newestUpdate(frames[at])
    expect(update.byteLength).toBeLessThanOrEqual(NEWEST_RECORDS_MAX_BYTES)
    const newest = decodeNewestRecords(update)!
    expect(sortedIds(newest)).toEqual(built.ids.slice(-NEWEST_MESSAGES))
    expect(newest.idsOf('members')).toEqual([built.author])
    // Copied as stored, byte for byte.
    for (const id of built.ids.slice(-NEWEST_MESSAGES))
      expect(newest.validBytes('messages', id)).toEqual(built.room.validBytes('messages', id))
    // Much smaller than the room it comes before.
    expect(update.byteLength * 1.3).toBeLessThan(frames.at(-1)!.byteLength)
  })

  it('follows the room: a new message, an edit and a delete are in the next newcomer’s records', async () => {
    const harness = await scope.server()
    const keys = await deriveRoomKeys(toBase64Url(crypto.getRandomValues(new Uint8Array(16))))
    const identity = await generateSigningIdentity()
    const author = toBase64Url(identity.keyId)
    const room = new RoomDocument(new Y.Doc())
    const start = Date.now() - 1_000_000
    room.setMember(author, await composeMember(keys, identity, { wall: start, counter: 0 }, 'B'))
    const ids: string[] = []
    const write = async (i: number) => {
      const id = newMessageId()
      const stamp = { wall: start + (i + 1) * 1000, counter: 0 }
      room.insertMessage(id, await composeMessage(keys, identity, id, stamp, `m${i}`, false))
      ids.push(id)
      return { id, stamp }
    }
    for (let i = 0; i < NEWEST_MESSAGES + 5; i++) await write(i)
    const built: BuiltRoom = { room, token: keys.relayToken, roomId: keys.roomId, ids, author }
    const stock = scope.client(harness, built, { doc: room.doc })
    await untilSynced(stock)
    await untilSaved(stock)
    // First newcomer: the index is built once (a scan), then followed.
    let newest = decodeNewestRecords(
      newestUpdate((await newcomerFrames(harness, built, { newest: '1' })).at(-2)!),
    )!
    expect(sortedIds(newest)).toEqual(ids.slice(-NEWEST_MESSAGES))

    const latest = await write(NEWEST_MESSAGES + 5)
    room.setEdit(latest.id, await composeEdit(keys, identity, latest.id, latest.stamp, 'edited'))
    const deleted = ids.at(-3)!
    const deletedKey = room.message(deleted)
    if (!deletedKey?.ok) throw new Error('no record to delete')
    room.deleteMessage(deleted, await composeTombstone(keys, identity, deleted, deletedKey.value))
    await untilSaved(stock)
    newest = decodeNewestRecords(
      newestUpdate((await newcomerFrames(harness, built, { newest: '1' })).at(-2)!),
    )!
    // The deleted message keeps its place as its tombstone; the oldest of before fell off.
    expect(sortedIds(newest)).toEqual(ids.slice(-NEWEST_MESSAGES))
    expect(newest.validBytes('edits', latest.id)).toEqual(room.validBytes('edits', latest.id))
    expect(newest.maps.messages.has(deleted)).toBe(false)
    expect(newest.validBytes('tombstones', deleted)).toEqual(room.validBytes('tombstones', deleted))
  })

  it('keeps within its byte bound: a room of long messages sends only the newest that fit', async () => {
    const harness = await scope.server()
    // ~12 KB of ciphertext each (4,000 three-byte characters): 30 are well past the bound.
    const built = await buildRoom(30, (i) => `${i} `.padEnd(4000, '€'))
    await pushRoom(harness, built)
    const frames = await newcomerFrames(harness, built, { newest: '1' })
    const update = newestUpdate(frames.at(-2)!)
    expect(update.byteLength).toBeLessThanOrEqual(NEWEST_RECORDS_MAX_BYTES)
    const sent = sortedIds(decodeNewestRecords(update)!)
    expect(sent.length).toBeGreaterThan(10)
    expect(sent.length).toBeLessThan(30)
    // The newest, never a gap: what is cut is the oldest.
    expect(sent).toEqual(built.ids.slice(-sent.length))
  })

  it('sends nothing extra to a client that did not ask, nor for a room with no message', async () => {
    const harness = await scope.server()
    const built = await buildRoom(10, (i) => `m${i}`)
    await pushRoom(harness, built)
    const stock = await newcomerFrames(harness, built, {})
    expect(stock.map((frame) => frame[0])).not.toContain(NEWEST_RECORDS_MESSAGE)
    const empty = await buildRoom(0, () => '')
    const none = await newcomerFrames(harness, empty, { newest: '1' })
    expect(none.map((frame) => frame[0])).not.toContain(NEWEST_RECORDS_MESSAGE)
  })

  it('sends them on connect, before the room, even to a newcomer that already wrote (its member entry)', async () => {
    const harness = await scope.server()
    const built = await buildRoom(10, (i) => `m${i}`)
    await pushRoom(harness, built)
    const own = new Y.Doc()
    own.getMap('members').set('x', new Uint8Array([1]))
    const frames = await newcomerFrames(harness, built, { newest: '1' }, Y.encodeStateVector(own))
    const at = frames.findIndex((frame) => frame[0] === NEWEST_RECORDS_MESSAGE)
    expect(at).toBeGreaterThan(0)
    expect(at).toBeLessThan(frames.length - 1)
    expect(sortedIds(decodeNewestRecords(newestUpdate(frames[at]))!)).toEqual(built.ids)
  })
})

// ---------------------------------------------------------------------------------------------
// The browser's side: RelayLink against a relay that sends what it likes.

let server: WebSocketServer | null = null
let link: RelayLink | null = null

afterEach(() => {
  link?.destroy()
  link = null
  if (server) {
    for (const client of server.clients) client.terminate()
    server.close()
    server = null
  }
  vi.restoreAllMocks()
})

async function fakeRelay(): Promise<{ url: string; next: () => Promise<WebSocket> }> {
  const wss = (server = new WebSocketServer({ port: 0 }))
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/relay`,
    next: async () => ((await once(wss, 'connection')) as [WebSocket])[0],
  }
}

function frame(type: number, ...parts: ((encoder: encoding.Encoder) => void)[]): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, type)
  for (const part of parts) part(encoder)
  return encoding.toUint8Array(encoder)
}

const newestFrame = (update: Uint8Array) =>
  frame(NEWEST_RECORDS_MESSAGE, (e) => encoding.writeVarUint8Array(e, update))
const step2Frame = (update: Uint8Array) =>
  frame(
    SYNC,
    (e) => encoding.writeVarUint(e, SYNC_STEP_2),
    (e) => encoding.writeVarUint8Array(e, update),
  )

function roomUpdate(): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('messages').set('m', new Uint8Array([1, 2, 3]))
  return Y.encodeStateAsUpdate(doc)
}

function smallUpdate(size = 10): Uint8Array {
  const doc = new Y.Doc()
  doc.getMap('messages').set('x', new Uint8Array(size))
  return Y.encodeStateAsUpdate(doc)
}

describe('RelayLink: newest records first', () => {
  it('asks as a newcomer, shows the newest records, and applies the room only after', async () => {
    const relay = await fakeRelay()
    const doc = new Y.Doc()
    let finishShowing: () => void = () => {}
    const shown: Uint8Array[] = []
    link = new RelayLink(doc, {
      url: relay.url,
      roomId: 'room',
      token: 'token',
      showNewest: (update) => {
        shown.push(update)
        return new Promise<void>((resolve) => (finishShowing = resolve))
      },
    })
    const connection = once(server!, 'connection') as Promise<[WebSocket, { url?: string }]>
    link.start({ newcomer: true })
    const [socket, request] = await connection
    expect(request.url).toContain('newest=1')
    const newest = smallUpdate()
    socket.send(newestFrame(newest))
    socket.send(step2Frame(roomUpdate()))
    await vi.waitFor(() => expect(shown).toHaveLength(1), WAIT)
    expect(shown[0]).toEqual(newest)
    // The room's state arrived and waits: not in the document, not synced, while showing.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(doc.getMap('messages').size).toBe(0)
    expect(link.provider.synced).toBe(false)
    finishShowing()
    await vi.waitFor(() => expect(link!.provider.synced).toBe(true), WAIT)
    expect(doc.getMap('messages').get('m')).toEqual(new Uint8Array([1, 2, 3]))
    expect(link.refusedUpdates).toBe(0)
  })

  it('refuses oversized, malformed and unasked-for newest records, and the room still syncs', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    for (const variant of ['oversized', 'malformed', 'bomb', 'unasked', 'twice'] as const) {
      const relay = await fakeRelay()
      const doc = new Y.Doc()
      const shown: Uint8Array[] = []
      link = new RelayLink(doc, {
        url: relay.url,
        roomId: 'room',
        token: 'token',
        showNewest: (update) => {
          shown.push(update)
          return Promise.resolve()
        },
      })
      const connection = relay.next()
      link.start({ newcomer: variant !== 'unasked' })
      const socket = await connection
      const sent =
        variant === 'oversized'
          ? newestFrame(smallUpdate(NEWEST_RECORDS_MAX_BYTES))
          : variant === 'malformed'
            ? frame(NEWEST_RECORDS_MESSAGE, (e) => encoding.writeVarUint(e, 1_000_000))
            : variant === 'bomb'
              ? newestFrame(new Uint8Array([1, 0xff, 0xff, 0xff, 0x07, 0, 0]))
              : newestFrame(smallUpdate())
      socket.send(sent)
      if (variant === 'twice') socket.send(newestFrame(smallUpdate()))
      socket.send(step2Frame(roomUpdate()))
      await vi.waitFor(() => expect(link!.provider.synced).toBe(true), WAIT)
      expect(doc.getMap('messages').get('m'), variant).toEqual(new Uint8Array([1, 2, 3]))
      expect(shown, variant).toHaveLength(variant === 'twice' ? 1 : 0)
      expect(link.refusedUpdates, variant).toBe(1)
      expect(socket.readyState, variant).toBe(WebSocket.OPEN)
      link.destroy()
      link = null
      for (const client of server!.clients) client.terminate()
      server!.close()
      server = null
    }
    expect(warn).toHaveBeenCalled()
  })
})
