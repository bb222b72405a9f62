// One open room: its Yjs document, local store, WebRTC and relay links, presence, timeline and
// the operations people perform. Opening loads IndexedDB before any network (DESIGN §4); a
// room whose newest messages were kept (recent-records.ts) shows them first and loads the
// rest after they are on screen. destroy() undoes the constructor step by step and can be
// called any number of times.
import * as Y from 'yjs'
import { HybridClock, RoomDocument, parseMessage } from '../model'
import {
  bytesEqual,
  deriveRoomKeys,
  toBase64Url,
  type RoomKeys,
  type SigningIdentity,
} from '../crypto'
import {
  composeEdit,
  composeMember,
  composeMessage,
  composeTombstone,
  newMessageId,
} from './authoring'
import { LocalStore } from '../net/local-store'
import { WebrtcLink } from '../net/webrtc-link'
import { RelayLink, type RelayRefusal } from '../net/relay-link'
import { Listeners } from '../lib/listeners'
import { MemberDirectory } from './members'
import { MessageContentResolver } from './message-content'
import { PresenceChannel, type RemotePresence } from './presence'
import { DeliveryTracker, seenClocks, type DeliveryState } from './delivery'
import { Timeline } from './timeline'
import { decodeRecentRecords, encodeRecentRecords } from './recent-records'

export interface RoomSessionConfig {
  readonly signalingUrls: readonly string[]
  readonly iceServers: readonly RTCIceServer[]
  /** `ws(s)://host/relay`, or null for a room carried by WebRTC alone. */
  readonly relayUrl?: string | null
  /** Operator key of a private relay (needed there to create rooms). */
  readonly relayKey?: string
  readonly displayName: string
  /** For delivery marks that survive a reload; absent in tests that do not need it. */
  readonly storage?: Storage
  readonly now?: () => number
}

export type Reach =
  /** An open WebRTC data channel to this person's tab. */
  | 'direct'
  /** No data channel, but both of us are connected to the relay, which carries the room. */
  | 'relay'
  /** Another tab of this same browser. */
  | 'this-browser'
  /** Known from presence, but no data channel (yet). */
  | 'connecting'

export interface Person {
  readonly keyId: string
  readonly name: string
  readonly isMe: boolean
  readonly reach: Reach | 'me'
}

export interface ConnectionStatus {
  /** The browser says it has a network. */
  readonly online: boolean
  /** Connected to at least one signaling server. */
  readonly signaling: boolean
  /** Remote peers with an open data channel. */
  readonly directPeers: number
  /** Other tabs of this browser in the same room. */
  readonly sameBrowserPeers: number
  /** People reached through the relay only. */
  readonly relayPeers: number
  /** The relay link: none configured, connecting, connected, or refused for good. */
  readonly relay: 'none' | 'connecting' | 'connected' | 'refused'
  /** Why the relay refused this room, when it did. */
  readonly relayRefusal: RelayRefusal | null
}

/** Presence acknowledgements are coalesced: at most one re-publish per this many ms. */
const PRESENCE_THROTTLE_MS = 150
/** The newest messages are kept again at most this often while the room changes. */
const RECENT_SAVE_MS = 2_000
/** Waiting for a frame that a hidden tab never draws must not hold the room's loading up. */
const FRAME_WAIT_MS = 50

/** After the browser has drawn what is on screen now (or a short while, if it draws nothing). */
function afterPaint(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FRAME_WAIT_MS)
    if (typeof requestAnimationFrame !== 'function') return
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        clearTimeout(timer)
        resolve()
      }),
    )
  })
}

export class RoomSession {
  readonly changed = new Listeners()
  readonly timeline: Timeline
  readonly members: MemberDirectory
  readonly content: MessageContentResolver
  readonly delivery: DeliveryTracker
  readonly presence: PresenceChannel
  /** Presence as seen through the relay: its own awareness (DESIGN §3). */
  readonly relayPresence: PresenceChannel | null
  readonly relay: RelayLink | null
  readonly doc = new Y.Doc({ gc: true })
  readonly room = new RoomDocument(this.doc)
  /** Resolves once everything this browser stored is loaded, the links are started and we
   * are a member; rejects if local data cannot be opened. Writes wait for it. */
  readonly loaded: Promise<void>
  private local: LocalStore | undefined
  private readonly clock: HybridClock
  private displayName: string
  private presenceTimer: ReturnType<typeof setTimeout> | undefined
  private recentTimer: ReturnType<typeof setTimeout> | undefined
  private readonly disposers: (() => void)[] = []
  private destroyed: Promise<void> | undefined

