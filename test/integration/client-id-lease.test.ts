// The client-id lease against IndexedDB semantics (fake-indexeddb) and a page that is hidden:
// an id is reused only when the stored document holds every write made under it, so a reused
// id never repeats a (client, clock) pair a peer already holds, and replicas converge.
import 'fake-indexeddb/auto'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { LocalStore } from '../../src/net/local-store'
import { memoryLocks } from '../support/memory-locks'
import { pageEvents, refuseWrites } from '../support/failing-indexeddb'

let page: ReturnType<typeof pageEvents>
beforeEach(() => {
  page = pageEvents()
})
afterEach(() => page.restore())

/** A tab: its store's lock dies with it (a fresh lock manager per tab that outlives another). */
async function openTab(factory: IDBFactory) {
  const doc = new Y.Doc()
  const store = new LocalStore('room', doc, { factory, locks: memoryLocks(), storage: null })
  await store.loaded()
  return { doc, store, text: doc.getMap<string>('m') }
}

/** The page is gone right after its pagehide handlers ran: IndexedDB finishes the transactions
 * it had created, and nothing after that starts (its connection is closed). */
function kill(tab: { store: LocalStore }): void {
  ;(tab.store as unknown as { db: IDBDatabase }).db.close()
}

/** A peer that receives every update the tab makes (as over WebRTC or the relay). */
function peerOf(doc: Y.Doc): Y.Doc {
  const peer = new Y.Doc()
  Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc))
  doc.on('update', (update: Uint8Array) => Y.applyUpdate(peer, update))
  return peer
}

/** Both ways, as a sync step 1 / step 2 exchange does. */
function syncBoth(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
}

describe('client-id lease', () => {
  it('a page hidden with queued writes, then killed: no (client, clock) is reused, replicas converge', async () => {
    const factory = new IDBFactory()
    const first = await openTab(factory)
    const peer = peerOf(first.doc)
    first.text.set('a', 'stored')
    await first.store.flushed()
    // Reaches the peer at once; its write to IndexedDB is still queued when the page goes.
    first.text.set('b', 'queued at pagehide')
    page.hide()
    kill(first)
    await first.store.flushed()
    // The tab is gone without destroy() (its lock with it).
    const next = await openTab(factory)
    next.text.set('c', 'after reopening')
    syncBoth(next.doc, peer)
    expect(next.text.toJSON()).toEqual({
      a: 'stored',
      b: 'queued at pagehide',
      c: 'after reopening',
    })
    expect(peer.getMap('m').toJSON()).toEqual(next.text.toJSON())
    await next.store.destroy()
  })

  it('a page hidden while its writes fail, then killed: the next session takes a fresh id, replicas converge', async () => {
    const factory = new IDBFactory()
    const first = await openTab(factory)
    const peer = peerOf(first.doc)
    first.text.set('a', 'stored')
    await first.store.flushed()
    const restore = refuseWrites('updates')
    try {
      // Reaches the peer at once; its write to IndexedDB fails, then the page goes away.
      first.text.set('b', 'sent, never stored')
      page.hide()
      kill(first)
      await first.store.flushed()
    } finally {
      restore()
    }
    const next = await openTab(factory)
    expect(next.text.get('b')).toBeUndefined()
    next.text.set('c', 'after reopening')
    syncBoth(next.doc, peer)
    expect(next.text.toJSON()).toEqual({
      a: 'stored',
      b: 'sent, never stored',
      c: 'after reopening',
    })
    expect(peer.getMap('m').toJSON()).toEqual(next.text.toJSON())
    expect(next.store.reusedClientId).toBe(false)
    await next.store.destroy()
  })

  it('a page hidden with queued writes stores them first: the id is reused and its clock continues', async () => {
    const factory = new IDBFactory()
    const first = await openTab(factory)
    const peer = peerOf(first.doc)
    const id = first.doc.clientID
    first.text.set('a', 'queued at pagehide')
    page.hide()
    await first.store.flushed()
    const next = await openTab(factory)
    expect(next.store.reusedClientId).toBe(true)
    expect(next.doc.clientID).toBe(id)
    expect(next.text.get('a')).toBe('queued at pagehide')
    next.text.set('c', 'after reopening')
    syncBoth(next.doc, peer)
    expect(peer.getMap('m').toJSON()).toEqual({ a: 'queued at pagehide', c: 'after reopening' })
    expect(next.text.toJSON()).toEqual(peer.getMap('m').toJSON())
    await next.store.destroy()
    await first.store.destroy()
  })

  it('back from the back/forward cache, writes go under a fresh id; the retired one stays reusable', async () => {
    const factory = new IDBFactory()
    const first = await openTab(factory)
    const peer = peerOf(first.doc)
    const id = first.doc.clientID
    first.text.set('a', 'before pagehide')
    page.hide()
    expect(first.doc.clientID).not.toBe(id)
    // The page comes back and is written to, then the tab is killed.
    first.text.set('b', 'after pageshow')
    await first.store.flushed()
    const next = await openTab(factory)
    expect(next.store.reusedClientId).toBe(true)
    expect(next.doc.clientID).toBe(id)
    next.text.set('c', 'after reopening')
    syncBoth(next.doc, peer)
    expect(next.text.toJSON()).toEqual({
      a: 'before pagehide',
      b: 'after pageshow',
      c: 'after reopening',
    })
    expect(peer.getMap('m').toJSON()).toEqual(next.text.toJSON())
    await next.store.destroy()
    await first.store.destroy()
  })

  it('never reuses an id whose stored clock is behind what its session wrote', async () => {
    const factory = new IDBFactory()
    const first = await openTab(factory)
    first.text.set('a', '1')
    await first.store.flushed()
    const restore = refuseWrites('updates')
    try {
      first.text.set('b', '2')
      await first.store.flushed()
    } finally {
      restore()
    }
    // Ends "cleanly" while its last write is still unstored: the id is retired at clock 2,
    // storage holds clock 1. (Its last try at teardown is refused too.)
    const again = refuseWrites('updates')
    try {
      await first.store.destroy()
    } finally {
      again()
    }
    const next = await openTab(factory)
    expect(next.store.reusedClientId).toBe(false)
    expect(next.doc.clientID).not.toBe(first.doc.clientID)
    await next.store.destroy()
  })
})
