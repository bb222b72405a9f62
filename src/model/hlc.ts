// Hybrid logical clock (wall ms, counter) and the display order of a room: the same on every
// peer, so a message written offline lands where it was written in time (DESIGN §3).

export interface Hlc {
  readonly wall: number
  readonly counter: number
}

/** The full sort key of a message: its clock, then author and id to break exact ties. */
export interface SortKey extends Hlc {
  readonly author: string
  readonly id: string
}

/**
 * How far ahead of our own wall clock a remote stamp may be and still move our clock forward.
 * Phones and laptops drift by seconds, rarely minutes; a minute keeps honest peers ordered
 * causally while a peer whose clock is days ahead cannot drag everyone's stamps with it.
 */
export const MAX_CLOCK_SKEW_MS = 60_000

/** Stamps far in the future are shown (never dropped or reordered) but flagged. */
export function isFromTheFuture(stamp: Hlc, now: number): boolean {
  return stamp.wall > now + MAX_CLOCK_SKEW_MS
}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.wall - b.wall || a.counter - b.counter
}

export function compareSortKeys(a: SortKey, b: SortKey): number {
  return (
    compareHlc(a, b) ||
    (a.author < b.author ? -1 : a.author > b.author ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  )
}

export class HybridClock {
  private last: Hlc = { wall: 0, counter: 0 }

  constructor(private readonly now: () => number = Date.now) {}

  /** Take a stamp seen on a remote message into account, unless it is beyond the skew bound. */
  observe(stamp: Hlc): void {
    if (isFromTheFuture(stamp, this.now())) return
    if (compareHlc(stamp, this.last) > 0) this.last = { wall: stamp.wall, counter: stamp.counter }
  }

  /** A stamp later than every stamp observed so far (within the skew bound) and than our own. */
  next(): Hlc {
    const now = Math.floor(this.now())
    this.last =
      now > this.last.wall
        ? { wall: now, counter: 0 }
        : { wall: this.last.wall, counter: this.last.counter + 1 }
    return this.last
  }
}
