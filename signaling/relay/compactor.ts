// Compaction (docs/relay.md, "Structure"): rewrites a room's log as one snapshot once the log
// has outgrown it (geometric, so each stored byte is rewritten a bounded number of times however
// long the room lives). Runs beside the appends, never in their way; a failure leaves the log as
// it was, still complete.

import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import type { LogCursor, RoomStore } from '../store/room-store'
import type { RoomDoc } from './room-doc'
import type { RoomLedger } from './room-ledger'

export interface CompactorOptions {
  roomId: string
  logId: string
  store: RoomStore
  doc: RoomDoc
  ledger: RoomLedger
  limits: Pick<RelayLimits, 'compactionMinLogBytes'>
  logger: Logger
  isOpen: () => boolean
}

export class Compactor {
  private running: Promise<void> | null = null

  constructor(private readonly options: CompactorOptions) {}

  /** Resolves once a compaction in progress has ended. */
  get settled(): Promise<void> | null {
    return this.running
  }

  /** Starts a compaction if the log has outgrown the snapshot and none is running. */
  maybeCompact(): void {
    const { ledger, limits } = this.options
    if (this.running || !this.options.isOpen() || ledger.lastCursor === null) return
    if (ledger.logBytes <= Math.max(ledger.snapshotBytes, limits.compactionMinLogBytes)) return
    this.running = this.compact()
      .catch((error: unknown) => {
        // The log stays as it is and is still complete; the next append tries again.
        this.options.logger.warn('relay.compaction_failed', { room: this.options.logId, error })
      })
      .finally(() => {
        this.running = null
      })
  }

  private async compact(): Promise<void> {
    const { store, roomId, doc, ledger } = this.options
    let through: LogCursor
    let coveredBytes: number
    if (store.follow) {
      // Shared store: other instances append too, and this doc may not have seen all of their
      // entries up to our last cursor yet. Read what the store holds and merge it in first, so
      // the snapshot contains every entry it replaces.
      const stored = await store.load(roomId)
      if (!this.options.isOpen() || stored.cursor === null) return
      doc.applyRemote(stored.updates)
      through = stored.cursor
      coveredBytes = stored.bytes
    } else {
      // This process is the store's only writer: the doc holds every entry up to our cursor.
      if (ledger.lastCursor === null) return
      through = ledger.lastCursor
      coveredBytes = ledger.storedBytes
    }
    const snapshot = doc.fullState()
    await store.compact(roomId, snapshot, through)
    ledger.compacted(snapshot.byteLength, coveredBytes)
    this.options.logger.debug('relay.compacted', {
      room: this.options.logId,
      bytes: snapshot.byteLength,
      replacedBytes: coveredBytes,
    })
  }
}
