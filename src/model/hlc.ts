// Hybrid logical clock (wall ms, counter) and the display order of a room: the same on every
// peer, so a message written offline lands where it was written in time (docs/architecture.md).

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

/** Stamps a little in the future are shown (never dropped or reordered) but flagged. */
export function isFromTheFuture(stamp: Hlc, now: number): boolean {
  return stamp.wall > now + MAX_CLOCK_SKEW_MS
}

/**
 * Further ahead than this is not a clock that drifted but one that is wrong or hostile: a day
 * covers a device set to local time but read as UTC (at most 14 h, UTC+14) plus hours of
 * drift. Such a stamp would sit below every later message for as long as it stays ahead, so
 * its row is an anomaly, not the message (docs/document-model.md "Stamps").
 */
export const FAR_FUTURE_MS = 24 * 60 * 60 * 1000

/**
 * The largest counter an honest clock writes: the counter grows only while the wall time
 * stands still (same millisecond, or a clock behind the newest stamp seen), so 2^31 would be
 * two billion messages in one millisecond. Bounding it keeps `counter + 1` exact and a
 * hostile stamp from pinning our clock at the top of the range.
 */
export const MAX_HLC_COUNTER = 2 ** 31

/** Why a stamp that decoded cannot be taken as a time, or undefined when it can. */
export function stampAnomaly(stamp: Hlc, now: number): string | undefined {
  if (stamp.counter > MAX_HLC_COUNTER) return 'Its time stamp is out of range.'
  if (stamp.wall > now + FAR_FUTURE_MS) return 'It is dated more than a day in the future.'
  return undefined
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
    if (isFromTheFuture(stamp, this.now()) || stamp.counter > MAX_HLC_COUNTER) return
    if (compareHlc(stamp, this.last) > 0) this.last = { wall: stamp.wall, counter: stamp.counter }
  }

  /** A stamp later than every stamp observed so far (within the skew bound) and than our own. */
  next(): Hlc {
    const now = Math.floor(this.now())
    const { wall, counter } = this.last
    this.last =
      now > wall
        ? { wall: now, counter: 0 }
        : counter >= MAX_HLC_COUNTER
          ? { wall: wall + 1, counter: 0 } // still later than `last`, and in range
          : { wall, counter: counter + 1 }
    return this.last
  }
}
