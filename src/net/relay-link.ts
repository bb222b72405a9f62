// The room's relay side: one stock y-websocket provider to `/relay/<roomId>` with its own
// awareness (docs/architecture.md), carrying the room when peers cannot connect directly and keeping it for
// peers who are not online together. It also reads what the relay says it has stored: the relay
// sends a sync step 1 (its state vector) only for what is durably stored (docs/architecture.md), so its
// clocks tell which of our writes are "saved to relay". A newcomer asks the relay for the room's
// newest records first (newest-first.ts, docs/relay.md "Newest records first").
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { Awareness } from 'y-protocols/awareness'
import * as decoding from 'lib0/decoding'
import { Listeners } from '../lib/listeners'
import { adoptDocClientId } from './awareness-client-id'
import { InboundGuard } from './inbound-guard'
import { NewestFirst } from './newest-first'

export interface RelayLinkOptions {
  /** `ws(s)://host/relay`; the provider appends `/<roomId>`. */
  readonly url: string
  readonly roomId: string
  /** Proves to the relay that we hold the room link (docs/architecture.md). */
  readonly token: string
  /** Operator key of a private relay, needed to create rooms there. */
  readonly operatorKey?: string
  /** Shows the relay's newest records (a small document: model/newest-records.ts) to a newcomer;
   * the room's state is applied once the returned promise settles (docs/relay.md). */
  readonly showNewest?: (update: Uint8Array) => Promise<void>
}

/** Why the relay will not carry this room; the provider stops reconnecting (44xx codes). */
export interface RelayRefusal {
  readonly code: number
  readonly reason: string
}

// y-protocols sync message types (PROTOCOL.md): a state vector, the answer to one.
const SYNC_STEP_1 = 0
const SYNC_STEP_2 = 1

export class RelayLink {
  readonly awareness: Awareness
  readonly provider: WebsocketProvider
  /** Fires when the connection opens, closes or is refused, and when the relay stores more. */
  readonly changed = new Listeners()
  /** Per Yjs client id, the clock up to which the relay holds that client's writes durably. */
  readonly stored = new Map<number, number>()
  /** Updates from the relay dropped before reaching the document (docs/document-model.md). */
  private readonly guard = new InboundGuard('relay')
  private readonly newestFirst: NewestFirst | null
  private refusal: RelayRefusal | null = null
  private destroyed = false
  private readonly emitChange = (): void => this.changed.emit()
  private readonly onClosed = (close: RelayRefusal): void => {
    this.refusal = close
    this.changed.emit()
  }
  /** Back online: a socket that died while offline can look open for up to 30 s (y-websocket's
   * watchdog); closing it reconnects at once. Offline: stop waiting on a dead socket. */
  private readonly onNetworkChange = (): void => {
    const ws = this.provider.ws
    if (ws && ws.readyState === ws.OPEN) ws.close()
  }

  constructor(doc: Y.Doc, options: RelayLinkOptions) {
    this.awareness = new Awareness(doc)
    this.newestFirst = options.showNewest ? new NewestFirst(options.showNewest) : null
    const params: Record<string, string> = { token: options.token }
    if (options.operatorKey) params.key = options.operatorKey
    this.provider = new WebsocketProvider(options.url, options.roomId, doc, {
      awareness: this.awareness,
      params,
      // y-webrtc already syncs this browser's tabs over BroadcastChannel.
      disableBc: true,
      // Not before start(): a room still loading from IndexedDB would be sent whole.
      connect: false,
      // Our y-websocket patch's hook (patches/README.md): sees each sync message before Yjs.
      filterSyncMessage: (type, payload) => {
        if (type === SYNC_STEP_1) this.readStoredState(payload)
        if (!this.guard.filter(type, payload)) return false
        // While the newest records are being shown, the room waits (applied by applyHeld).
        if (
          type === SYNC_STEP_2 &&
          this.newestFirst?.hold(payload, this.provider.ws, this.applyHeld)
        )
          return false
        return true
      },
      onUnknownMessage: (type, rest) => {
        const refusal = this.newestFirst
          ? this.newestFirst.receive(type, rest)
          : { limit: 'message type' as const, detail: `unknown message type ${type}` }
        if (refusal) this.guard.refuse(refusal)
      },
    })
    this.provider.on('status', this.emitChange)
    this.provider.on('sync', this.emitChange)
    this.provider.on('closed', this.onClosed)
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onNetworkChange)
      window.addEventListener('offline', this.onNetworkChange)
    }
  }

  /** Connects (and keeps reconnecting) once the document holds what this browser stored. A
   * `newcomer` (nothing of the room here) asks for the newest records first, on this first
   * connection only: a reconnect holds the room already. */
  start({ newcomer = false }: { newcomer?: boolean } = {}): void {
    if (this.destroyed) return
    adoptDocClientId(this.awareness)
    if (newcomer && this.newestFirst) {
      this.provider.params.newest = '1'
      this.newestFirst.expect()
    }
    this.provider.connect()
    delete this.provider.params.newest
  }

  /** An open socket to the relay that has exchanged state with it. One we closed on a network
   * hint counts as gone at once: its close handshake can wait a minute on a dead path. */
  connected(): boolean {
    const ws = this.provider.ws
    return this.provider.wsconnected && this.provider.synced && ws?.readyState === ws?.OPEN
  }

  /** Updates the relay sent that failed the inbound guard and were dropped. */
  get refusedUpdates(): number {
    return this.guard.refusedUpdates
  }

  /** Fires each time `refusedUpdates` grows. */
  get refusedChanged(): Listeners {
    return this.guard.refused
  }

  /** Set when the relay refused the room for good (bad token, operator key, room too large). */
  refused(): RelayRefusal | null {
    return this.refusal
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onNetworkChange)
      window.removeEventListener('offline', this.onNetworkChange)
    }
    this.provider.off('status', this.emitChange)
    this.provider.off('sync', this.emitChange)
    this.provider.off('closed', this.onClosed)
    this.newestFirst?.destroy()
    this.changed.clear()
    this.guard.refused.clear()
    this.provider.destroy()
    this.awareness.destroy()
  }

  /** The room's state held while the newest records were shown: applied as y-protocols would
   * have (origin: the provider, so it is not sent back), and `synced` if that socket is open. */
  private readonly applyHeld = (update: Uint8Array, socket: unknown): void => {
    if (this.destroyed) return
    try {
      Y.applyUpdate(this.provider.doc, update, this.provider)
    } catch (error) {
      console.error('parley: the relay sent a room state that does not apply', error)
      return
    }
    if (socket === this.provider.ws && this.provider.wsconnected) this.provider.synced = true
  }

  /** Reads a sync step 1's state vector: what the relay holds durably (docs/architecture.md). */
  private readStoredState(stateVector: Uint8Array): void {
    try {
      const vector = decoding.createDecoder(stateVector)
      let grew = false
      for (let n = decoding.readVarUint(vector); n > 0; n--) {
        const client = decoding.readVarUint(vector)
        const clock = decoding.readVarUint(vector)
        if (clock > (this.stored.get(client) ?? 0)) {
          this.stored.set(client, clock)
          grew = true
        }
      }
      if (grew) this.changed.emit()
    } catch {
      // A malformed state vector says nothing about what is stored; y-protocols decides what
      // to do with the message.
    }
  }
}
