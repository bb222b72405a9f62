// Newest records first over WebRTC (docs/webrtc.md): what a peer sends a newcomer before its
// sync step 2 (src/net/webrtc-newest.ts), and how a newcomer's WebrtcLink reads what arrives.
// A raw BroadcastChannel plays a hostile tab or peer on y-webrtc's real read path (both go
// through readMessage and the patch's onUnknownMessage hook, patches/README.md), encrypting
// with the room password as a tab of the room would: oversized, malformed and unasked-for
// newest records are refused or ignored, never shown, and the link keeps syncing.
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import {
  NEWEST_MESSAGES,
  NEWEST_RECORDS_MAX_BYTES,
  RoomDocument,
  decodeNewestRecords,
  encodeNewestRecords,
} from '../../src/model'
import { deriveRoomKeys, generateSigningIdentity, toBase64Url } from '../../src/crypto'
import { composeMember, composeMessage, newMessageId } from '../../src/session/authoring'
import { WebrtcLink } from '../../src/net/webrtc-link'
import {
  NEWCOMER_MIN_LACKING,
  NEWEST_PEER_MESSAGE,
  encodeNewestPeerMessage,
  itemsLacking,
  newestPreface,
} from '../../src/net/webrtc-newest'

/** y-webrtc's own cross-tab encryption (src/crypto.js; not in its package exports, untyped). */
interface YWebrtcCrypto {
  deriveKey: (secret: string, roomName: string) => Promise<CryptoKey>
  encrypt: (data: Uint8Array, key: CryptoKey) => Promise<Uint8Array>
}
const Y_WEBRTC_CRYPTO = '../../node_modules/y-webrtc/src/crypto.js'
const PASSWORD = 'tab secret'
const MESSAGE_SYNC = 0
const SYNC_UPDATE = 2

interface BuiltRoom {
  readonly room: RoomDocument
  readonly ids: string[]
  readonly author: string
}

/** A room of `n` messages by one author, signed and encrypted as Parley writes them. */
async function roomOf(n: number, text = (i: number) => `message ${i}`): Promise<BuiltRoom> {
  const keys = await deriveRoomKeys(toBase64Url(crypto.getRandomValues(new Uint8Array(16))))
  const identity = await generateSigningIdentity()
  const author = toBase64Url(identity.keyId)
  const room = new RoomDocument(new Y.Doc())
  const start = Date.now() - n * 1000
  room.setMember(author, await composeMember(keys, identity, { wall: start, counter: 0 }, 'Ada'))
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const id = newMessageId()
    const stamp = { wall: start + (i + 1) * 1000, counter: 0 }
    room.insertMessage(id, await composeMessage(keys, identity, id, stamp, text(i), false))
    ids.push(id)
  }
  return { room, ids, author }
}

function newestOf({ room, ids, author }: BuiltRoom, maxBytes = NEWEST_RECORDS_MAX_BYTES) {
  return () =>
    encodeNewestRecords(
      room,
      ids.slice(-NEWEST_MESSAGES).map((id) => ({ id, author })),
      maxBytes,
    )
}

describe('a peer answering a sync step 1', () => {
  it('sends a newcomer (empty state vector) the newest records, bounded', async () => {
    const built = await roomOf(300)
    const { room } = built
    const preface = newestPreface(room.doc, Y.encodeStateVector(new Y.Doc()), newestOf(built))
    expect(preface).not.toBeNull()
    const decoder = decoding.createDecoder(preface!)
    expect(decoding.readVarUint(decoder)).toBe(NEWEST_PEER_MESSAGE)
    const newest = decodeNewestRecords(decoding.readVarUint8Array(decoder))!
    expect(decoding.hasContent(decoder)).toBe(false)
    expect(newest.maps.messages.size).toBe(NEWEST_MESSAGES)
    expect(newest.maps.messages.has(built.ids.at(-1)!)).toBe(true)
    expect(newest.maps.members.has(built.author)).toBe(true)
    expect(preface!.byteLength).toBeLessThan(NEWEST_RECORDS_MAX_BYTES)
  })

  it('sends nothing extra to a peer that holds (nearly) the room, nor from an empty room', async () => {
    const built = await roomOf(300)
    const { room } = built
    const newest = vi.fn(newestOf(built))
    expect(newestPreface(room.doc, Y.encodeStateVector(room.doc), newest)).toBeNull()
    // A peer that lacks only the last few messages gets them in the sync step 2 alone.
    const behind = new Y.Doc()
    Y.applyUpdate(behind, Y.encodeStateAsUpdate(room.doc))
    const later = new RoomDocument(new Y.Doc())
    Y.applyUpdate(later.doc, Y.encodeStateAsUpdate(room.doc))
    later.doc.transact(() => {
      for (let i = 0; i < NEWCOMER_MIN_LACKING - 1; i++)
        later.maps.messages.set(`n${i}`, Uint8Array.of(i))
    })
    expect(itemsLacking(later.doc, Y.encodeStateVector(behind))).toBe(NEWCOMER_MIN_LACKING - 1)
    expect(newestPreface(later.doc, Y.encodeStateVector(behind), newest)).toBeNull()
    // A peer with an empty document has nothing to offer.
    const empty = new Y.Doc()
    expect(newestPreface(empty, Y.encodeStateVector(new Y.Doc()), newest)).toBeNull()
    expect(newest).not.toHaveBeenCalled()
    // Nor when the session has nothing to show yet, or more than the bound.
    expect(newestPreface(room.doc, Y.encodeStateVector(empty), () => null)).toBeNull()
    const huge = () => new Uint8Array(NEWEST_RECORDS_MAX_BYTES + 1)
    expect(newestPreface(room.doc, Y.encodeStateVector(empty), huge)).toBeNull()
  })

  it('reads a hostile state vector safely', async () => {
    const built = await roomOf(300)
    const { room } = built
    const newest = newestOf(built)
    for (const vector of [
      Uint8Array.of(0xff), // truncated varUint
      Uint8Array.of(3, 1, 1), // says three clients, has less than one
      Uint8Array.of(0, 7), // trailing bytes
      new Uint8Array(64 * 1024 + 1), // larger than any honest one
    ]) {
      expect(itemsLacking(room.doc, vector)).toBe(-1)
      expect(newestPreface(room.doc, vector, newest)).toBeNull()
    }
    // A vector claiming clocks beyond ours lacks nothing.
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarUint(encoder, room.doc.clientID)
    encoding.writeVarUint(encoder, 2 ** 40)
    expect(itemsLacking(room.doc, encoding.toUint8Array(encoder))).toBe(0)
  })
})

