// The relay's presence bus over Redis pub/sub: one channel per loaded room
// (`parley:awareness:<escaped room id>`), subscribed only while the room is loaded here. Pub/sub
// for the same reason as signaling: presence matters only to clients connected right now, so
// nothing is stored. Each message carries the publishing instance's id, so an instance drops its
// own echo. An instance that loads a room asks the others for their clients' states (a query);
// queries and the answers to them are throttled per room.
//
// PROTOCOL (one binary Redis message; lib0 varUint / varString / varUint8Array encoding):
//   [varUint format = 1][varString instance id][varUint 0 update][varUint8Array awareness update]
//       states the publishing instance's clients set, renewed or withdrew (y-protocols bytes)
//   [varUint format = 1][varString instance id][varUint 1 query]
//       "I just loaded this room": every instance that has it answers with an update holding
//       its own clients' current states
// Messages of another format or kind are ignored, so instances of mixed versions degrade to
// presence renewed every 15 s instead of failing.

import { randomBytes } from 'node:crypto'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import type { Logger } from './log'
import type { BusMetrics } from './signal-bus'
import { closeRedis, connectRedis, escapeKeyPart, type RedisConnection } from './redis-client'
import type {
  AwarenessBus,
  AwarenessChannel,
  AwarenessChannelHandlers,
} from './relay/awareness-bus'

export const AWARENESS_CHANNEL_PREFIX = 'parley:awareness:'

const FORMAT = 1
const Kind = { UPDATE: 0, QUERY: 1 } as const

// One query per room per 5 s from this instance, across reloads: a room loads again only after
// idling or when it broke, so this only bites a room breaking in a loop, which then costs the
// other instances one query (and one answer each) per 5 s. A delayed query still comes, at the
// end of the interval: a third of the 15 s in which clients renew on their own.
const QUERY_INTERVAL_MS = 5_000
// One full answer per room per second from this instance, however many instances ask: a deploy
// or a reconnect storm loads a room on many instances at once. A query that arrives meanwhile is
// answered at the end of the second; the asker listens already, so one answer serves them all.
const ANSWER_INTERVAL_MS = 1_000
// After an outage each instance publishes its clients' states and asks for the others' at once
// on reconnecting, and once more this long after: the two instances' connections come back in
// any order, and what one sent before the other listened again is lost. Both within the 3 s in
// which presence must be back (docs/relay.md, "Redis"); clients would renew only within 15 s.
const RESYNC_AGAIN_MS = 1_000

export interface RedisAwarenessBusOptions {
  url: string
  logger: Logger
  metrics?: BusMetrics
  /** Milliseconds, monotonic; injected so tests control the throttles' clock. */
  now?: () => number
}

interface Joined {
  readonly roomId: string
  readonly handlers: AwarenessChannelHandlers
  readonly query: Throttle
  readonly answer: Throttle
}

export class RedisAwarenessBus implements AwarenessBus {
  readonly instanceId = randomBytes(9).toString('base64url')
  private readonly joined = new Map<string, Joined>()
  /** When this instance last queried each room, oldest first; entries past the interval go. */
  private readonly queriedAt = new Map<string, number>()
  private readonly now: () => number
  private dropped = 0
  private closing: Promise<void> | undefined
  private resyncTimer: NodeJS.Timeout | undefined
  private publisher!: RedisConnection
  /** Pub/sub needs a connection of its own; it queues (UN)SUBSCRIBEs through an outage. */
  private subscriber!: RedisConnection

  private constructor(
    private readonly logger: Logger,
    private readonly metrics: BusMetrics | undefined,
    now: (() => number) | undefined,
  ) {
    this.now = now ?? (() => performance.now())
  }

  static async open(options: RedisAwarenessBusOptions): Promise<RedisAwarenessBus> {
    const { url, logger } = options
    const bus = new RedisAwarenessBus(logger, options.metrics, options.now)
    const reconnected = (role: string) => () => {
      options.metrics?.reconnected(role)
      bus.resync()
    }
    bus.publisher = await connectRedis({
      url,
      logger,
      role: 'awareness-pub',
      onReconnected: reconnected('awareness-pub'),
    })
    try {
      bus.subscriber = await connectRedis({
        url,
        logger,
        role: 'awareness-sub',
        queueWhileOffline: true,
        onReconnected: reconnected('awareness-sub'),
      })
    } catch (error) {
      await closeRedis(bus.publisher)
      throw error
    }
    return bus
  }

  join(roomId: string, handlers: AwarenessChannelHandlers): AwarenessChannel {
    const entry: Joined = {
      roomId,
      handlers,
      query: new Throttle(
        QUERY_INTERVAL_MS,
        () => this.query(roomId),
        this.now,
        this.queriedAt.get(roomId),
      ),
      answer: new Throttle(ANSWER_INTERVAL_MS, () => this.answer(entry), this.now),
    }
    const replaced = this.joined.get(roomId)
    this.joined.set(roomId, entry)
    if (replaced) {
      // Already subscribed (the hub loads a room once; this is only a safety net).
      stopThrottles(replaced)
      entry.query.request()
    } else if (!this.closing) {
      this.subscriber
        .subscribe(channelOf(roomId), (message: Buffer) => this.receive(roomId, message), true)
        // Listening before asking, or the answers could pass us by.
        .then(() => {
          if (this.joined.get(roomId) === entry) entry.query.request()
        })
        .catch((error: unknown) =>
          this.logger.warn('relay.awareness_bus_error', { op: 'subscribe', error }),
        )
    }
    return {
      publish: (update) => {
        if (this.joined.get(roomId) === entry) this.publish(roomId, Kind.UPDATE, update)
      },
      leave: () => {
        if (this.joined.get(roomId) !== entry) return
        this.joined.delete(roomId)
        stopThrottles(entry)
        if (this.closing) return
        this.subscriber
          .unsubscribe(channelOf(roomId))
          .catch((error: unknown) =>
            this.logger.warn('relay.awareness_bus_error', { op: 'unsubscribe', error }),
          )
      },
    }
  }

