// The relay's loaded rooms: loads a room on its first connection (once, however many arrive
// together), unloads it after it has been idle for a while or at once when it broke, and flushes
// them all on shutdown. Socket-free; the endpoint asks it for rooms.

import { CloseCode } from '../close-codes'
import type { RelayLimits } from '../limits'
import type { Logger } from '../log'
import type { RoomStore } from '../store/room-store'
import type { AwarenessBus } from './awareness-bus'
import type { Violation } from './relay-protocol'
import { RelayRoom, type RelayMetrics } from './relay-room'

export interface RelayHubOptions {
  store: RoomStore
  limits: RelayLimits
  logger: Logger
  metrics?: RelayMetrics
  now?: () => number
  /** Shares each loaded room's presence with other instances (Redis mode). */
  awarenessBus?: AwarenessBus
}

export type AcquireResult = { ok: true; room: RelayRoom } | { ok: false; violation: Violation }

export class RelayHub {
  private readonly rooms = new Map<string, RelayRoom>()
  private readonly loading = new Map<string, Promise<RelayRoom>>()
  private readonly unloading = new Map<string, Promise<void>>()
  private readonly idleTimers = new Map<string, NodeJS.Timeout>()
  private closing: Promise<void> | undefined

  constructor(private readonly options: RelayHubOptions) {}

  get roomCount(): number {
    return this.rooms.size
  }

  get connectionCount(): number {
    let count = 0
    for (const room of this.rooms.values()) count += room.connectionCount
    return count
  }

  /** Whether `roomId` is in memory right now (tests and metrics). */
  isLoaded(roomId: string): boolean {
    return this.rooms.has(roomId)
  }

  /**
   * The loaded room, held for one connection: the caller must `connect` to it or `release` it.
   * `mayCreate` false (an operator key is set and the client lacks it) admits existing rooms
   * only. Rejects when the store fails.
   */
  async acquire(roomId: string, options: { mayCreate: boolean }): Promise<AcquireResult> {
    if (this.closing) throw new Error('the relay is shutting down')
    if (!options.mayCreate && !this.rooms.has(roomId)) {
      if (!(await this.options.store.exists(roomId))) {
        return {
          ok: false,
          violation: {
            code: CloseCode.OPERATOR_KEY_REQUIRED,
            limit: 'operatorKey',
            value: 'new room without key',
            reason: 'creating a room needs the operator key',
          },
        }
      }
    }
    return { ok: true, room: await this.load(roomId) }
  }

  /** Sends the keepalive in every room (see RelayRoom.keepalive). */
  keepalive(): void {
    for (const room of this.rooms.values()) room.keepalive()
  }

  /** Stores what every room has pending and frees them all. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const timer of this.idleTimers.values()) clearTimeout(timer)
      this.idleTimers.clear()
      await Promise.allSettled([...this.loading.values()])
      for (const room of [...this.rooms.values()]) this.unload(room)
      await Promise.allSettled([...this.unloading.values()])
    })())
  }

  private async load(roomId: string): Promise<RelayRoom> {
    for (;;) {
      const loaded = this.rooms.get(roomId)
      if (loaded) {
        // Held synchronously, so no idle timer can unload it before the caller connects.
        this.cancelIdle(roomId)
        loaded.hold()
        return loaded
      }
      // A room still storing its last updates is loaded again only once they are stored.
      const unloading = this.unloading.get(roomId)
      if (unloading) {
        await unloading
        continue
      }
      let loading = this.loading.get(roomId)
      if (!loading) {
        loading = RelayRoom.load({
          roomId,
          store: this.options.store,
          limits: this.options.limits,
          logger: this.options.logger,
          metrics: this.options.metrics,
          now: this.options.now,
          awarenessBus: this.options.awarenessBus,
          onIdle: (room) => this.scheduleUnload(room),
          onBroken: (room) => this.unload(room),
        })
        const settled = loading.then(
          (room) => {
            this.loading.delete(roomId)
            this.rooms.set(roomId, room)
            return room
          },
          (error: unknown) => {
            this.loading.delete(roomId)
            throw error
          },
        )
        this.loading.set(roomId, settled)
        loading = settled
      }
      await loading
      if (this.closing) throw new Error('the relay is shutting down')
    }
  }

  private scheduleUnload(room: RelayRoom): void {
    if (this.closing || this.rooms.get(room.id) !== room) return
    this.cancelIdle(room.id)
    const timer = setTimeout(() => {
      this.idleTimers.delete(room.id)
      if (room.idle) this.unload(room)
    }, this.options.limits.idleRoomUnloadMs)
    timer.unref()
    this.idleTimers.set(room.id, timer)
  }

  private cancelIdle(roomId: string): void {
    const timer = this.idleTimers.get(roomId)
    if (timer === undefined) return
    clearTimeout(timer)
    this.idleTimers.delete(roomId)
  }

  private unload(room: RelayRoom): void {
    if (this.rooms.get(room.id) !== room) return
    this.rooms.delete(room.id)
    this.cancelIdle(room.id)
    const done = room
      .unload()
      .catch((error: unknown) => {
        this.options.logger.error('relay.unload_failed', { room: room.logId, error })
      })
      .finally(() => {
        if (this.unloading.get(room.id) === done) this.unloading.delete(room.id)
      })
    this.unloading.set(room.id, done)
  }
}