let link: WebrtcLink | null = null
let channel: BroadcastChannel | null = null

afterEach(async () => {
  await link?.destroy()
  link = null
  channel?.close()
  channel = null
  vi.restoreAllMocks()
})

/** A newcomer's link (or, `newcomer: false`, one that has the room) and a hostile tab. */
async function linkWithTab(newcomer: boolean) {
  const shown: Uint8Array[] = []
  const roomName = `newest-${Math.random()}`
  const doc = new Y.Doc()
  link = new WebrtcLink(doc, {
    roomName,
    password: PASSWORD,
    signalingUrls: [],
    iceServers: [],
    showNewest: (update) => {
      shown.push(update)
      return Promise.resolve()
    },
  })
  const opened = new Promise<void>((resolve) => link?.changed.subscribe(() => resolve()))
  link.start({ newcomer })
  await opened
  await link.provider?.key
  const { deriveKey, encrypt } = (await import(Y_WEBRTC_CRYPTO)) as YWebrtcCrypto
  const key = await deriveKey(PASSWORD, roomName)
  channel = new BroadcastChannel(roomName)
  const send = async (frame: Uint8Array) => channel?.postMessage(await encrypt(frame, key))
  /** Sends an honest update after the frames and resolves once it is applied: y-webrtc reads
   * a tab's messages in order, so everything before it has been read. */
  const settle = async () => {
    const honest = new Y.Doc()
    honest.getText('t').insert(0, 'ok')
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_SYNC)
    encoding.writeVarUint(encoder, SYNC_UPDATE)
    encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(honest))
    const updated = new Promise<void>((resolve) => doc.once('update', () => resolve()))
    await send(encoding.toUint8Array(encoder))
    await updated
  }
  return { doc, shown, send, settle, link }
}

describe('a newcomer reading newest records from a peer', () => {
  it('shows the first valid newest records once, and ignores later ones', async () => {
    const { shown, send, settle, link } = await linkWithTab(true)
    const update = newestOf(await roomOf(100))()
    await send(encodeNewestPeerMessage(update))
    await send(encodeNewestPeerMessage(update))
    await settle()
    expect(shown).toHaveLength(1)
    expect(shown[0]).toEqual(update)
    expect(link.refusedUpdates).toBe(0)
  })

  it('refuses oversized newest records and shows nothing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { shown, send, settle, link } = await linkWithTab(true)
    const oversized = newestOf(
      await roomOf(NEWEST_MESSAGES, (i) => `${i} ${'€'.repeat(3_900)}`),
      Infinity,
    )()
    expect(oversized.byteLength).toBeGreaterThan(NEWEST_RECORDS_MAX_BYTES)
    await send(encodeNewestPeerMessage(oversized))
    await settle()
    // y-webrtc decrypts a tab's messages side by side: a large one can be read after the small
    // honest one that settle() sends behind it.
    await expect.poll(() => link.refusedUpdates).toBe(1)
    expect(shown).toHaveLength(0)
    expect(warn.mock.calls.map((call) => String(call[0])).join('\n')).toContain('peer or tab')
  })

  it('refuses malformed newest records and shows nothing', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    for (const frame of [
      Uint8Array.of(NEWEST_PEER_MESSAGE), // no update
      Uint8Array.of(NEWEST_PEER_MESSAGE, 0x7f, 1, 2), // length beyond the message
      Uint8Array.of(NEWEST_PEER_MESSAGE, 1, 0, 9), // trailing bytes
      Uint8Array.of(NEWEST_PEER_MESSAGE, 4, 0xff, 0xff, 0xff, 0x0f), // not an update
    ]) {
      const { shown, send, settle, link } = await linkWithTab(true)
      await send(frame)
      await settle()
      await expect.poll(() => link.refusedUpdates).toBe(1)
      expect(shown, `frame ${Array.from(frame).join(',')}`).toHaveLength(0)
      await link.destroy()
    }
  })

  it('ignores newest records sent to a browser that has the room', async () => {
    const { shown, send, settle, link } = await linkWithTab(false)
    await send(encodeNewestPeerMessage(newestOf(await roomOf(100))()))
    await settle()
    // Long enough for the larger frame to have been read too, had it come after (see above).
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(shown).toHaveLength(0)
    expect(link.refusedUpdates).toBe(0)
  })
})