  /** Resolves with the room on screen: its newest messages if they were kept, the whole room
   * otherwise (then it rejects if local data cannot be opened). */
  static async open(
    secret: string,
    identity: SigningIdentity,
    config: RoomSessionConfig,
  ): Promise<RoomSession> {
    const keys = await deriveRoomKeys(secret)
    const kept = await LocalStore.readRecent(keys.roomId)
    const recent = kept && decodeRecentRecords(kept)
    const session = new RoomSession(keys, identity, config, recent)
    if (!recent) {
      try {
        await session.loaded
      } catch (error) {
        await session.destroy()
        throw error
      }
    }
    return session
  }

  private constructor(
    readonly keys: RoomKeys,
    readonly identity: SigningIdentity,
    config: RoomSessionConfig,
    recent: RoomDocument | undefined,
  ) {
    const now = config.now ?? Date.now
    const doc = this.doc
    this.clock = new HybridClock(now)
    this.displayName = config.displayName
    // What is shown until the room has loaded.
    const shown = recent ?? this.room
    this.timeline = new Timeline(shown, (stamp) => this.clock.observe(stamp), now)
    this.members = new MemberDirectory(shown, keys)
    this.content = new MessageContentResolver(keys, this.members)
    this.delivery = new DeliveryTracker(keys.roomId, config.storage)
    this.webrtc = new WebrtcLink(doc, {
      roomName: keys.roomId,
      password: keys.webrtcPassword,
      signalingUrls: config.signalingUrls,
      iceServers: config.iceServers,
    })
    this.presence = new PresenceChannel(this.webrtc.awareness, keys.contentKey)
    this.relay = config.relayUrl
      ? new RelayLink(doc, {
          url: config.relayUrl,
          roomId: keys.roomId,
          token: keys.relayToken,
          operatorKey: config.relayKey,
        })
      : null
    this.relayPresence = this.relay
      ? new PresenceChannel(this.relay.awareness, keys.contentKey)
      : null

    const emit = (): void => this.changed.emit()
    this.disposers.push(
      this.members.changed.subscribe(() => {
        this.content.membersChanged()
        emit()
      }),
      this.webrtc.changed.subscribe(() => {
        this.schedulePresence()
        emit()
      }),
      this.delivery.changed.subscribe(emit),
    )
    const onPresence = (): void => {
      // Only another person's browser makes a message delivered; our own tabs share storage.
      this.delivery.acknowledge(this.allPresences().filter((p) => p.keyId !== this.myKeyId))
      this.schedulePresence()
      emit()
    }
    this.disposers.push(this.presence.changed.subscribe(onPresence))
    const { relay, relayPresence } = this
    if (relay && relayPresence) {
      this.disposers.push(
        relayPresence.changed.subscribe(onPresence),
        relay.changed.subscribe(() => {
          this.delivery.relayStored(relay.stored)
          emit()
        }),
      )
    }
    const onUpdate = (): void => {
      if (this.allPresences().some((p) => (p.want?.length ?? 0) > 0)) this.schedulePresence()
    }
    doc.on('update', onUpdate)
    this.disposers.push(() => doc.off('update', onUpdate))
    this.disposers.push(this.timeline.changed.subscribe(() => this.scheduleRecentSave()))
    if (typeof window !== 'undefined') {
      window.addEventListener('online', emit)
      window.addEventListener('offline', emit)
      this.disposers.push(() => {
        window.removeEventListener('online', emit)
        window.removeEventListener('offline', emit)
      })
    }
    void this.publishPresence()
    this.loaded = this.load(recent)
    // Settled here too: open() or the app reports a failure; a destroyed session none.
    this.loaded.catch(() => undefined)
  }

