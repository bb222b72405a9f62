// RoomSession end to end in Node: real IndexedDB semantics (fake-indexeddb), real WebCrypto,
// and our real signaling server on port 0. Opening renders from local data before any
// network; corrupt local data loses only the corrupt part; leaving deletes the room; opening
// and destroying many times leaves nothing behind.
import 'fake-indexeddb/auto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { newRoomSecret, generateSigningIdentity, type SigningIdentity } from '../../src/crypto'
import { RoomSession, type RoomSessionConfig } from '../../src/session/room-session'
import {
  browserRoomIdentities,
  forgetRoomIdentity,
  loadOrCreateRoomIdentity,
} from '../../src/session/identity-store'
import { RECENT_MESSAGES } from '../../src/session/recent-records'
import { memoryLocks } from '../support/memory-locks'
import { startTestServer, type TestServer } from '../support/server-harness'

// Node 20 has no global WebSocket; y-webrtc's signaling client needs one.
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

/** Sockets and timers open before any session existed: what must remain at the end. */
const openResources = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout')
let baselineResources = 0
let server: TestServer
let identity: SigningIdentity
let config: RoomSessionConfig
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled)
  // Signaling only: these sessions are about WebRTC, IndexedDB and teardown (the relay's own
  // session tests are in session-relay.test.ts).
  server = await startTestServer({ relay: false })
  identity = await generateSigningIdentity()
  baselineResources = openResources().length
  config = {
    signalingUrls: [server.wsUrl('/signal')],
    iceServers: [],
    displayName: 'Tester',
  }
})

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled)
  await server?.close()
})

async function textsOf(session: RoomSession): Promise<(string | null)[]> {
  const resolved = await Promise.all(
    session.timeline.entries().map((entry) => session.content.resolve(entry)),
  )
  return resolved.map((r) => (r.kind === 'message' ? r.text : r.kind))
}

/** Writes straight into a room's database, as corrupt local data would be there. */
async function putRaw(roomId: string, store: string, value: Uint8Array, key?: string) {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(roomId)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('open failed'))
  })
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite')
    tx.objectStore(store).put(value, key)
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error ?? new Error('write failed'))
  })
  db.close()
}

describe('RoomSession', () => {
  it('keeps history in IndexedDB and shows it on reopening, before any network', async () => {
    const secret = newRoomSecret()
    const first = await RoomSession.open(secret, identity, config)
    await first.send('first')
    await first.send('second')
    await first.destroy()

    const again = await RoomSession.open(secret, identity, config)
    // Straight after open: nothing has come from the network (no peers exist at all).
    expect(await textsOf(again)).toEqual(['first', 'second'])
    const [entry] = again.timeline.entries()
    expect(await again.content.resolve(entry)).toMatchObject({ authenticity: 'verified' })
    await again.destroy()
  })

  it('shows the newest messages kept beside the room before loading the rest', async () => {
    const secret = newRoomSecret()
    const first = await RoomSession.open(secret, identity, config)
    const sent: string[] = []
    for (let i = 0; i < RECENT_MESSAGES + 10; i++) sent.push(await first.send(`message ${i}`))
    await first.destroy()

    const again = await RoomSession.open(secret, identity, config)
    // Returned before the room's document is read: only the kept newest are there yet.
    const shown = again.timeline.entries()
    expect(shown.map((e) => e.id)).toEqual(sent.slice(-RECENT_MESSAGES))
    const resolved = await Promise.all(shown.map((e) => again.content.resolve(e)))
    expect(resolved.every((r) => r.kind === 'message' && r.authenticity === 'verified')).toBe(true)
    // Writing meanwhile waits for the room, then lands in it.
    const late = again.send('written while loading')
    expect(again.timeline.entries()).toHaveLength(RECENT_MESSAGES)
    const lateId = await late
    const entries = again.timeline.entries()
    expect(entries.map((e) => e.id)).toEqual([...sent, lateId])
    // What was on screen stays the same entries, so it stays decrypted.
    expect(entries.slice(-RECENT_MESSAGES - 1, -1)).toEqual(shown)
    expect(entries[RECENT_MESSAGES]).toBe(shown[RECENT_MESSAGES - 10])
    await again.destroy()
  })

  it("reuses this browser's client id, and its links then speak for that id", async () => {
    // Node 20 has no navigator: give it Web Locks, so the id can be leased (client-id-lease.ts).
    const scope = globalThis as { navigator?: unknown }
    scope.navigator = { locks: memoryLocks(), onLine: true }
    try {
      const secret = newRoomSecret()
      const first = await RoomSession.open(secret, identity, config)
      await first.send('first session')
      const id = first.doc.clientID
      await first.destroy()

      const again = await RoomSession.open(secret, identity, config)
      await again.loaded
      expect(again.doc.clientID).toBe(id)
      expect(again.webrtc.awareness.clientID).toBe(id)
      // Presence is sealed to the client id: published again under the reused one.
      await vi.waitFor(() => expect(again.webrtc.awareness.getLocalState()).toHaveProperty('e'))
      await again.send('second session')
      expect(await textsOf(again)).toEqual(['first session', 'second session'])
      await again.destroy()
    } finally {
      delete scope.navigator
    }
  })

  it('opens as usual when the kept newest messages are corrupt', async () => {
    const secret = newRoomSecret()
    const first = await RoomSession.open(secret, identity, config)
    await first.send('kept in the document')
    const roomId = first.roomId
    await first.destroy()
    await putRaw(roomId, 'custom', Uint8Array.of(9, 9, 9, 255, 255), 'recent')

    const again = await RoomSession.open(secret, identity, config)
    expect(await textsOf(again)).toEqual(['kept in the document'])
    await again.destroy()
  })

  it('enforces the message length limit with a clear error', async () => {
    const session = await RoomSession.open(newRoomSecret(), identity, config)
    await expect(session.send('x'.repeat(4001))).rejects.toThrow(/at most 4000 characters/)
    await expect(session.send('   ')).rejects.toThrow(/empty/)
    expect(session.timeline.entries()).toHaveLength(0)
    await session.destroy()
  })

  it('edits and deletes its own messages', async () => {
    const session = await RoomSession.open(newRoomSecret(), identity, config)
    const a = await session.send('typo')
    const b = await session.send('regret')
    await session.edit(a, 'fixed')
    await session.remove(b)
    expect(await textsOf(session)).toEqual(['fixed', 'deleted'])
    await session.destroy()
  })

  it('skips a corrupt stored update and keeps the rest', async () => {
    const secret = newRoomSecret()
    const session = await RoomSession.open(secret, identity, config)
    await session.send('survives one')
    await session.send('survives two')
    const roomId = session.roomId
    await session.destroy()

    await putRaw(roomId, 'updates', Uint8Array.of(0, 255, 255, 255, 255, 7, 1, 2, 3))

    const reopened = await RoomSession.open(secret, identity, config)
    await reopened.loaded
    expect(reopened.damagedLocalUpdates).toBe(1)
    expect(await textsOf(reopened)).toEqual(['survives one', 'survives two'])
    await reopened.destroy()
  })

  it('leaving deletes the room from this browser', async () => {
    const secret = newRoomSecret()
    const session = await RoomSession.open(secret, identity, config)
    await session.send('to be forgotten')
    const roomId = session.roomId
    await session.leave()
    const names = (await indexedDB.databases()).map((d) => d.name)
    expect(names).not.toContain(roomId)
    const fresh = await RoomSession.open(secret, identity, config)
    expect(fresh.timeline.entries()).toHaveLength(0)
    await fresh.destroy()
  })

  it('opening and destroying 50 times leaks no socket, timer or rejection', async () => {
    const secret = newRoomSecret()
    const before = baselineResources
    for (let i = 0; i < 50; i++) {
      const session = await RoomSession.open(secret, identity, config)
      if (i % 2 === 0) await session.send(`round ${i}`)
      // Half the time destroy at once, before y-webrtc has derived its key.
      await session.destroy()
      await session.destroy() // idempotent
    }
    await expect.poll(() => openResources().length, { timeout: 5_000 }).toBeLessThanOrEqual(before)
    expect(unhandled).toEqual([])
  })
})

