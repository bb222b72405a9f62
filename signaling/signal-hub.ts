// Topics and their subscribers: the y-webrtc signaling server's routing, without sockets. The
// caller hands each connection in as a SignalPeer (send, close, bufferedAmount) and feeds it the
// text frames it receives; the hub enforces the limits, routes, and closes offenders with a
// named code and one log line that names the limit and the value. With a bus (Redis), topics
// span every instance: local publishes go out on it, and what it brings in reaches local
// subscribers once.

import { CloseCode } from './close-codes'
import type { SignalingLimits } from './limits'
import type { Logger } from './log'
import type { SignalBus } from './signal-bus'
import { parseSignalMessage, tooManyTopics, type Violation } from './signal-protocol'
import { TokenBucket } from './token-bucket'

/** What the hub needs from a connection; the WebSocket glue implements it. */
export interface SignalPeer {
  /** Sends one text message; `text` is its UTF-8 bytes, encoded once for every receiver. */
  send(text: Uint8Array): void
  close(code: CloseCode, reason: string): void
  /** Bytes queued for this peer and not yet written to the network. */
  readonly bufferedAmount: number
}

/** The hub's handle on one connection, returned by `connect`. */
export interface SignalConnection {
  readonly id: number
  /** One text frame from the peer. */
  receive(text: string): void
  /** The peer's socket closed: leave every topic. Idempotent. */
  disconnect(): void
}

export interface SignalHubOptions {
  limits: SignalingLimits
  logger: Logger
  /** Milliseconds, monotonic; injected so tests control the rate limiter's clock. */
  now?: () => number
  /** Shares topics with other instances; without it topics are local to this process. */
  bus?: SignalBus
}

interface Subscriber {
  readonly id: number
  readonly remote: string
  readonly peer: SignalPeer
  readonly topics: Set<string>
  readonly bucket: TokenBucket
  readonly connectedAt: number
  received: number
  open: boolean
}

const PONG = utf8(JSON.stringify({ type: 'pong' }))

export class SignalHub {
  private readonly topics = new Map<string, Set<Subscriber>>()
  private readonly limits: SignalingLimits
  private readonly logger: Logger
  private readonly now: () => number
  private readonly bus: SignalBus | undefined
  private nextId = 1
  private connections = 0

  constructor(options: SignalHubOptions) {
    this.limits = options.limits
    this.logger = options.logger
    this.now = options.now ?? (() => performance.now())
    this.bus = options.bus
    this.bus?.onMessage((topic, text) => this.deliverRemote(topic, text))
  }