  readonly webrtc: WebrtcLink

  /** Where our own message has got to; undefined for others' messages. */
  deliveryOf(messageId: string): DeliveryState | undefined {
    const write = this.room.writeIdOf(messageId)
    return write === undefined ? undefined : this.delivery.stateOf(write)
  }

  /** Locally stored updates that were corrupt and skipped when the room was opened. */
  get damagedLocalUpdates(): number {
    return this.local?.damagedUpdates ?? 0
  }

  get roomId(): string {
    return this.keys.roomId
  }

  get myKeyId(): string {
    return toBase64Url(this.identity.keyId)
  }

  get myName(): string {
    return this.displayName
  }

  connection(): ConnectionStatus {
    return {
      online: typeof navigator === 'undefined' ? true : navigator.onLine,
      signaling: this.webrtc.signalingConnected(),
      directPeers: this.webrtc.directPeerIds().length,
      sameBrowserPeers: this.webrtc.sameBrowserPeerIds().length,
      relayPeers: this.relay ? this.people().filter((p) => p.reach === 'relay').length : 0,
      relay: !this.relay
        ? 'none'
        : this.relay.refused()
          ? 'refused'
          : this.relay.connected()
            ? 'connected'
            : 'connecting',
      relayRefusal: this.relay?.refused() ?? null,
    }
  }

  /** Everyone present, merged by author key id (several tabs of one person show once). */
  people(): Person[] {
    const direct = new Set(this.webrtc.directPeerIds())
    const sameBrowser = new Set(this.webrtc.sameBrowserPeerIds())
    const viaRelay = new Set(this.relayPresence?.people().map((p) => p.webrtcPeerId) ?? [])
    const rank: Record<Reach, number> = {
      direct: 3,
      relay: 2,
      'this-browser': 1,
      connecting: 0,
    }
    const byKey = new Map<string, Person>()
    for (const p of this.allPresences()) {
      if (p.keyId === this.myKeyId) continue
      const id = p.webrtcPeerId
      const reach: Reach =
        id && direct.has(id)
          ? 'direct'
          : id && sameBrowser.has(id)
            ? 'this-browser'
            : id && viaRelay.has(id) && this.relay?.connected()
              ? 'relay'
              : 'connecting'
      const known = byKey.get(p.keyId)
      if (known && known.reach !== 'me' && rank[known.reach] >= rank[reach]) continue
      byKey.set(p.keyId, { keyId: p.keyId, name: p.name, isMe: false, reach })
    }
    const me: Person = { keyId: this.myKeyId, name: this.displayName, isMe: true, reach: 'me' }
    return [me, ...[...byKey.values()].sort((a, b) => a.name.localeCompare(b.name))]
  }

  /** Nobody else can get our writes right now: the browser is offline (a data channel can
   * look open for seconds after the network went), or there is neither a data channel nor the
   * relay. */
  private isAlone(): boolean {
    const online = typeof navigator === 'undefined' || navigator.onLine
    return !online || (this.webrtc.directPeerIds().length === 0 && !this.relay?.connected())
  }

  async send(text: string): Promise<string> {
    await this.loaded
    const id = newMessageId()
    const stamp = this.clock.next()
    const record = await composeMessage(this.keys, this.identity, id, stamp, text, this.isAlone())
    this.room.insertMessage(id, record)
    this.delivery.track(this.doc)
    this.schedulePresence()
    return id
  }

  async edit(id: string, text: string): Promise<void> {
    await this.loaded
    this.ownRecord(id)
    const record = await composeEdit(this.keys, this.identity, id, this.clock.next(), text)
    this.room.setEdit(id, record)
    this.delivery.track(this.doc)
  }

  async remove(id: string): Promise<void> {
    await this.loaded
    const message = this.ownRecord(id)
    this.room.deleteMessage(id, await composeTombstone(this.keys, this.identity, id, message.stamp))
    this.delivery.track(this.doc)
  }

  async setDisplayName(name: string): Promise<void> {
    this.displayName = name
    await this.loaded
    await this.ensureMembership()
    this.schedulePresence()
    this.changed.emit()
  }