describe('identity store: a key per room (docs/presence.md)', () => {
  it('keeps one non-extractable key per room, another in every other room', async () => {
    const first = await loadOrCreateRoomIdentity('room-a')
    const again = await loadOrCreateRoomIdentity('room-a')
    const other = await loadOrCreateRoomIdentity('room-b')
    expect(again.keyId).toEqual(first.keyId)
    expect(other.keyId).not.toEqual(first.keyId)
    expect(first.privateKey.extractable).toBe(false)
    await forgetRoomIdentity('room-a')
    const fresh = await loadOrCreateRoomIdentity('room-a')
    expect(fresh.keyId).not.toEqual(first.keyId)
  })

  it("signs each room with that room's key; leaving the room deletes it", async () => {
    const [secretA, secretB] = [newRoomSecret(), newRoomSecret()]
    const a = await RoomSession.open(secretA, browserRoomIdentities, config)
    const b = await RoomSession.open(secretB, browserRoomIdentities, config)
    await Promise.all([a.loaded, b.loaded])
    expect(a.myKeyId).not.toBe(b.myKeyId)
    // The records in each room carry only that room's key id.
    expect(a.room.idsOf('members')).toEqual([a.myKeyId])
    expect(b.room.idsOf('members')).toEqual([b.myKeyId])
    const keyA = a.myKeyId
    const keyB = b.myKeyId
    await a.leave()
    await b.destroy()
    // Left: the room's key is gone, so coming back is as someone new. The other room keeps its key.
    const reopened = await RoomSession.open(secretA, browserRoomIdentities, config)
    expect(reopened.myKeyId).not.toBe(keyA)
    await reopened.leave()
    const stayed = await RoomSession.open(secretB, browserRoomIdentities, config)
    expect(stayed.myKeyId).toBe(keyB)
    await stayed.leave()
  })

  it('keeps the name a room knows us by; the name given applies to a new room', async () => {
    const secret = newRoomSecret()
    const first = await RoomSession.open(secret, browserRoomIdentities, {
      ...config,
      displayName: 'Al',
    })
    await first.loaded
    await first.destroy()
    const again = await RoomSession.open(secret, browserRoomIdentities, {
      ...config,
      displayName: 'Alice (last name used elsewhere)',
    })
    await again.loaded
    expect(again.myName).toBe('Al')
    await again.setDisplayName('Alice')
    await vi.waitFor(() => expect(again.members.get(again.myKeyId)?.name).toBe('Alice'))
    await again.leave()
    const fresh = await RoomSession.open(newRoomSecret(), browserRoomIdentities, {
      ...config,
      displayName: (keyId) => `Guest ${keyId.slice(0, 4)}`,
    })
    await fresh.loaded
    expect(fresh.myName).toBe(`Guest ${fresh.myKeyId.slice(0, 4)}`)
    await fresh.leave()
  })
})
