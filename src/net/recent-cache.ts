// The newest messages of a room kept beside its document, for the first paint
// (session/recent-records.ts builds and reads the bytes): one value in the room database's
// `custom` store, read without loading the document (docs/local-storage.md).
import { LocalStoreError, asError, requestResult, transactionDone } from './idb-requests'
import { storedUpdateRefusal } from './stored-update-guard'

const CUSTOM = 'custom'
/** Key in `custom` of the newest messages. */
const RECENT_KEY = 'recent'

/**
 * What `writeRecent` stored, read without y-indexeddb and without loading the document, so a
 * room can paint before its whole document is read. Undefined when there is none, the room
 * has no database here (none is created), or it cannot be read or fails the update guard
 * (stored-update-guard.ts): the room then opens as usual.
 */
export async function readRecent(
  databaseName: string,
  factory: IDBFactory | undefined,
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
    if (value === undefined) return undefined
    const refusal = storedUpdateRefusal(value)
    if (refusal !== null) {
      console.warn(`Parley: skipped the newest messages kept for a quick start (${refusal})`)
      return undefined
    }
    return value as Uint8Array
  } catch {
    return undefined
  } finally {
    db?.close()
  }
}

/** Replaces what was kept; resolves when committed, rejects with IndexedDB's error. */
export function writeRecent(db: IDBDatabase, recent: Uint8Array): Promise<void> {
  try {
    const tx = db.transaction(CUSTOM, 'readwrite')
    tx.objectStore(CUSTOM).put(recent, RECENT_KEY)
    return transactionDone(tx)
  } catch (error) {
    return Promise.reject(asError(error))
  }
}