  destroy(): Promise<void> {
    this.destroyed ??= this.teardown()
    return this.destroyed
  }

  /** Leaves the room: closes everything and deletes this browser's copy of it. */
  async leave(): Promise<void> {
    await this.destroy()
    this.delivery.clear()
    await LocalStore.deleteDatabase(this.roomId)
  }

  /** Shows the kept newest messages first (the caller has them on screen once this session
   * is returned), then loads the room, and only then goes online (DESIGN §4). */
  private async load(recent: RoomDocument | undefined): Promise<void> {
    if (recent) {
      // Decrypt what is on screen before the room's whole document occupies the main thread.
      await Promise.all(this.timeline.entries().map((entry) => this.content.resolve(entry)))
      await afterPaint()
    }
    if (this.destroyed) return
    const local = new LocalStore(this.roomId, this.doc)
    this.local = local
    await local.loaded()
    if (this.destroyed) return
    if (recent) {
      this.timeline.rebase(this.room)
      this.members.rebase(this.room)
    }
    this.webrtc.start()
    this.relay?.start()
    // Our presence again, sealed to the client id the links now use.
    void this.publishPresence()
    await this.ensureMembership()
    this.saveRecent()
  }

  /** Keeps the newest messages for the next first paint, at most every RECENT_SAVE_MS. */
  private scheduleRecentSave(): void {
    if (this.recentTimer !== undefined || this.destroyed || !this.local) return
    this.recentTimer = setTimeout(() => {
      this.recentTimer = undefined
      this.saveRecent()
    }, RECENT_SAVE_MS)
  }

  private saveRecent(): void {
    if (this.destroyed) return
    void this.local?.saveRecent(encodeRecentRecords(this.room, this.timeline.entries()))
  }

  private ownRecord(id: string) {
    const parsed = parseMessage(this.room.maps.messages.get(id))
    if (!parsed.ok) throw new Error('That message is not here any more.')
    if (!bytesEqual(parsed.value.author, this.identity.keyId))
      throw new Error('Only the author can change a message.')
    return parsed.value
  }

  /** Our member entry (public key + encrypted name), written when missing or renamed. */
  private async ensureMembership(): Promise<void> {
    const keyId = this.myKeyId
    await this.members.publicKeyOf(keyId)
    const current = this.members.get(keyId)
    if (current && current.name === this.displayName) return
    const record = await composeMember(
      this.keys,
      this.identity,
      this.clock.next(),
      this.displayName,
    )
    if (this.destroyed) return
    this.room.setMember(keyId, record)
  }

  private schedulePresence(): void {
    if (this.presenceTimer !== undefined || this.destroyed) return
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = undefined
      void this.publishPresence()
    }, PRESENCE_THROTTLE_MS)
  }

  /** Presence states from both links; a tab reached both ways appears twice. */
  private allPresences(): RemotePresence[] {
    const viaRelay = this.relayPresence?.people() ?? []
    return viaRelay.length === 0 ? this.presence.people() : [...this.presence.people(), ...viaRelay]
  }

  private async publishPresence(): Promise<void> {
    const state = {
      keyId: this.myKeyId,
      name: this.displayName,
      webrtcPeerId: this.webrtc.peerId,
      want: this.delivery.wants(),
      seen: seenClocks(this.doc, this.allPresences()),
    }
    await Promise.all([this.presence.publish(state), this.relayPresence?.publish(state)])
  }

  private async teardown(): Promise<void> {
    clearTimeout(this.presenceTimer)
    if (this.recentTimer !== undefined) {
      // Changed since last kept: keep it now (the store writes it before it closes).
      clearTimeout(this.recentTimer)
      void this.local?.saveRecent(encodeRecentRecords(this.room, this.timeline.entries()))
    }
    for (const dispose of this.disposers.splice(0)) dispose()
    this.presence.destroy()
    this.relayPresence?.destroy()
    this.timeline.destroy()
    this.members.destroy()
    this.delivery.destroy()
    this.relay?.destroy()
    await this.webrtc.destroy()
    await this.local?.destroy()
    this.doc.destroy()
    this.changed.clear()
  }
}
