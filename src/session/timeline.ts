// The room's display order: an index of every message, tombstone and anomaly sorted by HLC.
// It is built from the cleartext parts of records only (stamp, author, id), so a room of
// 100,000 messages is ordered without decrypting anything; content is opened on demand
// (message-content.ts) for what is on screen. Every value is read through RoomDocument's
// checked accessors (docs/document-model.md), so nothing a peer writes can make it throw.
import type * as Y from 'yjs'
import {
  compareSortKeys,
  isFromTheFuture,
  parseMessage,
  parseTombstone,
  stampAnomaly,
  type EditRecord,
  type Hlc,
  type MessageRecord,
  type RecordMap,
  type RoomDocument,
  type SortKey,
  type TombstoneRecord,
} from '../model'
import { bytesEqual, toBase64Url } from '../crypto'
import { Listeners, type Unsubscribe } from '../lib/listeners'
import type { HistoryLedger } from './history-ledger'

export type EntryState =
  /** A message record is present. */
  | 'message'
  /** Its record is gone and a tombstone stands in its place (validity is checked on display). */
  | 'deleted'
  /** Its record vanished with no tombstone: shown as an anomaly, never silently (docs/architecture.md). */
  | 'vanished'

export interface TimelineEntry {
  readonly id: string
  readonly key: SortKey
  readonly state: EntryState
  /** Decoded from the document when asked for (the timeline itself keeps only the sort key). */
  readonly record?: MessageRecord
  readonly edit?: EditRecord
  readonly tombstone?: TombstoneRecord
  /** The record as last seen here before it was removed: lets a tombstone be checked against
   * the real author even after the record is gone. */
  readonly removedRecord?: MessageRecord
  /** Stamped further ahead than our clock allows: shown in place, but flagged. */
  readonly fromTheFuture: boolean
  /** Why this entry's stamp cannot be taken as a time (far in the future, counter out of
   * range: model/hlc.ts stampAnomaly); its row is then an anomaly, still in its place. */
  readonly anomaly: string | undefined
}

/**
 * One entry is its own sort key and holds nothing else of a message: a room of 100,000
 * messages costs one small object each, and the record's bytes are decoded only for what is
 * shown. The record is read from the document on demand; once the document holds another
 * record under this id, a newer entry replaces this one, and this one answers no record.
 */
class Entry implements TimelineEntry, SortKey {
  constructor(
    private readonly room: RoomDocument,
    readonly id: string,
    readonly wall: number,
    readonly counter: number,
    readonly author: string,
    readonly state: EntryState,
    readonly fromTheFuture: boolean,
    readonly anomaly: string | undefined,
    readonly tombstone: TombstoneRecord | undefined,
    readonly removedRecord: MessageRecord | undefined,
  ) {}

  get key(): SortKey {
    return this
  }

  get record(): MessageRecord | undefined {
    if (this.state === 'vanished') return undefined
    const parsed = this.room.message(this.id)
    return parsed?.ok && this.isKeyOf(parsed.value) ? parsed.value : undefined
  }

  get edit(): EditRecord | undefined {
    const parsed = this.room.edit(this.id)
    return parsed?.ok ? parsed.value : undefined
  }

  private isKeyOf(record: MessageRecord): boolean {
    return (
      record.stamp.wall === this.wall &&
      record.stamp.counter === this.counter &&
      toBase64Url(record.author) === this.author
    )
  }
}

/** Above this many changed ids in one transaction, re-sorting everything is cheaper than
 * splicing each entry into place (each splice moves O(n) elements). */
const BULK_CHANGE = 256

export class Timeline {
  readonly changed = new Listeners()
  /** Records present in the document that failed to parse (hostile or from a newer version). */
  malformed = 0
  private readonly byId = new Map<string, TimelineEntry>()
  private readonly authorIds = new Map<string, string>()
  private lastAuthor: { bytes: Uint8Array; id: string } | undefined
  private sorted: TimelineEntry[] = []
  private snapshot: readonly TimelineEntry[] | undefined
  private readonly dirty = new Set<string>()
  /** Records removed from the document since the last flush, as they were. */
  private readonly removed = new Map<string, unknown>()
  private readonly markDirty: (event: Y.YMapEvent<unknown>) => void
  private readonly flush: () => void
  /** What this browser knows of the room's history, and the document it is about. */
  private history: { ledger: HistoryLedger; room: RoomDocument; stop: Unsubscribe } | undefined

