// The Redis store against a real redis-server: the shared acceptance suite, then what only a
// shared store does — follow other instances' appends (and not our own), one reader connection
// for every followed room, resume after Redis restarts, reject appends while Redis is down,
// warn when Redis does not persist, fail startup when Redis is unreachable.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLogger, silentLogger } from '../../signaling/log'
import { closeRedis, connectRedis, type RedisConnection } from '../../signaling/redis-client'
import { openRoomStore } from '../../signaling/store/open-room-store'
import { RedisRoomStore, ROOM_KEYS } from '../../signaling/store/redis-store'
import type { LogCursor, RoomStore } from '../../signaling/store/room-store'
import type { LogRecord } from '../support/server-harness'
import { describeRoomStore, update } from '../support/room-store-acceptance'
import { TestRedis } from '../support/redis-server'

let redis: TestRedis
let admin: RedisConnection

beforeAll(async () => {
  redis = await TestRedis.start()
  admin = await connectRedis({ url: redis.url, logger: silentLogger, role: 'test-admin' })
})
afterAll(async () => {
  if (admin) await closeRedis(admin)
  await redis?.stop()
})

describeRoomStore('redis', {
  open: () => RedisRoomStore.open({ url: redis.url, logger: silentLogger }),
  async reset() {
    await admin.flushAll()
  },
  async plantUnknownKey(roomId) {
    // An entry of another shape in the room's stream, and a key next to the room's keys.
    await admin.xAdd(ROOM_KEYS.log(roomId), '*', { x: 'not an update' })
    await admin.set(ROOM_KEYS.log(roomId).replace(/:log$/, ':other'), 'x')
  },
  async corruptSnapshot(roomId) {
    await admin.hSet(ROOM_KEYS.snapshot(roomId), 'v', '99')
  },
})

const ROOM = 'r0OmFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'

function texts(updates: Uint8Array[]): string[] {
  return updates.map((u) => new TextDecoder().decode(u).replace(/\0+$/, ''))
}

function capture(): { logger: ReturnType<typeof createLogger>; records: LogRecord[] } {
  const records: LogRecord[] = []
  const logger = createLogger({
    level: 'debug',
    sink: (line) => records.push(JSON.parse(line) as LogRecord),
  })
  return { logger, records }
}

interface Received {
  updates: string[]
  cursors: LogCursor[]
  listener: (updates: Uint8Array[], cursor: LogCursor) => void
}

function recorder(): Received {
  const received: Received = {
    updates: [],
    cursors: [],
    listener: (updates, cursor) => {
      received.updates.push(...texts(updates))
      received.cursors.push(cursor)
    },
  }
  return received
}

