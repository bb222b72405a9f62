// Who is here, over one provider's awareness (docs/presence.md). Every state is signed with the
// tab's room signing key, bound to the room, the awareness client id and the time of signing
// (presence-state.ts), then sealed in an envelope bound to the client id (presence is content):
// the signaling server and relay see only ciphertext, and a member cannot publish a state as
// someone else, move one to another client id, or roll one back. Only verified, current states
// are kept; names are not in presence at all (room-presence.ts joins member records).
import type { Awareness } from 'y-protocols/awareness'
import {
  fromBase64Url,
  openEnvelope,
  sealEnvelope,
  toBase64Url,
  utf8,
  type SigningIdentity,
} from '../crypto'
import { Listeners } from '../lib/listeners'
import {
  signPresence,
  verifyPresence,
  type PresenceState,
  type SignedPresence,
} from './presence-state'

export type { PresenceState } from './presence-state'

/** An unchanged state is signed anew this often, so a live tab's state never ages out. One
 * frame per link per 2 min, against awareness's own 15 s renewals (the heartbeat). */
export const PRESENCE_RESEAL_MS = 2 * 60_000
/** A state signed longer ago than this is not current: the window in which a replayed state
 * (one captured earlier and sent again) can pass. It must exceed the reseal interval plus the
 * sweep plus the clock difference between two browsers that we tolerate (~2.5 min). */
export const PRESENCE_MAX_AGE_MS = 5 * 60_000
/** A state signed further ahead of our clock than this is refused (a clock that far ahead, or
 * a state made to outlive the age limit). */
export const PRESENCE_MAX_AHEAD_MS = 2 * 60_000
/** How often states are checked for age: a state past the limit lingers at most this long. */
const SWEEP_MS = 30_000
/** Client ids whose newest signing time we remember after they left, so their earlier states
 * cannot be replayed; bounded so a flood of fake ids cannot grow memory. */
const REMEMBERED_CLIENTS = 1024

export interface RemotePresence extends SignedPresence {
  readonly clientId: number
}

export interface PresenceChannelOptions {
  readonly roomId: string
  readonly contentKey: CryptoKey
  readonly identity: SigningIdentity
  readonly now?: () => number
}

