// Presence for one room across both links: one PresenceChannel per provider's awareness
// (docs/architecture.md), our state published to both, and the delivery acknowledgements that ride in it
// (delivery.ts). Who is here is joined with the verified member records: a name comes only
// from a member record, and a presence counts only for a key that has one (docs/presence.md).
// Publishing is coalesced and happens only when our state really changed (presence.ts), so an
// idle room is quiet (docs/connection-state.md).
import type * as Y from 'yjs'
import { bytesEqual, toBase64Url, type RoomKeys, type SigningIdentity } from '../crypto'
import { Listeners } from '../lib/listeners'
import type { WebrtcLink } from '../net/webrtc-link'
import type { RelayLink } from '../net/relay-link'
import { PresenceChannel, type RemotePresence } from './presence'
import { seenClocks, type DeliveryTracker } from './delivery'
import type { Member } from './members'
import { MAX_HELD_CHARS } from './presence-state'
import { heldVector } from './withheld'
import type { SortKey } from '../model'

/** Changes are coalesced: at most one publish per this many ms (a sync can bring thousands of
 * updates, each of which may move what we acknowledge). */
const PRESENCE_THROTTLE_MS = 150
/** "Typing" ends this long after the last key press: the others see it go within 3 s of it
 * (this, the publish throttle and the network), as issue 12 §3 asks. */
const TYPING_IDLE_MS = 2500
/** What we hold (our state vector) is said again at most this often while the room changes:
 * "now and then" (issue 12 §8), not a frame per message per member. */
const HELD_REFRESH_MS = 5000

/** A verified presence of a verified member: who a tab is, by their member record. */
export interface PresentMember extends RemotePresence {
  /** From the member record; null when it cannot be decrypted with this room's key. */
  readonly name: string | null
}

/** What we share of our reading: the read position, if the person shares it. */
export interface ReadingShare {
  sharedPosition(): SortKey | undefined
}

/** Looks up verified member records (members.ts). */
export interface MemberLookup {
  get(keyId: string): Member | undefined
}

/**
 * The presences that belong to a verified member, named by the member record. A presence
 * signed by a key with no member record yet (or a record for another key: never, short of a
 * hash collision) is left out until the record arrives.
 */
export function presentMembers(
  presences: readonly RemotePresence[],
  members: MemberLookup,
): PresentMember[] {
  const present: PresentMember[] = []
  for (const presence of presences) {
    const member = members.get(presence.keyId)
    if (!member || !bytesEqual(member.publicKey, presence.publicKey)) continue
    present.push({ ...presence, name: member.name })
  }
  return present
}

export class RoomPresence {
  /** Fires when anyone's presence changes. */
  readonly changed = new Listeners()
  /** Presence as seen through WebRTC (and this browser's other tabs). */
  readonly webrtc: PresenceChannel
  /** Presence as seen through the relay: its own awareness (docs/architecture.md). */
  readonly relay: PresenceChannel | null
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly disposers: (() => void)[] = []
  private readonly myKeyId: string
  private destroyed = false
  private typing = false
  private typingTimer: ReturnType<typeof setTimeout> | undefined
  private heldTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly doc: Y.Doc,
    private readonly links: { webrtc: WebrtcLink; relay: RelayLink | null },
    keys: RoomKeys,
    identity: SigningIdentity,
    private readonly delivery: DeliveryTracker,
    private readonly members: MemberLookup,
    private readonly reading: ReadingShare,
  ) {
    this.myKeyId = toBase64Url(identity.keyId)
    const options = { roomId: keys.roomId, contentKey: keys.contentKey, identity }
    this.webrtc = new PresenceChannel(links.webrtc.awareness, options)
    this.relay = links.relay ? new PresenceChannel(links.relay.awareness, options) : null
    const onPresence = (): void => {
      this.acknowledge()
      this.schedule()
      this.changed.emit()
    }
    this.disposers.push(this.webrtc.changed.subscribe(onPresence))
    if (this.relay) this.disposers.push(this.relay.changed.subscribe(onPresence))
    // Someone waits to hear that we hold their writes: what we hold may have just grown.
    const onUpdate = (): void => {
      if (this.all().some((p) => (p.want?.length ?? 0) > 0)) this.schedule()
      this.heldTimer ??= setTimeout(() => {
        this.heldTimer = undefined
        this.schedule()
      }, HELD_REFRESH_MS)
    }
    doc.on('update', onUpdate)
    this.disposers.push(() => doc.off('update', onUpdate))
  }

  /** Verified presence states from both links; a tab reached both ways appears twice. */
  all(): RemotePresence[] {
    const viaRelay = this.relay?.people() ?? []
    return viaRelay.length === 0 ? this.webrtc.people() : [...this.webrtc.people(), ...viaRelay]
  }

  /** The members present, named by their member records (a tab reached both ways: twice). */
  present(): PresentMember[] {
    return presentMembers(this.all(), this.members)
  }

  /** Member records changed: a presence may now belong to a member (or no longer). */
  membersChanged(): void {
    this.acknowledge()
    this.changed.emit()
  }

  /** Publish soon (coalesced); nothing is sent if our state has not changed. */
  schedule(): void {
    if (this.timer !== undefined || this.destroyed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.publish()
    }, PRESENCE_THROTTLE_MS)
  }

  /** A key was pressed in the composer: we are typing until TYPING_IDLE_MS without one. */
  noteTyping(): void {
    clearTimeout(this.typingTimer)
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS)
    if (this.typing) return
    this.typing = true
    this.schedule()
  }

  /** The message was sent, or the composer emptied: no longer typing, said at once. */
  stopTyping(): void {
    clearTimeout(this.typingTimer)
    this.typingTimer = undefined
    if (!this.typing) return
    this.typing = false
    this.schedule()
  }

  /** The presences of members other than us (each tab of theirs once per link). */
  others(): PresentMember[] {
    return this.present().filter((p) => p.keyId !== this.myKeyId)
  }

  /** Members other than us who are typing, each once (several tabs of one person count once). */
  typists(): PresentMember[] {
    const byKey = new Map<string, PresentMember>()
    for (const p of this.present()) if (p.typing && p.keyId !== this.myKeyId) byKey.set(p.keyId, p)
    return [...byKey.values()]
  }

  /** Publish now, e.g. sealed to the client id the links use once they start. */
  async publish(): Promise<void> {
    if (this.destroyed) return
    const state = {
      webrtcPeerId: this.links.webrtc.peerId,
      want: this.delivery.wants(),
      seen: seenClocks(this.doc, this.all()),
      ...(this.typing ? { typing: true } : {}),
      read: this.reading.sharedPosition(),
      held: heldVector(this.doc, MAX_HELD_CHARS),
    }
    await Promise.all([this.webrtc.publish(state), this.relay?.publish(state)])
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    clearTimeout(this.timer)
    clearTimeout(this.typingTimer)
    clearTimeout(this.heldTimer)
    for (const dispose of this.disposers.splice(0)) dispose()
    this.webrtc.destroy()
    this.relay?.destroy()
    this.changed.clear()
  }

  /** "Delivered" needs another person: a signed presence of a member other than us (our own
   * tabs share our storage). A state claiming someone else's key id never verifies. */
  private acknowledge(): void {
    this.delivery.acknowledge(this.present().filter((p) => p.keyId !== this.myKeyId))
  }
}
