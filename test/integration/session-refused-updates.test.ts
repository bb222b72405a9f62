// Refused updates are shown: a relay (or whoever answers at its address) sending crafted updates
// to a real RoomSession in Node. The inbound guard drops them (src/net/inbound-guard.ts); the
// session counts them across its links, tells its subscribers, and the room view's quiet status
// line says how many — while the room goes on working (docs/document-model.md).
import 'fake-indexeddb/auto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { IDBFactory } from 'fake-indexeddb'
import * as encoding from 'lib0/encoding'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { generateSigningIdentity, newRoomSecret } from '../../src/crypto'
import { RoomSession } from '../../src/session/room-session'
import { ignoredChangesText } from '../../src/ui/room-state'

// Node 20 has no global WebSocket; y-websocket's client needs one.
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const MESSAGE_SYNC = 0
const SYNC_UPDATE = 2

function syncUpdateFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_SYNC)
  encoding.writeVarUint(encoder, SYNC_UPDATE)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** `[clients][structs][client][clock]` claiming 2^24 - 1 structs in 7 bytes (docs/relay.md). */
function decodeBomb(): Uint8Array {
  const encoder = encoding.createEncoder()
  for (const n of [1, 2 ** 24 - 1, 0, 0]) encoding.writeVarUint(encoder, n)
  return encoding.toUint8Array(encoder)
}

let server: WebSocketServer | null = null
let session: RoomSession | null = null

afterEach(async () => {
  await session?.destroy()
  session = null
  if (server) {
    for (const client of server.clients) client.terminate()
    server.close()
    server = null
  }
  vi.restoreAllMocks()
})

describe('updates refused from the network', () => {
  it('are counted by the session, announced to its subscribers and described quietly', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    ;(globalThis as { indexedDB: IDBFactory }).indexedDB = new IDBFactory()
    const wss = (server = new WebSocketServer({ port: 0 }))
    await once(wss, 'listening')
    const { port } = wss.address() as AddressInfo
    const connection = once(wss, 'connection') as Promise<[WebSocket]>
    session = await RoomSession.open(newRoomSecret(), await generateSigningIdentity(), {
      signalingUrls: [],
      iceServers: [],
      relayUrl: `ws://127.0.0.1:${port}/relay`,
      displayName: 'Alice',
    })
    await session.loaded
    const [socket] = await connection
    expect(session.refusedNetworkUpdates).toBe(0)
    expect(ignoredChangesText(session)).toBeNull()

    // What subscribers (the room view) were told, each time they were told something.
    const announced: number[] = []
    session.changed.subscribe(() => announced.push(session?.refusedNetworkUpdates ?? -1))
    const refused = (count: number) =>
      expect.poll(() => announced, { timeout: 10_000 }).toContain(count)
    socket.send(syncUpdateFrame(decodeBomb()))
    await refused(1)
    expect(ignoredChangesText(session)).toBe(
      'Ignored 1 invalid change from the network. The room is not affected.',
    )
    socket.send(syncUpdateFrame(decodeBomb()))
    await refused(2)
    expect(ignoredChangesText(session)).toBe(
      'Ignored 2 invalid changes from the network. The room is not affected.',
    )
    // The room is unharmed: it still takes a message.
    await session.send('still here')
    expect(session.timeline.entries()).toHaveLength(1)
  })
})
