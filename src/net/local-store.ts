// The room's copy in this browser: an IndexedDB database named after the room, loaded before
// any network so a room renders from local data first (docs/connection-state.md), written in one awaited
// transaction per event-loop turn, compacted geometrically, deleted completely when leaving.
// Layout, policy and failure handling: docs/local-storage.md.
//
// y-indexeddb opens the database, owns its layout and loads it; Parley's patch to it
// (patches/README.md) lets LocalStore choose its storage policy through the package's API:
// `storeUpdates: false` (y-indexeddb stores nothing itself), `appendUpdates` (awaited, errors
// reported) and `storeState` (the compaction, awaited). The client id is reused through
// client-id-lease.ts, the newest messages are kept by recent-cache.ts, and every failed write
// sets `problem` (storage-problem.ts) until a write succeeds again.
import * as Y from 'yjs'
import { uint32 } from 'lib0/random'
import { IndexeddbPersistence, appendUpdates, fetchUpdates, storeState } from 'y-indexeddb'
import { Listeners } from '../lib/listeners'
import { ClientIdLease, defaultLocks, type LockManagerLike } from './client-id-lease'
import { LocalStoreError, asError, requestResult } from './idb-requests'
import { readRecent, writeRecent } from './recent-cache'
import { StoredUpdateGuard } from './stored-update-guard'
import {
  askForPersistence,
  defaultStorageManager,
  problemOf,
  type StorageManagerLike,
  type StorageProblem,
} from './storage-problem'

export { LocalStoreError }

const UPDATES = 'updates'
/**
 * Below this many bytes of updates after the snapshot, compacting is not worth a transaction:
 * a small room (a few hundred messages) then loads from a handful of entries anyway.
 */
const MIN_COMPACT_BYTES = 64 * 1024
/**
 * After a failed write, the updates it held are tried again with the next write, or after this
 * long if nothing is written meanwhile: a full quota or a busy disk may clear up while the
 * room is open (the user frees space), and trying more often only repeats the same error.
 */
const RETRY_MS = 15_000

/** The page's lifecycle events (`pagehide`); injectable so tests can hide a page. */
export interface PageLifecycle {
  addEventListener(type: 'pagehide', listener: () => void): void
  removeEventListener(type: 'pagehide', listener: () => void): void
}

export interface LocalStoreOptions {
  /** Another IndexedDB (tests: fake-indexeddb); default the global `indexedDB`. */
  readonly factory?: IDBFactory
  /** Web Locks, for reusing the client id; null: always a fresh id (e.g. Node tests). */
  readonly locks?: LockManagerLike | null
  /** For asking for persistent storage once a new room is stored; null: never ask. */
  readonly storage?: StorageManagerLike | null
  /** Where `pagehide` is heard; default the global scope when it has one (browsers). */
  readonly page?: PageLifecycle | null
}

type Listener = (error: Error) => void

function defaultPage(): PageLifecycle | null {
  const scope = globalThis as Partial<PageLifecycle>
  return typeof scope.addEventListener === 'function' ? (scope as PageLifecycle) : null
}