  constructor(
    private room: RoomDocument,
    private readonly observeStamp: (stamp: Hlc) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.markDirty = (event) => {
      const { messages } = this.room.maps
      let removals = false
      for (const id of event.keysChanged as Set<string>) {
        this.dirty.add(id)
        if (event.target === messages && !messages.has(id)) removals = true
      }
      // Only then: the change list is costly to compute for a bulk load.
      if (removals)
        event.changes.keys.forEach((change, id) => {
          if (change.action === 'delete') this.removed.set(id, change.oldValue)
        })
    }
    this.flush = () => this.applyChanges()
    this.observe()
    this.markAll()
    this.applyChanges()
  }

  /**
   * Reads another document from now on: the room once loaded, in place of its newest messages
   * (recent-records.ts). Where both hold the same records, an entry stays the same object, so
   * what is on screen stays resolved; entries the new document lacks go without a trace.
   */
  rebase(next: RoomDocument): void {
    const previous = this.room
    this.unobserve()
    this.room = next
    this.observe()
    for (const id of [...this.byId.keys()])
      if (!sameRecords(previous, next, id)) this.byId.delete(id)
    this.sorted = [...this.byId.values()].sort((a, b) => compareSortKeys(a.key, b.key))
    this.markAll()
    for (const id of this.byId.keys()) this.dirty.delete(id)
    this.snapshot = undefined
    this.applyChanges()
    this.changed.emit()
  }

  /**
   * From now on, ids this browser has seen or knows deleted (history-ledger.ts) stay in the
   * timeline while `room` is read: one gone from the document shows as vanished, a delete whose
   * tombstone was removed still shows as deleted (docs/document-model.md, "The history
   * ledger"). Attached once local data is loaded, so a room still loading is not all anomalies.
   */
  attachLedger(ledger: HistoryLedger, room: RoomDocument): void {
    this.history?.stop()
    const stop = ledger.changed.subscribe((ids) => {
      if (this.knowledge() === undefined) return
      const { messages, tombstones } = this.room.maps
      for (const id of ids) if (!messages.has(id) && !tombstones.has(id)) this.dirty.add(id)
      this.applyChanges()
    })
    this.history = { ledger, room, stop }
    this.markKnown()
    this.applyChanges()
  }

  /** A new array after every change (so views can compare by identity), the same otherwise.
   * It is the sorted index itself until the next change copies that (one array of 100,000
   * pointers rather than two). */
  entries(): readonly TimelineEntry[] {
    this.snapshot ??= this.sorted
    return this.snapshot
  }

  get(id: string): TimelineEntry | undefined {
    return this.byId.get(id)
  }

  destroy(): void {
    this.history?.stop()
    this.unobserve()
    this.changed.clear()
  }

  private observe(): void {
    const { messages, edits, tombstones } = this.room.maps
    for (const map of [messages, edits, tombstones]) map.observe(this.markDirty)
    this.room.doc.on('afterTransaction', this.flush)
  }

  private unobserve(): void {
    const { messages, edits, tombstones } = this.room.maps
    for (const map of [messages, edits, tombstones]) map.unobserve(this.markDirty)
    this.room.doc.off('afterTransaction', this.flush)
  }

  private markAll(): void {
    // Every key: reading it checks its shape (a key that is no id counts as malformed).
    const { messages, tombstones } = this.room.maps
    for (const id of messages.keys()) this.dirty.add(id)
    for (const id of tombstones.keys()) this.dirty.add(id)
    this.markKnown()
  }

  /** Ids the ledger knows that the document lacks: only those does it change. */
  private markKnown(): void {
    const ledger = this.knowledge()
    if (!ledger) return
    const { messages, tombstones } = this.room.maps
    for (const ids of [ledger.seenIds(), ledger.deletedIds()])
      for (const id of ids) if (!messages.has(id) && !tombstones.has(id)) this.dirty.add(id)
  }

