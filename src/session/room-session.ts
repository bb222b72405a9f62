// One open room, composed: its Yjs document, local store, WebRTC and relay links, presence,
// timeline, and the operations people perform. Opening loads IndexedDB before any network
// (docs/connection-state.md); what is on screen until the room is here is a stand-in
// (shown-document.ts). destroy() undoes the constructor step by step, goes on past a step that
// throws, and can be called any number of times.
import * as Y from 'yjs'
import { HybridClock, RoomDocument } from '../model'
import { deriveRoomKeys, toBase64Url, type RoomKeys, type SigningIdentity } from '../crypto'
import { newMessageId, RoomWriter } from './authoring'
import { LocalStore } from '../net/local-store'
import type { StorageProblem } from '../net/storage-problem'
import { followDocClientId } from '../net/awareness-client-id'
import { WebrtcLink } from '../net/webrtc-link'
import { RelayLink } from '../net/relay-link'
import { Listeners } from '../lib/listeners'
import { MemberDirectory } from './members'
import { MessageContentResolver } from './message-content'
import { DeliveryTracker, type DeliveryState } from './delivery'
import { ReadPosition } from './read-position'
import { SeenBy } from './seen-by'
import { WithheldWatch } from './withheld'
import { Timeline } from './timeline'
import { decodeRecentRecords } from './recent-records'
import { RecentKeeper } from './recent-keeper'
import { RoomPresence } from './room-presence'
import type { RoomIdentities } from './identity-store'
import { DraftKeeper } from './drafts'
import { afterPaint, isEmpty, ShownDocument, type NewestSource } from './shown-document'
import { RoomHistory } from './room-history'

export interface RoomSessionConfig {
  readonly signalingUrls: readonly string[]
  readonly iceServers: readonly RTCIceServer[]
  /** `ws(s)://host/relay`, or null for a room carried by WebRTC alone. */
  readonly relayUrl?: string | null
  /** Operator key of a private relay (needed there to create rooms). */
  readonly relayKey?: string
  /** The name to join with; a function gets the room key's id (for a default name). Once the
   * room has loaded, our own member record's name is kept (names are per room) unless the
   * person renames meanwhile. */
  readonly displayName: string | ((myKeyId: string) => string)
  /** For delivery marks that survive a reload; absent in tests that do not need it. */
  readonly storage?: Storage
  /** For the composer's draft and sent texts not yet kept (the tab's sessionStorage in the
   * app, drafts.ts); absent: they last as long as the session. */
  readonly draftStorage?: Storage
  readonly now?: () => number
}

export class RoomSession {
  readonly changed = new Listeners()
  readonly timeline: Timeline
  readonly members: MemberDirectory
  readonly content: MessageContentResolver
  readonly history: RoomHistory
  readonly delivery: DeliveryTracker
  /** How far this browser has read the room (local only). */
  readonly readPosition: ReadPosition
  /** How far the other members have read, from their presence (issue 12 §8). */
  readonly seenBy: SeenBy
  /** Members who hold writes that do not reach us (issue 12 §8). */
  readonly withheld: WithheldWatch
  readonly presence: RoomPresence
  /** What the person is typing, and what they sent that nothing has kept yet (drafts.ts). */
  readonly drafts: DraftKeeper
  readonly webrtc: WebrtcLink
  readonly relay: RelayLink | null
  readonly doc = new Y.Doc({ gc: true })
  readonly room = new RoomDocument(this.doc)
  /** Resolves once everything this browser stored is loaded, the links are started and we
   * are a member; rejects if local data cannot be opened. Writes wait for it. */
  readonly loaded: Promise<void>
  /** Resolves once what this browser stored is loaded and the links are started (so a
   * newcomer's session is on screen before the relay's newest records arrive); rejects with
   * `loaded` if local data cannot be opened. */
  private readonly localLoaded: Promise<void>
  private local: LocalStore | undefined
  private readonly clock: HybridClock
  private readonly writer: RoomWriter
  private displayName: string
  /** Set by setDisplayName: the name chosen now wins over the one the room remembers. */
  private renamed = false
  private readonly recent: RecentKeeper
  private readonly disposers: (() => void)[] = []
  private destroyed: Promise<void> | undefined
  /** The kept newest messages or the relay's newest records, until the room is here. */
  private readonly shown: ShownDocument

