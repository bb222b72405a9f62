// "Seen by" and "nothing withheld" (issue 12 §8, docs/presence.md) with real WebCrypto keys, real
// Yjs documents and real awareness: read positions and state vectors travel in the signed
// presence and are checked there; a reader's position only moves forward and survives a reload
// of this browser; a member who holds writes we lack is named only once a sync would have
// brought them, and no longer once they arrived.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness'
import type { SortKey } from '../../src/model'
import {
  deriveRoomKeys,
  generateSigningIdentity,
  newRoomSecret,
  toBase64Url,
  type RoomKeys,
  type SigningIdentity,
} from '../../src/crypto'
import { MAX_HELD_CHARS, signPresence, verifyPresence } from '../../src/session/presence-state'
import { PresenceChannel } from '../../src/session/presence'
import { SeenBy } from '../../src/session/seen-by'
import { WithheldWatch, heldVector } from '../../src/session/withheld'
import { RoomPresence } from '../../src/session/room-presence'
import { DeliveryTracker } from '../../src/session/delivery'
import type { WebrtcLink } from '../../src/net/webrtc-link'

let keys: RoomKeys
let alice: SigningIdentity
const cleanup: (() => void)[] = []

beforeEach(async () => {
  keys = await deriveRoomKeys(newRoomSecret())
  alice = await generateSigningIdentity()
})

afterEach(() => {
  for (const dispose of cleanup.splice(0)) dispose()
  vi.useRealTimers()
})

const AUTHOR = 'A'.repeat(22)
const key = (wall: number, id = 'm'.repeat(22)): SortKey => ({
  wall,
  counter: 0,
  author: AUTHOR,
  id,
})

class MemoryStorage implements Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  readonly items = new Map<string, string>()
  getItem(k: string) {
    return this.items.get(k) ?? null
  }
  setItem(k: string, v: string) {
    this.items.set(k, v)
  }
  removeItem(k: string) {
    this.items.delete(k)
  }
}

describe('read positions and state vectors in presence', () => {
  const binding = () => ({ roomId: keys.roomId, clientId: 9 })

  it('carries them signed and gives them back checked', async () => {
    const doc = new Y.Doc()
    doc.getMap('m').set('k', 1)
    const held = heldVector(doc, MAX_HELD_CHARS)!
    const signed = await signPresence(alice, binding(), { read: key(5), held }, Date.now())
    const state = await verifyPresence(binding(), signed)
    expect(state?.read).toEqual(key(5))
    expect(state?.held).toBe(held)
  })

  it('drops a malformed read position or an oversized or non-base64url state vector', async () => {
    for (const [read, held] of [
      [
        { wall: 'x', counter: 0, author: AUTHOR, id: 'm'.repeat(22) },
        'A'.repeat(MAX_HELD_CHARS + 1),
      ],
      [{ ...key(1), author: 'not a key id' }, 'has spaces and $'],
      [{ ...key(-1) }, 42],
    ]) {
      const signed = await signPresence(
        alice,
        binding(),
        { read, held } as unknown as { read: SortKey; held: string },
        Date.now(),
      )
      const state = await verifyPresence(binding(), signed)
      expect(state).toBeDefined()
      expect(state?.read).toBeUndefined()
      expect(state?.held).toBeUndefined()
    }
  })

  it('RoomPresence publishes our read position only while we share it, and what we hold', async () => {
    const doc = new Y.Doc()
    doc.getMap('m').set('k', 'written')
    const awareness = new Awareness(new Y.Doc())
    cleanup.push(() => awareness.destroy())
    const link = { awareness, peerId: 'alice' } as unknown as WebrtcLink
    const delivery = new DeliveryTracker(keys.roomId, undefined)
    cleanup.push(() => delivery.destroy())
    let shared: SortKey | undefined = key(7)
    const presence = new RoomPresence(
      doc,
      { webrtc: link, relay: null },
      keys,
      alice,
      delivery,
      { get: () => undefined },
      { sharedPosition: () => shared },
    )
    cleanup.push(() => presence.destroy())
    const bob = await generateSigningIdentity()
    const bobs = new Awareness(new Y.Doc())
    cleanup.push(() => bobs.destroy())
    const channel = new PresenceChannel(bobs, {
      roomId: keys.roomId,
      contentKey: keys.contentKey,
      identity: bob,
    })
    cleanup.push(() => channel.destroy())
    const seenByBob = async () => {
      await presence.publish()
      applyAwarenessUpdate(bobs, encodeAwarenessUpdate(awareness, [awareness.clientID]), 'remote')
      await new Promise((resolve) => setTimeout(resolve, 50))
      return channel.people()[0]
    }
    const first = await seenByBob()
    expect(first.read).toEqual(key(7))
    expect(Y.decodeStateVector(Buffer.from(first.held!, 'base64url'))).toEqual(
      Y.decodeStateVector(Y.encodeStateVector(doc)),
    )
    shared = undefined
    expect((await seenByBob()).read).toBeUndefined()
  })
})

