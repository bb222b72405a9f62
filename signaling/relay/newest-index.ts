// Which messages of a loaded room are its newest (docs/relay.md, "Newest records first"): the
// NEWEST_MESSAGES latest by display order (HLC stamp, author, id: model/hlc.ts), messages and
// tombstones alike, as a timeline lists them. Kept up to date from each transaction's changed
// keys, so a newcomer costs no scan of the room; a change it cannot follow incrementally (one of
// the newest removed or restamped) makes it rescan once, when next asked.
import type * as Y from 'yjs'
import {
  NEWEST_MESSAGES,
  compareSortKeys,
  type NewestMessage,
  type RoomDocument,
  type SortKey,
} from '../../src/model'

/** Past this many changed ids in one transaction (a whole room arriving), one rescan is cheaper
 * than placing each: a placement costs up to NEWEST_MESSAGES comparisons and moves. */
const BULK_CHANGE = 4 * NEWEST_MESSAGES

export class NewestIndex {
  /** Oldest first; at most `count`. Meaningless while `stale`. */
  private newest: SortKey[] = []
  private stale = true
  private readonly onChange = (event: Y.YMapEvent<unknown>): void =>
    this.changed(event.keysChanged as Set<string | null>)

  constructor(
    private readonly room: RoomDocument,
    private readonly count = NEWEST_MESSAGES,
  ) {
    room.maps.messages.observe(this.onChange)
    room.maps.tombstones.observe(this.onChange)
  }

  /** The newest messages, oldest first, with their authors' key ids. */
  messages(): NewestMessage[] {
    if (this.stale) this.rescan()
    return this.newest.map(({ id, author }) => ({ id, author }))
  }

  destroy(): void {
    this.room.maps.messages.unobserve(this.onChange)
    this.room.maps.tombstones.unobserve(this.onChange)
  }

  private changed(ids: Set<string | null>): void {
    if (this.stale) return
    if (ids.size > BULK_CHANGE) {
      this.stale = true
      return
    }
    for (const id of ids) {
      // null: content written as a list into the map (not Parley's layout): no message.
      if (typeof id !== 'string') continue
      const at = this.newest.findIndex((key) => key.id === id)
      const before = at >= 0 ? this.newest[at] : undefined
      const after = this.keyOf(id)
      if (before) {
        // The same key (a message replaced by its tombstone): it keeps its place.
        if (after && compareSortKeys(before, after) === 0) continue
        // Gone or moved: what was just below the newest may belong in them now.
        if (this.newest.length >= this.count) {
          this.stale = true
          return
        }
        this.newest.splice(at, 1)
      }
      if (after) this.place(after)
    }
  }

  /** Adds a key if it is among the newest; the oldest falls off when there are too many. */
  private place(key: SortKey): void {
    const full = this.newest.length >= this.count
    if (full && compareSortKeys(key, this.newest[0]) <= 0) return
    let at = this.newest.length
    while (at > 0 && compareSortKeys(this.newest[at - 1], key) > 0) at--
    this.newest.splice(at, 0, key)
    if (this.newest.length > this.count) this.newest.shift()
  }

  private rescan(): void {
    this.newest = []
    const { messages, tombstones } = this.room.maps
    for (const id of messages.keys()) {
      const key = this.keyOf(id)
      if (key) this.place(key)
    }
    for (const id of tombstones.keys()) {
      if (messages.has(id)) continue
      const key = this.keyOf(id)
      if (key) this.place(key)
    }
    this.stale = false
  }

  /** Where the id sorts: its message record's stamp and author, else its tombstone's. */
  private keyOf(id: string): SortKey | undefined {
    const message = this.room.messageKey(id)
    if (message?.ok) return sortKey(id, message.value.stamp, message.value.author)
    const tombstone = this.room.tombstone(id)
    if (tombstone?.ok) return sortKey(id, tombstone.value.stamp, tombstone.value.author)
    return undefined
  }
}

function sortKey(id: string, stamp: { wall: number; counter: number }, author: Uint8Array) {
  const authorId = Buffer.from(author.buffer, author.byteOffset, author.byteLength)
  return { id, wall: stamp.wall, counter: stamp.counter, author: authorId.toString('base64url') }
}
