// The room's WebRTC side: one y-webrtc provider with its own awareness (docs/architecture.md), our own
// signaling server only, ICE servers from configuration. It reports which peers are reached
// directly — decided from an open data channel, never from y-webrtc's `peers` or `synced`
// events, which fire per connection attempt and with zero peers (docs/connection-state.md).
import type * as Y from 'yjs'
import type { WebrtcProvider, SignalingConn, WebrtcConn } from 'y-webrtc'
import { Awareness } from 'y-protocols/awareness'
import { Listeners } from '../lib/listeners'
import { adoptDocClientId } from './awareness-client-id'
import { IceRestartPolicy, RESTART_RETRY_MS } from './ice-restart'
import { takeRoomName, type RoomNameSlot } from './webrtc-room-slots'
import { InboundGuard } from './inbound-guard'
import { NewestFirst } from './newest-first'
import { NEWEST_PEER_MESSAGE, newestPreface } from './webrtc-newest'

export interface WebrtcLinkOptions {
  /** y-webrtc room name: the room id, never the secret. */
  readonly roomName: string
  /** Encrypts signaling and cross-tab traffic (docs/architecture.md). */
  readonly password: string
  readonly signalingUrls: readonly string[]
  readonly iceServers: readonly RTCIceServer[]
  /** The room's newest records (model/newest-records.ts) for a newcomer peer, or null when
   * this browser has nothing to offer yet (docs/webrtc.md, "Newest records first"). */
  readonly newestRecords?: () => Uint8Array | null
  /** Shows a peer's newest records to this browser while it is a newcomer. */
  readonly showNewest?: (update: Uint8Array) => Promise<void>
}

/** simple-peer instance as far as we use it (y-webrtc types it `any`). */
interface SimplePeer {
  on(event: 'connect' | 'close', listener: () => void): void
  on(event: 'iceStateChange', listener: (state: RTCIceConnectionState) => void): void
}

/** What the y-webrtc patch adds to a connection (patches/README.md; its types are stock). */
interface RestartableConn {
  restartIce(): boolean
}

/** The patched provider's inbound hook (patches/README.md, y-webrtc). */
interface FilteredProvider {
  filterSyncMessage?: (syncMessageType: number, payload: Uint8Array) => boolean
  prefaceSyncStep2?: (stateVector: Uint8Array) => Uint8Array | null
  onUnknownMessage?: (type: number, rest: Uint8Array) => void
}

/** ICE states in which packets are not getting through right now: the data channel still
 * looks open (simple-peer closes it only when ICE fails, ~30 s later), but nothing sent on it
 * arrives. Chromium reports `disconnected` within seconds of the path going away. */
const ICE_NOT_PASSING: ReadonlySet<RTCIceConnectionState> = new Set([
  'disconnected',
  'failed',
  'closed',
])

/** Closes a signaling socket and has lib0's client open a new one at once. On a path that died
 * with the old network, the close handshake never completes and lib0 would hear of the close
 * only when the browser gives up on it (up to a minute); so the socket is told it closed now
 * (lib0 listens through \`onclose\`), and whatever it still does later reaches nobody. */
function abandonSocket(ws: WebSocket): void {
  ws.close()
  ws.dispatchEvent(new CloseEvent('close'))
  ws.onclose = null
  ws.onerror = null
  ws.onmessage = null
  ws.onopen = null
}

/** y-webrtc, imported once for every link (a failed import is tried again by the next). */
let yWebrtc: Promise<typeof import('y-webrtc')> | undefined
function loadYWebrtc(): Promise<typeof import('y-webrtc')> {
  yWebrtc ??= import('y-webrtc').catch((error: unknown) => {
    yWebrtc = undefined
    throw error
  })
  return yWebrtc
}