  /** Subscribers of `topic` right now. */
  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0
  }

  /** Topics with at least one subscriber. */
  get topicCount(): number {
    return this.topics.size
  }

  get connectionCount(): number {
    return this.connections
  }

  connect(peer: SignalPeer, info: { remote: string }): SignalConnection {
    const subscriber: Subscriber = {
      id: this.nextId++,
      remote: info.remote,
      peer,
      topics: new Set(),
      bucket: new TokenBucket(this.limits.messageBurst, this.limits.messagesPerSecond, this.now),
      connectedAt: this.now(),
      received: 0,
      open: true,
    }
    this.connections++
    this.logger.debug('signal.connected', { conn: subscriber.id, remote: subscriber.remote })
    return {
      id: subscriber.id,
      receive: (text) => this.receive(subscriber, text),
      disconnect: () => {
        if (!subscriber.open) return
        this.end(subscriber)
        this.logger.debug('signal.disconnected', { conn: subscriber.id, remote: subscriber.remote })
      },
    }
  }

  private receive(subscriber: Subscriber, text: string): void {
    if (!subscriber.open) return
    subscriber.received++
    try {
      this.handle(subscriber, text)
    } catch (error) {
      // A bug here must cost one connection, never the process.
      this.logger.error('signal.internal_error', { conn: subscriber.id, error })
      this.end(subscriber)
      subscriber.peer.close(CloseCode.INTERNAL_ERROR, 'internal error')
    }
  }

  private handle(subscriber: Subscriber, text: string): void {
    // Rate first: refusing a flood must not cost a parse per message.
    if (!subscriber.bucket.take()) {
      const seconds = Math.max(0.001, (this.now() - subscriber.connectedAt) / 1000)
      this.reject(subscriber, {
        code: CloseCode.TRY_AGAIN_LATER,
        limit: 'messagesPerSecond',
        value: Math.round(subscriber.received / seconds),
        max: this.limits.messagesPerSecond,
        reason: 'message rate limit exceeded',
      })
      return
    }
    const parsed = parseSignalMessage(text, this.limits)
    if (!parsed.ok) {
      this.reject(subscriber, parsed.violation)
      return
    }
    const message = parsed.message
    switch (message.type) {
      case 'subscribe':
        this.subscribe(subscriber, message.topics)
        return
      case 'unsubscribe':
        for (const topic of message.topics) this.leave(subscriber, topic)
        return
      case 'publish':
        this.publish(message.topic, message.text)
        return
      case 'ping':
        this.deliver(subscriber, PONG)
        return
      case 'unknown':
        // Ignored like the stock server does, so a newer client's extra messages do no harm.
        this.logger.debug('signal.unknown_type', {
          conn: subscriber.id,
          type: message.name.slice(0, 32),
        })
        return
      default:
        return exhaustive(message)
    }
  }

  private subscribe(subscriber: Subscriber, topics: string[]): void {
    const added = new Set(topics.filter((topic) => !subscriber.topics.has(topic)))
    const total = subscriber.topics.size + added.size
    if (total > this.limits.maxTopicsPerConnection) {
      this.reject(subscriber, tooManyTopics(total, this.limits.maxTopicsPerConnection).violation)
      return
    }
    for (const topic of added) {
      let subscribers = this.topics.get(topic)
      if (!subscribers) {
        subscribers = new Set()
        this.topics.set(topic, subscribers)
        this.bus?.subscribe(topic)
      }
      subscribers.add(subscriber)
      subscriber.topics.add(topic)
    }
  }

  private publish(topic: string, sent: string): void {
    const receivers = this.topics.get(topic)
    // With a bus, subscribers on other instances may exist even when none are here.
    if (!receivers && !this.bus) return
    // Stock semantics: the message as sent, plus the topic's subscriber count (on this instance).
    const text = withClientCount(sent, receivers?.size ?? 0)
    if (receivers) this.deliverAll(receivers, utf8(text))
    this.bus?.publish(topic, text)
  }

  /** A message another instance published: to this instance's subscribers, as it was sent. */
  private deliverRemote(topic: string, text: string): void {
    const receivers = this.topics.get(topic)
    if (receivers) this.deliverAll(receivers, utf8(text))
  }

  private deliverAll(receivers: Set<Subscriber>, message: Uint8Array): void {
    // A copy: delivering may close a slow receiver, which removes it from the live set.
    for (const receiver of [...receivers]) this.deliver(receiver, message)
  }

  private deliver(receiver: Subscriber, message: Uint8Array): void {
    if (!receiver.open) return
    if (receiver.peer.bufferedAmount > this.limits.maxBufferedBytes) {
      this.reject(receiver, {
        code: CloseCode.TRY_AGAIN_LATER,
        limit: 'maxBufferedBytes',
        value: receiver.peer.bufferedAmount,
        max: this.limits.maxBufferedBytes,
        reason: 'client not reading',
      })
      return
    }
    receiver.peer.send(message)
  }

  private reject(subscriber: Subscriber, violation: Violation): void {
    this.logger.warn('signal.rejected', {
      conn: subscriber.id,
      remote: subscriber.remote,
      limit: violation.limit,
      value: violation.value,
      ...(violation.max === undefined ? {} : { max: violation.max }),
      closeCode: violation.code,
      reason: violation.reason,
    })
    this.end(subscriber)
    subscriber.peer.close(violation.code, violation.reason)
  }

  /** Stops all delivery to and from a connection and frees its topics. */
  private end(subscriber: Subscriber): void {
    if (!subscriber.open) return
    subscriber.open = false
    this.connections--
    for (const topic of [...subscriber.topics]) this.leave(subscriber, topic)
  }

  private leave(subscriber: Subscriber, topic: string): void {
    if (!subscriber.topics.delete(topic)) return
    const subscribers = this.topics.get(topic)
    if (!subscribers) return
    subscribers.delete(subscriber)
    // Empty topics are dropped so a long-running server does not keep every room ever seen.
    if (subscribers.size === 0) {
      this.topics.delete(topic)
      this.bus?.unsubscribe(topic)
    }
  }
}

/**
 * `text` (a JSON object, as parsed) with `"clients": n` added. Appended to the text rather than
 * re-serialized from the parse: JSON.parse lets a later duplicate key win, so receivers read
 * exactly `{...message, clients}`, and the server spends no JSON.stringify per publish.
 */
function withClientCount(text: string, clients: number): string {
  // The object's closing brace: only whitespace may follow it.
  const end = text.lastIndexOf('}')
  return `${text.slice(0, end)},"clients":${clients}}`
}

/** Encoded once per message, not once per receiver as sending the string would be. */
function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8')
}

function exhaustive(value: never): never {
  throw new Error(`unhandled signal message: ${JSON.stringify(value)}`)
}
