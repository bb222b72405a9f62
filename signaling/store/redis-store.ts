// The shared room store (`--redis`): every instance reads and writes rooms in one Redis, so a
// client on instance A and one on instance B share a room. A room is a stream of updates (the
// cursor is the stream id) plus at most one snapshot hash; each entry is tagged with the
// instance that appended it so `follow` can hand an instance only the others' updates.
// Durable means what the Redis server's AOF policy says (README); we check it at startup.
//
// Keys (the room id escaped, inside a hash tag so one room's keys share a cluster slot):
//   parley:room:{<id>}:log    stream; entry fields u = update bytes, i = instance id
//   parley:room:{<id>}:snap   hash; v = "1", through = last stream id covered, data = bytes
//
// Plain commands only (XADD, XRANGE, XREAD, XTRIM MINID, WATCH/MULTI; Redis >= 6.2 or Valkey).

import { randomBytes } from 'node:crypto'
import { WatchError } from '@redis/client'
import type { Logger } from '../log'
import {
  closeRedis,
  connectRedis,
  escapeKeyPart,
  redactUrl,
  type RedisConnection,
} from '../redis-client'
import { RedisFollower, type RoomKeys } from './redis-follower'
import { isAfter, nextStreamId, parseStreamId } from './redis-stream-id'
import type { LogCursor, RemoteAppendListener, RoomStore, StoredRoom } from './room-store'

export const REDIS_KEY_PREFIX = 'parley:'
const SNAPSHOT_FORMAT = '1'

// A compaction leaves the entries it covers in the stream for this long before trimming them,
// so a follower on another instance that is a few round trips behind still reads them instead
// of missing them. Followers away longer (a Redis outage) get the snapshot when they resume.
const COMPACTION_GRACE_MS = 60_000n
// Compactions of one room by several instances at once retry on WATCH conflicts; past this
// many in a row something is compacting in a loop, and this one gives up (it is retried later).
const MAX_COMPACT_ATTEMPTS = 5

export const ROOM_KEYS: RoomKeys = {
  log: (roomId) => `${REDIS_KEY_PREFIX}room:{${escapeKeyPart(roomId)}}:log`,
  snapshot: (roomId) => `${REDIS_KEY_PREFIX}room:{${escapeKeyPart(roomId)}}:snap`,
}

export interface RedisStoreOptions {
  url: string
  logger: Logger
}

export class RedisRoomStore implements RoomStore {
  readonly kind = 'redis'
  /** Tags this instance's appends; random per process, so a restart is a new instance. */
  readonly instanceId = randomBytes(9).toString('base64url')
  private readonly follower: RedisFollower
  private readonly inFlight = new Set<Promise<unknown>>()
  private compactions: Promise<void> = Promise.resolve()
  private closing: Promise<void> | undefined

  private constructor(
    private readonly commands: RedisConnection,
    /** WATCH is per connection: compactions get their own, one at a time. */
    private readonly compactor: RedisConnection,
    reader: RedisConnection,
    private readonly logger: Logger,
  ) {
    this.follower = new RedisFollower({
      reader,
      control: commands,
      instanceId: this.instanceId,
      keys: ROOM_KEYS,
      logger,
      readSnapshot: (roomId, via) => readSnapshot(via, roomId),
    })
  }

  /** Connects (failing with a readable error if Redis is unreachable) and checks its AOF. */
  static async open(options: RedisStoreOptions): Promise<RedisRoomStore> {
    const { url, logger } = options
    const opened: RedisConnection[] = []
    try {
      for (const role of ['store', 'store-compact', 'store-follow']) {
        opened.push(await connectRedis({ url, logger, role }))
      }
    } catch (error) {
      await Promise.all(opened.map(closeRedis))
      throw error
    }
    const [commands, compactor, reader] = opened as [
      RedisConnection,
      RedisConnection,
      RedisConnection,
    ]
    const durability = await checkDurability(commands, logger, url)
    const store = new RedisRoomStore(commands, compactor, reader, logger)
    logger.info('store.opened', {
      kind: 'redis',
      url: redactUrl(url),
      instance: store.instanceId,
      ...durability,
    })
    return store
  }