export class WebrtcLink {
  readonly awareness: Awareness
  /** Created by start(): y-webrtc connects as it is constructed. */
  provider: WebrtcProvider | null = null
  /** Fires when a data channel opens or closes, or signaling connects or drops. */
  readonly changed = new Listeners()
  /** Updates from peers and other tabs dropped before reaching the document
   * (docs/document-model.md). */
  private readonly guard = new InboundGuard('peer or tab')
  private readonly watchedPeers = new WeakSet<object>()
  /** Peers whose ICE says nothing gets through right now (see ICE_NOT_PASSING). */
  private readonly stalledPeers = new WeakSet<object>()
  private readonly watchedSignaling = new Set<SignalingConn>()
  private readonly emitChange = (): void => this.changed.emit()
  private readonly onPeers = (): void => {
    this.watchConnections()
    this.changed.emit()
  }
  private destroyed = false
  /** Reads a peer's newest records while this browser is a newcomer (newest-first.ts). */
  private readonly newestFirst: NewestFirst | null
  /** This link's turn at the room name, taken by start(). */
  private slot: RoomNameSlot | null = null
  /** The browser's online/offline events are only a hint (docs/connection-state.md): a
   * signaling socket may look open for up to 30 s after its network went (lib0's liveness
   * check), so either way replace it now. */
  private readonly onNetworkHint = (): void => {
    this.signalingReopenedAt = Date.now()
    for (const conn of this.watchedSignaling) {
      const ws = (conn as unknown as { ws: WebSocket | null }).ws
      if (ws) abandonSocket(ws)
    }
  }
  private signalingReopenedAt = -Infinity
  /** An ICE restart reopens signaling for the same reason (docs/webrtc.md, "ICE restart"); when
   * several connections restart at once, or their restarts repeat, one reopening serves them. */
  private readonly reopenSignalingForRestart = (): void => {
    if (Date.now() - this.signalingReopenedAt < RESTART_RETRY_MS) return
    this.onNetworkHint()
  }

  constructor(
    private readonly doc: Y.Doc,
    private readonly options: WebrtcLinkOptions,
  ) {
    this.awareness = new Awareness(doc)
    this.newestFirst = options.showNewest ? new NewestFirst(options.showNewest) : null
  }

  /** Joins the room once the document holds what this browser stored (a peer would send a
   * room still loading from IndexedDB whole). A `newcomer` (nothing of the room here) shows
   * the first peer's newest records before the room arrives. */
  start({ newcomer = false }: { newcomer?: boolean } = {}): void {
    if (this.slot || this.destroyed) return
    if (newcomer) this.newestFirst?.expect()
    adoptDocClientId(this.awareness)
    // The provider starts once an earlier link of this room (leaving it and coming back) is
    // gone: y-webrtc allows one per room name (docs/webrtc.md, "Teardown").
    const slot = (this.slot = takeRoomName(this.options.roomName))
    void slot.ready
      .then(() => this.connect())
      .catch((error: unknown) => {
        // The chunk could not be fetched (the service worker normally has it): this session
        // goes on over the relay, and the status shows no direct connection.
        console.error('Parley could not load its WebRTC code', error)
      })
  }

