// Who is here, over one provider's awareness. Every state is an encrypted envelope bound to
// the awareness client id (docs/architecture.md: presence is content), so the signaling server and relay
// see only ciphertext. The state also carries the sender's y-webrtc peer id, so the roster can
// say whether each person is reached directly, and delivery acknowledgements (delivery.ts).
import type { Awareness } from 'y-protocols/awareness'
import { fromBase64Url, openEnvelope, sealEnvelope, toBase64Url, utf8 } from '../crypto'
import { Listeners } from '../lib/listeners'

export const PRESENCE_VERSION = 1

export interface PresenceState {
  readonly keyId: string
  readonly name: string
  /** y-webrtc peer id of the tab, when it uses WebRTC. */
  readonly webrtcPeerId?: string
  /** Writer client ids this tab waits to hear acknowledged (delivery.ts). */
  readonly want?: readonly number[]
  /** For client ids others want: the highest Yjs clock this tab holds of each. */
  readonly seen?: Readonly<Record<string, number>>
}

export interface RemotePresence extends PresenceState {
  readonly clientId: number
}

function parsePresence(value: unknown): PresenceState | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (typeof v.keyId !== 'string' || typeof v.name !== 'string') return undefined
  const want = Array.isArray(v.want)
    ? v.want.filter((n): n is number => Number.isSafeInteger(n))
    : undefined
  let seen: Record<string, number> | undefined
  if (typeof v.seen === 'object' && v.seen !== null) {
    seen = {}
    for (const [k, n] of Object.entries(v.seen as Record<string, unknown>))
      if (Number.isSafeInteger(n)) seen[k] = n as number
  }
  return {
    keyId: v.keyId.slice(0, 64),
    name: v.name.slice(0, 64),
    webrtcPeerId: typeof v.webrtcPeerId === 'string' ? v.webrtcPeerId.slice(0, 64) : undefined,
    want: want?.slice(0, 64),
    seen,
  }
}

export class PresenceChannel {
  readonly changed = new Listeners()
  private readonly remote = new Map<number, RemotePresence>()
  /** Latest decryption per client wins, even if an older one finishes later. */
  private readonly generation = new Map<number, number>()
  private publishing: Promise<void> = Promise.resolve()
  /** What was last sealed, and for which client id: an unchanged state is not sealed again.
   * Every seal has a fresh nonce, so re-sealing the same state looks like a change to everyone
   * else, who would answer it, for ever (docs/presence.md). */
  private published: { clientId: number; plain: string } | undefined
  private destroyed = false
  private readonly onChange = ({
    added,
    updated,
    removed,
  }: {
    added: number[]
    updated: number[]
    removed: number[]
  }): void => {
    for (const clientId of removed) {
      this.generation.delete(clientId)
      if (this.remote.delete(clientId)) this.changed.emit()
    }
    for (const clientId of [...added, ...updated]) {
      if (clientId !== this.awareness.clientID) void this.decrypt(clientId)
    }
  }

  constructor(
    readonly awareness: Awareness,
    private readonly contentKey: CryptoKey,
  ) {
    awareness.on('change', this.onChange)
  }

  people(): RemotePresence[] {
    return [...this.remote.values()]
  }

  /** Publishes our state, encrypted, when it differs from what was last published; calls are
   * serialised so the last one wins. Staying present needs nothing from us: awareness renews
   * the same local state every 15 s (half its 30 s timeout), which is the heartbeat. */
  publish(state: PresenceState): Promise<void> {
    this.publishing = this.publishing.then(async () => {
      if (this.destroyed) return
      const clientId = this.awareness.clientID
      const plain = JSON.stringify({ v: PRESENCE_VERSION, ...state })
      const last = this.published
      const shown = this.awareness.getLocalState() !== null
      if (shown && last && last.clientId === clientId && last.plain === plain) return
      const sealed = await sealEnvelope(
        this.contentKey,
        'presence',
        String(clientId),
        utf8.encode(plain),
      )
      if (this.destroyed) return
      this.published = { clientId, plain }
      this.awareness.setLocalState({ e: toBase64Url(sealed) })
    })
    return this.publishing
  }

  destroy(): void {
    this.destroyed = true
    this.awareness.off('change', this.onChange)
    this.changed.clear()
    this.remote.clear()
  }

  private async decrypt(clientId: number): Promise<void> {
    const generation = (this.generation.get(clientId) ?? 0) + 1
    this.generation.set(clientId, generation)
    const raw: unknown = this.awareness.getStates().get(clientId)
    let state: PresenceState | undefined
    try {
      const e = (raw as { e?: unknown } | undefined)?.e
      if (typeof e !== 'string') throw new Error('no envelope')
      const plain = await openEnvelope(
        this.contentKey,
        'presence',
        String(clientId),
        fromBase64Url(e),
      )
      const parsed: unknown = JSON.parse(utf8.decode(plain))
      if ((parsed as { v?: unknown }).v !== PRESENCE_VERSION) throw new Error('unknown version')
      state = parsePresence(parsed)
    } catch {
      state = undefined // not decryptable with our key: not someone in this room
    }
    if (this.destroyed || this.generation.get(clientId) !== generation) return
    const known = this.remote.get(clientId)
    if (state) {
      const next = { ...state, clientId }
      // The same state sealed again (a peer's re-publish) changes nothing here.
      if (known && JSON.stringify(known) === JSON.stringify(next)) return
      this.remote.set(clientId, next)
    } else if (!this.remote.delete(clientId)) return
    this.changed.emit()
  }
}
