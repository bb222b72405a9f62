// The /signal endpoint over real sockets: stock y-webrtc semantics (fan-out with `clients`,
// publish without subscribing, unsubscribe, ping) and every hardening limit, each closing the
// offender with its named code while the server keeps serving everyone else.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CloseCode } from '../../signaling/close-codes'
import { DEFAULT_SIGNALING_LIMITS } from '../../signaling/limits'
import { startTestServer, type TestServer } from '../support/server-harness'
import { TestSignalClient } from '../support/server-signal-client'

let harness: TestServer
const clients: TestSignalClient[] = []

beforeAll(async () => {
  harness = await startTestServer()
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
})

afterAll(async () => {
  await harness.close()
})

async function connect(): Promise<TestSignalClient> {
  const client = await TestSignalClient.connect(harness.wsUrl('/signal'))
  clients.push(client)
  return client
}

async function subscribed(topics: string[]): Promise<TestSignalClient> {
  const client = await connect()
  client.send({ type: 'subscribe', topics })
  await client.sync()
  return client
}

function rejections(limit: string) {
  return harness.logs.filter((line) => line.event === 'signal.rejected' && line.limit === limit)
}

describe('stock y-webrtc semantics', () => {
  it('answers ping with pong', async () => {
    const client = await connect()
    client.send({ type: 'ping' })
    expect(await client.next()).toEqual({ type: 'pong' })
  })

  it('fans a publish out to every subscriber, sender included, with the subscriber count', async () => {
    const [a, b, c] = await Promise.all([
      subscribed(['room-1']),
      subscribed(['room-1']),
      subscribed(['room-1']),
    ])
    const outsider = await subscribed(['room-2'])
    a.send({ type: 'publish', topic: 'room-1', data: 'ciphertext', extra: { kept: true } })
    const expected = {
      type: 'publish',
      topic: 'room-1',
      data: 'ciphertext',
      extra: { kept: true },
      clients: 3,
    }
    for (const client of [a, b, c]) expect(await client.next()).toEqual(expected)
    await outsider.sync()
    expect(outsider.pending()).toEqual([])
  })

  it("overrides a sender's own clients count, whatever whitespace follows the object", async () => {
    const [a, b] = await Promise.all([
      subscribed(['room-own-count']),
      subscribed(['room-own-count']),
    ])
    a.sendRaw('{"type":"publish","clients":99,"topic":"room-own-count","data":"x"} \n')
    const expected = { type: 'publish', topic: 'room-own-count', data: 'x', clients: 2 }
    expect(await a.next()).toEqual(expected)
    expect(await b.next()).toEqual(expected)
  })

  it('delivers a publish from a connection that is not subscribed to the topic', async () => {
    const [a, b] = await Promise.all([subscribed(['room-3']), subscribed(['room-3'])])
    const stranger = await connect()
    stranger.send({ type: 'publish', topic: 'room-3', data: 'hello' })
    const expected = { type: 'publish', topic: 'room-3', data: 'hello', clients: 2 }
    expect(await a.next()).toEqual(expected)
    expect(await b.next()).toEqual(expected)
    await stranger.sync()
    expect(stranger.pending()).toEqual([])
  })

  it('stops delivering after unsubscribe and counts only remaining subscribers', async () => {
    const [a, b] = await Promise.all([subscribed(['room-4', 'room-5']), subscribed(['room-4'])])
    b.send({ type: 'unsubscribe', topics: ['room-4', 'never-subscribed'] })
    await b.sync()
    a.send({ type: 'publish', topic: 'room-4', data: 1 })
    expect(await a.next()).toEqual({ type: 'publish', topic: 'room-4', data: 1, clients: 1 })
    // a's echo came back, so the publish was handled before b's next ping.
    await b.sync()
    expect(b.pending()).toEqual([])
    // a is still in room-5.
    a.send({ type: 'publish', topic: 'room-5', data: 2 })
    expect(await a.next()).toMatchObject({ topic: 'room-5', clients: 1 })
  })

  it('publishing to a topic nobody is subscribed to is a no-op', async () => {
    const a = await connect()
    a.send({ type: 'publish', topic: 'empty-room', data: 'x' })
    await a.sync()
    expect(a.pending()).toEqual([])
  })

  it('frees a closed connection from its topics', async () => {
    const [a, b] = await Promise.all([subscribed(['room-6']), subscribed(['room-6'])])
    await b.close()
    // The server handles b's close asynchronously: poll until a publish counts only a.
    await expect
      .poll(
        async () => {
          a.send({ type: 'publish', topic: 'room-6', data: 0 })
          return ((await a.next()) as { clients: number }).clients
        },
        { timeout: 5_000 },
      )
      .toBe(1)
  })

  it('ignores unknown message types, like the stock server', async () => {
    const client = await connect()
    client.send({ type: 'hello-from-the-future', topics: 7 })
    await client.sync()
    expect(client.ws.readyState).toBe(client.ws.OPEN)
  })

  it('reads JSON in binary frames, like the stock server', async () => {
    const client = await connect()
    client.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true })
    expect(await client.next()).toEqual({ type: 'pong' })
  })
})