export class PresenceChannel {
  readonly changed = new Listeners()
  /** States refused so far (not decryptable, not verified, stale or replayed): what a hostile
   * member's attempts add up to, for diagnostics and tests. */
  refused = 0
  private readonly remote = new Map<number, RemotePresence>()
  /** Latest decryption per client wins, even if an older one finishes later. */
  private readonly generation = new Map<number, number>()
  /** Per client id, the newest signing time accepted: an older state is a replay. */
  private readonly newestSigned = new Map<number, number>()
  private publishing: Promise<void> = Promise.resolve()
  /** What was last sealed, for which client id and when: an unchanged state is not sealed again
   * until it needs a fresh signature. Every seal has a fresh nonce, so re-sealing the same state
   * looks like a change to everyone else (docs/connection-state.md, "Presence is quiet"). */
  private published: { clientId: number; plain: string; signedAt: number } | undefined
  private lastState: PresenceState | undefined
  private readonly sweep: ReturnType<typeof setInterval>
  private readonly now: () => number
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
    private readonly options: PresenceChannelOptions,
  ) {
    this.now = options.now ?? Date.now
    awareness.on('change', this.onChange)
    this.sweep = setInterval(() => this.expire(), SWEEP_MS)
  }

  people(): RemotePresence[] {
    return [...this.remote.values()]
  }

  /** Publishes our state, signed and sealed, when it differs from what was last published or
   * its signature is due for renewal; calls are serialised so the last one wins. */
  publish(state: PresenceState): Promise<void> {
    this.lastState = state
    this.publishing = this.publishing.then(async () => {
      if (this.destroyed) return
      const clientId = this.awareness.clientID
      const plain = JSON.stringify(state)
      const last = this.published
      const shown = this.awareness.getLocalState() !== null
      const now = this.now()
      if (
        shown &&
        last &&
        last.clientId === clientId &&
        last.plain === plain &&
        now - last.signedAt < PRESENCE_RESEAL_MS
      )
        return
      // Strictly increasing, so receivers can refuse an earlier state of this client id.
      const signedAt = Math.max(now, (last?.signedAt ?? 0) + 1)
      const { identity, roomId, contentKey } = this.options
      const signed = await signPresence(identity, { roomId, clientId }, state, signedAt)
      const sealed = await sealEnvelope(
        contentKey,
        'presence',
        String(clientId),
        utf8.encode(signed),
      )
      if (this.destroyed) return
      this.published = { clientId, plain, signedAt }
      this.awareness.setLocalState({ e: toBase64Url(sealed) })
    })
    return this.publishing
  }

  destroy(): void {
    this.destroyed = true
    clearInterval(this.sweep)
    this.awareness.off('change', this.onChange)
    this.changed.clear()
    this.remote.clear()
  }

  /** Drops states that are no longer current; renews our own signature when it is due. */
  private expire(): void {
    const now = this.now()
    let dropped = false
    for (const [clientId, presence] of this.remote)
      if (!this.current(presence.signedAt, now)) dropped = this.remote.delete(clientId) || dropped
    if (dropped) this.changed.emit()
    const last = this.published
    if (this.lastState && last && now - last.signedAt >= PRESENCE_RESEAL_MS)
      void this.publish(this.lastState)
  }

  private current(signedAt: number, now: number): boolean {
    return signedAt >= now - PRESENCE_MAX_AGE_MS && signedAt <= now + PRESENCE_MAX_AHEAD_MS
  }

  private async decrypt(clientId: number): Promise<void> {
    const generation = (this.generation.get(clientId) ?? 0) + 1
    this.generation.set(clientId, generation)
    const raw: unknown = this.awareness.getStates().get(clientId)
    let state: SignedPresence | undefined
    try {
      const e = (raw as { e?: unknown } | undefined)?.e
      if (typeof e !== 'string') throw new Error('no envelope')
      const { contentKey, roomId } = this.options
      const plain = await openEnvelope(contentKey, 'presence', String(clientId), fromBase64Url(e))
      state = await verifyPresence({ roomId, clientId }, utf8.decode(plain))
    } catch {
      state = undefined // not decryptable with our key: not someone in this room
    }
    if (this.destroyed || this.generation.get(clientId) !== generation) return
    // A forged, replayed or undecryptable state changes nothing: what this client id showed
    // before stays until it is removed or ages out: writing over someone's awareness entry
    // can neither pass as them nor roll their state back (docs/presence.md).
    if (!state || !this.acceptable(clientId, state)) {
      this.refused++
      return
    }
    const known = this.remote.get(clientId)
    this.remote.set(clientId, { ...state, clientId })
    // The same state signed again (a renewal) is not a change.
    if (!known || !sameState(known, state)) this.changed.emit()
  }

  /** Current, and not older than a state this client id already showed us (a replay). */
  private acceptable(clientId: number, state: SignedPresence): boolean {
    if (!this.current(state.signedAt, this.now())) return false
    const newest = this.newestSigned.get(clientId)
    if (newest !== undefined && state.signedAt < newest) return false
    this.newestSigned.delete(clientId) // re-inserted: the map stays in least-recent order
    this.newestSigned.set(clientId, state.signedAt)
    if (this.newestSigned.size > REMEMBERED_CLIENTS) {
      const oldest = this.newestSigned.keys().next().value
      if (oldest !== undefined) this.newestSigned.delete(oldest)
    }
    return true
  }
}

/** Equal for what the room shows and acknowledges; the signing time alone may differ. */
function sameState(a: SignedPresence, b: SignedPresence): boolean {
  return (
    a.keyId === b.keyId &&
    a.webrtcPeerId === b.webrtcPeerId &&
    JSON.stringify(a.want) === JSON.stringify(b.want) &&
    JSON.stringify(a.seen) === JSON.stringify(b.seen) &&
    a.typing === b.typing &&
    JSON.stringify(a.read) === JSON.stringify(b.read) &&
    a.held === b.held
  )
}
