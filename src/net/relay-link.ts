// The room's relay side: one stock y-websocket provider to `/relay/<roomId>` with its own
// awareness (docs/architecture.md), carrying the room when peers cannot connect directly and keeping it for
// peers who are not online together. It also reads what the relay says it has stored: the relay
// sends a sync step 1 (its state vector) only for what is durably stored (docs/architecture.md), so its
// clocks tell which of our writes are "saved to relay".
import type * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { Awareness } from 'y-protocols/awareness'
import * as decoding from 'lib0/decoding'
import { Listeners } from '../lib/listeners'
import { adoptDocClientId } from './awareness-client-id'
import { InboundGuard } from './inbound-guard'

export interface RelayLinkOptions {
  /** `ws(s)://host/relay`; the provider appends `/<roomId>`. */
  readonly url: string
  readonly roomId: string
  /** Proves to the relay that we hold the room link (docs/architecture.md). */
  readonly token: string
  /** Operator key of a private relay, needed to create rooms there. */
  readonly operatorKey?: string
}

/** Why the relay will not carry this room; the provider stops reconnecting (44xx codes). */
export interface RelayRefusal {
  readonly code: number
  readonly reason: string
}

// y-protocols sync message type of a state vector (PROTOCOL.md).
const SYNC_STEP_1 = 0

export class RelayLink {
  readonly awareness: Awareness
  readonly provider: WebsocketProvider
  /** Fires when the connection opens, closes or is refused, and when the relay stores more. */
  readonly changed = new Listeners()
  /** Per Yjs client id, the clock up to which the relay holds that client's writes durably. */
  readonly stored = new Map<number, number>()
  /** Updates from the relay dropped before reaching the document (docs/document-model.md). */
  private readonly guard = new InboundGuard('relay')
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
        return this.guard.filter(type, payload)
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

  /** Connects (and keeps reconnecting) once the document holds what this browser stored. */
  start(): void {
    if (this.destroyed) return
    adoptDocClientId(this.awareness)
    this.provider.connect()
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
    this.changed.clear()
    this.guard.refused.clear()
    this.provider.destroy()
    this.awareness.destroy()
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
