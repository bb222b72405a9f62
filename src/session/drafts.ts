// What the person is typing in a room, and what they sent that nothing has kept yet, held in
// the tab's Storage (sessionStorage) so that a reload, an app update or a reopen of the room
// never loses it. A sent text stays here until its message is stored in this browser, saved to
// the relay or delivered; one that never was comes back into the composer (docs/local-storage.md,
// "Drafts").
import { MAX_MESSAGE_CHARS } from '../model'

/** The write that put a message in the document: this client, up to this clock (its last). */
export interface WriteId {
  readonly client: number
  readonly clock: number
}

/** A sent text that nothing has kept yet. `id` and `write` are set once the message is in the
 * document. */
interface Unkept {
  readonly text: string
  id?: string
  write?: WriteId
}

interface Stored {
  readonly v: 1
  readonly text: string
  readonly unkept: readonly Unkept[]
}

/** A draft longer than this is cut when kept: twice what a message may hold, so the person can
 * still see (and trim) an over-long draft, while one room's draft stays ~16 KB of storage. */
const MAX_DRAFT_CHARS = 2 * MAX_MESSAGE_CHARS
/** Sent texts kept at most: a storage failure lasting a whole conversation keeps the newest
 * this many (each at most MAX_MESSAGE_CHARS), ~0.4 MB of the ~5 MB localStorage holds. */
const MAX_UNKEPT = 50

export class DraftKeeper {
  private draft = ''
  private unkept: Unkept[] = []
  /** Entries read from storage: sent by an earlier page of this tab. */
  private readonly earlier = new Set<Unkept>()
  private readonly key: string

  constructor(
    roomId: string,
    private readonly storage: Storage | undefined,
  ) {
    this.key = `parley:draft:${roomId}`
    this.read()
  }

  /** What the composer should show. */
  get text(): string {
    return this.draft
  }

  /** Sent texts not yet kept anywhere (for tests and the room's load). */
  get pending(): number {
    return this.unkept.length
  }

  /** The composer's text changed. */
  keep(text: string): void {
    this.draft = text.slice(0, MAX_DRAFT_CHARS)
    this.save()
  }

  /** `text` is being sent: kept as unkept until its message is; the draft is cleared unless
   * the person has typed something else meanwhile. Returns the entry to complete or drop. */
  sending(text: string): Unkept {
    const entry: Unkept = { text }
    this.unkept.push(entry)
    if (this.unkept.length > MAX_UNKEPT) this.unkept.splice(0, this.unkept.length - MAX_UNKEPT)
    if (this.draft === text) this.draft = ''
    this.save()
    return entry
  }

  /** The message is in the document under `id`, written as `write`. */
  sent(entry: Unkept, id: string, write: WriteId): void {
    entry.id = id
    entry.write = write
    this.save()
  }

  /** Sending failed before the message was written: the text is the draft again. */
  failed(entry: Unkept): void {
    this.drop((e) => e === entry)
    if (this.draft === '') this.draft = entry.text
    this.save()
  }

  /** Forgets the sent texts whose message `isKept` says is kept (stored here, by the relay or
   * by a peer). */
  settle(isKept: (id: string, write: WriteId) => boolean): void {
    const kept = (e: Unkept) => e.id !== undefined && e.write !== undefined && isKept(e.id, e.write)
    if (this.drop(kept)) this.save()
  }

  /**
   * After the room has loaded from this browser's storage: a sent text whose message is in the
   * room was kept after all; any other never reached storage or anyone (the page closed first),
   * so it goes back into the composer, after what is there. Returns whether the draft changed.
   */
  restoreUnkept(inRoom: (id: string) => boolean): boolean {
    const earlier = this.unkept.filter((e) => this.earlier.has(e))
    const lost = earlier.filter((e) => e.id === undefined || !inRoom(e.id))
    this.earlier.clear()
    this.unkept = this.unkept.filter((e) => !earlier.includes(e))
    if (lost.length > 0) {
      this.draft = [this.draft, ...lost.map((e) => e.text)]
        .filter((t) => t.length > 0)
        .join('\n')
        .slice(0, MAX_DRAFT_CHARS)
    }
    this.save()
    return lost.length > 0
  }

  /** Leaving the room: nothing of it stays in this browser. */
  clear(): void {
    this.draft = ''
    this.unkept = []
    this.storage?.removeItem(this.key)
  }

  private drop(which: (entry: Unkept) => boolean): boolean {
    const before = this.unkept.length
    this.unkept = this.unkept.filter((e) => !which(e))
    return this.unkept.length !== before
  }

  private read(): void {
    try {
      const raw: unknown = JSON.parse(this.storage?.getItem(this.key) ?? 'null')
      if (!raw || typeof raw !== 'object') return
      const { v, text, unkept } = raw as Partial<Stored>
      if (v !== 1) return
      if (typeof text === 'string') this.draft = text.slice(0, MAX_DRAFT_CHARS)
      if (Array.isArray(unkept)) this.unkept = unkept.filter(isUnkept).slice(-MAX_UNKEPT)
      for (const entry of this.unkept) this.earlier.add(entry)
    } catch {
      // Unreadable (written by something else): a draft is not worth failing the room for.
    }
  }

  private save(): void {
    try {
      if (this.draft === '' && this.unkept.length === 0) this.storage?.removeItem(this.key)
      else {
        const stored: Stored = { v: 1, text: this.draft, unkept: this.unkept }
        this.storage?.setItem(this.key, JSON.stringify(stored))
      }
    } catch {
      // Storage full or unavailable: the draft then lives as long as this page.
    }
  }
}

function isUnkept(value: unknown): value is Unkept {
  if (!value || typeof value !== 'object') return false
  const { text, id, write } = value as Record<string, unknown>
  if (typeof text !== 'string' || text.length > MAX_MESSAGE_CHARS) return false
  if (id !== undefined && typeof id !== 'string') return false
  if (write === undefined) return true
  const { client, clock } = (write ?? {}) as Record<string, unknown>
  return Number.isSafeInteger(client) && Number.isSafeInteger(clock)
}
