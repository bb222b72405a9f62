// RoomSession with the relay, in Node: real WebCrypto, IndexedDB semantics (fake-indexeddb, a
// fresh database per browser), our real server on port 0 with its relay and embedded store.
// A message is marked "saved to relay" only once the relay stored it; someone who opens the
// link after its author left gets it from the relay; a refused room says why. (y-webrtc allows
// one provider per room in a process, so two people at once are tested in the browser, e2e.)
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { generateSigningIdentity, newRoomSecret, type SigningIdentity } from '../../src/crypto'
import { RoomSession, type RoomSessionConfig } from '../../src/session/room-session'
import { connectionOf } from '../../src/ui/room-state'
import { startTestServer, type TestServer } from '../support/server-harness'

// Node 20 has no global WebSocket; y-webrtc's and y-websocket's clients need one.
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const RELAY_MS = 10_000

let server: TestServer
let alice: SigningIdentity
let bob: SigningIdentity

beforeAll(async () => {
  server = await startTestServer()
  alice = await generateSigningIdentity()
  bob = await generateSigningIdentity()
})

afterAll(async () => {
  await server?.close()
})

function configFor(name: string, relayUrl = server.wsUrl('/relay')): RoomSessionConfig {
  return {
    signalingUrls: [server.wsUrl('/signal')],
    iceServers: [],
    relayUrl,
    displayName: name,
  }
}

/** Another browser: its own, empty IndexedDB. */
function switchBrowser(): void {
  ;(globalThis as { indexedDB: IDBFactory }).indexedDB = new IDBFactory()
}

async function textsOf(session: RoomSession): Promise<(string | null)[]> {
  const resolved = await Promise.all(
    session.timeline.entries().map((entry) => session.content.resolve(entry)),
  )
  return resolved.map((r) => (r.kind === 'message' ? r.text : r.kind))
}

describe('RoomSession with a relay', () => {
  it('marks a message saved once the relay stored it; a later visitor gets it from the relay', async () => {
    const secret = newRoomSecret()
    switchBrowser()
    const writer = await RoomSession.open(secret, alice, configFor('Alice'))
    await expect.poll(() => connectionOf(writer).relay, { timeout: RELAY_MS }).toBe('connected')
    const id = await writer.send('waits on the relay')
    // Not a person's browser: the relay's ack says "saved", never "delivered".
    await expect.poll(() => writer.deliveryOf(id), { timeout: RELAY_MS }).toBe('saved-to-relay')
    // Written with the relay connected: not "sent offline".
    const [entry] = writer.timeline.entries()
    expect(await writer.content.resolve(entry)).toMatchObject({ sentOffline: false })
    await writer.destroy()

    switchBrowser()
    const reader = await RoomSession.open(secret, bob, configFor('Bob'))
    await expect.poll(() => textsOf(reader), { timeout: RELAY_MS }).toEqual(['waits on the relay'])
    const [received] = reader.timeline.entries()
    expect(await reader.content.resolve(received)).toMatchObject({ authenticity: 'verified' })
    await reader.destroy()
  })

  it('says so when the relay refuses the room', async () => {
    switchBrowser()
    const session = await RoomSession.open(newRoomSecret(), alice, {
      ...configFor('Alice'),
      // Any room id the relay cannot match to our token: a room the relay refuses for good.
      relayUrl: server.wsUrl('/relay/not-a-room'),
    })
    await expect.poll(() => connectionOf(session).relay, { timeout: RELAY_MS }).toBe('refused')
    expect(connectionOf(session).relayRefusal?.code).toBeGreaterThanOrEqual(4400)
    await session.destroy()
  })
})