  private knowledge(): HistoryLedger | undefined {
    return this.history && this.history.room === this.room ? this.history.ledger : undefined
  }

  private applyChanges(): void {
    if (this.dirty.size === 0) return
    const ids = [...this.dirty]
    this.dirty.clear()
    const removed = new Map(this.removed)
    this.removed.clear()
    const bulk = ids.length > BULK_CHANGE
    // What entries() handed out never changes.
    if (!bulk && this.snapshot === this.sorted) this.sorted = this.sorted.slice()
    for (const id of ids) {
      const before = this.byId.get(id)
      const after = this.entryFor(id, before, removed.get(id))
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

  private entryFor(
    id: string,
    before: TimelineEntry | undefined,
    removedBytes: unknown,
  ): TimelineEntry | undefined {
    const tombstone = this.room.tombstone(id)
    const stone = tombstone?.ok ? tombstone.value : undefined
    const parsed = this.room.messageKey(id)
    if (parsed) {
      if (!parsed.ok) {
        this.malformed++
        return before
      }
      const { stamp, author } = parsed.value
      this.observeStamp(stamp)
      const state = stone ? 'deleted' : 'message'
      return this.entry(id, stamp, author, state, stone, undefined)
    }
    const removedRecord = removedRecordOf(removedBytes) ?? before?.removedRecord
    if (stone) return this.entry(id, stone.stamp, stone.author, 'deleted', stone, removedRecord)
    const ledger = this.knowledge()
    const proof = ledger?.deletedProof(id)
    const kept = proof && parseTombstone(proof)
    if (kept && kept.ok) {
      const { stamp, author } = kept.value
      return this.entry(id, stamp, author, 'deleted', kept.value, removedRecord)
    }
    if (before) {
      const key = before.key
      return new Entry(
        this.room,
        id,
        key.wall,
        key.counter,
        key.author,
        'vanished',
        before.fromTheFuture,
        before.anomaly,
        before.tombstone,
        removedRecord,
      )
    }
    const seen = ledger?.seen(id)
    if (seen) {
      const { wall, counter, author } = seen
      return new Entry(
        this.room,
        id,
        wall,
        counter,
        author,
        'vanished',
        false,
        undefined,
        undefined,
        undefined,
      )
    }
    return undefined
  }

  private entry(
    id: string,
    stamp: Hlc,
    author: Uint8Array,
    state: EntryState,
    tombstone: TombstoneRecord | undefined,
    removedRecord: MessageRecord | undefined,
  ): Entry {
    const now = this.now()
    const authorId = this.authorId(author)
    return new Entry(
      this.room,
      id,
      stamp.wall,
      stamp.counter,
      authorId,
      state,
      isFromTheFuture(stamp, now),
      stampAnomaly(stamp, now),
      tombstone,
      removedRecord,
    )
  }

  /** One string per author: a room has few authors and up to 100,000s of entries. */
  private authorId(author: Uint8Array): string {
    // A document lists each writer's records together, so most lookups repeat the last one.
    if (this.lastAuthor && bytesEqual(author, this.lastAuthor.bytes)) return this.lastAuthor.id
    const text = toBase64Url(author)
    const id = this.authorIds.get(text) ?? text
    this.authorIds.set(id, id)
    this.lastAuthor = { bytes: author.slice(), id }
    return id
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

const ENTRY_MAPS: readonly RecordMap[] = ['messages', 'edits', 'tombstones']

/** Both documents hold the same valid records (or none) for this id. */
function sameRecords(a: RoomDocument, b: RoomDocument, id: string): boolean {
  return ENTRY_MAPS.every((map) => {
    const x = a.validBytes(map, id)
    const y = b.validBytes(map, id)
    if (x && y) return bytesEqual(x, y)
    return x === undefined && y === undefined
  })
}

function removedRecordOf(bytes: unknown): MessageRecord | undefined {
  if (bytes === undefined) return undefined
  const parsed = parseMessage(bytes)
  return parsed.ok ? parsed.value : undefined
}
