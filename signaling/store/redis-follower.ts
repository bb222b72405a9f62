// Follows room streams for the Redis store: one connection per instance blocks in XREAD on every
// followed room at once and hands each follower the entries other instances appended after its
// cursor (entries tagged with this instance's id are skipped: the relay already has them). A
// follower that may have missed entries to a compaction (it was away while another instance
// compacted) gets the room's snapshot first. After a Redis outage every follower resumes from
// its own cursor.

import type { Logger } from '../log'
import type { RedisConnection } from '../redis-client'
import type { LogCursor, RemoteAppendListener } from './room-store'
import { isAfter } from './redis-stream-id'

export interface RoomKeys {
  log(roomId: string): string
  snapshot(roomId: string): string
}

export interface RedisFollowerOptions {
  /** A connection of its own, owned by the follower: it spends its life blocked in XREAD. */
  reader: RedisConnection
  /** Another connection, to interrupt the reader (CLIENT UNBLOCK) when the room set changes. */
  control: RedisConnection
  instanceId: string
  keys: RoomKeys
  logger: Logger
  /** Reads a snapshot hash into its bytes and cursor; throws if corrupt. */
  readSnapshot(
    roomId: string,
    via: RedisConnection,
  ): Promise<{ data: Uint8Array; through: LogCursor } | null>
}

interface Follow {
  readonly roomId: string
  cursor: LogCursor
  readonly listener: RemoteAppendListener
  /** Check the snapshot before the next read: the cursor may predate a compaction. */
  checkSnapshot: boolean
}

interface StreamEntry {
  id: Buffer | string
  message: Record<string, Buffer | string | undefined>
}

// Must stay below node-redis' command timeout (5 s): a longer block would be cut as a timeout.
// Also bounds how long a new room waits if the CLIENT UNBLOCK that should wake the reader
// arrives before the reader has blocked.
const BLOCK_MS = 2_000
// Entries per room per read: bounds one reply (and one listener call) under a burst.
const READ_COUNT = 256
// While Redis is unreachable the reader waits this long between checks (node-redis reconnects
// on its own; this only decides how soon the loop notices).
const OUTAGE_POLL_MS = 250

export class RedisFollower {
  private readonly rooms = new Map<string, Set<Follow>>()
  private readonly roomByKey = new Map<string, string>()
  private readerClientId: number | undefined
  private stopped = false
  private blocked = false
  private wakeIdle: (() => void) | undefined
  private readonly loop: Promise<void>

  constructor(private readonly options: RedisFollowerOptions) {
    this.loop = this.run()
  }

  follow(roomId: string, after: LogCursor | null, listener: RemoteAppendListener): () => void {
    const entry: Follow = { roomId, cursor: after ?? '0-0', listener, checkSnapshot: true }
    let follows = this.rooms.get(roomId)
    const newRoom = !follows
    if (!follows) {
      follows = new Set()
      this.rooms.set(roomId, follows)
      this.roomByKey.set(this.options.keys.log(roomId), roomId)
    }
    follows.add(entry)
    if (newRoom) this.interrupt()
    return () => {
      const current = this.rooms.get(roomId)
      if (!current?.delete(entry) || current.size > 0) return
      // The reader may still return entries for this room until its next read: they are dropped.
      this.rooms.delete(roomId)
      this.roomByKey.delete(this.options.keys.log(roomId))
    }
  }

  get followedRooms(): number {
    return this.rooms.size
  }

  /** Stops reading and cuts the reader connection (a blocked XREAD has nothing to finish). */
  async stop(): Promise<void> {
    this.stopped = true
    this.wakeIdle?.()
    if (this.options.reader.isOpen) this.options.reader.destroy()
    await this.loop
  }

  private interrupt(): void {
    if (!this.blocked) {
      this.wakeIdle?.()
      return
    }
    const id = this.readerClientId
    if (id === undefined || !this.options.control.isReady) return
    this.options.control.sendCommand(['CLIENT', 'UNBLOCK', String(id)]).catch((error: unknown) => {
      // Managed Redis may forbid CLIENT: the new room then joins at the next read (≤ BLOCK_MS).
      this.options.logger.debug('store.follow_unblock_failed', { error })
    })
  }

