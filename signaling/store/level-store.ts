// The embedded room store: LevelDB (classic-level) in `<dataDir>/rooms`, one process at a time
// (LevelDB's LOCK file). Each room is a log of updates under ordered keys plus at most one
// snapshot; appends from every room are group-committed into one fsynced batch at a time, so
// `append` resolves only once its update is on disk and the main thread never waits for fsync.
// Why LevelDB and not SQLite: test/bench/store-choice.bench.ts.
//
// Keys (UTF-8), the room id escaped with encodeURIComponent so it never contains `/`:
//   parley/schema                 "1"
//   room/<id>/log/<seq>           one update; seq = 16 lowercase hex digits (the cursor)
//   room/<id>/snap                [schema 1][through: u64 big-endian][snapshot bytes]

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { Logger } from '../log'
import type { LogCursor, RoomStore, StoredRoom } from './room-store'

export const LEVEL_SCHEMA = '1'
const SCHEMA_KEY = 'parley/schema'
const SNAPSHOT_FORMAT = 1
const SNAPSHOT_HEADER_BYTES = 9
const CURSOR = /^[0-9a-f]{16}$/

// Rooms whose next sequence number is kept in memory. Past this, the least recently used idle
// rooms are forgotten and re-read from disk (two small reads) when next written. 10,000 rooms
// is ~2 MB: far more rooms than one relay has open, and a bound on one that runs for months.
const MAX_CACHED_ROOM_HEADS = 10_000

type Batch = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

interface RoomHead {
  /** Appends and compactions using this head right now: a head in use is never evicted. */
  users: number
  /** Resolves to the sequence number the next append gets. */
  readonly next: Promise<{ seq: number }>
  /** Compactions of this room, one at a time. */
  compacting: Promise<void>
}

export interface LevelStoreOptions {
  dataDir: string
  logger: Logger
}

export class LevelRoomStore implements RoomStore {
  readonly kind = 'level'
  private readonly heads = new Map<string, RoomHead>()
  private readonly writer: GroupCommitWriter
  /** Appends and compactions not yet settled, so `close` can finish them first. */
  private readonly inFlight = new Set<Promise<unknown>>()
  private closing: Promise<void> | undefined

  private constructor(
    private readonly db: ClassicLevel<string, Uint8Array>,
    private readonly logger: Logger,
  ) {
    this.writer = new GroupCommitWriter(db)
  }

