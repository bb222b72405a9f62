// Puts back what a token holder removed against the rules, where this browser holds the proof
// (docs/document-model.md, "Repair"): its own member entry when it goes missing, and a delete
// this browser has verified when its tombstone is removed or its message re-inserted. Both are
// signed by their author, so any honest replica may republish them and all converge on them.
import type * as Y from 'yjs'
import {
  tombstoneSigningBytes,
  type Parsed,
  type RoomDocument,
  type TombstoneRecord,
} from '../model'
import { bytesEqual, keyIdOf, verify } from '../crypto'
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
    private readonly roomId: string,
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
    const ids = [...this.pendingIds]
    this.pendingIds.clear()
    void this.restore(ids)
  }

  /**
   * Where a proven delete's message is back or its tombstone gone, the proof is written again.
   * A tombstone that proves itself stays, whoever signed it: ids are not bound to authors, so
   * two honest replicas may hold proofs by different keys, and overwriting each other's would
   * never converge (docs/document-model.md, "Repair"); the rows then show the anomaly.
   */
  private async restore(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const proof = this.ledger.deletedProof(id)
      if (!proof || this.closed) continue
      const standing = await provesItself(this.roomId, id, this.room.tombstone(id))
      if (this.closed) return
      if (!standing) this.room.restoreTombstone(id, proof)
      else if (this.room.maps.messages.has(id)) this.room.removeResurrected(id)
    }
  }
}

/** A v2 tombstone whose key hashes to its key id and signed it; a v1 one cannot be checked
 * here (it needs the members map) and is left as it is. */
async function provesItself(
  roomId: string,
  id: string,
  parsed: Parsed<TombstoneRecord> | undefined,
): Promise<boolean> {
  if (!parsed?.ok) return false
  const stone = parsed.value
  if (!stone.publicKey) return true
  if (!bytesEqual(await keyIdOf(stone.publicKey), stone.author)) return false
  return verify(stone.publicKey, stone.signature, tombstoneSigningBytes(roomId, id, stone))
}