  private async run(): Promise<void> {
    const { reader, logger } = this.options
    let failing = false
    while (!this.stopped) {
      if (this.rooms.size === 0) {
        await new Promise<void>((resolve) => (this.wakeIdle = resolve))
        this.wakeIdle = undefined
        continue
      }
      try {
        this.readerClientId ??= Number(await reader.clientId())
        await this.checkSnapshots()
        const streams = [...this.rooms].map(([roomId, follows]) => ({
          key: this.options.keys.log(roomId),
          id: oldestCursor(follows),
        }))
        this.blocked = true
        const reply = await reader.xRead(streams, { BLOCK: BLOCK_MS, COUNT: READ_COUNT })
        this.blocked = false
        if (failing) logger.info('store.follow_resumed', { rooms: this.rooms.size })
        failing = false
        for (const stream of reply ?? []) {
          const roomId = this.roomByKey.get(String(stream.name))
          if (roomId) this.deliver(roomId, stream.messages)
        }
      } catch (error) {
        this.blocked = false
        if (this.stopped) break
        if (!failing) logger.warn('store.follow_interrupted', { error })
        failing = true
        // A new connection has a new client id, and while we were away another instance may
        // have compacted entries we had not read yet.
        this.readerClientId = undefined
        for (const follows of this.rooms.values()) for (const f of follows) f.checkSnapshot = true
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_POLL_MS))
      }
    }
  }

  /** Hands a follower the snapshot when it is newer than the follower's cursor. */
  private async checkSnapshots(): Promise<void> {
    for (const [roomId, follows] of this.rooms) {
      const due = [...follows].filter((f) => f.checkSnapshot)
      if (due.length === 0) continue
      let snapshot: Awaited<ReturnType<RedisFollowerOptions['readSnapshot']>>
      try {
        // Its cursor first: the snapshot itself (megabytes, perhaps) only if someone needs it.
        const through = await this.options.reader.hGet(
          this.options.keys.snapshot(roomId),
          'through',
        )
        if (through === null || !due.some((f) => isAfter(through.toString(), f.cursor))) {
          for (const follow of due) follow.checkSnapshot = false
          continue
        }
        snapshot = await this.options.readSnapshot(roomId, this.options.reader)
      } catch (error) {
        if (!this.options.reader.isReady) throw error
        // A corrupt snapshot costs this room its catch-up, never the other rooms' delivery.
        this.options.logger.error('store.follow_snapshot_error', { room: roomId, error })
        snapshot = null
      }
      for (const follow of due) {
        follow.checkSnapshot = false
        if (!snapshot || !isAfter(snapshot.through, follow.cursor)) continue
        follow.cursor = snapshot.through
        this.call(follow, [snapshot.data], snapshot.through)
      }
    }
  }

  private deliver(roomId: string, entries: StreamEntry[]): void {
    const follows = this.rooms.get(roomId)
    if (!follows) return
    for (const follow of follows) {
      const updates: Uint8Array[] = []
      let last: string | undefined
      for (const entry of entries) {
        const id = String(entry.id)
        if (!isAfter(id, follow.cursor)) continue
        last = id
        const update = entry.message.u
        // Our own appends are in the relay already; entries without an update are not ours.
        if (!Buffer.isBuffer(update) || String(entry.message.i) === this.options.instanceId)
          continue
        updates.push(update)
      }
      if (last === undefined) continue
      follow.cursor = last
      if (updates.length > 0) this.call(follow, updates, last)
    }
  }

  private call(follow: Follow, updates: Uint8Array[], cursor: LogCursor): void {
    try {
      follow.listener(updates, cursor)
    } catch (error) {
      // One room's listener failing must not stop delivery to every other room.
      this.options.logger.error('store.follow_listener_error', { room: follow.roomId, error })
    }
  }
}

function oldestCursor(follows: Set<Follow>): string {
  let oldest: string | undefined
  for (const follow of follows) {
    if (oldest === undefined || isAfter(oldest, follow.cursor)) oldest = follow.cursor
  }
  return oldest ?? '0-0'
}
