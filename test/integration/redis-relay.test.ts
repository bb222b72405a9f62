// The relay across instances: two Parley servers on one Redis serve one room. Stock y-websocket
// clients on different instances sync live, someone joining later on the other instance gets
// what was stored, and a crashed instance leaves the other serving the room with everything
// that was acknowledged.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { TestRedis } from '../support/redis-server'
import { newRoom, StockClient, type RoomCredentials } from '../support/relay-client'
import { startTestServer, type TestServer } from '../support/server-harness'
import { ServerProcess } from '../support/server-process'

const WAIT = { timeout: 15_000, interval: 20 }

let redis: TestRedis
let a: TestServer
let b: TestServer
const clients: StockClient[] = []
const processes: ServerProcess[] = []

beforeAll(async () => {
  redis = await TestRedis.start()
  a = await startTestServer({ redisUrl: redis.url })
  b = await startTestServer({ redisUrl: redis.url })
})
afterEach(() => {
  for (const stock of clients.splice(0)) stock.destroy()
})
afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()))
  await a?.close()
  await b?.close()
  await redis?.stop()
})

function client(server: { wsUrl(path: string): string }, room: RoomCredentials): StockClient {
  const stock = new StockClient(server.wsUrl('/relay'), room.roomId, { token: room.token })
  clients.push(stock)
  return stock
}

function write(stock: StockClient, text: string): void {
  stock.doc.getArray<Uint8Array>('messages').push([new TextEncoder().encode(text)])
}

function texts(stock: StockClient): string[] {
  return stock.doc
    .getArray<Uint8Array>('messages')
    .toArray()
    .map((bytes) => new TextDecoder().decode(bytes))
    .sort()
}

async function synced(stock: StockClient): Promise<void> {
  await vi.waitFor(() => expect(stock.synced).toBe(true), WAIT)
}

/** The relay acknowledged (stored) everything this client wrote. */
async function saved(stock: StockClient): Promise<void> {
  await vi.waitFor(() => expect(stock.storedClock()).toBe(stock.clock), WAIT)
}

describe('relay over Redis', () => {
  it('syncs stock clients connected to different instances, both ways', async () => {
    const room = newRoom()
    const alice = client(a, room)
    const bob = client(b, room)
    await Promise.all([synced(alice), synced(bob)])
    write(alice, 'hello from A')
    await vi.waitFor(() => expect(texts(bob)).toEqual(['hello from A']), WAIT)
    write(bob, 'hello from B')
    await vi.waitFor(() => expect(texts(alice)).toEqual(['hello from A', 'hello from B']), WAIT)
    await Promise.all([saved(alice), saved(bob)])
  })

  it('hands what was stored through one instance to a newcomer on the other', async () => {
    const room = newRoom()
    const alice = client(a, room)
    await synced(alice)
    write(alice, 'left on A')
    await saved(alice)
    alice.destroy()
    const carol = client(b, room)
    await synced(carol)
    expect(texts(carol)).toEqual(['left on A'])
  })

  it('keeps serving a room on B when instance A crashes', async () => {
    const crashing = await ServerProcess.start({ flags: ['--redis', redis.url] })
    processes.push(crashing)
    const room = newRoom()
    const alice = client(crashing, room)
    const bob = client(b, room)
    await Promise.all([synced(alice), synced(bob)])
    write(alice, 'acknowledged before the crash')
    await saved(alice)
    await vi.waitFor(() => expect(texts(bob)).toEqual(['acknowledged before the crash']), WAIT)

    await crashing.kill()
    alice.destroy()
    write(bob, 'after the crash')
    await saved(bob)
    const carol = client(b, room)
    await synced(carol)
    expect(texts(carol)).toEqual(['acknowledged before the crash', 'after the crash'])
    write(carol, 'still live on B')
    await vi.waitFor(() => expect(texts(bob)).toContain('still live on B'), WAIT)
  })
})