export class LocalStore {
  /** Stored updates that were not applied: refused by the update guard (damaged or tampered
   * local data, stored-update-guard.ts) or throwing in Yjs. The rest still load, and peers fill
   * in what they have (patches/README.md: y-indexeddb). `problemChanged` fires as it grows. */
  damagedUpdates = 0
  /** The last failed write (e.g. the quota is exhausted); null while all is well. */
  writeError: Error | null = null
  /** What is wrong with storing this room, until a write succeeds again; null while all is
   * well. `problemChanged` fires when it changes. */
  problem: StorageProblem | null = null
  readonly problemChanged = new Listeners()
  /** Fires after a write commits: `storedClock` may have grown. */
  readonly written = new Listeners()
  private readonly persistence: IndexeddbPersistence
  private readonly lease: ClientIdLease
  private readonly storage: StorageManagerLike | null
  private readonly page: PageLifecycle | null
  private readonly loading: Promise<void>
  private destroyed: Promise<void> | undefined
  private closing = false
  /** Updates waiting for the next write transaction. */
  private queue: Uint8Array[] = []
  /** Updates whose write failed, merged into one; written with the next batch. */
  private unsaved: Uint8Array | null = null
  /** Per client id this document wrote with, the clock its updates in `unsaved` reach. */
  private unsavedClocks = new Map<number, number>()
  /** Per client id this document wrote with, the clock up to which its writes are committed. */
  private readonly storedClocks = new Map<number, number>()
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  /** The current write (or compaction), chained so transactions run one after another. */
  private writing: Promise<void> = Promise.resolve()
  private writeScheduled = false
  private compactScheduled = false
  /** Bytes of the entry with the lowest key (the snapshot) and of everything after it. */
  private snapshotBytes = 0
  private logBytes = 0
  /** The database held nothing when loaded: the room is new in this browser. */
  private newHere = false
  private readonly listeners = new Set<Listener>()

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    // Updates y-indexeddb applied from the database are stored already.
    if (origin === this.persistence || this.closing) return
    this.queue.push(update)
    this.scheduleWrite()
  }

  private readonly onCorrupt = (count: number): void => {
    this.damagedUpdates += count
    this.problemChanged.emit()
  }

  /** The page may be discarded from here on without another event: store what is queued now,
   * retire the client id, and write anything after (back from the back/forward cache) under a
   * fresh one (docs/local-storage.md, "The client-id lease"). */
  private readonly onPageHide = (): void => {
    const db = this.db
    if (this.closing || !db || !this.lease.held) return
    this.track(this.writeBatch(...this.takeBatch()))
    this.track(this.lease.retire(db, this.doc).catch((error: unknown) => this.fail(error)))
    // In a transaction, so that followers of the id (awareness-client-id.ts) see it change.
    this.doc.transact(() => {
      this.doc.clientID = uint32()
    }, this)
  }

  /** The browser closed the connection itself (e.g. it evicted the site's data). */
  private readonly onClosedByBrowser = (): void => {
    this.fail(new LocalStoreError('The browser closed this room’s storage'))
  }

  constructor(
    readonly databaseName: string,
    readonly doc: Y.Doc,
    options: LocalStoreOptions = {},
  ) {
    this.lease = new ClientIdLease(
      databaseName,
      options.locks === undefined ? defaultLocks() : options.locks,
    )
    this.storage = options.storage === undefined ? defaultStorageManager() : options.storage
    this.page = options.page === undefined ? defaultPage() : options.page
    // Our policy instead of y-indexeddb's (which stores each update in a transaction nobody
    // awaits and rewrites the whole room every 500 updates).
    const guard = new StoredUpdateGuard(databaseName, () => this.onCorrupt(1))
    this.persistence = new IndexeddbPersistence(databaseName, doc, {
      indexedDB: options.factory ?? globalThis.indexedDB,
      storeUpdates: false,
      acceptUpdate: guard.accept,
    })
    this.persistence.on('corrupt', this.onCorrupt)
    doc.on('update', this.onUpdate)
    this.loading = this.load()
    // Settled here too, so a store destroyed before anyone awaited loaded() rejects nothing.
    this.loading.catch(() => undefined)
    // Before any write of ours: how many bytes the snapshot and the log after it hold.
    this.writing = this.loading.then(
      () => this.measure(),
      () => undefined,
    )
  }

  /** Resolves once everything stored locally has been applied to the document and the client
   * id is settled: nothing should be written to the document before. */
  loaded(): Promise<void> {
    return this.loading
  }

  /** The clock up to which this session's writes under `client` are committed here: a write
   * with a lower clock is in this browser's storage. */
  storedClock(client: number): number {
    return this.storedClocks.get(client) ?? 0
  }

  /** Whether this session reuses the client id of an earlier one (for tests and benchmarks). */
  get reusedClientId(): boolean {
    return this.lease.reused
  }

  /** Resolves once every update so far is committed (or has failed: see `problem`). */
  async flushed(): Promise<void> {
    await this.loading.catch(() => undefined)
    // A write may schedule a compaction: wait until the chain stops growing.
    for (;;) {
      const current = this.writing
      await current
      if (current === this.writing && this.queue.length === 0) return
    }
  }

  /** Called with each failed write. Returns an unsubscribe function. */
  onWriteError(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  destroy(): Promise<void> {
    this.destroyed ??= this.teardown()
    return this.destroyed
  }

  /** Deletes the room's database, waiting for IndexedDB to confirm it (y-indexeddb's
   * clearData() resolves before the deletion is done). */
  static deleteDatabase(databaseName: string, factory: IDBFactory = indexedDB): Promise<void> {
    return new Promise((resolve, reject) => {
      const request = factory.deleteDatabase(databaseName)
      request.onsuccess = () => resolve()
      request.onerror = () =>
        reject(new LocalStoreError(`Could not delete local data: ${String(request.error)}`))
      // Another tab still has the room open; the deletion completes once it closes it.
      request.onblocked = () => undefined
    })
  }

  /** The newest messages kept by `saveRecent`, read without loading the document
   * (recent-cache.ts); undefined when there are none or they cannot be read. */
  static readRecent(
    databaseName: string,
    factory: IDBFactory | undefined = globalThis.indexedDB,
  ): Promise<Uint8Array | undefined> {
    return readRecent(databaseName, factory)
  }

  /** Keeps the newest messages beside the document (replacing what was kept before); after
   * every write queued so far. A failure is reported like any write's. */
  saveRecent(recent: Uint8Array): Promise<void> {
    this.writing = this.writing.then(async () => {
      const db = this.db
      if (!db || this.closing) return
      await writeRecent(db, recent).then(
        () => this.recovered(),
        (error: unknown) => this.fail(error),
      )
    })
    return this.writing
  }

  /** y-indexeddb's connection (it closes it when another tab deletes the room). */
  private get db(): IDBDatabase | null {
    return this.persistence.db
  }

  private async load(): Promise<void> {
    await this.persistence.whenSynced
    const db = this.db
    if (!db) return
    db.addEventListener('close', this.onClosedByBrowser)
    try {
      await this.lease.take(db, this.doc, () => fetchUpdates(this.persistence))
    } catch (error) {
      // The room still opens, with a fresh client id.
      this.fail(error)
    }
    if (this.lease.held) this.page?.addEventListener('pagehide', this.onPageHide)
  }

  /** Reads the sizes of the stored entries (y-indexeddb's load does not report them). */
  private async measure(): Promise<void> {
    const db = this.db
    if (!db || this.closing) return
    try {
      const store = db.transaction(UPDATES, 'readonly').objectStore(UPDATES)
      const values = await requestResult<unknown[]>(store.getAll())
      // y-indexeddb (with `storeUpdates: false`) adds nothing to a new database.
      this.newHere = values.length === 0
      values.forEach((value, i) => {
        const bytes = value instanceof Uint8Array ? value.length : 0
        if (i === 0) this.snapshotBytes = bytes
        else this.logBytes += bytes
      })
    } catch {
      // Only the compaction policy needs the sizes: it counts from our own writes instead.
      return
    }
    if (this.shouldCompact()) this.scheduleCompaction()
  }

  /** Adds `write` to the chain that `flushed()` waits for. */
  private track(write: Promise<void>): void {
    this.writing = this.writing.then(() => write)
  }

  private scheduleWrite(): void {
    if (this.writeScheduled) return
    this.writeScheduled = true
    // Updates of one event-loop turn share a transaction.
    this.writing = this.writing.then(async () => {
      await this.loading.catch(() => undefined)
      this.writeScheduled = false
      await this.writeBatch(...this.takeBatch())
    })
  }

  /** What is queued, after anything whose write failed before, and the clocks of our own
   * writes it reaches (the queue holds every update up to now). */
  private takeBatch(): [Uint8Array[], Map<number, number>] {
    const batch = this.unsaved ? [this.unsaved, ...this.queue] : this.queue
    const clocks = this.unsavedClocks
    if (this.queue.length > 0) {
      const client = this.doc.clientID
      clocks.set(client, Y.getState(this.doc.store, client))
    }
    this.queue = []
    this.unsaved = null
    this.unsavedClocks = new Map()
    return [batch, clocks]
  }

  /** Starts the transaction now (pagehide relies on it) and settles when it has. */
  private writeBatch(batch: Uint8Array[], clocks: Map<number, number>): Promise<void> {
    if (batch.length === 0 || !this.db) return Promise.resolve()
    return appendUpdates(this.persistence, batch).then(
      () => {
        for (const [client, clock] of clocks)
          this.storedClocks.set(client, Math.max(clock, this.storedClock(client)))
        const bytes = batch.reduce((sum, update) => sum + update.length, 0)
        if (this.snapshotBytes + this.logBytes < MIN_COMPACT_BYTES) {
          // A store this small counts as empty: its first large entry serves as the snapshot,
          // so a newcomer's first sync (the whole room in one update) is not rewritten at once.
          this.snapshotBytes += this.logBytes + batch[0].length
          this.logBytes = bytes - batch[0].length
        } else this.logBytes += bytes
        this.recovered()
        if (this.newHere) {
          // The first time this browser stores the room: ask to keep it (storage-problem.ts).
          this.newHere = false
          void askForPersistence(this.storage)
        }
        if (this.shouldCompact()) this.scheduleCompaction()
        this.written.emit()
      },
      (error: unknown) => {
        // Still in the document, and written with the next batch: nothing is dropped.
        this.unsaved = batch.length === 1 ? batch[0] : Y.mergeUpdates(batch)
        for (const [client, clock] of clocks)
          this.unsavedClocks.set(client, Math.max(clock, this.unsavedClocks.get(client) ?? 0))
        this.fail(error)
        this.scheduleRetry()
      },
    )
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closing) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (this.unsaved) this.scheduleWrite()
    }, RETRY_MS)
  }

  private shouldCompact(): boolean {
    return this.logBytes >= Math.max(this.snapshotBytes, MIN_COMPACT_BYTES)
  }

  private scheduleCompaction(): void {
    if (this.compactScheduled || this.closing) return
    this.compactScheduled = true
    this.writing = this.writing.then(async () => {
      this.compactScheduled = false
      if (!this.closing && this.shouldCompact()) await this.compact()
    })
  }

  /**
   * y-indexeddb's `storeState` (patched: awaited, errors reported): in one read-write
   * transaction (IndexedDB serializes them per store, so no tab writes in between) it applies
   * what other tabs stored since we last read (so nothing is lost), adds a snapshot of the
   * document and deletes every entry before it.
   */
  private async compact(): Promise<void> {
    try {
      const bytes = await storeState(this.persistence, true)
      this.snapshotBytes = bytes ?? this.snapshotBytes + this.logBytes
      this.logBytes = 0
      this.recovered()
    } catch (error) {
      this.fail(error)
    }
  }

  private fail(error: unknown): void {
    const failure = asError(error)
    this.writeError = failure
    console.error(`Parley could not save to this browser's storage: ${failure.message}`)
    for (const listener of [...this.listeners]) listener(failure)
    this.setProblem(problemOf(failure))
  }

  /** A write succeeded: storage works (again). */
  private recovered(): void {
    if (this.unsaved) return
    this.writeError = null
    this.setProblem(null)
  }

  private setProblem(problem: StorageProblem | null): void {
    if (this.problem === problem) return
    this.problem = problem
    this.problemChanged.emit()
  }

  private async teardown(): Promise<void> {
    await this.loading.catch(() => undefined)
    // Updates already made are still saved (one more try for any that failed); later ones
    // (the document is closing) are not.
    if (this.unsaved) this.scheduleWrite()
    await this.flushed()
    this.closing = true
    clearTimeout(this.retryTimer)
    this.doc.off('update', this.onUpdate)
    this.page?.removeEventListener('pagehide', this.onPageHide)
    const db = this.db
    if (db && this.lease.held) {
      await this.lease.retire(db, this.doc).catch((error: unknown) => this.fail(error))
    }
    this.lease.releaseLock()
    this.db?.removeEventListener('close', this.onClosedByBrowser)
    this.listeners.clear()
    this.problemChanged.clear()
    this.written.clear()
    this.persistence.off('corrupt', this.onCorrupt)
    // Closes the database (rejects if it never opened: loaded() reported that already).
    await this.persistence.destroy().catch(() => undefined)
  }
}
