// Clients for relay tests: the STOCK y-websocket provider (what browsers run), recording what
// the relay sends it, and a raw WebSocket for frames no stock client would send.

import { randomBytes } from 'node:crypto'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import WebSocket from 'ws'
import { expect, vi } from 'vitest'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { roomIdForToken } from '../../signaling/relay/room-access'

export interface RoomCredentials {
  token: string
  roomId: string
}

/** A fresh room as the app derives it (docs/architecture.md): a 32-byte token and its SHA-256 room id. */
export function newRoom(): RoomCredentials {
  const token = randomBytes(32).toString('base64url')
  return { token, roomId: roomIdForToken(token) }
}

export interface CloseInfo {
  code: number
  reason: string
}

export interface StockClientOptions {
  token?: string | null
  key?: string
  doc?: Y.Doc
  /** Extra headers on the upgrade request (e.g. Origin). */
  headers?: Record<string, string>
}

/** A stock WebsocketProvider plus what the relay sent it. */
export class StockClient {
  readonly doc: Y.Doc
  readonly provider: WebsocketProvider
  /** Every sync step 1 state vector the relay sent, newest last. */
  readonly stateVectors: Map<number, number>[] = []
  /** Every close the provider saw (null code: closed by the provider itself, e.g. its watchdog). */
  readonly closes: (CloseInfo | null)[] = []
  /** Set when the provider stopped for good (a 44xx close). */
  terminal: CloseInfo | null = null
  /** Messages received, and the time of each (ms, performance.now()). */
  readonly receivedAt: number[] = []
  opens = 0

  constructor(serverUrl: string, roomId: string, options: StockClientOptions = {}) {
    this.doc = options.doc ?? new Y.Doc()
    const params: Record<string, string> = {}
    if (options.token) params.token = options.token
    if (options.key) params.key = options.key
    this.provider = new WebsocketProvider(serverUrl, roomId, this.doc, {
      params,
      // Node 20 has BroadcastChannel: without this, providers in one process would sync with
      // each other directly and never need the relay.
      disableBc: true,
      WebSocketPolyfill: recordingWebSocket(
        (bytes) => this.record(bytes),
        options.headers ?? {},
      ) as unknown as typeof globalThis.WebSocket,
    })
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') this.opens++
    })
    this.provider.on('connection-close', (event) => {
      this.closes.push(event ? { code: event.code, reason: event.reason } : null)
    })
    this.provider.on('closed', (close) => {
      this.terminal = close
    })
  }

  get connected(): boolean {
    return this.provider.wsconnected
  }

  get synced(): boolean {
    return this.provider.synced
  }

  /** The clock up to which the relay's newest state vector covers `client`'s writes. */
  storedClock(client = this.doc.clientID): number {
    return this.stateVectors.at(-1)?.get(client) ?? 0
  }

  /** This client's own clock: everything it wrote is below it. */
  get clock(): number {
    return Y.getState(this.doc.store, this.doc.clientID)
  }

  destroy(): void {
    this.provider.destroy()
  }

  private record(bytes: Uint8Array): void {
    this.receivedAt.push(performance.now())
    const decoder = decoding.createDecoder(bytes)
    if (decoding.readVarUint(decoder) !== 0 || decoding.readVarUint(decoder) !== 0) return
    this.stateVectors.push(Y.decodeStateVector(decoding.readVarUint8Array(decoder)))
  }
}

function recordingWebSocket(
  record: (bytes: Uint8Array) => void,
  headers: Record<string, string>,
): new (address: string, protocols?: string | string[]) => WebSocket {
  return class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers })
      this.on('message', (data: WebSocket.RawData) => record(toBytes(data)))
    }
  }
}

/** A raw socket to the relay for hand-made frames. */
export class RawRelayClient {
  readonly closed: Promise<CloseInfo>
  readonly received: Uint8Array[] = []

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => this.received.push(toBytes(data)))
    // A server that cuts the connection makes the client emit 'error' before 'close'.
    ws.on('error', () => undefined)
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))
    })
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<RawRelayClient> {
    const ws = new WebSocket(url, options)
    const client = new RawRelayClient(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client))
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)),
      )
    })
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame)
  }

  close(): void {
    this.ws.close()
  }
}

/** `/relay/<roomId>?token=…` on a test server. */
export function relayUrl(wsBase: string, roomId: string, params: Record<string, string> = {}) {
  const query = new URLSearchParams(params).toString()
  return `${wsBase}/${roomId}${query ? `?${query}` : ''}`
}

/** A y-websocket "update" message carrying `update`. */
export function syncUpdateFrame(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 2)
  encoding.writeVarUint8Array(encoder, update)
  return encoding.toUint8Array(encoder)
}

/** A y-websocket sync step 1 carrying `stateVector`. */
export function syncStep1Frame(stateVector: Uint8Array = new Uint8Array([0])): Uint8Array {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint(encoder, 0)
  encoding.writeVarUint8Array(encoder, stateVector)
  return encoding.toUint8Array(encoder)
}

/** A y-websocket awareness message; `state` is written as is (so it may be broken JSON). */
export function awarenessFrame(entries: { client: number; clock: number; state: string }[]) {
  const update = encoding.createEncoder()
  encoding.writeVarUint(update, entries.length)
  for (const { client, clock, state } of entries) {
    encoding.writeVarUint(update, client)
    encoding.writeVarUint(update, clock)
    encoding.writeVarString(update, state)
  }
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1)
  encoding.writeVarUint8Array(encoder, encoding.toUint8Array(update))
  return encoding.toUint8Array(encoder)
}

/** A y-websocket "query awareness" message: one byte. */
export const QUERY_AWARENESS_FRAME = new Uint8Array([3])

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/** Opens a WebSocket and resolves with the HTTP status: 101 when accepted (then closed). */
export function upgradeStatus(
  url: string,
  options: { headers?: Record<string, string> } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: options.headers ?? {} })
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('open', () => {
      ws.terminate()
      resolve(101)
    })
    ws.once('error', (error) => reject(error))
  })
}

/** Waits for the relay tests' events: generous, since CI machines are loaded. */
const RELAY_WAIT = { timeout: 15_000, interval: 20 }

/** A chat record as Parley writes it: an opaque binary envelope the relay cannot read. */
export function writeText(stock: StockClient, text: string): void {
  stock.doc.getArray<Uint8Array>('messages').push([new TextEncoder().encode(text)])
}

/** The records written by writeText, in document order. */
export function textsOf(stock: StockClient): string[] {
  return stock.doc
    .getArray<Uint8Array>('messages')
    .toArray()
    .map((bytes) => new TextDecoder().decode(bytes))
}

export async function untilSynced(stock: StockClient): Promise<void> {
  await vi.waitFor(() => expect(stock.synced).toBe(true), RELAY_WAIT)
}

/** Until the relay has acknowledged (stored) everything this client wrote. */
export async function untilSaved(stock: StockClient): Promise<void> {
  await vi.waitFor(() => expect(stock.storedClock()).toBe(stock.clock), RELAY_WAIT)
}
