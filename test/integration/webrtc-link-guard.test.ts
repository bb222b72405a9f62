// The browser's inbound guard on the y-webrtc side: another tab (or a peer: both paths go
// through y-webrtc's readMessage, patches/README.md) sending crafted updates. Node 20 has
// BroadcastChannel, so a raw channel plays the hostile tab on y-webrtc's real cross-tab path,
// encrypting with the room password as a tab of the room would.
import * as encoding from 'lib0/encoding'
import { afterEach, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { WebrtcLink } from '../../src/net/webrtc-link'

/** y-webrtc's own cross-tab encryption (src/crypto.js; not in its package exports, untyped). */
interface YWebrtcCrypto {
  deriveKey: (secret: string, roomName: string) => Promise<CryptoKey>
  encrypt: (data: Uint8Array, key: CryptoKey) => Promise<Uint8Array>
}
const Y_WEBRTC_CRYPTO = '../../node_modules/y-webrtc/src/crypto.js'

const MESSAGE_SYNC = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2
const PASSWORD = 'tab secret'

function syncFrame(type: number, update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, type)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** "hi" into text `t`, then a struct whose origin is its own later clock: stock Yjs integrates
 * the first and throws on the second, leaving "hi" in the document. */
function halfAppliedUpdate(): Uint8Array {
  const encoder = encoding.createEncoder()
  const uint = (n: number) => encoding.writeVarUint(encoder, n)
  uint(1) // clients
  uint(2) // structs
  uint(5) // client
  uint(0) // clock
  encoding.writeUint8(encoder, 4) // String item, parent given
  uint(1) // parent is a key
  encoding.writeVarString(encoder, 't')
  encoding.writeVarString(encoder, 'hi')
  encoding.writeUint8(encoder, 128 | 4) // String item with an origin
  uint(5)
  uint(7) // origin clock 7, after this struct's own clock 2
  encoding.writeVarString(encoder, 'x')
  uint(0) // delete set: no clients
  return encoding.toUint8Array(encoder)
}

let link: WebrtcLink | null = null
let channel: BroadcastChannel | null = null

afterEach(async () => {
  await link?.destroy()
  link = null
  channel?.close()
  channel = null
  vi.restoreAllMocks()
})

it('drops crafted updates from another tab before Yjs and keeps applying valid ones', async () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
  const roomName = `guard-${Math.random()}`
  const doc = new Y.Doc()
  link = new WebrtcLink(doc, { roomName, password: PASSWORD, signalingUrls: [], iceServers: [] })
  const opened = new Promise<void>((resolve) => link?.changed.subscribe(() => resolve()))
  link.start()
  await opened
  await link.provider?.key
  const { deriveKey, encrypt } = (await import(Y_WEBRTC_CRYPTO)) as YWebrtcCrypto
  const key = await deriveKey(PASSWORD, roomName)
  channel = new BroadcastChannel(roomName)
  const send = async (frame: Uint8Array) => channel?.postMessage(await encrypt(frame, key))

  const honest = new Y.Doc()
  honest.getText('t').insert(0, 'ok')
  const updated = new Promise<void>((resolve) => doc.once('update', () => resolve()))
  await send(syncFrame(SYNC_STEP_2, halfAppliedUpdate()))
  await send(syncFrame(SYNC_UPDATE, new Uint8Array([1, 0xff, 0xff, 0xff, 0x07, 0, 0])))
  await send(syncFrame(SYNC_UPDATE, Y.encodeStateAsUpdate(honest)))
  await updated

  // y-webrtc handles a tab's messages in order (its mux): the crafted ones came first.
  expect(doc.getText('t').toJSON()).toBe('ok')
  expect(doc.store.clients.has(5)).toBe(false)
  expect(link.refusedUpdates).toBe(2)
  const lines = warn.mock.calls.map((call) => String(call[0]))
  expect(lines.filter((line) => line.includes('limit: structure'))).toHaveLength(1)
  expect(lines.join('\n')).toContain('from the peer or tab')
})