  /** Opens (creating if missing) the store in `<dataDir>/rooms`; fails with a readable error. */
  static async open(options: LevelStoreOptions): Promise<LevelRoomStore> {
    const location = join(options.dataDir, 'rooms')
    try {
      await mkdir(location, { recursive: true })
    } catch (error) {
      throw new Error(`Cannot create the data directory ${location}: ${describe(error)}`, {
        cause: error,
      })
    }
    const db = new ClassicLevel<string, Uint8Array>(location, { valueEncoding: 'view' })
    try {
      await db.open()
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new Error(
          `Cannot open the room store in ${location}: another Parley server is using it ` +
            '(give each instance its own --data-dir, or share rooms through --redis)',
          { cause: error },
        )
      }
      throw new Error(`Cannot open the room store in ${location}: ${describe(cause ?? error)}`, {
        cause: error,
      })
    }
    try {
      await checkSchema(db, location)
    } catch (error) {
      await db.close()
      throw error
    }
    options.logger.info('store.opened', { kind: 'level', location })
    return new LevelRoomStore(db, options.logger)
  }

  async exists(roomId: string): Promise<boolean> {
    this.assertOpen()
    const prefix = roomPrefix(roomId)
    const keys = await this.db.keys({ gt: prefix, lt: rangeEnd(prefix), limit: 1 }).all()
    return keys.length > 0
  }

  async load(roomId: string): Promise<StoredRoom> {
    this.assertOpen()
    const prefix = roomPrefix(roomId)
    // One iterator reads one consistent snapshot of the room, so a compaction committing
    // meanwhile cannot make us pair an old snapshot with an already trimmed log.
    const entries = await this.db.iterator({ gt: prefix, lt: rangeEnd(prefix) }).all()
    const log: { seq: number; update: Uint8Array }[] = []
    let snapshot: { through: number; bytes: Uint8Array } | undefined
    for (const [key, value] of entries) {
      const rest = key.slice(prefix.length)
      if (rest === 'snap') {
        snapshot = decodeSnapshot(value, roomId)
      } else if (rest.startsWith('log/') && CURSOR.test(rest.slice(4))) {
        log.push({ seq: parseInt(rest.slice(4), 16), update: value })
      } else {
        // Not written by this schema: leave it alone, say so, serve the rest of the room.
        this.logger.warn('store.unknown_key', { kind: this.kind, room: roomId, key: rest })
      }
    }
    const through = snapshot?.through ?? -1
    const updates = snapshot ? [snapshot.bytes] : []
    let last: number | null = snapshot ? through : null
    for (const entry of log) {
      // Entries the snapshot covers are deleted with it; skip any a crash could never leave.
      if (entry.seq <= through) continue
      updates.push(entry.update)
      last = entry.seq
    }
    return {
      updates,
      cursor: last === null ? null : encodeCursor(last),
      bytes: updates.reduce((sum, update) => sum + update.byteLength, 0),
    }
  }

  append(roomId: string, updates: Uint8Array[]): Promise<LogCursor> {
    return this.track(this.appendNow(roomId, updates))
  }

  compact(roomId: string, snapshot: Uint8Array, through: LogCursor): Promise<void> {
    return this.track(this.compactNow(roomId, snapshot, through))
  }

  private async appendNow(roomId: string, updates: Uint8Array[]): Promise<LogCursor> {
    this.assertOpen()
    if (updates.length === 0) throw new Error('append needs at least one update')
    const prefix = roomPrefix(roomId)
    const head = this.useHead(roomId)
    try {
      const next = await head.next
      // Numbered synchronously after the await, so appends to one room never share a number.
      const first = next.seq
      next.seq += updates.length
      const ops: Batch[] = updates.map((value, i) => ({
        type: 'put',
        key: `${prefix}log/${encodeCursor(first + i)}`,
        value,
      }))
      await this.writer.write(ops)
      return encodeCursor(first + updates.length - 1)
    } finally {
      this.releaseHead(roomId, head)
    }
  }

  private async compactNow(
    roomId: string,
    snapshot: Uint8Array,
    through: LogCursor,
  ): Promise<void> {
    this.assertOpen()
    if (!CURSOR.test(through)) throw new Error(`compact: "${through}" is not a cursor`)
    const throughSeq = parseInt(through, 16)
    const prefix = roomPrefix(roomId)
    const head = this.useHead(roomId)
    const run = head.compacting.then(async () => {
      const next = await head.next
      if (throughSeq >= next.seq) {
        // A snapshot claiming entries not yet appended would hide the appends that get them.
        throw new Error(`compact: cursor ${through} is past the end of room ${roomId}'s log`)
      }
      const current = await this.db.get(`${prefix}snap`)
      if (current && decodeSnapshot(current, roomId).through >= throughSeq) return // done already
      // Appends only add entries after `through`, so this set cannot grow under us.
      const covered = await this.db
        .keys({ gt: `${prefix}log/`, lte: `${prefix}log/${through}` })
        .all()
      await this.writer.write([
        { type: 'put', key: `${prefix}snap`, value: encodeSnapshot(snapshot, throughSeq) },
        ...covered.map((key): Batch => ({ type: 'del', key })),
      ])
      this.logger.debug('store.compacted', {
        kind: this.kind,
        room: roomId,
        through,
        removed: covered.length,
        bytes: snapshot.byteLength,
      })
    })
    head.compacting = run.catch(() => undefined)
    try {
      await run
    } finally {
      this.releaseHead(roomId, head)
    }
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight])
      await this.writer.idle()
      // classic-level's close also waits for reads still in flight.
      await this.db.close()
      this.heads.clear()
      this.logger.info('store.closed', { kind: this.kind })
    })())
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

  private useHead(roomId: string): RoomHead {
    let head = this.heads.get(roomId)
    if (head) {
      // Most recently used last, so eviction finds idle old rooms first.
      this.heads.delete(roomId)
    } else {
      head = { users: 0, next: this.readNextSeq(roomId), compacting: Promise.resolve() }
      // A failed read must not stick: forget the head so the next call reads again.
      const created = head
      created.next.catch(() => {
        if (this.heads.get(roomId) === created) this.heads.delete(roomId)
      })
    }
    this.heads.set(roomId, head)
    head.users++
    return head
  }

  private releaseHead(roomId: string, head: RoomHead): void {
    head.users--
    if (this.heads.size <= MAX_CACHED_ROOM_HEADS) return
    for (const [id, candidate] of this.heads) {
      if (this.heads.size <= MAX_CACHED_ROOM_HEADS) break
      if (candidate.users === 0 && id !== roomId) this.heads.delete(id)
    }
  }

  /** The room's next sequence number: one past its last log entry or its snapshot. */
  private async readNextSeq(roomId: string): Promise<{ seq: number }> {
    const prefix = roomPrefix(roomId)
    const [lastKey] = await this.db
      .keys({ gt: `${prefix}log/`, lt: rangeEnd(`${prefix}log/`), reverse: true, limit: 1 })
      .all()
    const snapshot = await this.db.get(`${prefix}snap`)
    const lastLogged =
      lastKey && CURSOR.test(lastKey.slice(-16)) ? parseInt(lastKey.slice(-16), 16) : -1
    const through = snapshot ? decodeSnapshot(snapshot, roomId).through : -1
    return { seq: Math.max(lastLogged, through) + 1 }
  }
}

