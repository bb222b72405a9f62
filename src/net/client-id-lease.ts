// This browser's Yjs client id for a room, reused across its sessions (docs/architecture.md: every
// transaction costs time in proportion to the client ids a document has seen, yjs#415), but
// only when the stored document proves reuse safe. Rules and why they hold: docs/local-storage.md
// ("The client-id lease").
//
// The lease is one record in the room's database (`custom` store). A session that holds the
// room's Web Lock marks it in use before anything is written; when it stops writing under its
// id (teardown, or pagehide: LocalStore then moves the document to a fresh id) it records the
// id with its clock, the number of structs ever created under it. The next holder reuses the id
// only if the stored document holds exactly that clock for it: everything written under the id
// is then stored, so its next write continues the clock instead of repeating one.
import * as Y from 'yjs'
import { asError, requestResult, transactionDone } from './idb-requests'

/** Key of the lease in the database's `custom` object store. */
export const CLIENT_LEASE_KEY = 'parley:client-id'
/** Version 1 records (`clean` without a clock) were written before their updates were stored:
 * they are never reused. */
const LEASE_VERSION = 2
const UPDATES = 'updates'
const CUSTOM = 'custom'

export interface ClientLease {
  readonly v: typeof LEASE_VERSION
  readonly clientId: number
  /** True once the session stopped writing under `clientId`; `clock` is then its final clock. */
  readonly clean: boolean
  readonly clock?: number
}

export function leaseRecord(clientId: number, clock: number | null): ClientLease {
  return clock === null
    ? { v: LEASE_VERSION, clientId, clean: false }
    : { v: LEASE_VERSION, clientId, clean: true, clock }
}

/** Yjs client ids are 32-bit unsigned integers (lib0 random.uint32); clocks count structs. */
function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff
}

/** The retired id and its final clock stored in `value`, if any; stored data is never trusted. */
export function retiredLease(value: unknown): { clientId: number; clock: number } | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const lease = value as Record<string, unknown>
  const { clientId, clock } = lease
  const valid = lease.v === LEASE_VERSION && lease.clean === true
  return valid && isUint32(clientId) && isUint32(clock) ? { clientId, clock } : undefined
}

/** How many structs the document holds from `clientId` (the next write's clock). */
function clockOf(doc: Y.Doc, clientId: number): number {
  return Y.getState(doc.store, clientId)
}

/** The subset of the Web Locks API the lease needs; injectable for tests and benchmarks. */
export interface LockManagerLike {
  request(
    name: string,
    options: { ifAvailable: true },
    callback: (lock: unknown) => Promise<void>,
  ): Promise<unknown>
}

export function defaultLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator
  return nav?.locks ?? null
}

/**
 * Takes the lock named after the database if no other tab holds it. Resolves to a release
 * function, or null when another tab holds it (or the browser has no Web Locks).
 */
export function tryHoldLock(
  locks: LockManagerLike | null,
  name: string,
): Promise<(() => void) | null> {
  if (!locks) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    locks
      .request(`parley-client-id/${name}`, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null)
          return Promise.resolve()
        }
        // Held until released: the callback's promise settles when we let go.
        return new Promise<void>((release) => resolve(release))
      })
      .catch(reject)
  })
}

export class ClientIdLease {
  /** Whether `take` gave the document the id of an earlier session. */
  reused = false
  private release: (() => void) | null = null

  constructor(
    private readonly databaseName: string,
    private readonly locks: LockManagerLike | null,
  ) {}

  /** Whether this tab holds the room's lease (one tab at a time). */
  get held(): boolean {
    return this.release !== null
  }

  /**
   * After the stored document is loaded and before anything is written to it: takes the lease
   * if no other tab holds it, gives `doc` the retired id if the stored state proves it safe,
   * and marks the lease in use (committed before this resolves). `fetchStored` applies what was
   * stored since the document was loaded (the last holder may have written after that).
   * Rejects if the lease cannot be read or marked; the document then keeps its fresh id.
   */
  async take(db: IDBDatabase, doc: Y.Doc, fetchStored: () => Promise<unknown>): Promise<void> {
    this.release = await tryHoldLock(this.locks, this.databaseName)
    if (!this.release) return
    const stored: unknown = await requestResult(
      db.transaction(CUSTOM, 'readonly').objectStore(CUSTOM).get(CLIENT_LEASE_KEY),
    )
    const retired = retiredLease(stored)
    if (retired && clockOf(doc, retired.clientId) < retired.clock) await fetchStored()
    // Fewer structs than the clock: some writes under the id never reached storage (they may
    // have reached peers). More: someone wrote under it after it was retired. Either way a
    // write under it could repeat a (client, clock) pair that already means something else.
    const reusable = retired && clockOf(doc, retired.clientId) === retired.clock
    const id = reusable ? retired.clientId : doc.clientID
    // In use from now on: a crash before the next `retire` leaves it unusable.
    const tx = db.transaction(CUSTOM, 'readwrite')
    tx.objectStore(CUSTOM).put(leaseRecord(id, null), CLIENT_LEASE_KEY)
    await transactionDone(tx)
    if (reusable) {
      doc.clientID = id
      this.reused = true
    }
  }

  /**
   * Records the document's id as retired at its current clock. The caller writes nothing more
   * under this id afterwards. The transaction is created now, ordered after every write created
   * before it (it spans `updates`); if those fail, the clock check of the next `take` refuses
   * the id. Resolves when committed; rejects with IndexedDB's error.
   */
  retire(db: IDBDatabase, doc: Y.Doc): Promise<void> {
    if (!this.release) return Promise.resolve()
    try {
      const tx = db.transaction([UPDATES, CUSTOM], 'readwrite')
      const clock = clockOf(doc, doc.clientID)
      tx.objectStore(CUSTOM).put(leaseRecord(doc.clientID, clock), CLIENT_LEASE_KEY)
      return transactionDone(tx)
    } catch (error) {
      return Promise.reject(asError(error))
    }
  }

  /** Lets another tab take the lease. */
  releaseLock(): void {
    this.release?.()
    this.release = null
  }
}