  /** Resolves with the room on screen: its newest messages if they were kept, else what this
   * browser stored, with the links started (then it rejects if local data cannot be opened).
   * `config` may still be on its way: the room's identity and kept messages are read meanwhile. */
  static async open(
    secret: string,
    identity: SigningIdentity | RoomIdentities,
    config: RoomSessionConfig | Promise<RoomSessionConfig>,
  ): Promise<RoomSession> {
    const keys = await deriveRoomKeys(secret)
    // A key per room, so records in two rooms cannot be linked by key id (docs/presence.md).
    const identities = 'forRoom' in identity ? identity : undefined
    const [signer, kept, settled] = await Promise.all([
      identities ? identities.forRoom(keys.roomId) : (identity as SigningIdentity),
      LocalStore.readRecent(keys.roomId),
      config,
    ])
    const recent = kept && decodeRecentRecords(kept)
    const session = new RoomSession(keys, signer, identities, settled, recent)
    if (!recent) {
      try {
        await session.localLoaded
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
    private readonly identities: RoomIdentities | undefined,
    config: RoomSessionConfig,
    recent: RoomDocument | undefined,
  ) {
    const now = config.now ?? Date.now
    const doc = this.doc
    this.clock = new HybridClock(now)
    this.writer = new RoomWriter(keys, identity, this.room, this.clock)
    const { displayName } = config
    this.displayName =
      typeof displayName === 'function' ? displayName(toBase64Url(identity.keyId)) : displayName
    // What is shown until the room has loaded.
    this.shown = new ShownDocument(this.room, recent)
    const shown = this.shown.initial
    this.timeline = new Timeline(shown, (stamp) => this.clock.observe(stamp), now)
    this.members = new MemberDirectory(shown, keys)
    this.shown.follow([this.timeline, this.members])
    this.history = new RoomHistory(keys.roomId, config.storage)
    this.content = new MessageContentResolver(keys, this.members, this.history.ledger)
    this.delivery = new DeliveryTracker(keys.roomId, config.storage)
    this.readPosition = new ReadPosition(keys.roomId, config.storage)
    this.seenBy = new SeenBy(keys.roomId, config.storage, now)
    this.withheld = new WithheldWatch(doc, now)
    this.drafts = new DraftKeeper(keys.roomId, config.draftStorage)
    this.webrtc = new WebrtcLink(doc, {
      roomName: keys.roomId,
      password: keys.webrtcPassword,
      signalingUrls: config.signalingUrls,
      iceServers: config.iceServers,
      newestRecords: () => this.shown.newestForNewcomer(this.timeline.entries()),
      showNewest: (update) => this.showNewest(update, 'webrtc'),
    })
    this.relay = config.relayUrl
      ? new RelayLink(doc, {
          url: config.relayUrl,
          roomId: keys.roomId,
          token: keys.relayToken,
          operatorKey: config.relayKey,
          showNewest: (update) => this.showNewest(update, 'relay'),
        })
      : null
    this.presence = new RoomPresence(
      doc,
      { webrtc: this.webrtc, relay: this.relay },
      keys,
      identity,
      this.delivery,
      this.members,
      this.readPosition,
    )
    this.recent = new RecentKeeper(this.room, this.timeline)

    const emit = (): void => this.changed.emit()
    this.disposers.push(
      this.members.changed.subscribe(() => {
        this.content.membersChanged()
        this.presence.membersChanged()
        emit()
      }),
      this.webrtc.changed.subscribe(() => {
        const { webrtc } = this
        this.shown.linkChanged('webrtc', webrtc.syncedWithPeer(), webrtc.directPeerIds().length > 0)
        this.presence.schedule()
        emit()
      }),
      this.delivery.changed.subscribe(() => {
        this.settleDrafts()
        emit()
      }),
      this.presence.changed.subscribe(() => {
        const others = this.presence.others()
        this.seenBy.observe(others)
        this.withheld.observe(others)
        emit()
      }),
      this.readPosition.changed.subscribe(() => this.presence.schedule()),
      this.seenBy.changed.subscribe(emit),
      this.withheld.changed.subscribe(emit),
      this.webrtc.refusedChanged.subscribe(emit),
    )
    const { relay } = this
    if (relay)
      this.disposers.push(
        relay.changed.subscribe(() => {
          this.delivery.relayStored(relay.stored)
          this.shown.linkChanged('relay', relay.provider.synced, relay.provider.wsconnected)
          emit()
        }),
        relay.refusedChanged.subscribe(emit),
      )
    if (typeof window !== 'undefined') {
      // Wording only: the status itself comes from the connections (ui/room-state.ts).
      window.addEventListener('online', emit)
      window.addEventListener('offline', emit)
      this.disposers.push(() => {
        window.removeEventListener('online', emit)
        window.removeEventListener('offline', emit)
      })
    }
    void this.presence.publish()
    let linksStarted: () => void = () => {}
    const started = new Promise<void>((resolve) => (linksStarted = resolve))
    this.loaded = this.load(linksStarted)
    this.localLoaded = Promise.race([started, this.loaded])
    // Settled here too: open() or the app reports a failure; a destroyed session none.
    this.loaded.catch(() => undefined)
  }

  /** Where our own message has got to; undefined for others' messages. */
  deliveryOf(messageId: string): DeliveryState | undefined {
    return this.delivery.stateOf((client, clock) => this.room.wroteBefore(messageId, client, clock))
  }

  /** Locally stored updates that were corrupt and skipped when the room was opened. */
  get damagedLocalUpdates(): number {
    return this.local?.damagedUpdates ?? 0
  }

  /** What is wrong with storing this room in this browser, or null (docs/local-storage.md). */
  get storageProblem(): StorageProblem | null {
    return this.local?.problem ?? null
  }

  /** Updates from peers, tabs or the relay that failed the inbound guard and were dropped
   * (docs/document-model.md): the room is unharmed, but the person may want to know. */
  get refusedNetworkUpdates(): number {
    return this.webrtc.refusedUpdates + (this.relay?.refusedUpdates ?? 0)
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

  /** Nobody else can get our writes right now: neither a data channel that passes packets nor
   * the relay is connected. Never `navigator.onLine`: with its offline flag set a live peer
   * still gets what we write (docs/connection-state.md). */
  private isAlone(): boolean {
    return this.webrtc.directPeerIds().length === 0 && !this.relay?.connected()
  }

  /** Sends `text`; it stays kept as a draft until its message is stored here, saved to the
   * relay or delivered (drafts.ts), and is the draft again if sending fails. */
  async send(text: string): Promise<string> {
    const draft = this.drafts.sending(text)
    const id = newMessageId()
    try {
      await this.loaded
      await this.writer.message(id, text, this.isAlone())
    } catch (error) {
      this.drafts.failed(draft)
      throw error
    }
    // The insert's last struct: once storage holds this client's writes past it, it holds the
    // message.
    const client = this.doc.clientID
    this.drafts.sent(draft, id, { client, clock: Y.getState(this.doc.store, client) - 1 })
    this.delivery.track(this.doc)
    this.presence.stopTyping()
    this.presence.schedule()
    return id
  }

  /** A key was pressed in the composer (presence says "typing" for a few seconds). */
  noteTyping(): void {
    this.presence.noteTyping()
  }

  stopTyping(): void {
    this.presence.stopTyping()
  }

  async edit(id: string, text: string): Promise<void> {
    await this.loaded
    await this.writer.edit(id, text)
    this.delivery.track(this.doc)
  }

  async remove(id: string): Promise<void> {
    await this.loaded
    await this.writer.remove(id)
    this.delivery.track(this.doc)
  }

  async setDisplayName(name: string): Promise<void> {
    this.displayName = name
    this.renamed = true
    await this.loaded
    await this.ensureMembership()
    this.presence.schedule()
    this.changed.emit()
  }

  destroy(): Promise<void> {
    this.destroyed ??= this.teardown()
    return this.destroyed
  }

  /** Leaves the room: closes everything and deletes this browser's copy of it, and its
   * signing key for the room when the session got it from RoomIdentities. */
  async leave(): Promise<void> {
    await this.destroy()
    const kept = [this.delivery, this.readPosition, this.seenBy, this.drafts, this.history]
    for (const part of kept) part.clear()
    await LocalStore.deleteDatabase(this.roomId)
    await this.identities?.forget(this.roomId)
  }

  /** Shows the kept newest messages first (the caller has them on screen once this session
   * is returned), then loads the room, and only then goes online (docs/connection-state.md). */
  private async load(linksStarted: () => void): Promise<void> {
    const kept = this.shown.showingStandIn
    if (kept) {
      // Decrypt what is on screen before the room's whole document occupies the main thread.
      await Promise.all(this.timeline.entries().map((entry) => this.content.resolve(entry)))
      await afterPaint()
    }
    if (this.destroyed) return
    const local = new LocalStore(this.roomId, this.doc)
    this.local = local
    await local.loaded()
    if (this.destroyed) return
    if (kept) this.shown.showRoom()
    // Nothing of the room here: ask the relay and peers for its newest records first.
    const newcomer = !kept && isEmpty(this.room)
    this.webrtc.start({ newcomer })
    this.relay?.start({ newcomer })
    linksStarted()
    // Links follow the doc's client id (retired at pagehide, replaced by Yjs): see
    // docs/local-storage.md. Presence is sealed to it, so it is published again.
    const follow = [this.webrtc.awareness, ...(this.relay ? [this.relay.awareness] : [])]
    this.disposers.push(followDocClientId(this.doc, follow, () => void this.presence.publish()))
    const localWrites = {
      get failing() {
        return local.problem !== null
      },
      storedClock: (client: number) => local.storedClock(client),
    }
    const writesChanged = () => {
      this.delivery.localWritesChanged(localWrites)
      this.settleDrafts()
    }
    this.disposers.push(
      local.problemChanged.subscribe(() => {
        writesChanged()
        this.changed.emit()
      }),
      local.written.subscribe(writesChanged),
    )
    // Texts an earlier page of this tab sent that never reached storage or anyone.
    if (this.drafts.restoreUnkept(this.history.inRoom(this.room))) this.changed.emit()
    // Our presence again, sealed to the client id the links now use.
    void this.presence.publish()
    await this.ensureMembership()
    this.history.start(this.room, this.timeline, this.myKeyId, () => this.ensureMembership())
    this.recent.attach(local)
  }

  /** Forgets the sent texts whose message is now kept: stored here, or by the relay or a peer. */
  private settleDrafts(): void {
    const local = this.local
    this.drafts.settle((id, write) => {
      if (local && local.storedClock(write.client) > write.clock) return true
      const state = this.deliveryOf(id)
      return state === 'saved-to-relay' || state === 'delivered'
    })
  }

  /** A newcomer's first paint: the relay's or a peer's newest records, verified and decrypted
   * like any others (only shown, never merged into the room), on screen when this resolves. */
  private async showNewest(update: Uint8Array, source: NewestSource): Promise<void> {
    if (this.destroyed || !this.shown.showNewestRecords(update, source)) return
    await Promise.all(this.timeline.entries().map((entry) => this.content.resolve(entry)))
    await afterPaint()
  }

  /** Our member entry (public key + encrypted name), written when missing or renamed. */
  private async ensureMembership(): Promise<void> {
    const keyId = this.myKeyId
    await this.members.publicKeyOf(keyId)
    const current = this.members.get(keyId)
    // The name this room knows us by is kept, unless the person renamed since opening it.
    if (current && current.name !== null && !this.renamed && current.name !== this.displayName) {
      this.displayName = current.name
      this.changed.emit()
      return
    }
    if (current && current.name === this.displayName) return
    await this.writer.member(this.displayName)
  }

  /** Each step runs even if one before it threw: a room whose data is hostile must still
   * release its providers, sockets and storage. The first error is rethrown at the end. */
  private async teardown(): Promise<void> {
    const errors: unknown[] = []
    const step = async (release: () => void | Promise<void>): Promise<void> => {
      try {
        await release()
      } catch (error) {
        errors.push(error)
      }
    }
    this.writer.close()
    await step(() => this.recent.close())
    for (const dispose of this.disposers.splice(0)) await step(dispose)
    await step(() => this.presence.destroy())
    await step(() => this.timeline.destroy())
    await step(() => this.members.destroy())
    await step(() => this.history.close())
    await step(() => this.delivery.destroy())
    await step(() => this.readPosition.destroy())
    await step(() => this.seenBy.destroy())
    await step(() => this.withheld.destroy())
    await step(() => this.relay?.destroy())
    await step(() => this.webrtc.destroy())
    await step(() => this.local?.destroy())
    await step(() => this.shown.destroy())
    await step(() => this.doc.destroy())
    this.changed.clear()
    if (errors.length > 0) throw errors[0]
  }
}
