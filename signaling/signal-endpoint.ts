// The `/signal` WebSocket endpoint: binds `ws` sockets to the socket-free SignalHub, enforces the
// payload limit, and reaps dead connections with WebSocket pings (a peer that vanished without
// a FIN would otherwise hold its topics forever).

import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { CloseCode } from './close-codes'
import { FrameWriter } from './frame-writer'
import type { SignalingLimits } from './limits'
import type { Logger } from './log'
import type { SignalBus } from './signal-bus'
import { closeWithin, sweepDeadSockets, type Liveness } from './socket-lifecycle'
import { SignalHub, type SignalConnection } from './signal-hub'

export interface SignalEndpointOptions {
  limits: SignalingLimits
  logger: Logger
  /** Shares topics with other instances (Redis); the caller opens and closes it. */
  bus?: SignalBus
  /** Counts messages for `/metrics`. */
  traffic?: { received(): void; sent(): void }
}

interface OpenSocket extends Liveness {
  readonly connection: SignalConnection
  readonly remote: string
}

export class SignalEndpoint {
  readonly hub: SignalHub
  private readonly wss: WebSocketServer
  private readonly logger: Logger
  private readonly maxPayloadBytes: number
  private readonly sockets = new Map<WebSocket, OpenSocket>()
  /** The hub hands over UTF-8 bytes; stock clients expect them in text frames. */
  private readonly frames = new FrameWriter('text')
  private readonly heartbeatIntervalMs: number
  private readonly heartbeat: NodeJS.Timeout

  private readonly traffic: SignalEndpointOptions['traffic']

  constructor(options: SignalEndpointOptions) {
    this.logger = options.logger
    this.traffic = options.traffic
    this.maxPayloadBytes = options.limits.maxPayloadBytes
    this.hub = new SignalHub({ limits: options.limits, logger: options.logger, bus: options.bus })
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.maxPayloadBytes,
      // Signaling payloads are encrypted (incompressible) and small; deflate would cost
      // ~256 KB of zlib state per connection for nothing (docs/architecture.md).
      perMessageDeflate: false,
    })
    this.heartbeatIntervalMs = options.limits.heartbeatIntervalMs
    this.heartbeat = setInterval(() => this.sweep(), this.heartbeatIntervalMs)
    this.heartbeat.unref()
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, remote: string): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.attach(ws, socket, remote))
  }

  private attach(ws: WebSocket, socket: Duplex, remote: string): void {
    const connection = this.hub.connect(
      {
        send: (message) => {
          this.frames.send(ws, socket, message)
          this.traffic?.sent()
        },
        close: (code, reason) => ws.close(code, reason),
        get bufferedAmount() {
          return ws.bufferedAmount
        },
      },
      { remote },
    )
    const open: OpenSocket = { connection, remote, answeredPing: true }
    this.sockets.set(ws, open)
    ws.on('pong', () => (open.answeredPing = true))
    ws.on('message', (data: RawData) => {
      this.traffic?.received()
      connection.receive(decodeFrame(data))
    })
    ws.on('close', () => {
      this.sockets.delete(ws)
      connection.disconnect()
    })
    ws.on('error', (error: Error & { code?: string }) => {
      // `ws` has already closed the socket with the right code (1009 for maxPayload, 1002/1007
      // for protocol errors); this is the log line that names the limit.
      const tooBig = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      this.logger.warn(tooBig ? 'signal.rejected' : 'signal.socket_error', {
        conn: connection.id,
        remote,
        ...(tooBig
          ? {
              limit: 'maxPayloadBytes',
              max: this.maxPayloadBytes,
              closeCode: CloseCode.MESSAGE_TOO_BIG,
            }
          : {}),
        error: error.message,
        errorCode: error.code,
      })
      connection.disconnect()
    })
  }

  private sweep(): void {
    sweepDeadSockets(this.sockets, (open) =>
      this.logger.info('signal.heartbeat_timeout', {
        conn: open.connection.id,
        remote: open.remote,
        afterMs: this.heartbeatIntervalMs,
      }),
    )
  }

  /** Closes every connection with 1001 (going away); resolves when all are gone. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat)
    const sockets = [...this.sockets.keys()]
    await Promise.all(
      sockets.map((ws) => closeWithin(ws, CloseCode.GOING_AWAY, 'server shutting down')),
    )
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
  }
}

// Text and binary frames alike are read as UTF-8 JSON, as the stock server does (`ws` has
// already validated a text frame's UTF-8; bad bytes in a binary one just fail JSON parsing).
function decodeFrame(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8')
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.from(data).toString('utf8')
}
