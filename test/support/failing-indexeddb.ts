// Storage that fails on purpose, for LocalStore's failure tests (fake-indexeddb/auto installed):
// `refuseWrites` makes every `add` and `put` on one object store throw a DOMException (a full
// disk: QuotaExceededError) until the returned function is called; `pageEvents` makes the
// global scope an event target, as a browser page is, so a test can send `pagehide`.

export function refuseWrites(storeName: string, name = 'QuotaExceededError'): () => void {
  const proto = IDBObjectStore.prototype
  // Kept to be called with an object store as `this`, and put back by the returned function.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { add, put } = proto
  const refuse = (store: IDBObjectStore): void => {
    if (store.name === storeName) throw new DOMException(`${storeName} is full (test)`, name)
  }
  proto.add = function (this: IDBObjectStore, ...args: Parameters<typeof add>) {
    refuse(this)
    return add.apply(this, args)
  }
  proto.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
    refuse(this)
    return put.apply(this, args)
  }
  return () => {
    proto.add = add
    proto.put = put
  }
}

/** Makes `globalThis` dispatch events like a page (Node's global scope is no EventTarget);
 * returns a function that hides the page and one that restores the global scope. */
export function pageEvents(): { hide(): void; restore(): void } {
  const scope = globalThis as unknown as Partial<EventTarget>
  const target = new EventTarget()
  scope.addEventListener = target.addEventListener.bind(target)
  scope.removeEventListener = target.removeEventListener.bind(target)
  return {
    hide: () => target.dispatchEvent(new Event('pagehide')),
    restore: () => {
      delete scope.addEventListener
      delete scope.removeEventListener
    },
  }
}
