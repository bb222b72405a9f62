// Where this browser has read a room up to (issue 12 §5, docs/architecture.md): the sort key of
// the newest message seen at the bottom of the list. Local only — never in the shared
// document — kept in localStorage so a reload keeps the place and other tabs of the room move
// with it (storage events). It only moves forward: reading older messages never unreads newer
// ones. Whether the person shares it with the room's members ("Seen by", seen-by.ts) is one
// setting for all rooms of this browser.
import { compareSortKeys, isKeyId, isMessageId, type SortKey } from '../model'
import { Listeners } from '../lib/listeners'

/** Set to 'off' when the person does not share how far they have read. */
const SHARING_KEY = 'parley:share-read'

export class ReadPosition {
  readonly changed = new Listeners<[]>()
  private key: SortKey | undefined
  /** The sharing choice made in this tab (kept even if storage refuses it). */
  private sharedHere: boolean | undefined
  private readonly storageKey: string
  private readonly onStorage = (event: StorageEvent): void => {
    if (event.key === SHARING_KEY) {
      this.sharedHere = undefined
      return this.changed.emit()
    }
    if (event.key !== this.storageKey) return
    const stored = this.load()
    if (stored && (!this.key || compareSortKeys(stored, this.key) > 0)) {
      this.key = stored
      this.changed.emit()
    }
  }

  constructor(
    roomId: string,
    private readonly storage: Storage | undefined,
  ) {
    this.storageKey = `parley:read:${roomId}`
    this.key = this.load()
    if (storage && typeof window !== 'undefined') window.addEventListener('storage', this.onStorage)
  }

  /** The newest message read here, or undefined if this browser has never read the room. */
  get(): SortKey | undefined {
    return this.key
  }

  /** Whether the person lets the room's members see how far they have read (default yes, as
   * read receipts are in the chat apps people know; a switch turns it off). */
  get shared(): boolean {
    if (this.sharedHere !== undefined) return this.sharedHere
    try {
      return this.storage?.getItem(SHARING_KEY) !== 'off'
    } catch {
      return true
    }
  }

  setShared(on: boolean): void {
    this.sharedHere = on
    try {
      if (on) this.storage?.removeItem(SHARING_KEY)
      else this.storage?.setItem(SHARING_KEY, 'off')
    } catch {
      // Storage refused: the choice holds for this room while it is open.
    }
    this.changed.emit()
  }

  /** What presence says of our reading: the position if shared, else nothing. */
  sharedPosition(): SortKey | undefined {
    return this.shared ? this.key : undefined
  }

  /** Whether `key` is past what was read (everything is, in a room never read here). */
  isUnread(key: SortKey): boolean {
    return !this.key || compareSortKeys(key, this.key) > 0
  }

  /** The reader has seen everything up to `key`; an older key changes nothing. */
  markRead(key: SortKey): void {
    if (this.key && compareSortKeys(key, this.key) <= 0) return
    this.key = { wall: key.wall, counter: key.counter, author: key.author, id: key.id }
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(this.key))
    } catch {
      // Storage full or refused: the place is kept for this tab only.
    }
    this.changed.emit()
  }

  /** Leaving the room forgets the place with everything else of it. */
  clear(): void {
    this.key = undefined
    this.storage?.removeItem(this.storageKey)
  }

  destroy(): void {
    if (typeof window !== 'undefined') window.removeEventListener('storage', this.onStorage)
    this.changed.clear()
  }

  /** A stored value is whatever another tab or an extension wrote: checked, never trusted. */
  private load(): SortKey | undefined {
    try {
      return parseSortKey(JSON.parse(this.storage?.getItem(this.storageKey) ?? 'null'))
    } catch {
      return undefined
    }
  }
}

/** A sort key from JSON that anyone may have written (storage, another member's presence):
 * the key, copied, or undefined for anything that is not one. */
export function parseSortKey(raw: unknown): SortKey | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const { wall, counter, author, id } = raw as Record<string, unknown>
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(counter)) return undefined
  if ((wall as number) < 0 || (counter as number) < 0) return undefined
  if (typeof author !== 'string' || !isKeyId(author)) return undefined
  if (typeof id !== 'string' || !isMessageId(id)) return undefined
  return { wall: wall as number, counter: counter as number, author, id }
}
