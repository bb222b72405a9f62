// Puts back what a token holder removed against the rules, where this browser holds the proof
// (docs/document-model.md, "Repair"): its own member entry when it goes missing, and a delete
// this browser has verified when its tombstone is removed or its message re-inserted. Both are
// signed by their author, so any honest replica may republish them and all converge on them.
import type * as Y from 'yjs'
import type { RoomDocument } from '../model'
import type { HistoryLedger } from './history-ledger'

/** Writes are deferred out of the Yjs observer that saw the change. */
const REPAIR_DELAY_MS = 0

export class HistoryKeeper {
  private readonly pendingIds = new Set<string>()
  private memberPending = false
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly onMembers: (event: Y.YMapEvent<unknown>) => void
  private readonly onRecords: (event: Y.YMapEvent<unknown>) => void
  private readonly stopLedger: () => void
  private closed = false

  constructor(
    private readonly room: RoomDocument,
    private readonly ledger: HistoryLedger,
    private readonly myKeyId: string,
    private readonly republishMember: () => Promise<void>,
  ) {
    this.onMembers = (event) => {
      if (event.keysChanged.has(myKeyId) && !this.memberIsHere()) this.memberPending = true
      this.schedule()
    }
    this.onRecords = (event) => {
      for (const id of event.keysChanged as Set<string>)
        if (ledger.deletedProof(id)) this.pendingIds.add(id)
      this.schedule()
    }
    room.maps.members.observe(this.onMembers)
    room.maps.messages.observe(this.onRecords)
    room.maps.tombstones.observe(this.onRecords)
    this.stopLedger = ledger.changed.subscribe((ids) => {
      for (const id of ids) if (ledger.deletedProof(id)) this.pendingIds.add(id)
      this.schedule()
    })
    for (const id of ledger.deletedIds()) this.pendingIds.add(id)
    this.memberPending = !this.memberIsHere()
    this.schedule()
  }

  close(): void {
    this.closed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.room.maps.members.unobserve(this.onMembers)
    this.room.maps.messages.unobserve(this.onRecords)
    this.room.maps.tombstones.unobserve(this.onRecords)
    this.stopLedger()
  }

  private memberIsHere(): boolean {
    return this.room.member(this.myKeyId)?.ok === true
  }

  private schedule(): void {
    if (this.closed || this.timer !== undefined) return
    if (!this.memberPending && this.pendingIds.size === 0) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.repair()
    }, REPAIR_DELAY_MS)
  }

  private repair(): void {
    if (this.closed) return
    if (this.memberPending && !this.memberIsHere()) void this.republishMember().catch(() => {})
    this.memberPending = false
    const { messages, tombstones } = this.room.maps
    for (const id of this.pendingIds) {
      const proof = this.ledger.deletedProof(id)
      if (!proof) continue
      const stone = tombstones.get(id)
      const intact = stone instanceof Uint8Array && sameBytes(stone, proof)
      if (messages.has(id) || !intact) this.room.restoreTombstone(id, proof)
    }
    this.pendingIds.clear()
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
