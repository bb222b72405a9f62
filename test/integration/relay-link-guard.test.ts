// The browser's inbound guard on the relay side: a relay (or whoever answers at its address)
// sending crafted updates. The real relay refuses these itself (docs/relay.md "A bad update"), so
// a raw `ws` server on port 0 plays a hostile relay speaking y-websocket to a real RelayLink.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { RelayLink } from '../../src/net/relay-link'

// Node 20 has no global WebSocket; y-websocket's client needs one.
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const MESSAGE_SYNC = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

function syncFrame(type: number, update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, type)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** Inserts "hi" into text `t`, then a struct whose origin is its own client's later clock:
 * stock Yjs integrates the first and throws on the second, leaving "hi" in the document. */
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
  uint(5) // origin: client 5 ...
  uint(7) // ... clock 7, after this struct's own clock 2
  encoding.writeVarString(encoder, 'x')
  uint(0) // delete set: no clients
  return encoding.toUint8Array(encoder)
}

/** `[clients][structs][client][clock]` claiming 2^24 - 1 structs in 7 bytes (docs/relay.md). */
function decodeBomb(): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const n of [1, 2 ** 24 - 1, 0, 0]) encoding.writeVarUint(encoder, n)
  return encoding.toUint8Array(encoder)
}

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

async function hostileRelay(): Promise<{ url: string; next: () => Promise<WebSocket> }> {
  const wss = (server = new WebSocketServer({ port: 0 }))
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/relay`,
    next: async () => ((await once(wss, 'connection')) as [WebSocket])[0],
  }
}

describe('RelayLink inbound guard', () => {
  it('drops crafted updates before Yjs, counts them, logs the limit, and keeps applying', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const relay = await hostileRelay()
    const doc = new Y.Doc()
    link = new RelayLink(doc, { url: relay.url, roomId: 'room', token: 'token' })
    const connection = relay.next()
    link.start()
    const socket = await connection

    const honest = new Y.Doc()
    honest.getText('t').insert(0, 'ok')
    const valid = Y.encodeStateAsUpdate(honest)
    const updated = new Promise<void>((resolve) => doc.once('update', () => resolve()))
    socket.send(syncFrame(SYNC_STEP_2, halfAppliedUpdate()))
    socket.send(syncFrame(SYNC_UPDATE, decodeBomb()))
    socket.send(syncFrame(SYNC_STEP_2, valid))
    await updated

    // Frames are read in order: both crafted ones were handled before the valid one applied.
    expect(doc.getText('t').toJSON()).toBe('ok')
    expect(doc.store.clients.has(5)).toBe(false)
    expect(link.refusedUpdates).toBe(2)
    // One line for the kind of refusal, with the limit and the value.
    const lines = warn.mock.calls.map((call) => String(call[0]))
    expect(lines.filter((line) => line.includes('limit: structure'))).toHaveLength(1)
    expect(lines.join('\n')).toContain('struct 5:2 refers to its own later clock 7')
    // The provider lives on: same socket, synced by the valid step 2, live updates still apply.
    expect(socket.readyState).toBe(WebSocket.OPEN)
    expect(link.connected()).toBe(true)
    honest.getText('t').insert(2, '!')
    const live = new Promise<void>((resolve) => doc.once('update', () => resolve()))
    socket.send(syncFrame(SYNC_UPDATE, Y.encodeStateAsUpdate(honest, Y.encodeStateVector(doc))))
    await live
    expect(doc.getText('t').toJSON()).toBe('ok!')
    expect(link.refusedUpdates).toBe(2)
  })

  it('drops sync messages of unknown type without closing the socket', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const relay = await hostileRelay()
    const doc = new Y.Doc()
    link = new RelayLink(doc, { url: relay.url, roomId: 'room', token: 'token' })
    const connection = relay.next()
    link.start()
    const socket = await connection
    const honest = new Y.Doc()
    honest.getMap('m').set('k', 1)
    const updated = new Promise<void>((resolve) => doc.once('update', () => resolve()))
    socket.send(syncFrame(7, new Uint8Array([0, 0])))
    socket.send(syncFrame(SYNC_UPDATE, Y.encodeStateAsUpdate(honest)))
    await updated
    expect(doc.getMap('m').get('k')).toBe(1)
    expect(link.refusedUpdates).toBe(1)
    expect(socket.readyState).toBe(WebSocket.OPEN)
  })
})
