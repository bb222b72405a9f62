// The signaling hub without sockets: routing bookkeeping and the rate limiter under a controlled
// clock, which real-socket tests cannot drive precisely.

import { describe, expect, it } from 'vitest'
import { CloseCode } from '../../signaling/close-codes'
import { DEFAULT_SIGNALING_LIMITS, type SignalingLimits } from '../../signaling/limits'
import { silentLogger } from '../../signaling/log'
import { SignalHub, type SignalPeer } from '../../signaling/signal-hub'

class FakePeer implements SignalPeer {
  sent: unknown[] = []
  closedWith: { code: number; reason: string } | undefined
  bufferedAmount = 0
  send(frame: Uint8Array): void {
    this.sent.push(JSON.parse(new TextDecoder().decode(frame)))
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
  }
}

function makeHub(limits: Partial<SignalingLimits> = {}) {
  const clock = { now: 0 }
  const hub = new SignalHub({
    limits: { ...DEFAULT_SIGNALING_LIMITS, ...limits },
    logger: silentLogger,
    now: () => clock.now,
  })
  const join = () => {
    const peer = new FakePeer()
    const connection = hub.connect(peer, { remote: 'test' })
    const send = (message: unknown) => connection.receive(JSON.stringify(message))
    return { peer, connection, send }
  }
  return { hub, clock, join }
}

describe('SignalHub', () => {
  it('drops empty topics and counts connections', () => {
    const { hub, join } = makeHub()
    const a = join()
    const b = join()
    a.send({ type: 'subscribe', topics: ['r1', 'r2'] })
    b.send({ type: 'subscribe', topics: ['r1'] })
    expect(hub.topicCount).toBe(2)
    expect(hub.subscriberCount('r1')).toBe(2)
    a.connection.disconnect()
    a.connection.disconnect() // idempotent
    expect(hub.topicCount).toBe(1)
    expect(hub.subscriberCount('r1')).toBe(1)
    expect(hub.connectionCount).toBe(1)
    b.send({ type: 'unsubscribe', topics: ['r1'] })
    expect(hub.topicCount).toBe(0)
  })

  it('allows a sustained rate at the limit forever, and refuses a faster one', () => {
    const { clock, join } = makeHub({ messageBurst: 10, messagesPerSecond: 5 })
    const steady = join()
    // One message every 200 ms (exactly 5/s) for ten simulated minutes.
    for (let i = 0; i < 3_000; i++) {
      clock.now += 200
      steady.send({ type: 'ping' })
    }
    expect(steady.peer.closedWith).toBeUndefined()
    expect(steady.peer.sent).toHaveLength(3_000)

    const eager = join()
    for (let i = 0; i < 10; i++) eager.send({ type: 'ping' }) // the burst
    expect(eager.peer.closedWith).toBeUndefined()
    clock.now += 200 // refills one token
    eager.send({ type: 'ping' })
    expect(eager.peer.closedWith).toBeUndefined()
    eager.send({ type: 'ping' })
    expect(eager.peer.closedWith?.code).toBe(CloseCode.TRY_AGAIN_LATER)
    // A closed connection's later frames are ignored.
    eager.send({ type: 'ping' })
    expect(eager.peer.sent).toHaveLength(11)
  })

  it('drops a receiver that stops reading instead of queueing for it without bound', () => {
    const { hub, join } = makeHub({ maxBufferedBytes: 1000 })
    const sender = join()
    const slow = join()
    sender.send({ type: 'subscribe', topics: ['r'] })
    slow.send({ type: 'subscribe', topics: ['r'] })
    slow.peer.bufferedAmount = 1001
    sender.send({ type: 'publish', topic: 'r', data: 'x' })
    expect(slow.peer.closedWith).toEqual({
      code: CloseCode.TRY_AGAIN_LATER,
      reason: 'client not reading',
    })
    expect(sender.peer.sent).toEqual([{ type: 'publish', topic: 'r', data: 'x', clients: 2 }])
    expect(hub.subscriberCount('r')).toBe(1)
  })

  it('closes with 1011 and frees the connection if handling throws', () => {
    const { hub, join } = makeHub()
    const a = join()
    a.send({ type: 'subscribe', topics: ['r'] })
    a.peer.send = () => {
      throw new Error('socket exploded')
    }
    a.send({ type: 'ping' })
    expect(a.peer.closedWith?.code).toBe(CloseCode.INTERNAL_ERROR)
    expect(hub.subscriberCount('r')).toBe(0)
  })
})