describe('untrusted input', () => {
  it('closes on malformed JSON with 4400, and keeps serving other connections', async () => {
    const bystander = await subscribed(['room-7'])
    const offender = await connect()
    offender.sendRaw('{"type":"subscribe", topics: [')
    expect(await offender.waitClosed()).toEqual({
      code: CloseCode.MALFORMED_MESSAGE,
      reason: 'invalid JSON',
    })
    await bystander.sync()
    const newcomer = await subscribed(['room-7'])
    newcomer.send({ type: 'publish', topic: 'room-7', data: 'still here' })
    expect(await bystander.next()).toMatchObject({ data: 'still here', clients: 2 })
    expect(rejections('json').at(-1)).toMatchObject({ level: 'warn', closeCode: 4400 })
  })

  it.each([
    ['a number', '42'],
    ['a string', '"subscribe"'],
    ['null', 'null'],
    ['an array', '[{"type":"ping"}]'],
    ['an object without type', '{}'],
    ['a non-string type', '{"type":7}'],
    ['subscribe without topics', '{"type":"subscribe"}'],
    ['subscribe with a string for topics', '{"type":"subscribe","topics":"room"}'],
    ['subscribe with non-string topics', '{"type":"subscribe","topics":["ok",1]}'],
    ['subscribe with an object topic', '{"type":"subscribe","topics":[{"toString":"x"}]}'],
    ['subscribe with an empty topic', '{"type":"subscribe","topics":[""]}'],
    ['unsubscribe with a null topic', '{"type":"unsubscribe","topics":[null]}'],
    ['publish without topic', '{"type":"publish","data":"x"}'],
    ['publish with a numeric topic', '{"type":"publish","topic":1,"data":"x"}'],
    ['publish with an array topic', '{"type":"publish","topic":["a"],"data":"x"}'],
    ['deep nesting', '['.repeat(20_000) + ']'.repeat(20_000)],
  ])('closes with 4400 on %s', async (_name, frame) => {
    const client = await connect()
    client.sendRaw(frame)
    const closed = await client.waitClosed()
    expect(closed.code).toBe(CloseCode.MALFORMED_MESSAGE)
    expect(closed.reason).not.toBe('')
  })

  it('closes a frame over maxPayloadBytes with 1009 and logs the limit', async () => {
    const client = await connect()
    const max = DEFAULT_SIGNALING_LIMITS.maxPayloadBytes
    const padding = 'x'.repeat(max)
    client.send({ type: 'publish', topic: 'room-8', data: padding })
    expect((await client.waitClosed()).code).toBe(CloseCode.MESSAGE_TOO_BIG)
    await expect.poll(() => rejections('maxPayloadBytes').length).toBeGreaterThan(0)
    expect(rejections('maxPayloadBytes').at(-1)).toMatchObject({ max, closeCode: 1009 })
  })

  it('accepts a frame just under maxPayloadBytes', async () => {
    const client = await subscribed(['room-9'])
    const envelope = JSON.stringify({ type: 'publish', topic: 'room-9', data: '' })
    const data = 'x'.repeat(DEFAULT_SIGNALING_LIMITS.maxPayloadBytes - envelope.length)
    client.send({ type: 'publish', topic: 'room-9', data })
    expect(await client.next()).toMatchObject({ topic: 'room-9', clients: 1 })
  })

  it('closes with 4413 when one subscribe names more topics than allowed', async () => {
    const client = await connect()
    const max = DEFAULT_SIGNALING_LIMITS.maxTopicsPerConnection
    client.send({ type: 'subscribe', topics: Array.from({ length: max + 1 }, (_, i) => `t${i}`) })
    expect(await client.waitClosed()).toEqual({
      code: CloseCode.TOO_MANY_TOPICS,
      reason: 'too many topics',
    })
    expect(rejections('maxTopicsPerConnection').at(-1)).toMatchObject({ value: max + 1, max })
  })

  it('closes with 4413 when subscriptions add up past the limit, and frees them', async () => {
    const client = await connect()
    const max = DEFAULT_SIGNALING_LIMITS.maxTopicsPerConnection
    const topics = Array.from({ length: max }, (_, i) => `flood-${i}`)
    client.send({ type: 'subscribe', topics })
    // Subscribing again to topics already held does not count twice.
    client.send({ type: 'subscribe', topics: topics.slice(0, 10) })
    await client.sync()
    client.send({ type: 'subscribe', topics: ['one-too-many'] })
    expect((await client.waitClosed()).code).toBe(CloseCode.TOO_MANY_TOPICS)

    const probe = await connect()
    probe.send({ type: 'publish', topic: 'flood-0', data: 'anyone?' })
    await probe.sync()
    expect(probe.pending()).toEqual([])
  })

  it('closes with 4414 on a topic longer than maxTopicLength', async () => {
    const client = await connect()
    const max = DEFAULT_SIGNALING_LIMITS.maxTopicLength
    client.send({ type: 'subscribe', topics: ['x'.repeat(max + 1)] })
    expect((await client.waitClosed()).code).toBe(CloseCode.TOPIC_TOO_LONG)
    expect(rejections('maxTopicLength').at(-1)).toMatchObject({ value: max + 1, max })

    const ok = await connect()
    ok.send({ type: 'subscribe', topics: ['x'.repeat(max)] })
    await ok.sync()
  })

  it('closes a connection that floods messages with 1013, and only that one', async () => {
    const bystander = await subscribed(['room-10'])
    const flooder = await connect()
    const burst = DEFAULT_SIGNALING_LIMITS.messageBurst
    for (let i = 0; i < burst * 2; i++) flooder.send({ type: 'ping' })
    expect(await flooder.waitClosed()).toEqual({
      code: CloseCode.TRY_AGAIN_LATER,
      reason: 'message rate limit exceeded',
    })
    expect(rejections('messagesPerSecond').at(-1)).toMatchObject({
      max: DEFAULT_SIGNALING_LIMITS.messagesPerSecond,
      closeCode: 1013,
    })
    await bystander.sync()
  })
})

describe('dead connections', () => {
  it('terminates a client that stops answering pings, and keeps one that answers', async () => {
    const fast = await startTestServer({ limits: { heartbeatIntervalMs: 200 } })
    try {
      const mute = await TestSignalClient.connect(fast.wsUrl('/signal'), { autoPong: false })
      const alive = await TestSignalClient.connect(fast.wsUrl('/signal'))
      // Terminated, not closed: no close frame reaches the client.
      expect((await mute.waitClosed()).code).toBe(1006)
      expect(fast.logs.some((line) => line.event === 'signal.heartbeat_timeout')).toBe(true)
      await alive.sync()
      await alive.close()
    } finally {
      await fast.close()
    }
  })
})