// A synced batch costs ~150 µs of CPU whatever its size (the hand-off to LevelDB's thread,
// the fsync; measured here), so under sustained load a batch starts at most this often and
// shares that cost among every append that arrived meanwhile. After a quiet spell an append
// is written at once. Only acknowledgements wait: the relay forwards before it stores.
const MIN_BATCH_INTERVAL_MS = 5

/**
 * Writes batches one at a time, each with fsync; whatever arrives while one is on disk goes
 * out together in the next. One fsync then covers every room that wrote meanwhile, and
 * batches commit in the order their callers asked.
 */
class GroupCommitWriter {
  private queued: { ops: Batch[]; done: () => void; fail: (error: unknown) => void }[] = []
  private flushing: Promise<void> | undefined
  /** performance.now() when the last batch started. */
  private lastBatchAt = -Infinity

  constructor(private readonly db: ClassicLevel<string, Uint8Array>) {}

  write(ops: Batch[]): Promise<void> {
    return new Promise((done, fail) => {
      this.queued.push({ ops, done, fail })
      this.flushing ??= this.flush()
    })
  }

  /** Resolves once everything queued so far is written (or has failed). */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing
  }

  private async flush(): Promise<void> {
    // Let the rest of this event-loop turn queue its writes too.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (this.queued.length > 0) {
      const wait = this.lastBatchAt + MIN_BATCH_INTERVAL_MS - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      this.lastBatchAt = performance.now()
      const group = this.queued
      this.queued = []
      try {
        await this.writeSynced(group.flatMap((entry) => entry.ops))
        for (const entry of group) entry.done()
      } catch (error) {
        for (const entry of group) entry.fail(error)
      }
    }
    this.flushing = undefined
  }

  private async writeSynced(ops: Batch[]): Promise<void> {
    // A chained batch hands each operation straight to LevelDB; the array form clones and
    // re-encodes every operation first: ~2.5x the CPU per batch (measured).
    const batch = this.db.batch()
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value)
        else batch.del(op.key)
      }
      await batch.write({ sync: true })
    } catch (error) {
      // write() closes its batch either way; one that failed before writing is closed here.
      await batch.close()
      throw error
    }
  }
}

async function checkSchema(db: ClassicLevel<string, Uint8Array>, location: string): Promise<void> {
  const stored = await db.get<string, string>(SCHEMA_KEY, { valueEncoding: 'utf8' })
  if (stored === undefined) {
    const [anyKey] = await db.keys({ limit: 1 }).all()
    if (anyKey !== undefined) {
      throw new Error(
        `Cannot open the room store in ${location}: it holds data Parley did not write`,
      )
    }
    await db.put(SCHEMA_KEY, LEVEL_SCHEMA, { valueEncoding: 'utf8', sync: true })
    return
  }
  if (stored !== LEVEL_SCHEMA) {
    throw new Error(
      `Cannot open the room store in ${location}: its schema is "${stored}", ` +
        `this Parley reads schema ${LEVEL_SCHEMA} (written by a newer version?)`,
    )
  }
}

function roomPrefix(roomId: string): string {
  if (roomId === '') throw new Error('room id is empty')
  return `room/${encodeURIComponent(roomId)}/`
}

/** The first key after every key starting with `prefix` (which ends in `/`). */
function rangeEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}0`
}

function encodeCursor(seq: number): LogCursor {
  return seq.toString(16).padStart(16, '0')
}

function encodeSnapshot(snapshot: Uint8Array, through: number): Uint8Array {
  const record = new Uint8Array(SNAPSHOT_HEADER_BYTES + snapshot.byteLength)
  const view = new DataView(record.buffer)
  view.setUint8(0, SNAPSHOT_FORMAT)
  view.setBigUint64(1, BigInt(through))
  record.set(snapshot, SNAPSHOT_HEADER_BYTES)
  return record
}

function decodeSnapshot(
  record: Uint8Array,
  roomId: string,
): { through: number; bytes: Uint8Array } {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength)
  if (record.byteLength < SNAPSHOT_HEADER_BYTES || view.getUint8(0) !== SNAPSHOT_FORMAT) {
    // Refuse rather than serve the room without its history: clients would think it empty.
    throw new Error(`room ${roomId}: the stored snapshot is corrupt or of an unknown format`)
  }
  return {
    through: Number(view.getBigUint64(1)),
    bytes: record.subarray(SNAPSHOT_HEADER_BYTES),
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'ENOTDIR') return 'a parent of it is not a directory'
  if (code === 'EROFS') return 'the file system is read-only'
  if (code === 'ENOSPC') return 'no space left on the device'
  return error instanceof Error ? error.message : String(error)
}
