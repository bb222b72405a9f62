// The room's copy in this browser: an IndexedDB database named after the room, loaded before
// any network so a room renders from local data first (DESIGN §4), and deleted completely
// when leaving. Also keeps this browser's Yjs client id for the room (client-id-lease.ts).
//
// y-indexeddb's IndexeddbPersistence opens the database, owns its layout (object store
// `updates`: Yjs updates under auto-increment keys, the lowest usually a snapshot of the whole
// document; store `custom`: here the client-id lease) and loads it (patched to skip corrupt
// updates: patches/README.md). Parley replaces only its storage policy, which costs too much
// (DESIGN §3): y-indexeddb stores each update in its own transaction without awaiting it (a
// quota error is silent) and rewrites the whole document every 500 updates (~180× the bytes
// of each message at 100k). Instead, LocalStore takes y-indexeddb's update handler off the
// document, stores the updates of one event-loop turn in one awaited transaction on
// y-indexeddb's database (a failure is kept in `writeError`), and compacts geometrically: once
// the updates after the snapshot add up to more bytes than the snapshot, one transaction
// applies what other tabs stored (y-indexeddb's `fetchUpdates`), adds a new snapshot and
// deletes every entry before it. So every byte is rewritten O(1) times on average, and loading
// never reads more than about twice the document. (y-indexeddb does not report the sizes it
// loaded: LocalStore reads them once more after loading, before its first write.)
import * as Y from 'yjs'
import { IndexeddbPersistence, fetchUpdates } from 'y-indexeddb'
import {
  CLIENT_LEASE_KEY,
  defaultLocks,
  leaseRecord,
  reusableClientId,
  tryHoldLock,
  type LockManagerLike,
} from './client-id-lease'

export class LocalStoreError extends Error {}

const UPDATES = 'updates'
const CUSTOM = 'custom'
/** Key in `custom` of the newest messages, for the first paint (session/recent-records.ts). */
const RECENT_KEY = 'recent'
/**
 * Below this many bytes of updates after the snapshot, compacting is not worth a transaction:
 * a small room (a few hundred messages) then loads from a handful of entries anyway.
 */
const MIN_COMPACT_BYTES = 64 * 1024

export interface LocalStoreOptions {
  /** Another IndexedDB (tests: fake-indexeddb); only where `globalThis.indexedDB` is writable,
   * since y-indexeddb opens the database through that global. */
  readonly factory?: IDBFactory
  /** Web Locks, for reusing the client id; null: always a fresh id (e.g. Node tests). */
  readonly locks?: LockManagerLike | null
}

type Listener = (error: Error) => void

function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new LocalStoreError('IndexedDB request failed'))
  })
}

/** Settles when the transaction commits or aborts. Handled even if nobody awaits it (a failed
 * request already reported the error). */
function completion(tx: IDBTransaction): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve()
    const fail = () => reject(tx.error ?? new LocalStoreError('IndexedDB transaction aborted'))
    tx.onabort = fail
    tx.onerror = fail
  })
  done.catch(() => undefined)
  return done
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new LocalStoreError(String(error))
}

/** y-indexeddb opens the database through the global `indexedDB`, synchronously in its
 * constructor: another factory is put in its place for that call only. */
function openPersistence(name: string, doc: Y.Doc, factory: IDBFactory | undefined) {
  const scope = globalThis as { indexedDB?: IDBFactory }
  const previous = scope.indexedDB
  if (!factory || factory === previous) return new IndexeddbPersistence(name, doc)
  scope.indexedDB = factory
  try {
    return new IndexeddbPersistence(name, doc)
  } finally {
    scope.indexedDB = previous
  }
}

/** Resolves once y-indexeddb has loaded the database; rejects if it cannot open it or its
 * load transaction aborts first (it would never report `synced` then). */
async function synced(persistence: IndexeddbPersistence): Promise<void> {
  const db = await persistence._db
  let onAbort: (event: Event) => void = () => undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = (event) => {
      const error = (event.target as IDBTransaction | null)?.error
      reject(error ?? new LocalStoreError('Could not load local data'))
    }
    db.addEventListener('abort', onAbort)
  })
  try {
    await Promise.race([persistence.whenSynced, aborted])
  } finally {
    db.removeEventListener('abort', onAbort)
  }
  // y-indexeddb reports `synced` before it has set `_dbref` (the key from which fetchUpdates
  // reads what is new) in the same transaction: wait for that transaction to end.
  await completion(db.transaction(UPDATES, 'readonly')).catch(() => undefined)
}

