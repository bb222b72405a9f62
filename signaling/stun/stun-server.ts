// The STUN service's UDP socket: receives datagrams, asks stun-message.ts what to answer, and
// sends it if the source (and the server as a whole) is within its rate. Owns the socket, the
// per-source token buckets and the periodic summary log line; close() releases all three.

import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { Logger } from '../log'
import { TokenBucket } from '../token-bucket'
import { answerStunRequest, type StunDropReason } from './stun-message'

export interface StunLimits {
  /** Answers one source address may get in a burst (token bucket capacity). */
  perSourceBurst: number
  /** Sustained answers per second for one source address. */
  perSourcePerSecond: number
  /** Answers the whole server may send in a burst. */
  totalBurst: number
  /** Sustained answers per second for the whole server. */
  totalPerSecond: number
  /** Source addresses tracked at once; the oldest is forgotten beyond this. */
  maxTrackedSources: number
}

export const DEFAULT_STUN_LIMITS: Readonly<StunLimits> = Object.freeze({
  // A browser gathers candidates once per peer connection: joining a room of ~35 peers is ~35
  // requests, plus retransmissions (up to 7 each when answers are lost) and the same again for
  // a second tab. 100 covers that.
  perSourceBurst: 100,
  // Browsers refresh their NAT binding with a request per live connection every ~10–25 s, and
  // many people can share one public address (an office NAT): 20/s is ~200–500 live
  // connections behind one address. A spoofed victim receives at most ~1.3 KB/s from us.
  perSourcePerSecond: 20,
  // With the per-source limit, what stops a spoofer cycling through many victims' addresses:
  // 2,000 answers/s of ≤ ~100 bytes is ≤ 200 KB/s, yet ~100 new peer connections per second.
  totalBurst: 4_000,
  totalPerSecond: 2_000,
  // A bucket is a few dozen bytes; 10,000 bound the map to about a megabyte under a flood.
  maxTrackedSources: 10_000,
})

/** How often idle buckets are dropped and the traffic summary is logged. */
const SWEEP_INTERVAL_MS = 60_000
/** A bucket idle this long has refilled completely, so forgetting it changes nothing. */
const IDLE_FORGET_MS = 30_000
/** Sent in answers (when it fits): names the service, not its version. */
export const DEFAULT_SOFTWARE = 'Parley'

export interface StunServerOptions {
  /** Address or host name to bind, like the HTTP server's `host`. */
  host: string
  /** UDP port; 0 picks a free one (read it back from `port`). */
  port: number
  logger: Logger
  limits?: Partial<StunLimits>
  /** SOFTWARE attribute in answers; null for none. Default DEFAULT_SOFTWARE. */
  software?: string | null
  /** Milliseconds clock for the rate limits; injected by tests. */
  now?: () => number
}

export interface StunCounters {
  answered: number
  /** Answers withheld because the source or the server was over its rate. */
  rateLimited: number
  /** Datagrams dropped without an answer, by reason. */
  dropped: Partial<Record<StunDropReason, number>>
}

interface SourceBucket {
  bucket: TokenBucket
  lastSeen: number
}

export class StunServer {
  private readonly limits: StunLimits
  private readonly software: string | null
  private readonly now: () => number
  private readonly logger: Logger
  private readonly sources = new Map<string, SourceBucket>()
  private readonly total: TokenBucket
  private socket: Socket | null = null
  private sweepTimer: ReturnType<typeof setInterval> | null = null
  private boundPort = 0
  private boundAddress = ''
  private closing: Promise<void> | undefined
  private readonly totals: StunCounters = { answered: 0, rateLimited: 0, dropped: {} }
  /** Since the last summary line. */
  private recent: StunCounters = { answered: 0, rateLimited: 0, dropped: {} }

  constructor(private readonly options: StunServerOptions) {
    this.limits = { ...DEFAULT_STUN_LIMITS, ...options.limits }
    this.software = options.software === undefined ? DEFAULT_SOFTWARE : options.software
    this.now = options.now ?? (() => performance.now())
    this.logger = options.logger
    this.total = new TokenBucket(this.limits.totalBurst, this.limits.totalPerSecond, this.now)
  }

  /** The UDP port actually bound (after start()). */
  get port(): number {
    return this.boundPort
  }

  get address(): string {
    return this.boundAddress
  }

  /** Totals since start, for tests and metrics. */
  get counters(): Readonly<StunCounters> {
    return this.totals
  }

