// What is wrong with this browser's storage of a room, as the UI shows it, and the request
// for persistent storage that makes eviction unlikely (docs/local-storage.md, "When storage
// fails"). LocalStore reports every failed write here; the first one that succeeds clears it.

/** `quota`: the browser has no room left for this site; `failed`: any other storage error
 * (the database was closed or deleted by the browser, a disk error). */
export type StorageProblem = 'quota' | 'failed'

export function problemOf(error: Error): StorageProblem {
  // Browsers report a full quota as a DOMException named QuotaExceededError (on the request or
  // the aborted transaction); Firefox's older name for it is NS_ERROR_DOM_QUOTA_REACHED.
  return error.name === 'QuotaExceededError' || error.name === 'NS_ERROR_DOM_QUOTA_REACHED'
    ? 'quota'
    : 'failed'
}

/** The subset of the Storage API (`navigator.storage`) used here; injectable for tests. */
export interface StorageManagerLike {
  persisted(): Promise<boolean>
  persist(): Promise<boolean>
}

export function defaultStorageManager(): StorageManagerLike | null {
  const nav = (globalThis as { navigator?: { storage?: Partial<StorageManagerLike> } }).navigator
  const storage = nav?.storage
  return storage && typeof storage.persist === 'function' && typeof storage.persisted === 'function'
    ? (storage as StorageManagerLike)
    : null
}

/**
 * Asks the browser to keep this site's storage under pressure instead of evicting it (best
 * effort storage is evicted first). Chromium decides without asking the user; Firefox asks once
 * and remembers. Resolves whether storage is persistent; never rejects.
 */
export async function askForPersistence(storage: StorageManagerLike | null): Promise<boolean> {
  if (!storage) return false
  try {
    return (await storage.persisted()) || (await storage.persist())
  } catch {
    return false
  }
}