  async exists(roomId: string): Promise<boolean> {
    this.assertOpen()
    return (await this.commands.exists([ROOM_KEYS.log(roomId), ROOM_KEYS.snapshot(roomId)])) > 0
  }

  async load(roomId: string): Promise<StoredRoom> {
    this.assertOpen()
    // Log first, snapshot second, and no MULTI needed: a compaction committing in between
    // only trims entries its (newer) snapshot covers, and those are filtered out below.
    const entries = await this.commands.xRange(ROOM_KEYS.log(roomId), '-', '+')
    const snapshot = await readSnapshot(this.commands, roomId)
    const updates: Uint8Array[] = snapshot ? [snapshot.data] : []
    let cursor: LogCursor | null = snapshot?.through ?? null
    for (const entry of entries ?? []) {
      const id = String(entry.id)
      if (snapshot && !isAfter(id, snapshot.through)) continue
      const update = (entry.message as Record<string, unknown>).u
      if (!Buffer.isBuffer(update)) {
        this.logger.warn('store.unknown_entry', { kind: this.kind, room: roomId, id })
        continue
      }
      updates.push(update)
      cursor = id
    }
    return {
      updates,
      cursor,
      bytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
    }
  }

  append(roomId: string, updates: Uint8Array[]): Promise<LogCursor> {
    return this.track(this.appendNow(roomId, updates))
  }

  compact(roomId: string, snapshot: Uint8Array, through: LogCursor): Promise<void> {
    const run = this.compactions.then(() => this.compactNow(roomId, snapshot, through))
    this.compactions = run.catch(() => undefined)
    return this.track(run)
  }

  follow(roomId: string, after: LogCursor | null, listener: RemoteAppendListener): () => void {
    this.assertOpen()
    return this.follower.follow(roomId, after, listener)
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight])
      await this.follower.stop()
      await Promise.all([closeRedis(this.compactor), closeRedis(this.commands)])
      this.logger.info('store.closed', { kind: this.kind })
    })())
  }

  private async appendNow(roomId: string, updates: Uint8Array[]): Promise<LogCursor> {
    this.assertOpen()
    if (updates.length === 0) throw new Error('append needs at least one update')
    const key = ROOM_KEYS.log(roomId)
    // One MULTI: the updates land together and in order, or not at all.
    const transaction = this.commands.multi()
    for (const update of updates) {
      transaction.xAdd(key, '*', { u: asBuffer(update), i: this.instanceId })
    }
    let ids: unknown[]
    try {
      ids = await transaction.exec()
    } catch (error) {
      throw new Error(`Redis did not store the update: ${messageOf(error)}`, { cause: error })
    }
    return String(ids.at(-1))
  }

  private async compactNow(
    roomId: string,
    snapshot: Uint8Array,
    through: LogCursor,
  ): Promise<void> {
    this.assertOpen()
    const throughId = parseStreamId(through)
    if (!throughId) throw new Error(`compact: "${through}" is not a cursor`)
    const logKey = ROOM_KEYS.log(roomId)
    const snapKey = ROOM_KEYS.snapshot(roomId)
    const redis = this.compactor
    for (let attempt = 1; attempt <= MAX_COMPACT_ATTEMPTS; attempt++) {
      // WATCH the snapshot: another instance compacting this room meanwhile aborts our EXEC,
      // so a slower, older compaction can never overwrite a newer snapshot.
      await redis.watch(snapKey)
      try {
        const current = await redis.hGet(snapKey, 'through')
        if (current !== null && !isAfter(through, String(current))) {
          await redis.unwatch()
          return // this or a newer compaction is already stored
        }
        const [last] = (await redis.xRevRange(logKey, '+', '-', { COUNT: 1 })) ?? []
        if (!last || isAfter(through, String(last.id))) {
          await redis.unwatch()
          // A snapshot claiming entries not appended yet would hide the appends that get them.
          throw new Error(`compact: cursor ${through} is past the end of room ${roomId}'s log`)
        }
        const [seconds, micros] = await redis.time()
        const graceStart =
          BigInt(String(seconds)) * 1000n + BigInt(String(micros)) / 1000n - COMPACTION_GRACE_MS
        const throughNext = nextStreamId(throughId)
        const keepFrom = isAfter(throughNext, `${graceStart}-0`) ? `${graceStart}-0` : throughNext
        await redis
          .multi()
          .hSet(snapKey, { v: SNAPSHOT_FORMAT, through, data: asBuffer(snapshot) })
          .xTrim(logKey, 'MINID', keepFrom)
          .exec()
        this.logger.debug('store.compacted', {
          kind: this.kind,
          room: roomId,
          through,
          bytes: snapshot.byteLength,
        })
        return
      } catch (error) {
        if (error instanceof WatchError) continue
        if (redis.isWatching) await redis.unwatch().catch(() => undefined)
        throw error
      }
    }
    throw new Error(`compact: room ${roomId} kept changing under ${MAX_COMPACT_ATTEMPTS} attempts`)
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.inFlight.add(operation)
    const settled = () => void this.inFlight.delete(operation)
    operation.then(settled, settled)
    return operation
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('the room store is closed')
  }
}

