// A room's history guard, composed for RoomSession (docs/document-model.md, "The history
// ledger", "Repair"): the ledger of what this browser has seen, attached to the timeline once
// local data is loaded, and the keeper that puts back what this browser holds proof of.
import type { RoomDocument } from '../model'
import { HistoryKeeper } from './history-keeper'
import { HistoryLedger } from './history-ledger'
import type { Timeline } from './timeline'

export class RoomHistory {
  readonly ledger: HistoryLedger
  private keeper: HistoryKeeper | undefined
  private closed = false

  constructor(
    private readonly roomId: string,
    storage: Storage | undefined,
  ) {
    this.ledger = new HistoryLedger(roomId, storage)
  }

  /** Whether a text this tab sent is in the room (drafts.ts, restoreUnkept); one that is not
   * was never kept anywhere and comes back as a draft, so it is no vanished message. */
  inRoom(room: RoomDocument): (id: string) => boolean {
    return (id) => {
      const here = room.message(id) !== undefined || room.tombstone(id) !== undefined
      if (!here) this.ledger.forget(id)
      return here
    }
  }

  /**
   * The room's stored data is loaded and we are a member: history the ledger knows shows from
   * now on, and our entry and the proven deletes are kept in the room. Nothing once closed.
   */
  start(room: RoomDocument, timeline: Timeline, myKeyId: string, republish: () => Promise<void>) {
    if (this.closed) return
    timeline.attachLedger(this.ledger, room)
    this.keeper?.close()
    this.keeper = new HistoryKeeper(this.roomId, room, this.ledger, myKeyId, republish)
  }

  close(): void {
    this.closed = true
    this.keeper?.close()
    this.ledger.flush()
  }

  /** The room was left: nothing of its history stays in this browser. */
  clear(): void {
    this.ledger.clear()
  }
}
