// The Parley server: one HTTP server on one port that routes requests (config, health, metrics,
// the built app) and WebSocket upgrades (/signal, /relay/<roomId>), applies what both WebSocket
// endpoints share (allowed origins, connections per client address), and shuts it all down in
// order.

import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ServerConfig } from './config'
import { IpConnectionLimit } from './ip-connection-limit'
import { createLogger, type Logger } from './log'
import { ServerMetrics } from './metrics'
import type { RedisAwarenessBus } from './redis-awareness-bus'
import type { RedisSignalBus } from './redis-signal-bus'
import { setSecurityHeaders } from './security-headers'
import { RelayEndpoint } from './relay/relay-endpoint'
import { SignalEndpoint } from './signal-endpoint'
import { createStaticHandler } from './static'
import { openRoomStore } from './store/open-room-store'
import type { RoomStore } from './store/room-store'
import { StunServer } from './stun/stun-server'

export interface ParleyServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string
  port: number
  /** UDP port of the built-in STUN service as bound, or null when it is off. */
  stunPort: number | null
  /** Closes every WebSocket with 1001 and stops listening. Idempotent. */
  close(): Promise<void>
}

export const SIGNAL_PATH = '/signal'
/** What `/config.json` names as the relay; the app appends `/<roomId>`. */
export const RELAY_PATH = '/relay'
export const RELAY_PATH_PREFIX = `${RELAY_PATH}/`

// `/healthz` asks the store about this (valid, never used) room id; past this it is unhealthy.
const HEALTH_PROBE_ROOM_ID = `parley-health-probe-${'0'.repeat(23)}`
const HEALTH_PROBE_TIMEOUT_MS = 2_000

/** What `/config.json` tells the app; relay is null when the relay is off. */
export interface ClientConfig {
  iceServers: ServerConfig['iceServers']
  signaling: string[]
  relay: string | null
  /** The built-in STUN service's UDP port on this same host, or null when it is off. */
  stunPort: number | null
}

