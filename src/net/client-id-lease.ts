// Reuse of this browser's Yjs client id across its sessions of a room (DESIGN §3): every
// transaction costs time in proportion to the client ids a document has seen (yjs#415), and
// a new id per session adds one each time the room is opened.
//
// Reusing an id is safe only when everything ever written under it is in the document we
// load, so the next write continues its clock instead of reusing one. Hence: the id lives in
// the same IndexedDB database as the document (LocalStore), is read before any write, is held
// by one tab at a time with a Web Lock (a second tab takes a fresh id), and is marked `clean`
// only after every update written under it has been committed. A session that ended without
// marking it (crash, killed tab) leaves it `inUse`, and the next one takes a fresh id. What no
// local check can see — an update sent to peers in the milliseconds before a crash, never
// stored — Yjs detects itself when a peer later shows it our id ahead of us: it switches to
// a fresh id (yjs `cleanupTransactions`).

/** Key of the lease in the database's `custom` object store. */
export const CLIENT_LEASE_KEY = 'parley:client-id'
const LEASE_VERSION = 1

export interface ClientLease {
  readonly v: typeof LEASE_VERSION
  readonly clientId: number
  /** True once every update written under `clientId` is committed and no session uses it. */
  readonly clean: boolean
}

export function leaseRecord(clientId: number, clean: boolean): ClientLease {
  return { v: LEASE_VERSION, clientId, clean }
}

/** The id stored in `value` if it may be reused now; stored data is never trusted. */
export function reusableClientId(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const lease = value as Record<string, unknown>
  const id = lease.clientId
  // Yjs client ids are 32-bit unsigned integers (lib0 random.uint32).
  const valid = typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 0xffffffff
  return lease.v === LEASE_VERSION && lease.clean === true && valid ? id : undefined
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