export class LocalStore {
  /** Stored updates that could not be applied (corrupt local data); the rest still load, and
   * peers fill in what they have (patches/README.md: y-indexeddb). */
  damagedUpdates = 0
  /** The last failed write (e.g. the quota is exhausted); null while all is well. */
  writeError: Error | null = null
  /** Whether this session reuses the client id of an earlier one (for tests and benchmarks). */
  reusedClientId = false
  private readonly persistence: IndexeddbPersistence
  private readonly locks: LockManagerLike | null
  private readonly loading: Promise<void>
  private destroyed: Promise<void> | undefined
  private closing = false
  /** Updates waiting for the next write transaction. */
  private queue: Uint8Array[] = []
  /** The current write (or compaction), chained so transactions run one after another. */
  private writing: Promise<void> = Promise.resolve()
  private writeScheduled = false
  private compactScheduled = false
  /** Bytes of the entry with the lowest key (the snapshot) and of everything after it. */
  private snapshotBytes = 0
  private logBytes = 0
  private releaseLock: (() => void) | null = null
  /** Whether the lease in storage says `clean` (set at pagehide, cleared on the next write). */
  private leaseClean = false
  private readonly listeners = new Set<Listener>()

  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    // Updates y-indexeddb applied from the database are stored already.
    if (origin === this.persistence || this.closing) return
    this.queue.push(update)
    this.scheduleWrite()
  }

  private readonly onCorrupt = (count: number): void => {
    this.damagedUpdates += count
  }

  private readonly onPageHide = (): void => {
    if (this.releaseLock) void this.markLease(true)
  }

  constructor(
    readonly databaseName: string,
    readonly doc: Y.Doc,
    options: LocalStoreOptions = {},
  ) {
    this.locks = options.locks === undefined ? defaultLocks() : options.locks
    this.persistence = openPersistence(databaseName, doc, options.factory)
    // Our policy instead of y-indexeddb's: it has not stored anything yet (its database is
    // still opening), and never will, so its 500-update rewrite never runs either.
    doc.off('update', this.persistence._storeUpdate)
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

  /** Resolves once every update so far is committed (or has failed: see `writeError`). */
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

  /**
   * What `saveRecent` stored, read without y-indexeddb and without loading the document, so a
   * room can paint before its whole document is read. Undefined when there is none, the room
   * has no database here (none is created), or it cannot be read: the room then opens as usual.
   */
  static async readRecent(
    databaseName: string,
    factory: IDBFactory | undefined = globalThis.indexedDB,
  ): Promise<Uint8Array | undefined> {
    let db: IDBDatabase | undefined
    if (!factory) return undefined
    try {
      db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = factory.open(databaseName)
        // A new database: leave creating it (and its layout) to y-indexeddb.
        request.onupgradeneeded = () => request.transaction?.abort()
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error ?? new LocalStoreError('open failed'))
      })
      if (!db.objectStoreNames.contains(CUSTOM)) return undefined
      const value: unknown = await requestResult(
        db.transaction(CUSTOM, 'readonly').objectStore(CUSTOM).get(RECENT_KEY),
      )
      return value instanceof Uint8Array ? value : undefined
    } catch {
      return undefined
    } finally {
      db?.close()
    }
  }

  /** Keeps the newest messages beside the document (replacing what was kept before); after
   * every write queued so far. A failure is reported like any write's. */
  saveRecent(recent: Uint8Array): Promise<void> {
    this.writing = this.writing.then(async () => {
      const db = this.db
      if (!db || this.closing) return
      try {
        const tx = db.transaction(CUSTOM, 'readwrite')
        tx.objectStore(CUSTOM).put(recent, RECENT_KEY)
        await completion(tx)
      } catch (error) {
        this.fail(error)
      }
    })
    return this.writing
  }

  /** y-indexeddb's connection (it closes it when another tab deletes the room). */
  private get db(): IDBDatabase | null {
    return this.persistence.db
  }

  private async load(): Promise<void> {
    await synced(this.persistence)
    const release = await tryHoldLock(this.locks, this.databaseName)
    this.releaseLock = release
    if (release) {
      // Ours until we let go. The last holder marked the lease clean only after its updates
      // were committed, but maybe after y-indexeddb loaded: fetch what was stored since, so
      // that a reused id continues from its last write. Then reuse the id if that session
      // finished cleanly, and mark it in use before anything is written under it (so a crash
      // from now on retires it).
      await fetchUpdates(this.persistence)
      const lease: unknown = await this.persistence.get(CLIENT_LEASE_KEY)
      const reusable = reusableClientId(lease)
      if (reusable !== undefined) {
        this.doc.clientID = reusable
        this.reusedClientId = true
      }
      await this.markLease(false)
      if (typeof addEventListener === 'function') addEventListener('pagehide', this.onPageHide)
    }
  }

  /** Reads the sizes of the stored entries (y-indexeddb's load does not report them). */
  private async measure(): Promise<void> {
    const db = this.db
    if (!db || this.closing) return
    try {
      const store = db.transaction(UPDATES, 'readonly').objectStore(UPDATES)
      const values = await requestResult<unknown[]>(store.getAll())
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

  private scheduleWrite(): void {
    if (this.writeScheduled) return
    this.writeScheduled = true
    // Updates of one event-loop turn share a transaction.
    this.writing = this.writing.then(async () => {
      await this.loading.catch(() => undefined)
      this.writeScheduled = false
      await this.writeQueued()
    })
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue
    this.queue = []
    const db = this.db
    if (batch.length === 0 || !db) return
    try {
      const tx = db.transaction([UPDATES, CUSTOM], 'readwrite')
      const store = tx.objectStore(UPDATES)
      if (this.leaseClean) {
        // Written again after pagehide (the page came back from the back/forward cache).
        tx.objectStore(CUSTOM).put(leaseRecord(this.doc.clientID, false), CLIENT_LEASE_KEY)
        this.leaseClean = false
      }
      const added = batch.map((update) => requestResult(store.add(update)))
      const done = completion(tx)
      const keys = (await Promise.all(added)).map(Number)
      await done
      // Entries from y-indexeddb's `_dbref` on are read again by the next fetchUpdates. If no
      // other tab added one before ours (they are consecutive), skip ours: they are applied.
      if (keys[0] === this.persistence._dbref) this.persistence._dbref = keys[keys.length - 1] + 1
      const bytes = batch.reduce((sum, update) => sum + update.length, 0)
      if (this.snapshotBytes + this.logBytes < MIN_COMPACT_BYTES) {
        // A store this small counts as empty: its first large entry serves as the snapshot,
        // so a newcomer's first sync (the whole room in one update) is not rewritten at once.
        this.snapshotBytes += this.logBytes + batch[0].length
        this.logBytes = bytes - batch[0].length
      } else this.logBytes += bytes
      if (this.shouldCompact()) this.scheduleCompaction()
    } catch (error) {
      this.fail(error)
    }
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
   * One read-write transaction (IndexedDB serializes them per store, so no tab writes in
   * between): y-indexeddb's `fetchUpdates` applies what other tabs stored since we last read
   * (so nothing is lost), then we add a snapshot of the document and delete every entry
   * before it. Like y-indexeddb's `storeState`, but awaited, with errors reported, and without
   * reading the new snapshot back at the next compaction.
   */
  private async compact(): Promise<void> {
    const persistence = this.persistence
    try {
      const store = await fetchUpdates(persistence)
      const done = completion(store.transaction)
      const snapshot = Y.encodeStateAsUpdate(this.doc)
      const added = requestResult(store.add(snapshot))
      // fetchUpdates set `_dbref` past the last entry it read.
      const deleted = requestResult(store.delete(IDBKeyRange.upperBound(persistence._dbref, true)))
      const [key] = await Promise.all([added, deleted, done])
      persistence._dbref = Number(key) + 1
      this.snapshotBytes = snapshot.length
      this.logBytes = 0
    } catch (error) {
      this.fail(error)
    }
  }

  private async markLease(clean: boolean): Promise<void> {
    const db = this.db
    if (!db) return
    try {
      // Spans `updates` too, so it commits only after every update written before it.
      const tx = db.transaction([UPDATES, CUSTOM], 'readwrite')
      tx.objectStore(CUSTOM).put(leaseRecord(this.doc.clientID, clean), CLIENT_LEASE_KEY)
      this.leaseClean = clean
      await completion(tx)
    } catch (error) {
      this.fail(error)
    }
  }

  private fail(error: unknown): void {
    const failure = asError(error)
    this.writeError = failure
    console.error(`Parley could not save to this browser's storage: ${failure.message}`)
    for (const listener of [...this.listeners]) listener(failure)
  }

  private async teardown(): Promise<void> {
    await this.loading.catch(() => undefined)
    // Updates already made are still saved; later ones (the document is closing) are not.
    await this.flushed()
    this.closing = true
    this.doc.off('update', this.onUpdate)
    if (typeof removeEventListener === 'function') removeEventListener('pagehide', this.onPageHide)
    if (this.releaseLock) {
      await this.markLease(true)
      this.releaseLock()
      this.releaseLock = null
    }
    this.listeners.clear()
    this.persistence.off('corrupt', this.onCorrupt)
    // Closes the database (rejects if it never opened: loaded() reported that already).
    await this.persistence.destroy().catch(() => undefined)
  }
}