export async function startParleyServer(
  config: ServerConfig,
  opts: { logger?: Logger } = {},
): Promise<ParleyServer> {
  const baseLogger = opts.logger ?? createLogger({ level: config.logLevel ?? 'info' })
  // Read at scrape time only, once the endpoints below exist.
  const metrics: ServerMetrics = new ServerMetrics({
    connections: (endpoint) =>
      endpoint === 'signal' ? signal.hub.connectionCount : (relay?.connectionCount ?? 0),
    roomsLoaded: () => relay?.hub.roomCount ?? 0,
  })
  const logger = metrics.countingRejections(baseLogger)
  const connectionsPerIp = new IpConnectionLimit(config.maxConnectionsPerIp)
  // Storage and the Redis bus before anything listens: an unreachable Redis or a data
  // directory another server holds fails startup with its own message.
  // Only the relay stores rooms: a signaling-only server (--relay=off) holds no data dir.
  const store = config.relay ? await openRoomStore(config, logger) : null
  let bus: RedisSignalBus | undefined
  let awarenessBus: RedisAwarenessBus | undefined
  try {
    if (config.redisUrl) {
      // Loaded only when asked for, as the Redis store is: the Redis client alone is ~7 MB of
      // heap, which a server without Redis would carry (and mark at every full GC) for nothing.
      const { RedisSignalBus } = await import('./redis-signal-bus')
      bus = await RedisSignalBus.open({
        url: config.redisUrl,
        logger,
        metrics: metrics.bus('signal'),
      })
      // Relay presence crosses instances like signaling does: pub/sub, nothing stored.
      if (config.relay) {
        const { RedisAwarenessBus } = await import('./redis-awareness-bus')
        awarenessBus = await RedisAwarenessBus.open({
          url: config.redisUrl,
          logger,
          metrics: metrics.bus('awareness'),
        })
      }
    }
  } catch (error) {
    await bus?.close()
    await store?.close()
    throw error
  }
  const closeStorage = async () => {
    await Promise.all([bus?.close(), awarenessBus?.close()])
    await store?.close()
  }
  // Bound first: /config.json names its port (port 0 picks one), and a taken port fails
  // startup before anything else is listening.
  const stun =
    config.stunPort === null
      ? null
      : new StunServer({ host: config.host, port: config.stunPort, logger })
  try {
    await stun?.start()
  } catch (error) {
    await closeStorage()
    throw error
  }
  const serveStatic = createStaticHandler(config.distDir, logger)
  const signal = new SignalEndpoint({
    limits: config.limits,
    logger,
    bus,
    traffic: metrics.traffic('signal'),
  })
  const relay = store
    ? new RelayEndpoint({
        pathPrefix: RELAY_PATH_PREFIX,
        limits: config.relayLimits,
        logger,
        store,
        operatorKey: config.operatorKey,
        metrics: metrics.relay(),
        awarenessBus,
      })
    : null
  const clientConfig: ClientConfig = {
    iceServers: config.iceServers,
    signaling: [SIGNAL_PATH],
    relay: relay ? RELAY_PATH : null,
    stunPort: stun?.port ?? null,
  }
  const clientConfigJson = JSON.stringify(clientConfig)
  let shuttingDown = false

  const server = createServer((req, res) => {
    setSecurityHeaders(res)
    route(req, res).catch((error: unknown) => {
      logger.error('http.error', { method: req.method, path: pathOf(req), error })
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end()
    })
  })

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('Method not allowed\n')
      return
    }
    switch (pathOf(req)) {
      case '/config.json':
        // no-store: the ICE servers (and TURN credentials) may change at any restart.
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        res.end(clientConfigJson)
        return
      case '/healthz': {
        // One key lookup: cheap enough for a probe every few seconds, and it notices a store
        // (disk, Redis) that stopped answering.
        const healthy = !store || (await storeAnswers(store, HEALTH_PROBE_TIMEOUT_MS))
        if (!healthy) logger.warn('http.unhealthy', { kind: store?.kind })
        res.writeHead(healthy ? 200 : 503, {
          'Content-Type': 'text/plain; charset=utf-8',
          'Cache-Control': 'no-store',
        })
        res.end(healthy ? 'ok' : 'store unavailable')
        return
      }
      case '/metrics': {
        const { contentType, body } = await metrics.render()
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' })
        res.end(body)
        return
      }
      default:
        await serveStatic(req, res)
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets mid-handshake must not raise an unhandled 'error'.
    socket.on('error', (error) => logger.debug('http.upgrade_socket_error', { error }))
    const path = pathOf(req)
    if (shuttingDown) return rejectUpgrade(socket, 503)
    const endpoint =
      path === SIGNAL_PATH ? signal : relay && path.startsWith(RELAY_PATH_PREFIX) ? relay : null
    // Logged by prefix only: the rest of a relay path is a room id.
    const logPath = path.startsWith(RELAY_PATH_PREFIX) ? RELAY_PATH_PREFIX : path.slice(0, 64)
    if (!endpoint) {
      logger.debug('http.upgrade_refused', { path: logPath })
      return rejectUpgrade(socket, 404)
    }
    const remote = clientAddress(req, config.trustProxy)
    const origin = req.headers.origin
    // Browsers always send Origin, so this stops other sites' pages from using this server.
    // Other clients can send any Origin they like: an absent one is not refused.
    if (origin !== undefined && !originAllowed(origin, config.allowedOrigins)) {
      logger.warn('http.upgrade_rejected', {
        path: logPath,
        remote,
        limit: 'allowedOrigins',
        value: origin.slice(0, 200),
        status: 403,
      })
      return rejectUpgrade(socket, 403)
    }
    if (!connectionsPerIp.admit(remote, socket)) {
      logger.warn('http.upgrade_rejected', {
        path: logPath,
        remote,
        limit: 'maxConnectionsPerIp',
        value: connectionsPerIp.count(remote),
        max: connectionsPerIp.maxPerAddress,
        status: 429,
      })
      return rejectUpgrade(socket, 429)
    }
    endpoint.handleUpgrade(req, socket, head, remote)
  })

  try {
    await listen(server, config.port, config.host)
  } catch (error) {
    await stun?.close()
    await closeStorage()
    throw error
  }
  const port = (server.address() as AddressInfo).port
  const url = `http://${formatHost(config.host)}:${port}`
  logger.info('server.listening', {
    url,
    distDir: config.distDir,
    iceServers: config.iceServers.length,
    stunPort: stun?.port ?? null,
  })

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    stunPort: stun?.port ?? null,
    close: () =>
      (closing ??= (async () => {
        shuttingDown = true
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        // The relay closes its sockets, then stores what its rooms still hold.
        await Promise.all([signal.close(), relay?.close()])
        // Upgraded sockets are gone; cut any HTTP request still in flight.
        server.closeAllConnections()
        await httpClosed
        await stun?.close()
        // Last: the relay's final appends (flushed as its sockets closed) go to the store.
        await closeStorage()
        logger.info('server.closed', { url })
      })()),
  }
}

function listen(
  server: ReturnType<typeof createServer>,
  port: number,
  host: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      const where = `${formatHost(host)}:${port}`
      if (error.code === 'EADDRINUSE')
        reject(new Error(`Cannot listen on ${where}: port already in use`))
      else if (error.code === 'EACCES')
        reject(new Error(`Cannot listen on ${where}: permission denied`))
      else if (error.code === 'ENOTFOUND' || error.code === 'EADDRNOTAVAIL')
        reject(new Error(`Cannot listen on ${where}: no such local address`))
      else reject(error)
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

function pathOf(req: IncomingMessage): string {
  // Only the path matters for routing; the query (e.g. the relay's token) is never logged.
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    // The last entry is the one our own proxy appended; earlier ones are client-supplied.
    const forwarded = req.headers['x-forwarded-for']
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)
      ?.split(',')
      .pop()
      ?.trim()
    if (last) return last
  }
  return req.socket.remoteAddress ?? 'unknown'
}

function originAllowed(origin: string, allowed: string[]): boolean {
  return allowed.length === 0 || allowed.includes(origin)
}

async function storeAnswers(store: RoomStore, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs)
  })
  try {
    return await Promise.race([store.exists(HEALTH_PROBE_ROOM_ID).then(() => true), timedOut])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

function rejectUpgrade(socket: Duplex, status: number): void {
  const body = `${STATUS_CODES[status] ?? 'Error'}\n`
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  )
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}
