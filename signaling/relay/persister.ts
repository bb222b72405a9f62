// Durable appends (docs/relay.md, "Structure"): each flushed turn's update is queued for the
// store; appends run one at a time, in order, and turns flushed while one runs are stored
// together by the next, so a busy room pays for one append (and one fsync) per store round trip
// instead of one per turn. Only after an append resolves are its writers acknowledged.

import type { Logger } from '../log'
import type { RoomStore } from '../store/room-store'
import type { Acknowledger } from './acknowledger'
import { sum } from './forwarder'
import type { RoomLedger } from './room-ledger'
import type { RelayMetrics, RoomMember } from './room-members'

/** Flushed turns waiting for the next append. */
interface UnsavedTurns {
  /** One per turn that changed the doc, in order. */
  updates: Uint8Array[]
  writers: Set<RoomMember>
  askers: Set<RoomMember>
}

export interface PersisterOptions {
  roomId: string
  logId: string
  store: RoomStore
  ledger: RoomLedger
  acknowledger: Acknowledger
  logger: Logger
  metrics?: RelayMetrics
  /** The doc's current state vector (RoomDoc.state). */
  docState: () => Map<number, number>
  /** Whether a turn is collected but not flushed yet. */
  turnPending: () => boolean
  isBroken: () => boolean
  /** The store failed: the doc holds what the store does not. */
  onAppendFailed: (why: string) => void
  /** An append succeeded: a chance to compact. */
  onSaved: () => void
}

export class Persister {
  private unsaved: UnsavedTurns | null = null
  /** The appends running one after the other until nothing is unsaved; null when idle. */
  private saving: Promise<void> | null = null

  constructor(private readonly options: PersisterOptions) {}

  /** Resolves once nothing queued is still being stored. */
  get settled(): Promise<void> | null {
    return this.saving
  }

  /**
   * Queues a turn's update (if it changed anything) for the store and its writers for their
   * acknowledgement. `askers` answered the relay's opening step 1: acknowledged only if the
   * durable state moved.
   */
  queue(update: Uint8Array | null, writers: Set<RoomMember>, askers: Set<RoomMember>): void {
    const unsaved = (this.unsaved ??= { updates: [], writers: new Set(), askers: new Set() })
    if (update) unsaved.updates.push(update)
    for (const member of writers) unsaved.writers.add(member)
    for (const member of askers) unsaved.askers.add(member)
    this.saving ??= this.saveAll()
  }

  /** Everything in the doc is stored (nothing queued, nothing in flight): say so. */
  refreshDurableState(): void {
    if (!this.saving && !this.options.turnPending()) {
      this.options.acknowledger.set(this.options.docState())
    }
  }

  private async saveAll(): Promise<void> {
    while (this.unsaved && !this.options.isBroken()) {
      const turns = this.unsaved
      this.unsaved = null
      await this.save(turns)
    }
    this.saving = null
  }

  private async save({ updates, writers, askers }: UnsavedTurns): Promise<void> {
    const { store, ledger, acknowledger, logger } = this.options
    // Sealed now: everything in the doc at this moment is stored once this append is, and
    // nothing flushed later is.
    const sealed = this.options.docState()
    if (updates.length > 0) {
      const bytes = sum(updates)
      const started = performance.now()
      try {
        const cursor = await store.append(this.options.roomId, updates)
        ledger.appended(bytes, cursor)
      } catch (error) {
        logger.error('relay.store_append_failed', {
          room: this.options.logId,
          kind: store.kind,
          bytes,
          error,
        })
        // The doc holds what the store does not: it must not be acknowledged, and the
        // writers must send it again. They will, to a room reloaded from the store.
        this.options.onAppendFailed('storing an update failed')
        return
      }
      this.options.metrics?.appendSeconds((performance.now() - started) / 1000)
    }
    // (Read again: the room may have broken while the append was in flight.)
    if (this.options.isBroken()) return
    // With nothing else unsaved, whatever the doc holds now is durable (updates that arrived
    // from other instances meanwhile were durable before they came).
    acknowledger.set(
      !this.unsaved && !this.options.turnPending() ? this.options.docState() : sealed,
    )
    for (const member of writers) if (member.open) acknowledger.acknowledge(member)
    for (const member of askers) if (member.open) acknowledger.acknowledgeIfMoved(member)
    this.options.onSaved()
  }
}
