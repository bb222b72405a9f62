// Why the embedded store is LevelDB (classic-level) and not SQLite (better-sqlite3): durable
// append latency, throughput with many rooms appending at once, and how long the event loop
// stalls meanwhile (better-sqlite3 is synchronous, so its fsync runs on the main thread and every
// client waits). Both with fsync on: classic-level `sync: true`, SQLite WAL + synchronous=FULL.
//
// better-sqlite3 is not a dependency; to compare: `npm i --no-save better-sqlite3@12`, then
// `node --import tsx test/bench/store-choice.bench.ts`. Without it only LevelDB is measured.

import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'

const quick = process.argv.includes('--quick')
const SEQUENTIAL_APPENDS = quick ? 50 : 300
const ROOMS = 100
const CONCURRENT_MS = quick ? 500 : 3_000
// A chat message: an encrypted Yjs update of a few hundred bytes.
const UPDATE = new Uint8Array(400).fill(7)

interface Store {
  name: string
  append(room: number, seq: number): Promise<void>
  close(): Promise<void>
}

interface SqliteStatement {
  run(...params: unknown[]): unknown
}
interface SqliteDatabase {
  pragma(text: string): unknown
  exec(sql: string): unknown
  prepare(sql: string): SqliteStatement
  transaction<T extends (...args: never[]) => unknown>(fn: T): T
  close(): void
}
type SqliteConstructor = new (file: string) => SqliteDatabase

function key(room: number, seq: number): string {
  return `r/${room.toString(16).padStart(8, '0')}/${seq.toString(16).padStart(12, '0')}`
}

async function openLevel(dir: string, mode: 'each' | 'per-turn'): Promise<Store> {
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
  // Per-turn: appends made in one event-loop turn go out as one synced batch.
  let pending: { key: string; done: () => void; fail: (e: unknown) => void }[] = []
  const flush = () => {
    const batch = pending
    pending = []
    db.batch(
      batch.map((p) => ({ type: 'put' as const, key: p.key, value: UPDATE })),
      { sync: true },
    ).then(
      () => batch.forEach((p) => p.done()),
      (e: unknown) => batch.forEach((p) => p.fail(e)),
    )
  }
  return {
    name: `classic-level, ${mode}`,
    append: (room, seq) =>
      mode === 'each'
        ? db.put(key(room, seq), UPDATE, { sync: true })
        : new Promise((done, fail) => {
            if (pending.length === 0) setImmediate(flush)
            pending.push({ key: key(room, seq), done, fail })
          }),
    close: () => db.close(),
  }
}

function openSqlite(Database: SqliteConstructor, dir: string, mode: 'each' | 'per-turn'): Store {
  const db = new Database(join(dir, 'rooms.sqlite'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec('CREATE TABLE log (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID')
  const insert = db.prepare('INSERT INTO log (k, v) VALUES (?, ?)')
  const insertMany = db.transaction((keys: string[]) => {
    for (const k of keys) insert.run(k, UPDATE)
  })
  let pending: { key: string; done: () => void }[] = []
  const flush = () => {
    const batch = pending
    pending = []
    insertMany(batch.map((p) => p.key))
    batch.forEach((p) => p.done())
  }
  return {
    name: `better-sqlite3, ${mode}`,
    append: (room, seq) => {
      if (mode === 'each') {
        insert.run(key(room, seq), UPDATE)
        return Promise.resolve()
      }
      return new Promise((done) => {
        if (pending.length === 0) setImmediate(flush)
        pending.push({ key: key(room, seq), done })
      })
    },
    close: () => Promise.resolve(db.close()),
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN
}

/** The longest gap between 1 ms timer ticks while `work` runs: how long clients would wait. */
async function withStallMeter<T>(
  work: () => Promise<T>,
): Promise<{ result: T; maxStallMs: number }> {
  let last = performance.now()
  let maxStallMs = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    maxStallMs = Math.max(maxStallMs, now - last)
    last = now
  }, 1)
  try {
    const result = await work()
    // A store that never yields starves the ticker entirely: count the last gap too.
    return { result, maxStallMs: Math.max(maxStallMs, performance.now() - last) }
  } finally {
    clearInterval(ticker)
  }
}

async function measure(store: Store): Promise<string> {
  const latencies: number[] = []
  for (let seq = 0; seq < SEQUENTIAL_APPENDS; seq++) {
    const start = performance.now()
    await store.append(0, seq)
    latencies.push(performance.now() - start)
  }
  latencies.sort((a, b) => a - b)

  const { result: appended, maxStallMs } = await withStallMeter(async () => {
    const deadline = performance.now() + CONCURRENT_MS
    let count = 0
    await Promise.all(
      Array.from({ length: ROOMS }, async (_, room) => {
        for (let seq = 0; performance.now() < deadline; seq++) {
          await store.append(room + 1, seq)
          count++
        }
      }),
    )
    return count
  })
  return [
    store.name.padEnd(26),
    `p50 ${percentile(latencies, 50).toFixed(2)} ms`,
    `p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    `${ROOMS} rooms: ${Math.round(appended / (CONCURRENT_MS / 1000))} appends/s`,
    `max event-loop stall ${maxStallMs.toFixed(1)} ms`,
  ].join(' | ')
}

async function main(): Promise<void> {
  let Sqlite: SqliteConstructor | undefined
  try {
    Sqlite = createRequire(import.meta.url)('better-sqlite3') as SqliteConstructor
  } catch {
    console.log('better-sqlite3 not installed: measuring classic-level only')
  }
  const openers: ((dir: string) => Promise<Store>)[] = [
    (dir) => openLevel(dir, 'each'),
    (dir) => openLevel(dir, 'per-turn'),
  ]
  if (Sqlite) {
    const Database = Sqlite
    openers.push((dir) => Promise.resolve(openSqlite(Database, dir, 'each')))
    openers.push((dir) => Promise.resolve(openSqlite(Database, dir, 'per-turn')))
  }
  for (const open of openers) {
    const dir = await mkdtemp(join(tmpdir(), 'parley-store-bench-'))
    const store = await open(dir)
    try {
      console.log(await measure(store))
    } finally {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

await main()
