// The room's copy in this browser: y-indexeddb under the room id, loaded before any network so
// a room renders from local data first (DESIGN §4), and deleted completely when leaving.
import type * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'

export class LocalStoreError extends Error {}

export class LocalStore {
  readonly persistence: IndexeddbPersistence
  /** Stored updates that could not be applied (corrupt local data); the rest still load, and
   * peers fill in what they have (patches/README.md: y-indexeddb). */
  damagedUpdates = 0
  private destroyed = false
  private readonly onCorrupt = (count: number): void => {
    this.damagedUpdates += count
  }

  constructor(
    readonly databaseName: string,
    doc: Y.Doc,
  ) {
    this.persistence = new IndexeddbPersistence(databaseName, doc)
    this.persistence.on('corrupt', this.onCorrupt)
  }

  /** Resolves once everything stored locally has been applied to the document. */
  async loaded(): Promise<void> {
    await this.persistence.whenSynced
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    this.persistence.off('corrupt', this.onCorrupt)
    await this.persistence.destroy()
  }

  /** Deletes the room's database. y-indexeddb's clearData() resolves before the deletion is
   * done, so we ask IndexedDB directly and wait for its answer. */
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
}
