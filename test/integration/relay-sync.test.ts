// The relay with stock y-websocket clients: live sync through it, store-and-forward to someone
// who joins later, "saved to relay" acknowledgements, persistence across restarts, idle rooms
// unloaded and reloaded, and a shutdown that stores everything first.

import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { makeTempDir, startTestServer, type TestServer } from '../support/server-harness'
import {
  StockClient,
  newRoom,
  textsOf,
  untilSaved,
  untilSynced,
  writeText,
  type RoomCredentials,
} from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'

const WAIT = { timeout: 10_000, interval: 20 }

const scope = relayTestScope()
const server = scope.server
const client = (harness: TestServer, room: RoomCredentials, doc?: Y.Doc) =>
  scope.client(harness, room, { doc })

describe('relay sync', () => {
  it('tells the app where the relay is', async () => {
    const harness = await server()
    const config = (await (await fetch(`${harness.server.url}/config.json`)).json()) as {
      relay: string | null
    }
    expect(config.relay).toBe('/relay')
  })

  it('syncs two stock clients through the relay, both ways', async () => {
    const harness = await server()
    const room = newRoom()
    const alice = client(harness, room)
    const bob = client(harness, room)
    await Promise.all([untilSynced(alice), untilSynced(bob)])
    writeText(alice, 'hello from alice')
    await vi.waitFor(() => expect(textsOf(bob)).toEqual(['hello from alice']), WAIT)
    writeText(bob, 'hi alice')
    await vi.waitFor(() => expect(textsOf(alice)).toHaveLength(2), WAIT)
    expect(textsOf(alice).sort()).toEqual(textsOf(bob).sort())
  })

  it('keeps what was written for someone who joins later (store and forward)', async () => {
    const harness = await server()
    const room = newRoom()
    const alice = client(harness, room)
    await untilSynced(alice)
    writeText(alice, 'left for bob')
    await untilSaved(alice)
    alice.destroy()

    const bob = client(harness, room)
    await untilSynced(bob)
    expect(textsOf(bob)).toEqual(['left for bob'])
  })

  it('acknowledges a write with a state vector covering it, only once it is stored', async () => {
    const harness = await server()
    const room = newRoom()
    const alice = client(harness, room)
    await untilSynced(alice)
    const before = alice.stateVectors.length
    for (let i = 0; i < 20; i++) writeText(alice, `message ${i}`)
    await untilSaved(alice)
    // The acknowledgement arrived after the writes: a sync step 1 whose clock covers them all.
    expect(alice.stateVectors.length).toBeGreaterThan(before)
    expect(alice.storedClock()).toBe(alice.clock)
    // And the relay really had them in its store then: a new reader gets all twenty.
    const reader = client(harness, room)
    await untilSynced(reader)
    expect(textsOf(reader)).toHaveLength(20)
    // Someone who only reads is not sent acknowledgements for others' writes.
    const readerVectors = reader.stateVectors.length
    writeText(alice, 'one more')
    await untilSaved(alice)
    await vi.waitFor(() => expect(textsOf(reader)).toHaveLength(21), WAIT)
    expect(reader.stateVectors.length).toBe(readerVectors)
  })

  it('does not echo a writer its own updates, and stops acknowledging once all is stored', async () => {
    const harness = await server()
    const room = newRoom()
    const alice = client(harness, room)
    await untilSynced(alice)
    const updates: Uint8Array[] = []
    alice.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === alice.provider) updates.push(update)
    })
    writeText(alice, 'mine')
    await untilSaved(alice)
    const received = alice.receivedAt.length
    // Quiet now: the ack's answer (a step 2) must not be acknowledged again, forever.
    const bob = client(harness, room)
    await untilSynced(bob)
    writeText(bob, 'from bob')
    await vi.waitFor(() => expect(textsOf(alice)).toHaveLength(2), WAIT)
    await untilSaved(bob)
    // Alice got bob's update and nothing of her own back.
    expect(updates).toHaveLength(1)
    expect(alice.receivedAt.length - received).toBeLessThanOrEqual(2)
  })

  it('survives a restart on the same data directory', async () => {
    const data = await makeTempDir('parley-relay-data-')
    scope.defer(() => data.remove())
    const room = newRoom()
    const first = await startTestServer({ dataDir: data.dir })
    const alice = new StockClient(first.wsUrl('/relay'), room.roomId, { token: room.token })
    await untilSynced(alice)
    for (let i = 0; i < 5; i++) writeText(alice, `before restart ${i}`)
    await untilSaved(alice)
    alice.destroy()
    await first.close()

    const second = await server({ dataDir: data.dir })
    const bob = client(second, room)
    await untilSynced(bob)
    expect(textsOf(bob)).toEqual([0, 1, 2, 3, 4].map((i) => `before restart ${i}`))
  })

  it('compacts a growing room in the store, and loads it whole after a restart', async () => {
    const data = await makeTempDir('parley-relay-data-')
    scope.defer(() => data.remove())
    const room = newRoom()
    const relayLimits = { compactionMinLogBytes: 512 }
    const first = await startTestServer({ dataDir: data.dir, relayLimits })
    const alice = new StockClient(first.wsUrl('/relay'), room.roomId, { token: room.token })
    for (let i = 0; i < 100; i++) {
      writeText(alice, `message ${i} ${'x'.repeat(40)}`)
      if (i % 10 === 9) await untilSaved(alice)
    }
    alice.doc.getArray('messages').delete(0, 50)
    await untilSaved(alice)
    await vi.waitFor(
      () =>
        expect(
          first.logs.filter((line) => line.event === 'relay.compacted').length,
        ).toBeGreaterThan(1),
      WAIT,
    )
    alice.destroy()
    await first.close()

    const second = await server({ dataDir: data.dir, relayLimits })
    const bob = client(second, room)
    await untilSynced(bob)
    expect(textsOf(bob)).toEqual(textsOf(alice))
    expect(textsOf(bob)).toHaveLength(50)
  })

  it('unloads an idle room and loads it again on the next connection', async () => {
    const harness = await server({ relayLimits: { idleRoomUnloadMs: 50 } })
    const room = newRoom()
    const alice = client(harness, room)
    await untilSynced(alice)
    writeText(alice, 'kept while unloaded')
    await untilSaved(alice)
    expect(await roomsLoaded(harness)).toBe(1)
    alice.destroy()
    await vi.waitFor(async () => expect(await roomsLoaded(harness)).toBe(0), WAIT)
    expect(harness.logs.some((line) => line.event === 'relay.room_unloaded')).toBe(true)

    const bob = client(harness, room)
    await untilSynced(bob)
    expect(await roomsLoaded(harness)).toBe(1)
    expect(textsOf(bob)).toEqual(['kept while unloaded'])
  })

  it('stores every pending update on shutdown, then closes clients with 1001', async () => {
    const data = await makeTempDir('parley-relay-data-')
    scope.defer(() => data.remove())
    const room = newRoom()
    const first = await startTestServer({ dataDir: data.dir })
    const alice = new StockClient(first.wsUrl('/relay'), room.roomId, { token: room.token })
    scope.defer(() => alice.destroy())
    await untilSynced(alice)
    writeText(alice, 'written just before shutdown')
    // Wait until the relay has the update in memory (forwarded to a second client), then shut
    // down at once, without waiting for the acknowledgement.
    const bob = new StockClient(first.wsUrl('/relay'), room.roomId, { token: room.token })
    scope.defer(() => bob.destroy())
    await vi.waitFor(() => expect(textsOf(bob)).toHaveLength(1), WAIT)
    await first.close()
    expect(alice.closes).toContainEqual({ code: 1001, reason: 'server shutting down' })
    alice.destroy()
    bob.destroy()

    const second = await server({ dataDir: data.dir })
    const reader = client(second, room)
    await untilSynced(reader)
    expect(textsOf(reader)).toEqual(['written just before shutdown'])
  })
})

/** Rooms in the relay's memory, as `/metrics` reports them. */
async function roomsLoaded(harness: TestServer): Promise<number> {
  const text = await (await fetch(`${harness.server.url}/metrics`)).text()
  const line = /^parley_relay_rooms_loaded (\d+)$/m.exec(text)
  if (!line) throw new Error('no parley_relay_rooms_loaded in /metrics')
  return Number(line[1])
}