describe('SeenBy', () => {
  const ben = 'B'.repeat(22)
  const cat = 'C'.repeat(22)

  it('moves each reader forward only, and names who read a message', () => {
    const seen = new SeenBy('room', undefined, () => 1_000_000)
    seen.observe([
      { keyId: ben, read: key(500) },
      { keyId: cat, read: key(100) },
    ])
    seen.observe([{ keyId: ben, read: key(200) }]) // an older position changes nothing
    expect(seen.readers(key(150)).sort()).toEqual([ben])
    expect(seen.readers(key(100)).sort()).toEqual([ben, cat])
    expect(seen.readers(key(600))).toEqual([])
  })

  it('ignores a position claimed far in the future', () => {
    const seen = new SeenBy('room', undefined, () => 1_000_000)
    seen.observe([{ keyId: ben, read: key(1_000_000 + 60 * 60_000) }])
    expect(seen.readers(key(1))).toEqual([])
  })

  it('is kept in this browser, and what storage holds is checked', () => {
    const storage = new MemoryStorage()
    const seen = new SeenBy('room', storage as unknown as Storage, () => 1_000_000)
    seen.observe([{ keyId: ben, read: key(500) }])
    expect(new SeenBy('room', storage as unknown as Storage).readers(key(400))).toEqual([ben])

    storage.setItem(
      'parley:seen:room',
      JSON.stringify({ [cat]: key(9), 'not a key id': key(9), [ben]: { wall: 'x' } }),
    )
    expect(new SeenBy('room', storage as unknown as Storage).readers(key(1))).toEqual([cat])
    storage.setItem('parley:seen:room', '{not json')
    expect(new SeenBy('room', storage as unknown as Storage).readers(key(1))).toEqual([])
  })
})

describe('WithheldWatch', () => {
  const ben = 'B'.repeat(22)

  it('names a member whose writes do not reach us once a sync would have brought them', () => {
    vi.useFakeTimers()
    let now = 0
    const ours = new Y.Doc()
    const bens = new Y.Doc()
    bens.getArray('a').push(['kept from us'])
    const watch = new WithheldWatch(ours, () => now, 10_000)
    cleanup.push(() => watch.destroy())
    const held = heldVector(bens, MAX_HELD_CHARS)
    watch.observe([{ keyId: ben, held }])
    expect(watch.withheldBy()).toEqual([]) // may still be on its way
    now = 9_000
    vi.advanceTimersByTime(9_000)
    expect(watch.withheldBy()).toEqual([])
    now = 10_000
    vi.advanceTimersByTime(1_000)
    expect(watch.withheldBy()).toEqual([ben])

    // It arrives: the lead is gone at the next check after our document grew.
    Y.applyUpdate(ours, Y.encodeStateAsUpdate(bens))
    vi.advanceTimersByTime(300)
    expect(watch.withheldBy()).toEqual([])
  })

  it('does not name a member who holds only what we hold, or whose vector is garbage', () => {
    vi.useFakeTimers()
    let now = 0
    const ours = new Y.Doc()
    ours.getArray('a').push(['both have it'])
    const bens = new Y.Doc()
    Y.applyUpdate(bens, Y.encodeStateAsUpdate(ours))
    const watch = new WithheldWatch(ours, () => now, 10_000)
    cleanup.push(() => watch.destroy())
    watch.observe([
      { keyId: ben, held: heldVector(bens, MAX_HELD_CHARS) },
      { keyId: 'C'.repeat(22), held: toBase64Url(new Uint8Array([200, 200, 200, 200])) },
      { keyId: 'D'.repeat(22) },
    ])
    now = 60_000
    vi.advanceTimersByTime(60_000)
    watch.check()
    expect(watch.withheldBy()).toEqual([])
  })
})

describe('sharing my read position', () => {
  it('is on unless turned off, for every room of this browser, and holds if storage refuses it', async () => {
    const { ReadPosition } = await import('../../src/session/read-position')
    const storage = new MemoryStorage()
    const room = new ReadPosition('room-a', storage as unknown as Storage)
    room.markRead(key(3))
    expect(room.sharedPosition()).toEqual(key(3))
    room.setShared(false)
    expect(room.sharedPosition()).toBeUndefined()
    expect(new ReadPosition('room-b', storage as unknown as Storage).shared).toBe(false)
    room.setShared(true)
    expect(new ReadPosition('room-b', storage as unknown as Storage).shared).toBe(true)

    const refusing = new ReadPosition('room-c', {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError')
      },
      removeItem: () => undefined,
    } as unknown as Storage)
    refusing.setShared(false)
    expect(refusing.shared).toBe(false)
  })
})
