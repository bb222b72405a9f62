// The embedded LevelDB store: the shared acceptance suite, then what only a file-backed store
// has to get right — a SIGKILL mid-write loses nothing acknowledged, one process per data
// directory, readable errors for a bad directory or a foreign schema.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createLogger, silentLogger } from '../../signaling/log'
import { LevelRoomStore } from '../../signaling/store/level-store'
import { openRoomStore } from '../../signaling/store/open-room-store'
import type { LevelChildEvent } from '../support/level-store-child'
import { describeRoomStore } from '../support/room-store-acceptance'

const CHILD_SCRIPT = fileURLToPath(new URL('../support/level-store-child.ts', import.meta.url))
const scratchDirs: string[] = []
const children: ChildProcess[] = []

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-level-'))
  scratchDirs.push(dir)
  return dir
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await Promise.all(scratchDirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

/** Raw access to the store's LevelDB, while the store itself is closed or between calls. */
async function withRawDb(dataDir: string, fn: (db: ClassicLevel) => Promise<void>): Promise<void> {
  const db = new ClassicLevel(join(dataDir, 'rooms'))
  await db.open()
  try {
    await fn(db)
  } finally {
    await db.close()
  }
}

let dataDir = ''
let current: LevelRoomStore | undefined
describeRoomStore('level', {
  async open() {
    current = await LevelRoomStore.open({ dataDir, logger: silentLogger })
    return current
  },
  async reset() {
    dataDir = await scratch()
  },
  async plantUnknownKey(roomId) {
    await rawWrite(`room/${encodeURIComponent(roomId)}/zz-not-ours`, new Uint8Array([1, 2, 3]))
  },
  async corruptSnapshot(roomId) {
    await rawWrite(`room/${encodeURIComponent(roomId)}/snap`, new Uint8Array([99]))
  },
})

async function rawWrite(key: string, value: Uint8Array): Promise<void> {
  // LevelDB allows one handle per directory and the store under test holds it: write through it.
  const db = (current as unknown as { db: ClassicLevel<string, Uint8Array> }).db
  await db.put(key, value, { valueEncoding: 'view' } as never)
}

function startChild(
  dir: string,
  mode: 'write' | 'hold',
): {
  child: ChildProcess
  events: LevelChildEvent[]
  waitFor(predicate: (events: LevelChildEvent[]) => boolean, what: string): Promise<void>
} {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT], {
    env: { ...process.env, PARLEY_DATA_DIR: dir, PARLEY_MODE: mode, PARLEY_ROOMS: '4' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  children.push(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const events: LevelChildEvent[] = []
  const listeners = new Set<() => void>()
  child.on('message', (event: LevelChildEvent) => {
    events.push(event)
    for (const listener of listeners) listener()
  })
  const waitFor = (predicate: (events: LevelChildEvent[]) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        const fatal = events.find((e) => e.event === 'fatal')
        if (fatal) reject(new Error(`child failed: ${JSON.stringify(fatal)}\n${output}`))
        else if (predicate(events)) resolve()
        else return
        listeners.delete(check)
        clearTimeout(timer)
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`child: no ${what} within 30 s\n${output}`))
      }, 30_000)
      listeners.add(check)
      child.once('exit', (code) => {
        if (!predicate(events))
          reject(new Error(`child exited (${code}) before ${what}\n${output}`))
      })
      check()
    })
  return { child, events, waitFor }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

describe('LevelRoomStore on disk', () => {
  const stores: LevelRoomStore[] = []
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()))
  })

  it('loses nothing that append resolved when the process is SIGKILLed mid-write', async () => {
    const dir = await scratch()
    const writer = startChild(dir, 'write')
    await writer.waitFor(
      (events) => events.filter((e) => e.event === 'acked').length >= 400,
      '400 acks',
    )
    writer.child.kill('SIGKILL')
    await exited(writer.child)

    const acked = new Map<string, number>()
    for (const event of writer.events) {
      if (event.event === 'acked')
        acked.set(event.room, Math.max(acked.get(event.room) ?? -1, event.index))
    }
    const store = await LevelRoomStore.open({ dataDir: dir, logger: silentLogger })
    stores.push(store)
    for (const [room, lastAcked] of acked) {
      const labels = (await store.load(room)).updates.map(
        (u) => new TextDecoder().decode(u.subarray(0, 40)).split('|')[0],
      )
      // Every acknowledged update is there, in order, with nothing before it missing; updates
      // written but not yet acknowledged when the kill came may be there too.
      expect(labels.length).toBeGreaterThan(lastAcked)
      expect(labels.slice(0, lastAcked + 1)).toEqual(
        Array.from({ length: lastAcked + 1 }, (_, i) => `${room}:${i}`),
      )
    }
    expect(acked.size).toBe(4)
  })

  it('refuses a data directory another process has open, saying so', async () => {
    const dir = await scratch()
    const holder = startChild(dir, 'hold')
    await holder.waitFor((events) => events.some((e) => e.event === 'ready'), 'ready')
    await expect(LevelRoomStore.open({ dataDir: dir, logger: silentLogger })).rejects.toThrow(
      /another Parley server is using it/,
    )
    holder.child.kill('SIGKILL')
    await exited(holder.child)
    // The lock dies with its process: the next server opens the same data.
    stores.push(await LevelRoomStore.open({ dataDir: dir, logger: silentLogger }))
  })

  it('refuses a data directory this process already has open', async () => {
    const dir = await scratch()
    stores.push(await LevelRoomStore.open({ dataDir: dir, logger: silentLogger }))
    await expect(LevelRoomStore.open({ dataDir: dir, logger: silentLogger })).rejects.toThrow(
      /another Parley server is using it/,
    )
  })

  it('explains a data directory that cannot be created', async () => {
    const dir = await scratch()
    const file = join(dir, 'a-file')
    await writeFile(file, 'not a directory')
    await expect(
      LevelRoomStore.open({ dataDir: join(file, 'data'), logger: silentLogger }),
    ).rejects.toThrow(
      /Cannot create the data directory .*a-file.*: a parent of it is not a directory/,
    )
  })

  it('refuses a directory holding another schema or foreign data', async () => {
    const newer = await scratch()
    await withRawDb(newer, (db) => db.put('parley/schema', '2'))
    await expect(LevelRoomStore.open({ dataDir: newer, logger: silentLogger })).rejects.toThrow(
      /schema is "2", this Parley reads schema 1/,
    )
    const foreign = await scratch()
    await withRawDb(foreign, (db) => db.put('something', 'else'))
    await expect(LevelRoomStore.open({ dataDir: foreign, logger: silentLogger })).rejects.toThrow(
      /holds data Parley did not write/,
    )
  })

  it('is what openRoomStore opens without a Redis URL, in <dataDir>/rooms, created if missing', async () => {
    const dir = join(await scratch(), 'nested', 'data')
    const lines: string[] = []
    const store = await openRoomStore(
      { dataDir: dir, redisUrl: null },
      createLogger({ level: 'info', sink: (line) => lines.push(line) }),
    )
    stores.push(store as LevelRoomStore)
    expect(store.kind).toBe('level')
    expect('follow' in store).toBe(false)
    await store.append('room', [new Uint8Array([1])])
    expect(
      lines.map((line) => JSON.parse(line) as { event: string; location?: string }),
    ).toContainEqual(
      expect.objectContaining({ event: 'store.opened', location: join(dir, 'rooms') }),
    )
  })
})
