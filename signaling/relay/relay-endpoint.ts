// The `/relay/<roomId>` WebSocket endpoint: checks the room id, token and operator key, binds
// `ws` sockets to rooms, enforces the payload limit, reaps dead connections with pings, and
// sends idle connections a keepalive.
//
// Refusals are accept-then-close, never an HTTP error on the upgrade: a browser reports a failed
// upgrade only as close code 1006, which stock y-websocket clients retry forever, whereas a
// close with a 44xx code makes them stop for good and tells the app why. The socket is accepted
// only to be closed: it is never attached to the room, so it neither reads nor writes it.

import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import { FrameWriter } from '../frame-writer'
import type { RoomStore } from '../store/room-store'
import { closeWithin, sweepDeadSockets, type Liveness } from '../socket-lifecycle'
import type { AwarenessBus } from './awareness-bus'
import { RelayHub } from './relay-hub'
import type { Violation } from './relay-protocol'
import type { RelayConnection, RelayMetrics, RelayRoom } from './relay-room'
import { checkToken, operatorKeyMatches, parseRelayRequest } from './room-access'

export interface RelayEndpointOptions {
  /** The path the room id follows, e.g. `/relay/`. */
  pathPrefix: string
  limits: RelayLimits
  logger: Logger
  store: RoomStore
  /** When set, a room the store does not hold yet needs `?key=` with this value. */
  operatorKey: string | null
  metrics?: RelayMetrics
  /** Shares each loaded room's presence with other instances (Redis mode). */
  awarenessBus?: AwarenessBus
  /** Milliseconds, monotonic: the connection budgets' clock (tests move it). */
  now?: () => number
}

interface OpenSocket extends Liveness {
  readonly connection: RelayConnection
  readonly remote: string
}

export class RelayEndpoint {
  readonly hub: RelayHub
  private readonly wss: WebSocketServer
  private readonly options: RelayEndpointOptions
  private readonly logger: Logger
  private readonly sockets = new Map<WebSocket, OpenSocket>()
  private readonly frames = new FrameWriter('binary')
  /** Sockets accepted only to be closed with a refusal code. */
  private readonly refused = new Set<WebSocket>()
  private readonly heartbeat: NodeJS.Timeout
  private readonly keepalive: NodeJS.Timeout
  private closing: Promise<void> | undefined