describe('RedisRoomStore between instances', () => {
  const stores: RoomStore[] = []
  const open = async (logger = silentLogger) => {
    const store = await RedisRoomStore.open({ url: redis.url, logger })
    stores.push(store)
    return store
  }
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()))
    await admin.flushAll()
  })

  it("follow delivers other instances' appends, never its own", async () => {
    const a = await open()
    const b = await open()
    const atA = recorder()
    const atB = recorder()
    a.follow(ROOM, null, atA.listener)
    b.follow(ROOM, null, atB.listener)
    await a.append(ROOM, [update('from A 1'), update('from A 2')])
    const fromB = await b.append(ROOM, [update('from B')])
    const last = await a.append(ROOM, [update('from A 3')])
    await expect.poll(() => atB.updates).toEqual(['from A 1', 'from A 2', 'from A 3'])
    await expect.poll(() => atA.updates).toEqual(['from B'])
    // A cursor handed over is the last entry read: B's own, or A's own entry read with it.
    expect([fromB, last]).toContain(atA.cursors[0])
    await expect.poll(() => atB.cursors.at(-1)).toBe(last)
  })

  it('follows from a cursor, and stops when told', async () => {
    const a = await open()
    const b = await open()
    await a.append(ROOM, [update('old')])
    const { cursor } = await b.load(ROOM)
    const atB = recorder()
    const stop = b.follow(ROOM, cursor, atB.listener)
    await a.append(ROOM, [update('new')])
    await expect.poll(() => atB.updates).toEqual(['new'])
    stop()
    await a.append(ROOM, [update('after stop')])
    // A marker room followed afterwards proves the reader has read past "after stop".
    const marker = recorder()
    b.follow('marker', null, marker.listener)
    await a.append('marker', [update('m')])
    await expect.poll(() => marker.updates).toEqual(['m'])
    expect(atB.updates).toEqual(['new'])
  })

  it('hands a follower the snapshot when entries after its cursor were compacted away', async () => {
    const a = await open()
    const b = await open()
    const c1 = await a.append(ROOM, [update('one')])
    const c2 = await a.append(ROOM, [update('two')])
    await a.compact(ROOM, update('S(one,two)'), c2)
    const atB = recorder()
    b.follow(ROOM, c1, atB.listener)
    await expect.poll(() => atB.updates).toEqual(['S(one,two)'])
    expect(atB.cursors).toEqual([c2])
    await a.append(ROOM, [update('three')])
    await expect.poll(() => atB.updates).toEqual(['S(one,two)', 'three'])
  })

  it('multiplexes every followed room over one reader connection per instance', async () => {
    const a = await open()
    const b = await open()
    const rooms = Array.from({ length: 60 }, (_, i) => `room-${i}`)
    const received = new Map<string, string[]>()
    for (const room of rooms) {
      b.follow(room, null, (updates) =>
        received.set(room, [...(received.get(room) ?? []), ...texts(updates)]),
      )
    }
    await Promise.all(rooms.map((room) => a.append(room, [update(`in ${room}`)])))
    await expect.poll(() => received.size).toBe(rooms.length)
    for (const room of rooms) expect(received.get(room)).toEqual([`in ${room}`])
    const clients = (await admin.sendCommand<Buffer>(['CLIENT', 'LIST'])).toString()
    // Two instances, one follow connection each, however many rooms they follow.
    expect(clients.match(/name=parley-store-follow /g)).toHaveLength(2)
  })

  it('rejects appends while Redis is down and resumes following after it restarts', async () => {
    const a = await open()
    const { logger, records } = capture()
    const b = await open(logger)
    const atB = recorder()
    b.follow(ROOM, null, atB.listener)
    await a.append(ROOM, [update('before')])
    await expect.poll(() => atB.updates).toEqual(['before'])

    await redis.kill()
    await expect(a.append(ROOM, [update('while down')])).rejects.toThrow(/Redis did not store/)
    await redis.restart()

    // Acknowledged before the crash: on disk through the AOF (appendfsync always).
    await expect
      .poll(
        async () =>
          a.append(ROOM, [update('after')]).then(
            () => true,
            () => false,
          ),
        {
          timeout: 15_000,
          interval: 200,
        },
      )
      .toBe(true)
    await expect.poll(() => atB.updates, { timeout: 15_000 }).toEqual(['before', 'after'])
    expect(texts((await b.load(ROOM)).updates)).toEqual(['before', 'after'])
    expect(records.map((r) => r.event)).toEqual(
      expect.arrayContaining([
        'redis.disconnected',
        'store.follow_interrupted',
        'store.follow_resumed',
      ]),
    )
  })

  it('logs the AOF policy it runs under', async () => {
    const { logger, records } = capture()
    await open(logger)
    expect(records).toContainEqual(
      expect.objectContaining({
        event: 'store.opened',
        kind: 'redis',
        appendonly: 'yes',
        appendfsync: 'always',
      }),
    )
    expect(records.some((r) => r.level === 'warn')).toBe(false)
  })
})

describe('RedisRoomStore setup', () => {
  it('warns, and still starts, when Redis does not persist (AOF off)', async () => {
    const volatile = await TestRedis.start({ appendOnly: false })
    try {
      const { logger, records } = capture()
      const store = await RedisRoomStore.open({ url: volatile.url, logger })
      await store.close()
      expect(records).toContainEqual(
        expect.objectContaining({ level: 'warn', event: 'store.redis_aof_off' }),
      )
    } finally {
      await volatile.stop()
    }
  })

  it('fails startup with a readable error when Redis is unreachable', async () => {
    const gone = await TestRedis.start()
    const url = gone.url
    await gone.stop()
    await expect(
      openRoomStore({ dataDir: '/nonexistent', redisUrl: url }, silentLogger),
    ).rejects.toThrow(new RegExp(`Cannot reach Redis at ${url.replace(/[.]/g, '\\.')}`))
  })
})
