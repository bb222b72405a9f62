// "Seen by" (issue 12 §8, docs/presence.md "Seen by"): how far each other member has read this
// room, from the read position their signed presence shares (read-position.ts), remembered in
// this browser so a message stays "seen" after its reader has gone offline. No per-message
// acknowledgement exists: a member has seen every message up to the one they read last.
import { compareSortKeys, isKeyId, type SortKey } from '../model'
import { Listeners } from '../lib/listeners'
import { parseSortKey } from './read-position'

/** Members whose read position is remembered; past this the longest-silent are forgotten. */
const MAX_READERS = 256
/** A read position further ahead of our clock than this is a claim about the future (a wrong
 * clock, or a member saying they have read what nobody has written yet): ignored. */
const MAX_AHEAD_MS = 5 * 60_000

/** What a verified presence of another member says about their reading. */
export interface ReaderState {
  readonly keyId: string
  readonly read?: SortKey
}

export class SeenBy {
  readonly changed = new Listeners()
  private readonly read = new Map<string, SortKey>()
  private readonly storageKey: string

  constructor(
    roomId: string,
    private readonly storage: Storage | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.storageKey = `parley:seen:${roomId}`
    this.load()
  }

  /** Takes the read positions of the members present (never our own: the caller leaves us
   * out); a position only moves forward. */
  observe(readers: readonly ReaderState[]): void {
    let moved = false
    const limit = this.now() + MAX_AHEAD_MS
    for (const { keyId, read } of readers) {
      if (!read || read.wall > limit) continue
      const known = this.read.get(keyId)
      if (known && compareSortKeys(read, known) <= 0) continue
      this.read.delete(keyId) // re-inserted: the map stays in least-recently-moved order
      this.read.set(keyId, read)
      moved = true
    }
    if (!moved) return
    while (this.read.size > MAX_READERS) this.read.delete(this.read.keys().next().value!)
    this.save()
    this.changed.emit()
  }

  /** Key ids of the members who have read the message sorted at `key` (or later ones). */
  readers(key: SortKey): string[] {
    const readers: string[] = []
    for (const [keyId, read] of this.read) if (compareSortKeys(key, read) <= 0) readers.push(keyId)
    return readers
  }

  /** Leaving the room forgets it with everything else of it. */
  clear(): void {
    this.read.clear()
    this.storage?.removeItem(this.storageKey)
  }

  destroy(): void {
    this.changed.clear()
  }

  private save(): void {
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(Object.fromEntries(this.read)))
    } catch {
      // Storage full or refused: remembered while the room is open.
    }
  }

  /** Whatever is stored was written by anyone with access to this origin: checked. */
  private load(): void {
    let raw: unknown
    try {
      raw = JSON.parse(this.storage?.getItem(this.storageKey) ?? 'null')
    } catch {
      return
    }
    if (typeof raw !== 'object' || raw === null) return
    for (const [keyId, value] of Object.entries(raw as Record<string, unknown>).slice(
      0,
      MAX_READERS,
    )) {
      const read = parseSortKey(value)
      if (read && isKeyId(keyId)) this.read.set(keyId, read)
    }
  }
}
