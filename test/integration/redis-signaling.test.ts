// /signal across instances: two Parley servers on one Redis share topics. A publish on A reaches
// subscribers on B, and subscribers on A exactly once (no echo through Redis); an instance
// listens on a topic's Redis channel only while it has local subscribers; stock y-webrtc peers
// on different instances find each other; a crashed instance leaves the other serving.

import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { silentLogger } from '../../signaling/log'
import {
  closeRedis,
  connectRedis,
  escapeKeyPart,
  type RedisConnection,
} from '../../signaling/redis-client'
import { SIGNAL_CHANNEL_PREFIX } from '../../signaling/redis-signal-bus'
import { TestRedis } from '../support/redis-server'
import { startTestServer, type TestServer } from '../support/server-harness'
import { PeerProcess } from '../support/server-peer-process'
import { ServerProcess } from '../support/server-process'
import { TestSignalClient } from '../support/server-signal-client'
import type { PeerEvent } from '../support/server-ywebrtc-peer'

let redis: TestRedis
let admin: RedisConnection
let a: TestServer
let b: TestServer
const clients: TestSignalClient[] = []
const peers: PeerProcess[] = []
const processes: ServerProcess[] = []

beforeAll(async () => {
  redis = await TestRedis.start()
  admin = await connectRedis({ url: redis.url, logger: silentLogger, role: 'test-admin' })
  a = await startTestServer({ redisUrl: redis.url })
  b = await startTestServer({ redisUrl: redis.url })
})
afterEach(async () => {
  await Promise.allSettled(peers.splice(0).map((peer) => peer.stop()))
  await Promise.all(clients.splice(0).map((client) => client.close()))
})
afterAll(async () => {
  for (const peer of peers) peer.kill()
  await Promise.all(processes.map((p) => p.kill()))
  await a?.close()
  await b?.close()
  if (admin) await closeRedis(admin)
  await redis?.stop()
})

async function connect(server: { wsUrl(path: string): string }): Promise<TestSignalClient> {
  const client = await TestSignalClient.connect(server.wsUrl('/signal'))
  clients.push(client)
  return client
}

async function subscribe(client: TestSignalClient, topic: string): Promise<void> {
  client.send({ type: 'subscribe', topics: [topic] })
  await client.sync()
}

/** Instances listening on the topic's Redis channel. */
async function listeners(topic: string): Promise<number> {
  const reply = await admin.sendCommand<unknown[]>([
    'PUBSUB',
    'NUMSUB',
    SIGNAL_CHANNEL_PREFIX + escapeKeyPart(topic),
  ])
  return Number(String(reply[1]))
}

/** Everything the client has received so far: what arrives before the answer to a ping. */
async function drained(client: TestSignalClient): Promise<unknown[]> {
  client.send({ type: 'ping' })
  const messages: unknown[] = []
  for (;;) {
    const message = await client.next()
    if ((message as { type?: unknown }).type === 'pong') return messages
    messages.push(message)
  }
}