  /** Rooms this instance listens to on Redis right now. */
  get roomCount(): number {
    return this.joined.size
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearTimeout(this.resyncTimer)
      for (const entry of this.joined.values()) stopThrottles(entry)
      this.joined.clear()
      await Promise.all([closeRedis(this.subscriber), closeRedis(this.publisher)])
    })())
  }

  /**
   * A connection is back after an outage: what changed meanwhile on either side was lost.
   * Publishes this instance's states for every room and asks for the others', now and once
   * more RESYNC_AGAIN_MS later (see there).
   */
  private resync(again = true): void {
    if (this.closing) return
    for (const entry of this.joined.values()) {
      this.query(entry.roomId)
      this.answer(entry)
    }
    if (!again) return
    clearTimeout(this.resyncTimer)
    this.resyncTimer = setTimeout(() => this.resync(false), RESYNC_AGAIN_MS)
    this.resyncTimer.unref()
  }

  private query(roomId: string): void {
    const now = this.now()
    // Re-inserted, so the map stays ordered by time and pruning stops at the first recent one.
    this.queriedAt.delete(roomId)
    this.queriedAt.set(roomId, now)
    for (const [room, at] of this.queriedAt) {
      if (now - at < QUERY_INTERVAL_MS) break
      this.queriedAt.delete(room)
    }
    this.publish(roomId, Kind.QUERY)
  }

  private answer(entry: Joined): void {
    if (this.joined.get(entry.roomId) !== entry) return
    const states = entry.handlers.localStates()
    if (states) this.publish(entry.roomId, Kind.UPDATE, states)
  }

  private publish(roomId: string, kind: number, update?: Uint8Array): void {
    if (this.closing) return
    if (!this.publisher.isReady) {
      // Down: drop, as the signal bus does; clients renew their states every 15 s.
      this.countDropped()
      return
    }
    this.publisher
      .publish(channelOf(roomId), encodeMessage(this.instanceId, kind, update))
      .catch(() => this.countDropped())
  }

  private receive(roomId: string, message: Buffer): void {
    // Still joined: an UNSUBSCRIBE in flight can let one late message through.
    const entry = this.joined.get(roomId)
    if (!entry) return
    const parsed = parseMessage(message)
    if (!parsed) {
      this.logger.warn('relay.awareness_bus_invalid', { bytes: message.byteLength })
      return
    }
    if (parsed.type !== 'other' && parsed.instanceId === this.instanceId) return
    try {
      switch (parsed.type) {
        case 'update':
          entry.handlers.onUpdate(parsed.update)
          return
        case 'query':
          entry.answer.request()
          return
        case 'other':
          return
        default:
          return exhaustive(parsed)
      }
    } catch (error) {
      // One room's failure must not stop the subscriber's delivery to every other room.
      this.logger.error('relay.awareness_bus_handler_error', { error })
    }
  }

  private countDropped(): void {
    this.metrics?.dropped()
    // One line per outage-ish burst, not one per message.
    if (this.dropped++ % 1000 === 0) {
      this.logger.warn('relay.awareness_dropped', {
        dropped: this.dropped,
        reason: 'Redis unavailable',
      })
    }
  }
}

function channelOf(roomId: string): string {
  return AWARENESS_CHANNEL_PREFIX + escapeKeyPart(roomId)
}

function encodeMessage(instanceId: string, kind: number, update?: Uint8Array): Buffer {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, FORMAT)
  encoding.writeVarString(encoder, instanceId)
  encoding.writeVarUint(encoder, kind)
  if (update) encoding.writeVarUint8Array(encoder, update)
  const bytes = encoding.toUint8Array(encoder)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

type BusMessage =
  | { type: 'update'; instanceId: string; update: Uint8Array }
  | { type: 'query'; instanceId: string }
  /** Another format or kind (a newer instance): ignored. */
  | { type: 'other' }

/** Null when unreadable. */
function parseMessage(message: Uint8Array): BusMessage | null {
  try {
    const decoder = decoding.createDecoder(message)
    if (decoding.readVarUint(decoder) !== FORMAT) return { type: 'other' }
    const instanceId = decoding.readVarString(decoder)
    switch (decoding.readVarUint(decoder)) {
      case Kind.UPDATE:
        return { type: 'update', instanceId, update: decoding.readVarUint8Array(decoder) }
      case Kind.QUERY:
        return { type: 'query', instanceId }
      default:
        return { type: 'other' }
    }
  } catch {
    // lib0 throws on truncated input.
    return null
  }
}

function stopThrottles(entry: Joined): void {
  entry.query.cancel()
  entry.answer.cancel()
}

function exhaustive(value: never): never {
  throw new Error(`unhandled awareness bus message: ${JSON.stringify(value)}`)
}

/**
 * Runs a task at most once per interval: at once when it has not run for that long, otherwise
 * once at the end of the interval however many requests came meanwhile, so none is lost.
 */
class Throttle {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => void,
    private readonly now: () => number,
    private lastRun = -Infinity,
  ) {}

  request(): void {
    if (this.timer !== undefined) return
    const wait = this.lastRun + this.intervalMs - this.now()
    if (wait <= 0) return this.run()
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.run()
    }, wait)
    this.timer.unref()
  }

  cancel(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private run(): void {
    this.lastRun = this.now()
    this.task()
  }
}
