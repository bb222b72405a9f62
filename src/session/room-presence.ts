// Presence for one room across both links: one PresenceChannel per provider's awareness
// (docs/architecture.md), our state published to both, and the delivery acknowledgements that ride in it
// (delivery.ts). Publishing is coalesced and happens only when our state really changed
// (presence.ts), so an idle room is quiet (docs/connection-state.md).
import type * as Y from 'yjs'
import { Listeners } from '../lib/listeners'
import type { WebrtcLink } from '../net/webrtc-link'
import type { RelayLink } from '../net/relay-link'
import { PresenceChannel, type RemotePresence } from './presence'
import { seenClocks, type DeliveryTracker } from './delivery'

/** Changes are coalesced: at most one publish per this many ms (a sync can bring thousands of
 * updates, each of which may move what we acknowledge). */
const PRESENCE_THROTTLE_MS = 150

export interface Me {
  readonly keyId: string
  readonly name: string
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
  private destroyed = false

  constructor(
    private readonly doc: Y.Doc,
    private readonly links: { webrtc: WebrtcLink; relay: RelayLink | null },
    contentKey: CryptoKey,
    private readonly delivery: DeliveryTracker,
    private readonly me: () => Me,
  ) {
    this.webrtc = new PresenceChannel(links.webrtc.awareness, contentKey)
    this.relay = links.relay ? new PresenceChannel(links.relay.awareness, contentKey) : null
    const onPresence = (): void => {
      // Only another person's browser makes a message delivered; our own tabs share storage.
      const myKeyId = this.me().keyId
      this.delivery.acknowledge(this.all().filter((p) => p.keyId !== myKeyId))
      this.schedule()
      this.changed.emit()
    }
    this.disposers.push(this.webrtc.changed.subscribe(onPresence))
    if (this.relay) this.disposers.push(this.relay.changed.subscribe(onPresence))
    // Someone waits to hear that we hold their writes: what we hold may have just grown.
    const onUpdate = (): void => {
      if (this.all().some((p) => (p.want?.length ?? 0) > 0)) this.schedule()
    }
    doc.on('update', onUpdate)
    this.disposers.push(() => doc.off('update', onUpdate))
  }

  /** Presence states from both links; a tab reached both ways appears twice. */
  all(): RemotePresence[] {
    const viaRelay = this.relay?.people() ?? []
    return viaRelay.length === 0 ? this.webrtc.people() : [...this.webrtc.people(), ...viaRelay]
  }

  /** Publish soon (coalesced); nothing is sent if our state has not changed. */
  schedule(): void {
    if (this.timer !== undefined || this.destroyed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.publish()
    }, PRESENCE_THROTTLE_MS)
  }

  /** Publish now, e.g. sealed to the client id the links use once they start. */
  async publish(): Promise<void> {
    if (this.destroyed) return
    const me = this.me()
    const state = {
      keyId: me.keyId,
      name: me.name,
      webrtcPeerId: this.links.webrtc.peerId,
      want: this.delivery.wants(),
      seen: seenClocks(this.doc, this.all()),
    }
    await Promise.all([this.webrtc.publish(state), this.relay?.publish(state)])
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    clearTimeout(this.timer)
    for (const dispose of this.disposers.splice(0)) dispose()
    this.webrtc.destroy()
    this.relay?.destroy()
    this.changed.clear()
  }
}
