// The room's display order: an index of every message, tombstone and anomaly sorted by HLC.
// It is built from the cleartext parts of records only (stamp, author, id), so a room of
// 100,000 messages is ordered without decrypting anything; content is opened on demand
// (message-content.ts) for what is on screen.
import type * as Y from 'yjs'
import {
  compareSortKeys,
  isFromTheFuture,
  parseEdit,
  parseMessage,
  parseTombstone,
  type EditRecord,
  type Hlc,
  type MessageRecord,
  type RoomDocument,
  type SortKey,
  type TombstoneRecord,
} from '../model'
import { toBase64Url } from '../crypto'
import { Listeners } from './events'

export type EntryState =
  /** A message record is present. */
  | 'message'
  /** Its record is gone and a tombstone stands in its place (validity is checked on display). */
  | 'deleted'
  /** Its record vanished with no tombstone: shown as an anomaly, never silently (DESIGN §2). */
  | 'vanished'

export interface TimelineEntry {
  readonly id: string
  readonly key: SortKey
  readonly state: EntryState
  readonly record?: MessageRecord
  readonly edit?: EditRecord
  readonly tombstone?: TombstoneRecord
  /** The record as last seen here before it was removed: lets a tombstone be checked against
   * the real author even after the record is gone. */
  readonly removedRecord?: MessageRecord
  /** Stamped further ahead than our clock allows: shown in place, but flagged. */
  readonly fromTheFuture: boolean
}

/** Above this many changed ids in one transaction, re-sorting everything is cheaper than
 * splicing each entry into place (each splice moves O(n) elements). */
const BULK_CHANGE = 256

export class Timeline {
  readonly changed = new Listeners()
  /** Records present in the document that failed to parse (hostile or from a newer version). */
  malformed = 0
  private readonly byId = new Map<string, TimelineEntry>()
  /** One string per author: a room has few authors and up to 100,000s of entries. */
  private readonly authorIds = new Map<string, string>()
  private sorted: TimelineEntry[] = []
  private snapshot: readonly TimelineEntry[] | undefined
  private readonly dirty = new Set<string>()
  private readonly markDirty: (event: Y.YMapEvent<unknown>) => void
  private readonly flush: () => void

  constructor(
    private readonly room: RoomDocument,
    private readonly observeStamp: (stamp: Hlc) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.markDirty = (event) => event.keysChanged.forEach((id: string) => this.dirty.add(id))
    this.flush = () => this.applyChanges()
    const { messages, edits, tombstones } = room.maps
    for (const map of [messages, edits, tombstones]) map.observe(this.markDirty)
    room.doc.on('afterTransaction', this.flush)
    for (const id of messages.keys()) this.dirty.add(id)
    for (const id of tombstones.keys()) this.dirty.add(id)
    this.applyChanges()
  }

  /** A new array after every change (so views can compare by identity), the same otherwise. */
  entries(): readonly TimelineEntry[] {
    this.snapshot ??= this.sorted.slice()
    return this.snapshot
  }

  get(id: string): TimelineEntry | undefined {
    return this.byId.get(id)
  }

  destroy(): void {
    const { messages, edits, tombstones } = this.room.maps
    for (const map of [messages, edits, tombstones]) map.unobserve(this.markDirty)
    this.room.doc.off('afterTransaction', this.flush)
    this.changed.clear()
  }

  private applyChanges(): void {
    if (this.dirty.size === 0) return
    const ids = [...this.dirty]
    this.dirty.clear()
    const bulk = ids.length > BULK_CHANGE
    for (const id of ids) {
      const before = this.byId.get(id)
      const after = this.entryFor(id, before)
      if (after) this.byId.set(id, after)
      else this.byId.delete(id)
      if (!bulk) {
        if (before) this.sorted.splice(this.indexOf(before.key), 1)
        if (after) this.sorted.splice(this.insertionPoint(after.key), 0, after)
      }
    }
    if (bulk) this.sorted = [...this.byId.values()].sort((a, b) => compareSortKeys(a.key, b.key))
    this.snapshot = undefined
    this.changed.emit()
  }

  private entryFor(id: string, before: TimelineEntry | undefined): TimelineEntry | undefined {
    const { messages, edits, tombstones } = this.room.maps
    const tombstone = tombstones.has(id) ? parseTombstone(tombstones.get(id)) : undefined
    if (messages.has(id)) {
      const parsed = parseMessage(messages.get(id))
      if (!parsed.ok) {
        this.malformed++
        return before
      }
      const record = parsed.value
      this.observeStamp(record.stamp)
      const edit = edits.has(id) ? parseEdit(edits.get(id)) : undefined
      return {
        id,
        key: { ...record.stamp, author: this.authorId(record.author), id },
        state: tombstone?.ok ? 'deleted' : 'message',
        record,
        edit: edit?.ok ? edit.value : undefined,
        tombstone: tombstone?.ok ? tombstone.value : undefined,
        fromTheFuture: isFromTheFuture(record.stamp, this.now()),
      }
    }
    if (tombstone?.ok) {
      const stone = tombstone.value
      return {
        id,
        key: { ...stone.stamp, author: this.authorId(stone.author), id },
        state: 'deleted',
        tombstone: stone,
        removedRecord: before?.record ?? before?.removedRecord,
        fromTheFuture: isFromTheFuture(stone.stamp, this.now()),
      }
    }
    if (before)
      return {
        ...before,
        state: 'vanished',
        record: undefined,
        edit: undefined,
        removedRecord: before.record ?? before.removedRecord,
      }
    return undefined
  }

  private authorId(author: Uint8Array): string {
    const text = toBase64Url(author)
    const known = this.authorIds.get(text)
    if (known !== undefined) return known
    this.authorIds.set(text, text)
    return text
  }

  private insertionPoint(key: SortKey): number {
    let low = 0
    let high = this.sorted.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (compareSortKeys(this.sorted[mid].key, key) < 0) low = mid + 1
      else high = mid
    }
    return low
  }

  private indexOf(key: SortKey): number {
    const index = this.insertionPoint(key)
    const found = this.sorted[index]
    if (!found || compareSortKeys(found.key, key) !== 0)
      throw new Error('timeline index out of sync')
    return index
  }
}