  private async connect(): Promise<void> {
    if (this.destroyed) return
    // Loaded here, not with the app: y-webrtc with simple-peer is a third of the app's code, and
    // nothing on the first screen needs it (the room shows from IndexedDB first).
    const { WebrtcProvider } = await loadYWebrtc()
    if (this.destroyed) return
    const { roomName, password, signalingUrls, iceServers } = this.options
    this.provider = new WebrtcProvider(roomName, this.doc, {
      signaling: [...signalingUrls],
      password,
      awareness: this.awareness,
      // Never simple-peer's default public STUN servers: only what the operator configured.
      peerOpts: { config: { iceServers: [...iceServers] } },
    })
    // Our y-webrtc patch's hook (patches/README.md). Set before any message can arrive: the
    // provider opens its room (and hears peers and tabs) only after deriving its key, later.
    const hooks = this.provider as FilteredProvider
    hooks.filterSyncMessage = this.guard.filter
    const { newestRecords } = this.options
    if (newestRecords)
      hooks.prefaceSyncStep2 = (stateVector) => newestPreface(this.doc, stateVector, newestRecords)
    hooks.onUnknownMessage = (type, rest) => {
      // Offered to a browser that has the room, or after the first: not wanted, not wrong.
      if (type === NEWEST_PEER_MESSAGE && !this.newestFirst?.expecting) return
      const refusal = this.newestFirst
        ? this.newestFirst.receive(type, rest)
        : { limit: 'message type' as const, detail: `unknown message type ${type}` }
      if (refusal) this.guard.refuse(refusal)
    }
    this.provider.on('peers', this.onPeers)
    this.provider.on('status', this.emitChange)
    this.provider.on('synced', this.emitChange)
    this.watchSignaling()
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onNetworkHint)
      window.addEventListener('offline', this.onNetworkHint)
    }
    this.changed.emit()
  }

  /** Updates from peers or tabs that failed the inbound guard and were dropped. */
  get refusedUpdates(): number {
    return this.guard.refusedUpdates
  }

  /** Fires each time `refusedUpdates` grows. */
  get refusedChanged(): Listeners {
    return this.guard.refused
  }

  /** y-webrtc's own id for this tab; carried in presence so others can match it. */
  get peerId(): string | undefined {
    return this.provider?.room?.peerId
  }

  /** Some peer has sent us its state (its sync step 2): the room is here, as far as it goes. */
  syncedWithPeer(): boolean {
    const conns = this.provider?.room?.webrtcConns
    return [...(conns?.values() ?? [])].some((conn) => conn.synced)
  }

  /** Peers with an open data channel that packets are passing through right now. */
  directPeerIds(): string[] {
    const conns = this.provider?.room?.webrtcConns
    if (!conns) return []
    return [...conns.values()]
      .filter((conn) => conn.connected && !this.stalledPeers.has(conn.peer as object))
      .map((conn) => conn.remotePeerId)
  }

  /** Other tabs of this browser, synced over BroadcastChannel. */
  sameBrowserPeerIds(): string[] {
    return [...(this.provider?.room?.bcConns ?? [])]
  }

  /** A signaling socket that is open. One we closed on a network hint counts as gone at once:
   * its close handshake can wait a minute on a dead path before lib0 hears of it. */
  signalingConnected(): boolean {
    return [...this.watchedSignaling].some(
      (conn) =>
        conn.connected && (conn as unknown as { ws: WebSocket | null }).ws?.readyState === 1,
    )
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    this.newestFirst?.destroy()
    const provider = this.provider
    this.changed.clear()
    this.guard.refused.clear()
    if (!provider) {
      // Not started, or still waiting for its turn: it never will connect.
      this.awareness.destroy()
      this.slot?.release()
      return
    }
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onNetworkHint)
      window.removeEventListener('offline', this.onNetworkHint)
    }
    provider.off('peers', this.onPeers)
    provider.off('status', this.emitChange)
    provider.off('synced', this.emitChange)
    for (const conn of this.watchedSignaling) {
      conn.off('connect', this.emitChange)
      conn.off('disconnect', this.emitChange)
    }
    this.watchedSignaling.clear()
    try {
      // y-webrtc destroys its room only after the password key is derived; destroying before
      // that rejects unhandled unless we wait for the key first (docs/connection-state.md).
      await provider.key
      // destroy() alone leaves the provider registered with the shared signaling connection,
      // which then stays open for good; disconnect() releases it (and closes it when unused).
      provider.disconnect()
      provider.destroy()
      this.awareness.destroy()
      // y-webrtc forgets the room in a reaction to the key registered by destroy(): once this
      // later one runs, the next link of this room can open it.
      await provider.key
    } finally {
      this.slot?.release()
    }
  }

  private watchSignaling(): void {
    for (const conn of (this.provider?.signalingConns ?? []) as SignalingConn[]) {
      if (this.watchedSignaling.has(conn)) continue
      this.watchedSignaling.add(conn)
      conn.on('connect', this.emitChange)
      conn.on('disconnect', this.emitChange)
    }
  }

  private watchConnections(): void {
    const conns: Map<string, WebrtcConn> | undefined = this.provider?.room?.webrtcConns
    for (const conn of conns?.values() ?? []) {
      const peer = conn.peer as SimplePeer
      if (this.watchedPeers.has(peer)) continue
      this.watchedPeers.add(peer)
      // Listeners die with the simple-peer instance; y-webrtc destroys it on close.
      peer.on('connect', this.emitChange)
      peer.on('close', this.emitChange)
      // A path that went away is restarted rather than waited out (docs/webrtc.md).
      const restarts = new IceRestartPolicy({
        restartIce: () => (conn as unknown as RestartableConn).restartIce(),
        reopenSignaling: this.reopenSignalingForRestart,
        signalingReady: () => this.signalingConnected(),
      })
      peer.on('close', () => restarts.stop())
      peer.on('iceStateChange', (state) => {
        restarts.onIceState(state)
        const stalled = ICE_NOT_PASSING.has(state)
        if (stalled === this.stalledPeers.has(peer)) return
        if (stalled) this.stalledPeers.add(peer)
        else this.stalledPeers.delete(peer)
        this.emitChange()
      })
    }
  }
}
