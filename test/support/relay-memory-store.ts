// A RoomStore in memory for relay tests that need to control the store: appends that wait for
// the test to let them through, or fail. Same contract as the real stores (room-store.ts).

import type { LogCursor, RoomStore, StoredRoom } from '../../signaling/store/room-store'

interface MemoryRoom {
  snapshot: { bytes: Uint8Array; through: number } | null
  log: { seq: number; update: Uint8Array }[]
  next: number
}

export class MemoryRoomStore implements RoomStore {
  readonly kind = 'memory'
  readonly rooms = new Map<string, MemoryRoom>()
  /** When set, appends reject with this error. */
  failAppends: Error | null = null
  /** When set, appends wait for it before they are stored. */
  gate: Promise<void> | null = null
  appends = 0
  compactions = 0

  exists(roomId: string): Promise<boolean> {
    return Promise.resolve(this.rooms.has(roomId))
  }

  load(roomId: string): Promise<StoredRoom> {
    const room = this.rooms.get(roomId)
    if (!room) return Promise.resolve({ updates: [], cursor: null, bytes: 0 })
    const updates = [
      ...(room.snapshot ? [room.snapshot.bytes] : []),
      ...room.log.map((entry) => entry.update),
    ]
    const last = room.log.at(-1)?.seq ?? room.snapshot?.through ?? null
    return Promise.resolve({
      updates,
      cursor: last === null ? null : String(last),
      bytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
    })
  }

  async append(roomId: string, updates: Uint8Array[]): Promise<LogCursor> {
    this.appends++
    if (this.gate) await this.gate
    if (this.failAppends) throw this.failAppends
    let room = this.rooms.get(roomId)
    if (!room) {
      room = { snapshot: null, log: [], next: 0 }
      this.rooms.set(roomId, room)
    }
    for (const update of updates) room.log.push({ seq: room.next++, update })
    return String(room.next - 1)
  }

  compact(roomId: string, snapshot: Uint8Array, through: LogCursor): Promise<void> {
    this.compactions++
    const room = this.rooms.get(roomId)
    if (!room) return Promise.reject(new Error(`no room ${roomId}`))
    const seq = Number(through)
    room.snapshot = { bytes: snapshot, through: seq }
    room.log = room.log.filter((entry) => entry.seq > seq)
    return Promise.resolve()
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  /** Bytes the room holds in this store. */
  bytesOf(roomId: string): number {
    const room = this.rooms.get(roomId)
    if (!room) return 0
    return (
      (room.snapshot?.bytes.byteLength ?? 0) + room.log.reduce((n, e) => n + e.update.byteLength, 0)
    )
  }
}
