// What a room's store holds and what is on its way there (docs/relay.md, "Budgets"): bytes
// stored (an estimate in shared stores), of them the snapshot's, bytes queued for the next
// append, and the log cursor of the last append. Appends and compactions move it; the room-size
// limit and the compaction policy read it.

import type { LogCursor } from '../store/room-store'

export class RoomLedger {
  /** Bytes of local updates collected or sealed but not yet appended. */
  queuedBytes = 0

  constructor(
    public storedBytes: number,
    public snapshotBytes: number,
    public lastCursor: LogCursor | null,
  ) {}

  /** Bytes of the log beside the snapshot. */
  get logBytes(): number {
    return this.storedBytes - this.snapshotBytes
  }

  appended(bytes: number, cursor: LogCursor): void {
    this.lastCursor = cursor
    this.storedBytes += bytes
    this.queuedBytes -= bytes
  }

  /** Entries other instances appended (shared stores): stored already. */
  storedElsewhere(bytes: number): void {
    this.storedBytes += bytes
  }

  /** The log up to a point was replaced by `snapshotBytes`; `coveredBytes` were stored then. */
  compacted(snapshotBytes: number, coveredBytes: number): void {
    // What was appended after the compaction's cursor stays in the log beside the snapshot.
    this.storedBytes = snapshotBytes + Math.max(0, this.storedBytes - coveredBytes)
    this.snapshotBytes = snapshotBytes
  }
}