describe('signaling over Redis', () => {
  it('delivers a publish on A to subscribers on B, and once to subscribers on A', async () => {
    const topic = `room-${randomUUID()}`
    const onA = await connect(a)
    const otherOnA = await connect(a)
    const onB = await connect(b)
    for (const client of [onA, otherOnA, onB]) await subscribe(client, topic)
    await expect.poll(() => listeners(topic)).toBe(2)

    onA.send({ type: 'publish', topic, data: 'offer from A' })
    expect(await onB.next()).toEqual({ type: 'publish', topic, data: 'offer from A', clients: 2 })
    onB.send({ type: 'publish', topic, data: 'answer from B' })
    expect(await onA.next()).toEqual({ type: 'publish', topic, data: 'offer from A', clients: 2 })
    expect(await onA.next()).toEqual({ type: 'publish', topic, data: 'answer from B', clients: 1 })

    // A round trip through B and back after the last publish: anything echoed through Redis
    // would have arrived by now.
    onB.send({ type: 'publish', topic, data: 'marker' })
    await expect.poll(() => otherOnA.pending().length).toBe(3)
    expect((await drained(otherOnA)).map((m) => (m as { data: string }).data)).toEqual([
      'offer from A',
      'answer from B',
      'marker',
    ])
    expect((await drained(onA)).map((m) => (m as { data: string }).data)).toEqual(['marker'])
    expect((await drained(onB)).map((m) => (m as { data: string }).data)).toEqual([
      'answer from B',
      'marker',
    ])
  })

  it('listens on a Redis channel only while the topic has local subscribers', async () => {
    // Characters that mean something in Redis keys and patterns, escaped in channel names.
    const topic = `room*?[x]:{${randomUUID()}}`
    const onA = await connect(a)
    const onB = await connect(b)
    expect(await listeners(topic)).toBe(0)
    await subscribe(onA, topic)
    await expect.poll(() => listeners(topic)).toBe(1)
    await subscribe(onB, topic)
    await expect.poll(() => listeners(topic)).toBe(2)

    onA.send({ type: 'publish', topic, data: 'escaped' })
    expect(await onB.next()).toMatchObject({ topic, data: 'escaped' })

    onA.send({ type: 'unsubscribe', topics: [topic] })
    await expect.poll(() => listeners(topic)).toBe(1)
    await onB.close()
    await expect.poll(() => listeners(topic)).toBe(0)
    const channels = await admin.sendCommand<unknown[]>([
      'PUBSUB',
      'CHANNELS',
      `${SIGNAL_CHANNEL_PREFIX}*`,
    ])
    expect(channels.map(String).filter((c) => c.includes('room'))).toEqual([])
  })

  it('lets stock y-webrtc peers on different instances sync a document', async () => {
    const room = `interop-${randomUUID()}`
    const start = (server: TestServer) => {
      const peer = PeerProcess.start({ signalUrl: server.wsUrl('/signal'), room, password: 'pw' })
      peers.push(peer)
      onTestFailed(() =>
        console.error(
          `peer ${peer.pid}: ${JSON.stringify(peer.events)}\n${peer.output.slice(-3000)}`,
        ),
      )
      return peer
    }
    const writer = start(a)
    await writer.waitFor('ready', (e: PeerEvent) => e.event === 'ready', 20_000)
    writer.send({ cmd: 'write', text: 'across instances' })
    const reader = start(b)
    await reader.waitFor('channel open', (e: PeerEvent) => e.event === 'channel-open', 30_000)
    await reader.waitFor(
      'the document',
      (e: PeerEvent) => e.event === 'doc' && e.text === 'across instances',
      10_000,
    )
  })

  it('serves local subscribers while Redis is down and shares topics again once it is back', async () => {
    const topic = `room-${randomUUID()}`
    const onA = await connect(a)
    const otherOnA = await connect(a)
    const onB = await connect(b)
    for (const client of [onA, otherOnA, onB]) await subscribe(client, topic)
    await expect.poll(() => listeners(topic)).toBe(2)

    await redis.kill()
    onA.send({ type: 'publish', topic, data: 'while Redis is down' })
    expect(await otherOnA.next()).toMatchObject({ data: 'while Redis is down' })
    await redis.restart()

    // Both instances resubscribe on reconnect (node-redis replays SUBSCRIBE).
    await expect.poll(() => listeners(topic), { timeout: 15_000, interval: 200 }).toBe(2)
    onA.send({ type: 'publish', topic, data: 'after the restart' })
    const seen = (await onB.next()) as { data: string }
    // The publish made while Redis was down is gone, as a lost datagram would be.
    expect(seen.data).toBe('after the restart')
  })

  it('keeps serving on B when instance A crashes', async () => {
    const crashing = await ServerProcess.start({ flags: ['--redis', redis.url] })
    processes.push(crashing)
    const topic = `room-${randomUUID()}`
    const onCrashing = await connect(crashing)
    const onB = await connect(b)
    const alsoOnB = await connect(b)
    for (const client of [onCrashing, onB, alsoOnB]) await subscribe(client, topic)
    await expect.poll(() => listeners(topic)).toBe(2)
    onCrashing.send({ type: 'publish', topic, data: 'before the crash' })
    expect(await onB.next()).toMatchObject({ data: 'before the crash' })
    expect(await alsoOnB.next()).toMatchObject({ data: 'before the crash' })

    await crashing.kill()
    expect((await onCrashing.waitClosed()).code).toBe(1006)
    // Redis drops the dead instance's subscription when its connection goes.
    await expect.poll(() => listeners(topic)).toBe(1)
    onB.send({ type: 'publish', topic, data: 'after the crash' })
    expect(await alsoOnB.next()).toMatchObject({ data: 'after the crash' })
    const newcomer = await connect(b)
    await subscribe(newcomer, topic)
    alsoOnB.send({ type: 'publish', topic, data: 'to the newcomer' })
    expect(await newcomer.next()).toMatchObject({ data: 'to the newcomer' })
  })
})