  constructor(options: RelayEndpointOptions) {
    this.options = options
    this.logger = options.logger
    this.hub = new RelayHub({
      store: options.store,
      limits: options.limits,
      logger: options.logger,
      metrics: options.metrics,
      awarenessBus: options.awarenessBus,
      now: options.now,
    })
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxPayloadBytes,
      // Encrypted records do not compress (0.98x measured) and deflate keeps ~256 KB of zlib
      // state per connection (docs/architecture.md).
      perMessageDeflate: false,
    })
    this.heartbeat = setInterval(() => this.sweep(), options.limits.heartbeatIntervalMs)
    this.heartbeat.unref()
    this.keepalive = setInterval(() => this.hub.keepalive(), options.limits.keepaliveIntervalMs)
    this.keepalive.unref()
  }

  get connectionCount(): number {
    return this.sockets.size
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer, remote: string): void {
    const parsed = parseRelayRequest(request.url ?? '/', this.options.pathPrefix)
    if (!parsed.ok) return this.refuse(request, socket, head, remote, parsed.violation)
    const { roomId, token, key, newestFirst } = parsed.request
    const badToken = checkToken(roomId, token)
    if (badToken) return this.refuse(request, socket, head, remote, badToken, roomId)
    const { operatorKey } = this.options
    const mayCreate = operatorKey === null || operatorKeyMatches(key, operatorKey)
    this.admit(request, socket, head, remote, roomId, { mayCreate, newestFirst }).catch(
      (error: unknown) => {
        this.logger.error('relay.internal_error', { remote, error })
        socket.destroy()
      },
    )
  }

  private async admit(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    remote: string,
    roomId: string,
    { mayCreate, newestFirst }: { mayCreate: boolean; newestFirst: boolean },
  ): Promise<void> {
    let room: RelayRoom
    try {
      const acquired = await this.hub.acquire(roomId, { mayCreate })
      if (!acquired.ok)
        return this.refuse(request, socket, head, remote, acquired.violation, roomId)
      room = acquired.room
    } catch (error) {
      if (this.closing) return void socket.destroy()
      // Not the client's fault: 1011 makes a stock client try again after its backoff.
      this.logger.error('relay.store_failed', {
        remote,
        room: roomId.slice(0, 8),
        kind: this.options.store.kind,
        error,
      })
      return this.closeAfterUpgrade(
        request,
        socket,
        head,
        CloseCode.INTERNAL_ERROR,
        'store unavailable',
      )
    }
    if (this.closing || socket.destroyed || !socket.writable) {
      room.release()
      socket.destroy()
      return
    }
    // ws answers a malformed handshake itself and never calls back: free the hold then.
    let attached = false
    socket.once('close', () => {
      if (!attached) room.release()
    })
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      attached = true
      this.attach(ws, socket, room, { remote, newestFirst })
    })
  }

  private attach(
    ws: WebSocket,
    socket: Duplex,
    room: RelayRoom,
    { remote, newestFirst }: { remote: string; newestFirst: boolean },
  ): void {
    const connection = room.connect(
      {
        send: (message) => this.frames.send(ws, socket, message),
        close: (code, reason) => ws.close(code, reason),
        get bufferedAmount() {
          return ws.bufferedAmount
        },
      },
      { remote, newestFirst },
    )
    const open: OpenSocket = { connection, remote, answeredPing: true }
    this.sockets.set(ws, open)
    ws.on('pong', () => (open.answeredPing = true))
    ws.on('message', (data: RawData) => connection.receive(toBytes(data)))
    ws.on('close', () => {
      this.sockets.delete(ws)
      connection.disconnect()
    })
    ws.on('error', (error: Error & { code?: string }) => {
      // `ws` has already closed the socket with the right code (1009 for maxPayload, 1002/1007
      // for protocol errors); this is the log line that names the limit.
      const tooBig = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      this.logger.warn(tooBig ? 'relay.rejected' : 'relay.socket_error', {
        conn: connection.id,
        remote,
        room: room.logId,
        ...(tooBig
          ? {
              limit: 'maxPayloadBytes',
              max: this.options.limits.maxPayloadBytes,
              closeCode: CloseCode.MESSAGE_TOO_BIG,
            }
          : {}),
        error: error.message,
        errorCode: error.code,
      })
      connection.disconnect()
    })
  }

  /** Accepts the socket only to close it with the violation's code (see the module comment). */
  private refuse(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    remote: string,
    violation: Violation,
    roomId?: string,
  ): void {
    this.logger.warn('relay.rejected', {
      remote,
      ...(roomId === undefined ? {} : { room: roomId.slice(0, 8) }),
      limit: violation.limit,
      value: violation.value,
      closeCode: violation.code,
      reason: violation.reason,
    })
    this.closeAfterUpgrade(request, socket, head, violation.code, violation.reason)
  }

  private closeAfterUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    code: CloseCode,
    reason: string,
  ): void {
    if (socket.destroyed) return
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.refused.add(ws)
      // Whatever it sends before our close frame arrives is dropped unread.
      ws.on('error', () => undefined)
      void closeWithin(ws, code, reason).then(() => this.refused.delete(ws))
    })
  }

  private sweep(): void {
    sweepDeadSockets(this.sockets, (open) =>
      this.logger.info('relay.heartbeat_timeout', {
        conn: open.connection.id,
        remote: open.remote,
        afterMs: this.options.limits.heartbeatIntervalMs,
      }),
    )
  }

  /**
   * Closes every connection with 1001 (going away), then stores what every room has pending
   * and unloads them. Idempotent.
   */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.heartbeat)
      clearInterval(this.keepalive)
      const sockets = [...this.sockets.keys(), ...this.refused]
      await Promise.all(
        sockets.map((ws) => closeWithin(ws, CloseCode.GOING_AWAY, 'server shutting down')),
      )
      await new Promise<void>((resolve) => this.wss.close(() => resolve()))
      await this.hub.close()
    })())
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return data
}
