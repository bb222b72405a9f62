// The Parley server: one HTTP server on one port that routes requests (config, health, the built
// app) and WebSocket upgrades (/signal now, /relay/<roomId> in a later issue), and shuts all of
// it down in order.

import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import type { ServerConfig } from './config'
import { createLogger, type Logger } from './log'
import { setSecurityHeaders } from './security-headers'
import { SignalEndpoint } from './signal-endpoint'
import { createStaticHandler } from './static'

export interface ParleyServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string
  port: number
  /** Closes every WebSocket with 1001 and stops listening. Idempotent. */
  close(): Promise<void>
}

export const SIGNAL_PATH = '/signal'
export const RELAY_PATH_PREFIX = '/relay/'

/** What `/config.json` tells the app; relay stays null until the relay exists. */
export interface ClientConfig {
  iceServers: ServerConfig['iceServers']
  signaling: string[]
  relay: string | null
}

export async function startParleyServer(
  config: ServerConfig,
  opts: { logger?: Logger } = {},
): Promise<ParleyServer> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel ?? 'info' })
  const serveStatic = createStaticHandler(config.distDir, logger)
  const signal = new SignalEndpoint({ limits: config.limits, logger })
  const clientConfig: ClientConfig = {
    iceServers: config.iceServers,
    signaling: [SIGNAL_PATH],
    relay: null,
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
      case '/healthz':
        res.writeHead(200, {
          'Content-Type': 'text/plain; charset=utf-8',
          'Cache-Control': 'no-store',
        })
        res.end('ok')
        return
      default:
        await serveStatic(req, res)
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets mid-handshake must not raise an unhandled 'error'.
    socket.on('error', (error) => logger.debug('http.upgrade_socket_error', { error }))
    const path = pathOf(req)
    if (shuttingDown) return rejectUpgrade(socket, 503)
    if (path === SIGNAL_PATH) {
      signal.handleUpgrade(req, socket, head, clientAddress(req, config.trustProxy))
      return
    }
    // `/relay/<roomId>` belongs to the relay (a later issue); until then it does not exist.
    logger.debug('http.upgrade_refused', {
      path: path.startsWith(RELAY_PATH_PREFIX) ? RELAY_PATH_PREFIX : path,
    })
    rejectUpgrade(socket, 404)
  })

  await listen(server, config.port, config.host)
  const port = (server.address() as AddressInfo).port
  const url = `http://${formatHost(config.host)}:${port}`
  logger.info('server.listening', {
    url,
    distDir: config.distDir,
    iceServers: config.iceServers.length,
  })

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        shuttingDown = true
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeIdleConnections()
        await signal.close()
        // Upgraded sockets are gone; cut any HTTP request still in flight.
        server.closeAllConnections()
        await httpClosed
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
