// "Nothing withheld" (issue 12 §8, docs/presence.md "Nothing withheld"): every tab's signed
// presence says what it holds of the room (its Yjs state vector). A member who has held writes
// we lack for longer than a sync takes is either not passing them on or being kept from us
// (a relay or a peer that forwards their presence but not their writes): the room says so
// instead of silently missing messages.
import * as Y from 'yjs'
import { fromBase64Url, toBase64Url } from '../crypto'
import { Listeners } from '../lib/listeners'

/** Longer than an honest sync of a large room takes over either link. */
export const WITHHELD_AFTER_MS = 10_000
/** Writer sessions one state vector may list; the rest of a longer one is not compared. */
const MAX_WRITERS = 256
/** A sync brings many updates: our lead is compared again at most this often. */
const RECHECK_MS = 250

/** What a verified presence of another member says it holds. */
export interface HolderState {
  readonly keyId: string
  /** base64url of Y.encodeStateVector (presence-state.ts bounds its length). */
  readonly held?: string
}

export class WithheldWatch {
  readonly changed = new Listeners()
  /** Per member, since when one of their tabs has held something we lack. */
  private readonly since = new Map<string, number>()
  private holders: readonly string[] = []
  private readonly decoded = new Map<string, Map<number, number>>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private states: readonly HolderState[] = []
  private recheck: ReturnType<typeof setTimeout> | undefined
  /** Our document grew: a lead someone had may be gone (checked once per burst of updates). */
  private readonly onUpdate = (): void => {
    if (this.since.size === 0 || this.recheck) return
    this.recheck = setTimeout(() => {
      this.recheck = undefined
      this.check()
    }, RECHECK_MS)
  }

  constructor(
    private readonly doc: Y.Doc,
    private readonly now: () => number = Date.now,
    private readonly after = WITHHELD_AFTER_MS,
  ) {
    doc.on('update', this.onUpdate)
  }

  /** The presences of the other members (never ours), each time they or our document change. */
  observe(states: readonly HolderState[]): void {
    this.states = states
    this.check()
  }

  /** Key ids of the members whose writes have been kept from us for too long. */
  withheldBy(): readonly string[] {
    return this.holders
  }

  destroy(): void {
    this.doc.off('update', this.onUpdate)
    clearTimeout(this.timer)
    clearTimeout(this.recheck)
    this.changed.clear()
  }

  /** Compares again (our document grew, or time passed). */
  check(): void {
    const now = this.now()
    const ahead = new Set<string>()
    for (const { keyId, held } of this.states) if (held && this.holdsMore(held)) ahead.add(keyId)
    for (const keyId of [...this.since.keys()]) if (!ahead.has(keyId)) this.since.delete(keyId)
    for (const keyId of ahead) if (!this.since.has(keyId)) this.since.set(keyId, now)
    const holders = [...this.since].filter(([, t]) => now - t >= this.after).map(([k]) => k)
    clearTimeout(this.timer)
    this.timer = undefined
    const next = Math.min(...[...this.since.values()].map((t) => t + this.after - now))
    if (Number.isFinite(next) && next > 0) this.timer = setTimeout(() => this.check(), next)
    if (holders.join() === this.holders.join()) return
    this.holders = holders
    this.changed.emit()
  }

  /** Whether a state vector claims a write (client, clock) that we have not integrated. */
  private holdsMore(held: string): boolean {
    const theirs = this.decode(held)
    for (const [client, clock] of theirs)
      if (clock > Y.getState(this.doc.store, client)) return true
    return false
  }

  private decode(held: string): Map<number, number> {
    let vector = this.decoded.get(held)
    if (vector) return vector
    try {
      vector = Y.decodeStateVector(fromBase64Url(held))
    } catch {
      vector = new Map()
    }
    if (vector.size > MAX_WRITERS) vector = new Map([...vector].slice(0, MAX_WRITERS))
    // Only the vectors in use now are kept: each tab publishes a new one as it grows.
    if (this.decoded.size > 64) this.decoded.clear()
    this.decoded.set(held, vector)
    return vector
  }
}

/** Our own state vector for presence, or undefined if it is too long to publish. */
export function heldVector(doc: Y.Doc, maxChars: number): string | undefined {
  const held = toBase64Url(Y.encodeStateVector(doc))
  return held.length <= maxChars ? held : undefined
}
