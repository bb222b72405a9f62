// The signaling bus over Redis pub/sub: one channel per topic (`parley:signal:<escaped topic>`),
// subscribed only while this instance has local subscribers to the topic. Pub/sub, not streams:
// an offer or ICE candidate matters only to peers connected right now, so nothing should be
// stored, trimmed or replayed, and Redis fans each message out only to the instances listening.
// Each message carries the publishing instance's id, so an instance drops its own echo.

import { randomBytes } from 'node:crypto'
import type { Logger } from './log'
import { closeRedis, connectRedis, escapeKeyPart, type RedisConnection } from './redis-client'
import type { BusMetrics, SignalBus } from './signal-bus'

export const SIGNAL_CHANNEL_PREFIX = 'parley:signal:'

export interface RedisSignalBusOptions {
  url: string
  logger: Logger
  metrics?: BusMetrics
}

export class RedisSignalBus implements SignalBus {
  readonly instanceId = randomBytes(9).toString('base64url')
  private readonly subscribed = new Set<string>()
  private handler: ((topic: string, text: string) => void) | undefined
  private dropped = 0
  private closing: Promise<void> | undefined

  private constructor(
    private readonly publisher: RedisConnection,
    /** Pub/sub needs a connection of its own; it queues (UN)SUBSCRIBEs through an outage. */
    private readonly subscriber: RedisConnection,
    private readonly logger: Logger,
    private readonly metrics: BusMetrics | undefined,
  ) {}

  static async open(options: RedisSignalBusOptions): Promise<RedisSignalBus> {
    const { url, logger, metrics } = options
    const reconnected = (role: string) => () => metrics?.reconnected(role)
    const publisher = await connectRedis({
      url,
      logger,
      role: 'bus-pub',
      onReconnected: reconnected('bus-pub'),
    })
    let subscriber: RedisConnection
    try {
      subscriber = await connectRedis({
        url,
        logger,
        role: 'bus-sub',
        queueWhileOffline: true,
        onReconnected: reconnected('bus-sub'),
      })
    } catch (error) {
      await closeRedis(publisher)
      throw error
    }
    return new RedisSignalBus(publisher, subscriber, logger, metrics)
  }

  onMessage(handler: (topic: string, text: string) => void): void {
    this.handler = handler
  }

  publish(topic: string, text: string): void {
    if (this.closing) return
    if (!this.publisher.isReady) {
      // Down: drop, as a lost UDP packet would be; y-webrtc announces and retries on its own.
      this.countDropped()
      return
    }
    this.publisher
      .publish(channelOf(topic), `${this.instanceId} ${text}`)
      .catch(() => this.countDropped())
  }

  subscribe(topic: string): void {
    if (this.closing || this.subscribed.has(topic)) return
    this.subscribed.add(topic)
    this.subscriber
      .subscribe(channelOf(topic), (message: string) => this.receive(topic, message))
      .catch((error: unknown) => this.logger.warn('signal.bus_error', { op: 'subscribe', error }))
  }

  unsubscribe(topic: string): void {
    if (this.closing || !this.subscribed.delete(topic)) return
    this.subscriber
      .unsubscribe(channelOf(topic))
      .catch((error: unknown) => this.logger.warn('signal.bus_error', { op: 'unsubscribe', error }))
  }

  /** Topics this instance listens to on Redis right now. */
  get topicCount(): number {
    return this.subscribed.size
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.subscribed.clear()
      await Promise.all([closeRedis(this.subscriber), closeRedis(this.publisher)])
    })())
  }

  private receive(topic: string, message: string): void {
    const space = message.indexOf(' ')
    if (space === -1 || message.slice(0, space) === this.instanceId) return
    // Still subscribed: an UNSUBSCRIBE in flight can let one late message through.
    if (!this.subscribed.has(topic)) return
    this.handler?.(topic, message.slice(space + 1))
  }

  private countDropped(): void {
    this.metrics?.dropped()
    // One line per outage-ish burst, not one per message.
    if (this.dropped++ % 1000 === 0) {
      this.logger.warn('signal.bus_dropped', { dropped: this.dropped, reason: 'Redis unavailable' })
    }
  }
}

function channelOf(topic: string): string {
  return SIGNAL_CHANNEL_PREFIX + escapeKeyPart(topic)
}
