// One acceptance suite for every RoomStore (STYLE.md): each store's test file calls
// `describeRoomStore` with a harness that opens the store on the same underlying data each time
// (so reopening tests persistence) and knows how to plant foreign or corrupt data in it.

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { LogCursor, RoomStore } from '../../signaling/store/room-store'

export interface RoomStoreHarness {
  /** Opens the store on this test's data (the same data on every call within a test). */
  open(): Promise<RoomStore>
  /** Fresh, empty data for the next test. */
  reset(): Promise<void>
  /** Writes a key into the room's space that the store did not write. */
  plantUnknownKey(roomId: string): Promise<void>
  /** Makes the room's snapshot unreadable. */
  corruptSnapshot(roomId: string): Promise<void>
}

// Room ids as the relay passes them (43 base64url characters), plus ids built to collide with
// key separators or match as patterns if a store forgot to escape them.
const ROOM = 'r0OmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const ROOM_B = 'r0OmBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const TRICKY_IDS = [
  'a',
  'a*',
  'a?',
  'a/log/0000000000000000',
  'a/snap',
  'a:log',
  '[a]',
  'a%2F',
  '{a}',
]

export function update(label: string, size = 0): Uint8Array {
  const text = new TextEncoder().encode(label)
  const bytes = new Uint8Array(Math.max(size, text.length))
  bytes.set(text)
  return bytes
}

function texts(updates: Uint8Array[]): string[] {
  return updates.map((u) => new TextDecoder().decode(u).replace(/\0+$/, ''))
}

