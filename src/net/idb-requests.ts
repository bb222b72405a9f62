// Promises over IndexedDB requests and transactions, for the room's local storage modules
// (local-store.ts, client-id-lease.ts, recent-cache.ts). A failure rejects with IndexedDB's
// own error (a DOMException such as QuotaExceededError), so callers can tell what went wrong.

export class LocalStoreError extends Error {}

export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new LocalStoreError('IndexedDB request failed'))
  })
}

/** Settles when the transaction commits or aborts. Handled even if nobody awaits it (a failed
 * request already reported the error). */
export function transactionDone(tx: IDBTransaction): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    tx.addEventListener('complete', () => resolve())
    tx.addEventListener('abort', () =>
      reject(tx.error ?? new LocalStoreError('IndexedDB transaction aborted')),
    )
  })
  done.catch(() => undefined)
  return done
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new LocalStoreError(String(error))
}