async function readSnapshot(
  redis: RedisConnection,
  roomId: string,
): Promise<{ data: Uint8Array; through: LogCursor } | null> {
  const fields = (await redis.hGetAll(ROOM_KEYS.snapshot(roomId))) as Record<string, unknown>
  if (Object.keys(fields).length === 0) return null
  const through = String(fields.through)
  if (
    String(fields.v) !== SNAPSHOT_FORMAT ||
    !parseStreamId(through) ||
    !Buffer.isBuffer(fields.data)
  ) {
    // Refuse rather than serve the room without its history: clients would think it empty.
    throw new Error(`room ${roomId}: the stored snapshot is corrupt or of an unknown format`)
  }
  return { data: fields.data, through }
}

/** Logs what "durable" means on this Redis; never fails (managed Redis may forbid CONFIG). */
async function checkDurability(
  redis: RedisConnection,
  logger: Logger,
  url: string,
): Promise<{ appendonly: string; appendfsync: string }> {
  const read = async (name: string) => {
    const value = ((await redis.configGet(name)) as Record<string, Buffer | string | undefined>)[
      name
    ]
    return value === undefined ? 'unknown' : value.toString()
  }
  try {
    const appendonly = await read('appendonly')
    const appendfsync = await read('appendfsync')
    if (appendonly === 'no') {
      logger.warn('store.redis_aof_off', {
        url: redactUrl(url),
        consequence: 'a Redis restart loses updates acknowledged since its last RDB snapshot',
        fix: 'appendonly yes, appendfsync always (or everysec: up to ~1 s lost)',
      })
    } else if (appendfsync === 'everysec') {
      logger.info('store.redis_fsync_policy', {
        appendfsync,
        consequence: 'a crash of the Redis host can lose the last ~1 s of acknowledged updates',
      })
    } else if (appendfsync === 'no') {
      logger.warn('store.redis_fsync_policy', {
        appendfsync,
        consequence: 'a crash of the Redis host can lose ~30 s of acknowledged updates',
      })
    }
    return { appendonly, appendfsync }
  } catch (error) {
    logger.warn('store.redis_config_unreadable', {
      url: redactUrl(url),
      error: messageOf(error),
      consequence: 'cannot tell whether Redis persists updates (AOF): check with your provider',
    })
    return { appendonly: 'unknown', appendfsync: 'unknown' }
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