  /** Binds the socket; rejects with a message naming the address and what to do about it. */
  async start(): Promise<void> {
    if (this.socket) throw new Error('STUN server already started')
    const { host, port } = this.options
    const where = `udp ${host.includes(':') ? `[${host}]` : host}:${port}`
    let address: string
    let type: SocketType
    try {
      // Resolve like the HTTP server does (first address), so "localhost" means the same thing.
      const resolved = isIP(host) ? { address: host, family: isIP(host) } : await lookup(host)
      address = resolved.address
      type = resolved.family === 6 ? 'udp6' : 'udp4'
    } catch {
      throw new Error(`Cannot listen for STUN on ${where}: cannot resolve "${host}"`)
    }
    const socket = createSocket({ type })
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        socket.close()
        const hint = '(set --stun-port / PARLEY_STUN_PORT to another port, or "off")'
        if (error.code === 'EADDRINUSE') {
          reject(new Error(`Cannot listen for STUN on ${where}: port already in use ${hint}`))
        } else if (error.code === 'EACCES') {
          reject(new Error(`Cannot listen for STUN on ${where}: permission denied ${hint}`))
        } else if (error.code === 'EADDRNOTAVAIL') {
          reject(new Error(`Cannot listen for STUN on ${where}: no such local address`))
        } else {
          reject(new Error(`Cannot listen for STUN on ${where}: ${error.message}`))
        }
      }
      socket.once('error', onError)
      socket.bind({ port, address, exclusive: true }, () => {
        socket.off('error', onError)
        resolve()
      })
    })
    // After binding, a socket error (rare for UDP: send errors arrive in send's callback) is
    // logged; the service keeps running rather than take the chat server down with it.
    socket.on('error', (error) => this.logger.error('stun.socket_error', { error }))
    socket.on('message', (datagram, remote) => this.onDatagram(socket, datagram, remote))
    this.socket = socket
    const bound = socket.address()
    this.boundPort = bound.port
    this.boundAddress = bound.address
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS)
    this.sweepTimer.unref()
    this.logger.info('stun.listening', { address: bound.address, port: bound.port })
  }

  /** Stops answering and releases the port. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= new Promise<void>((resolve) => {
      if (this.sweepTimer) clearInterval(this.sweepTimer)
      this.sweepTimer = null
      this.sources.clear()
      const socket = this.socket
      if (!socket) return resolve()
      socket.close(() => {
        this.logger.info('stun.closed', { port: this.boundPort, answered: this.totals.answered })
        resolve()
      })
    }))
  }

  private onDatagram(socket: Socket, datagram: Buffer, remote: RemoteInfo): void {
    try {
      const verdict = answerStunRequest(
        datagram,
        { family: remote.family, address: remote.address, port: remote.port },
        { software: this.software },
      )
      if (verdict.kind === 'drop') {
        this.count('dropped', verdict.reason)
        return
      }
      // Only datagrams we would answer take tokens: garbage costs no bucket and no memory.
      if (!this.takeToken(remote.address)) {
        this.count('rateLimited')
        return
      }
      socket.send(verdict.response, remote.port, remote.address, (error) => {
        if (error) this.logger.debug('stun.send_failed', { error })
      })
      this.count('answered')
    } catch (error) {
      // The codec is total; this guards the glue (and a socket closed mid-send) all the same.
      this.logger.error('stun.datagram_error', { error })
    }
  }

  private takeToken(address: string): boolean {
    const now = this.now()
    let source = this.sources.get(address)
    if (!source) {
      if (this.sources.size >= this.limits.maxTrackedSources) {
        // Maps iterate in insertion order: forget the source tracked longest.
        const oldest = this.sources.keys().next()
        if (!oldest.done) this.sources.delete(oldest.value)
      }
      source = {
        bucket: new TokenBucket(
          this.limits.perSourceBurst,
          this.limits.perSourcePerSecond,
          this.now,
        ),
        lastSeen: now,
      }
      this.sources.set(address, source)
    }
    source.lastSeen = now
    // The per-source bucket first: one noisy source must not spend the server's shared budget.
    return source.bucket.take() && this.total.take()
  }

  private count(kind: 'answered' | 'rateLimited' | 'dropped', reason?: StunDropReason): void {
    for (const counters of [this.totals, this.recent]) {
      if (kind === 'dropped' && reason)
        counters.dropped[reason] = (counters.dropped[reason] ?? 0) + 1
      else if (kind === 'answered') counters.answered++
      else if (kind === 'rateLimited') counters.rateLimited++
    }
  }

  private sweep(): void {
    const now = this.now()
    for (const [address, source] of this.sources) {
      if (now - source.lastSeen > IDLE_FORGET_MS) this.sources.delete(address)
    }
    // One line per interval, never one per datagram: a flood must not become a log flood.
    const { answered, rateLimited, dropped } = this.recent
    const droppedTotal = Object.values(dropped).reduce((sum, n) => sum + n, 0)
    if (answered + rateLimited + droppedTotal > 0) {
      const fields = { answered, rateLimited, dropped, trackedSources: this.sources.size }
      if (rateLimited > 0) this.logger.warn('stun.rate_limited', fields)
      else this.logger.info('stun.traffic', fields)
    }
    this.recent = { answered: 0, rateLimited: 0, dropped: {} }
  }
}