export function describeRoomStore(name: string, harness: RoomStoreHarness): void {
  describe(`RoomStore acceptance: ${name}`, () => {
    const opened: RoomStore[] = []
    const open = async () => {
      const store = await harness.open()
      opened.push(store)
      return store
    }

    beforeEach(async () => {
      await harness.reset()
    })
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()))
    })

    it('reports an unknown room as empty and not existing', async () => {
      const store = await open()
      expect(await store.exists(ROOM)).toBe(false)
      expect(await store.load(ROOM)).toEqual({ updates: [], cursor: null, bytes: 0 })
    })

    it('loads appended updates in order, with the last cursor and byte count', async () => {
      const store = await open()
      const c1 = await store.append(ROOM, [update('a')])
      const c2 = await store.append(ROOM, [update('b'), update('cc')])
      const c3 = await store.append(ROOM, [update('ddd')])
      expect(new Set([c1, c2, c3]).size).toBe(3)
      expect(await store.exists(ROOM)).toBe(true)
      const room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['a', 'b', 'cc', 'ddd'])
      expect(room.cursor).toBe(c3)
      expect(room.bytes).toBe(7)
    })

    it('keeps order when one room is appended to concurrently', async () => {
      const store = await open()
      const labels = Array.from({ length: 100 }, (_, i) => `u${i}`)
      const cursors = await Promise.all(labels.map((l) => store.append(ROOM, [update(l)])))
      expect(new Set(cursors).size).toBe(labels.length)
      const room = await store.load(ROOM)
      // Calls made in this order are stored in this order.
      expect(texts(room.updates)).toEqual(labels)
      expect(room.cursor).toBe(cursors.at(-1))
    })

    it('rejects an empty append', async () => {
      const store = await open()
      await expect(store.append(ROOM, [])).rejects.toThrow()
    })

    it('compacts: the snapshot replaces entries through the cursor, later ones stay', async () => {
      const store = await open()
      const cursors: LogCursor[] = []
      for (const label of ['a', 'b', 'c', 'd', 'e'])
        cursors.push(await store.append(ROOM, [update(label)]))
      await store.compact(ROOM, update('S(abc)'), cursors[2])
      let room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['S(abc)', 'd', 'e'])
      expect(room.cursor).toBe(cursors[4])
      expect(room.bytes).toBe(8)

      // Idempotent, and an older compaction arriving late does not roll the room back.
      await store.compact(ROOM, update('S(abc)'), cursors[2])
      await store.compact(ROOM, update('S(ab)'), cursors[1])
      room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['S(abc)', 'd', 'e'])

      // Compacting everything leaves the snapshot alone, at the last cursor.
      await store.compact(ROOM, update('S(all)'), cursors[4])
      room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['S(all)'])
      expect(room.cursor).toBe(cursors[4])
      expect(await store.exists(ROOM)).toBe(true)

      const next = await store.append(ROOM, [update('f')])
      room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['S(all)', 'f'])
      expect(room.cursor).toBe(next)
    })

    it('refuses to compact through a cursor the room has not reached', async () => {
      const store = await open()
      await store.append(ROOM, [update('a')])
      // Room B's third cursor, written after room A's only entry, is past room A's end.
      await store.append(ROOM_B, [update('x')])
      await store.append(ROOM_B, [update('y')])
      const late = await store.append(ROOM_B, [update('z')])
      await expect(store.compact(ROOM, update('S'), late)).rejects.toThrow()
      await expect(store.compact(ROOM, update('S'), 'not a cursor')).rejects.toThrow()
      expect(texts((await store.load(ROOM)).updates)).toEqual(['a'])
    })

    it('loses no append that races a compaction', async () => {
      const store = await open()
      const before: LogCursor[] = []
      for (let i = 0; i < 20; i++) before.push(await store.append(ROOM, [update(`a${i}`)]))
      const racing = Array.from({ length: 50 }, (_, i) => `b${i}`)
      const appends = racing.map((label) => store.append(ROOM, [update(label)]))
      const compaction = store.compact(ROOM, update('S(a0-a19)'), before.at(-1)!)
      const more = racing.map((label) => store.append(ROOM, [update(`${label}'`)]))
      await Promise.all([...appends, compaction, ...more])
      const room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual([
        'S(a0-a19)',
        ...racing,
        ...racing.map((label) => `${label}'`),
      ])
    })

    it('keeps rooms apart when many append at once', async () => {
      const store = await open()
      const rooms = Array.from({ length: 40 }, (_, i) => `room${i}`.padEnd(43, 'x'))
      await Promise.all(
        rooms.map(async (room) => {
          for (let i = 0; i < 10; i++)
            await store.append(room, [update(`${room.slice(0, 6)}:${i}`)])
        }),
      )
      for (const room of rooms) {
        const loaded = await store.load(room)
        expect(texts(loaded.updates)).toEqual(
          Array.from({ length: 10 }, (_, i) => `${room.slice(0, 6)}:${i}`),
        )
      }
    })

    it('escapes room ids: separators and pattern characters never reach another room', async () => {
      const store = await open()
      for (const id of TRICKY_IDS) await store.append(id, [update(id)])
      for (const id of TRICKY_IDS) {
        expect(texts((await store.load(id)).updates)).toEqual([id])
      }
      expect(await store.exists('a/')).toBe(false)
      expect(await store.exists('a/log')).toBe(false)
    })

    it('stores big updates intact', async () => {
      const store = await open()
      const big = new Uint8Array(8 * 1024 * 1024)
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251
      await store.append(ROOM, [update('small'), big])
      const room = await store.load(ROOM)
      expect(room.updates).toHaveLength(2)
      expect(Buffer.from(room.updates[1]).equals(Buffer.from(big))).toBe(true)
      expect(room.bytes).toBe(big.length + 5)
    })

    it('persists across close and reopen, and keeps numbering after the old cursors', async () => {
      let store = await open()
      const c1 = await store.append(ROOM, [update('a')])
      const c2 = await store.append(ROOM, [update('b')])
      await store.compact(ROOM, update('S(a)'), c1)
      await store.close()

      store = await open()
      expect(await store.exists(ROOM)).toBe(true)
      let room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['S(a)', 'b'])
      expect(room.cursor).toBe(c2)
      const c3 = await store.append(ROOM, [update('c')])
      await store.compact(ROOM, update('S(abc)'), c3)
      await store.close()

      store = await open()
      room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['S(abc)'])
      expect(room.cursor).toBe(c3)
      const c4 = await store.append(ROOM, [update('d')])
      expect([c1, c2, c3]).not.toContain(c4)
      // c3 is still a valid compaction point after reopening (no-op: already compacted).
      await store.compact(ROOM, update('S(abc)'), c3)
      expect(texts((await store.load(ROOM)).updates)).toEqual(['S(abc)', 'd'])
    })

    it('ignores keys it did not write and still serves the room', async () => {
      const store = await open()
      await store.append(ROOM, [update('a')])
      await harness.plantUnknownKey(ROOM)
      const room = await store.load(ROOM)
      expect(texts(room.updates)).toEqual(['a'])
      expect(await store.append(ROOM, [update('b')])).toBeTruthy()
      expect(texts((await store.load(ROOM)).updates)).toEqual(['a', 'b'])
    })

    it('refuses to serve a room whose snapshot is corrupt instead of serving it empty', async () => {
      const store = await open()
      const cursor = await store.append(ROOM, [update('a')])
      await store.compact(ROOM, update('S'), cursor)
      await harness.corruptSnapshot(ROOM)
      await expect(store.load(ROOM)).rejects.toThrow(/corrupt/)
      // Other rooms are unaffected.
      await store.append(ROOM_B, [update('b')])
      expect(texts((await store.load(ROOM_B)).updates)).toEqual(['b'])
    })

    it('finishes pending appends on close, closes idempotently, then refuses work', async () => {
      const store = await open()
      const pending = Array.from({ length: 20 }, (_, i) => store.append(ROOM, [update(`p${i}`)]))
      const closed = Promise.all([store.close(), store.close()])
      await Promise.all(pending)
      await closed
      await store.close()
      await expect(store.append(ROOM, [update('late')])).rejects.toThrow(/closed/)

      const reopened = await open()
      expect((await reopened.load(ROOM)).updates).toHaveLength(20)
    })
  })
}
