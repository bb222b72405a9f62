// What the server reports on `/metrics` (Prometheus text format, via prom-client): connections
// per endpoint, rooms loaded, messages in and out, rejected inputs by the limit they broke, how
// long the store takes to make an append durable, and the Redis buses' drops and reconnects. One registry per server, so several
// servers in one process (tests) do not mix their numbers.
//
// Rejections are counted from the log: every rejected input already writes exactly one
// `<endpoint>.rejected` line naming its limit, so counting those lines cannot drift from it.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { LogFields, Logger } from './log'
import type { RelayMetrics } from './relay/relay-room'
import type { BusMetrics } from './signal-bus'

export type Endpoint = 'signal' | 'relay'
const ENDPOINTS: readonly Endpoint[] = ['signal', 'relay']

export interface ServerMetricsSources {
  connections(endpoint: Endpoint): number
  roomsLoaded(): number
}

// Log events that mean "an input was refused", and the endpoint each belongs to.
const REJECTION_EVENTS: Record<string, Endpoint | 'http'> = {
  'signal.rejected': 'signal',
  'relay.rejected': 'relay',
  'http.upgrade_rejected': 'http',
}

/** Messages through one endpoint so far. */
interface MessageTally {
  received: number
  sent: number
}

export class ServerMetrics {
  readonly registry = new Registry()
  // Counted in plain numbers and handed to prom-client only when scraped: an `inc` with labels
  // hashes them on every call, which was ~2% of the relay's CPU under fan-out load.
  private readonly tallies: Record<Endpoint, MessageTally> = {
    signal: { received: 0, sent: 0 },
    relay: { received: 0, sent: 0 },
  }
  private readonly rejected: Counter<'endpoint' | 'limit'>
  private readonly storeAppend: Histogram
  private readonly busDropped: Counter<'bus'>
  private readonly redisReconnects: Counter<'role'>

  constructor(sources: ServerMetricsSources) {
    const registers = [this.registry]
    new Gauge({
      name: 'parley_connections',
      help: 'Open WebSocket connections by endpoint.',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.set({ endpoint: 'signal' }, sources.connections('signal'))
        this.set({ endpoint: 'relay' }, sources.connections('relay'))
      },
    })
    new Gauge({
      name: 'parley_relay_rooms_loaded',
      help: 'Relay rooms held in memory.',
      registers,
      collect() {
        this.set(sources.roomsLoaded())
      },
    })
    const tallies = this.tallies
    new Counter({
      name: 'parley_messages_received_total',
      help: 'WebSocket messages received, by endpoint.',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset()
        for (const endpoint of ENDPOINTS) this.inc({ endpoint }, tallies[endpoint].received)
      },
    })
    new Counter({
      name: 'parley_messages_sent_total',
      help: 'WebSocket messages sent, by endpoint.',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset()
        for (const endpoint of ENDPOINTS) this.inc({ endpoint }, tallies[endpoint].sent)
      },
    })
    this.rejected = new Counter({
      name: 'parley_rejected_total',
      help: 'Inputs refused, by endpoint and the limit or rule they broke.',
      labelNames: ['endpoint', 'limit'],
      registers,
    })
    this.storeAppend = new Histogram({
      name: 'parley_store_append_seconds',
      help: 'Time for the room store to make one batch of updates durable.',
      // fsync on SSDs takes ~0.5–10 ms, on network disks and Redis AOF up to ~100 ms.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    })
    this.busDropped = new Counter({
      name: 'parley_bus_dropped_total',
      help: 'Messages a Redis bus could not publish (Redis unavailable), by bus.',
      labelNames: ['bus'],
      registers,
    })
    this.redisReconnects = new Counter({
      name: 'parley_redis_reconnects_total',
      help: 'Redis bus connections back after being lost, by connection role.',
      labelNames: ['role'],
      registers,
    })
    // Present from the start (at 0), so a dashboard sees the series before the first outage.
    for (const bus of ['signal', 'awareness']) this.busDropped.inc({ bus }, 0)
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' })
  }

  /** What a Redis bus (`signal` or `awareness`) reports. */
  bus(bus: 'signal' | 'awareness'): BusMetrics {
    return {
      dropped: () => this.busDropped.inc({ bus }),
      reconnected: (role) => this.redisReconnects.inc({ role }),
    }
  }

  /** Counters for one endpoint's traffic. */
  traffic(endpoint: Endpoint): { received: () => void; sent: () => void } {
    const tally = this.tallies[endpoint]
    return { received: () => void tally.received++, sent: () => void tally.sent++ }
  }

  /** What the relay rooms report. */
  relay(): RelayMetrics {
    const traffic = this.traffic('relay')
    return {
      messageIn: traffic.received,
      messageOut: traffic.sent,
      appendSeconds: (seconds) => this.storeAppend.observe(seconds),
    }
  }

  /** Wraps `logger` so that every rejection line it writes is also counted. */
  countingRejections(logger: Logger): Logger {
    const count = (event: string, fields?: LogFields) => {
      const endpoint = REJECTION_EVENTS[event]
      if (endpoint === undefined) return
      const limit = typeof fields?.limit === 'string' ? fields.limit : 'unknown'
      this.rejected.inc({ endpoint, limit })
    }
    return {
      debug: (event, fields) => logger.debug(event, fields),
      info: (event, fields) => (count(event, fields), logger.info(event, fields)),
      warn: (event, fields) => (count(event, fields), logger.warn(event, fields)),
      error: (event, fields) => (count(event, fields), logger.error(event, fields)),
    }
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
