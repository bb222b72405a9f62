// What this browser knows of a room's history, kept apart from the shared document so nobody
// who can write to the document can rewrite it (docs/document-model.md, "The history ledger"):
// author keys pinned on first use, message ids known deleted with the tombstone that proves it,
// and the newest revision seen of each message. Knowledge only grows: data that disappears or
// comes back against it is shown as an anomaly. Kept in localStorage, validated on read (it
// is this browser's, but storage can be corrupted or edited); bounded, oldest dropped first.
import { isKeyId, isMessageId, parseTombstone, PUBLIC_KEY_BYTES, type SortKey } from '../model'
import { fromBase64Url, toBase64Url } from '../crypto'
import { Listeners } from '../lib/listeners'

/** A message this browser has shown verified: where it sorts and its newest revision. */
export interface SeenMessage extends SortKey {
  readonly revision: number
}

/** Bounds what one room can keep in localStorage (~1 MB at most for seen ids). */
export const LEDGER_MAX_SEEN = 10_000
export const LEDGER_MAX_DELETED = 2_000
export const LEDGER_MAX_KEYS = 1_000
const SAVE_DELAY_MS = 300
const FORMAT = 1

type StoredSeen = [id: string, wall: number, counter: number, author: string, revision: number]
interface Stored {
  v: number
  k: [keyId: string, publicKey: string][]
  s: StoredSeen[]
  d: [id: string, tombstone: string][]
}

export class HistoryLedger {
  /** Emits the ids whose knowledge changed (a pinned key changes no id). */
  readonly changed = new Listeners<[ids: readonly string[]]>()
  private readonly keys = new Map<string, string>()
  private readonly seenById = new Map<string, SeenMessage>()
  private readonly deleted = new Map<string, Uint8Array>()
  private readonly storageKey: string
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  private cleared = false

  constructor(
    roomId: string,
    private readonly storage: Storage | undefined,
  ) {
    this.storageKey = `parley:history:${roomId}`
    this.load()
  }

  /** The key pinned for `keyId`, if any. */
  pinned(keyId: string): Uint8Array | undefined {
    const key = this.keys.get(keyId)
    return key === undefined ? undefined : fromBase64Url(key)
  }

  /** Pins `publicKey` for `keyId` (the caller has checked that the id is the key's hash); false
   * when another key is pinned for it. */
  pin(keyId: string, publicKey: Uint8Array): boolean {
    const text = toBase64Url(publicKey)
    const known = this.keys.get(keyId)
    if (known !== undefined) return known === text
    if (this.keys.size >= LEDGER_MAX_KEYS) return true
    this.keys.set(keyId, text)
    this.scheduleSave()
    return true
  }

  seen(id: string): SeenMessage | undefined {
    return this.seenById.get(id)
  }

  seenIds(): IterableIterator<string> {
    return this.seenById.keys()
  }

  /** A verified message was shown at `revision`; an older revision changes nothing. */
  noteSeen(id: string, key: SortKey, revision: number): void {
    const known = this.seenById.get(id)
    if (known && known.revision >= revision) return
    const { wall, counter, author } = key
    this.seenById.set(id, { id, wall, counter, author, revision })
    trim(this.seenById, LEDGER_MAX_SEEN)
    this.scheduleSave()
    if (!known) return
    this.changed.emit([id])
  }

  /** `id` was ours and never kept anywhere (it comes back as a draft, drafts.ts): not a
   * message that vanished. */
  forget(id: string): void {
    if (this.seenById.delete(id)) this.scheduleSave()
  }

  /** The tombstone that proved `id` deleted here, as it was stored. */
  deletedProof(id: string): Uint8Array | undefined {
    return this.deleted.get(id)
  }

  deletedIds(): IterableIterator<string> {
    return this.deleted.keys()
  }

  /** `tombstone` has been verified as its author's delete of `id`. */
  noteDeleted(id: string, tombstone: Uint8Array): void {
    if (this.deleted.has(id)) return
    this.deleted.set(id, tombstone.slice())
    trim(this.deleted, LEDGER_MAX_DELETED)
    this.scheduleSave()
    this.changed.emit([id])
  }

  /** Writes what is pending now; from now on each change is written at once, so nothing is
   * left on a timer once the session is closed. */
  flush(): void {
    this.closed = true
    if (this.timer === undefined) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.save()
  }

  /** Forgets the room here (it was left): nothing is written after this. */
  clear(): void {
    this.cleared = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    try {
      this.storage?.removeItem(this.storageKey)
    } catch {
      // Nothing kept, or storage refused: either way nothing is left to read.
    }
  }

  private scheduleSave(): void {
    if (!this.storage || this.timer !== undefined) return
    if (this.closed) return this.save()
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.save()
    }, SAVE_DELAY_MS)
  }

  private save(): void {
    if (this.cleared) return
    const stored: Stored = {
      v: FORMAT,
      k: [...this.keys],
      s: [...this.seenById.values()].map((s) => [s.id, s.wall, s.counter, s.author, s.revision]),
      d: [...this.deleted].map(([id, stone]) => [id, toBase64Url(stone)]),
    }
    try {
      this.storage?.setItem(this.storageKey, JSON.stringify(stored))
    } catch {
      // Storage full or refused: the knowledge lasts as long as this session.
    }
  }

  /** Every entry is checked; a bad one is dropped, never trusted (docs/local-storage.md). */
  private load(): void {
    let stored: unknown
    try {
      const text = this.storage?.getItem(this.storageKey)
      if (!text) return
      stored = JSON.parse(text)
    } catch {
      return
    }
    if (!isObject(stored) || stored.v !== FORMAT) return
    for (const entry of arrayOf(stored.k).slice(0, LEDGER_MAX_KEYS)) {
      if (!Array.isArray(entry) || !isId(entry[0], isKeyId) || typeof entry[1] !== 'string')
        continue
      const key = safeBytes(entry[1])
      if (key?.length === PUBLIC_KEY_BYTES) this.keys.set(entry[0], entry[1])
    }
    for (const entry of arrayOf(stored.s).slice(-LEDGER_MAX_SEEN)) {
      if (!Array.isArray(entry) || entry.length !== 5) continue
      const [id, wall, counter, author, revision] = entry as unknown[]
      if (!isId(id, isMessageId) || !isId(author, isKeyId)) continue
      if (![wall, counter, revision].every((n) => Number.isSafeInteger(n) && (n as number) >= 0))
        continue
      const seen = { id, wall, counter, author, revision } as SeenMessage
      this.seenById.set(id, seen)
    }
    for (const entry of arrayOf(stored.d).slice(-LEDGER_MAX_DELETED)) {
      if (!Array.isArray(entry) || !isId(entry[0], isMessageId) || typeof entry[1] !== 'string')
        continue
      const stone = safeBytes(entry[1])
      if (stone && parseTombstone(stone).ok) this.deleted.set(entry[0], stone)
    }
  }
}

function isId(value: unknown, check: (text: string) => boolean): value is string {
  return typeof value === 'string' && check(value)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function safeBytes(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text)
  } catch {
    return undefined
  }
}

/** Drops the oldest entries (Maps iterate in insertion order) past `max`. */
function trim<T>(map: Map<string, T>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return
    map.delete(key)
  }
}
