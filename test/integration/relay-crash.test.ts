// The relay crashes (SIGKILL) while stock clients are writing to it: every update it had
// acknowledged (a sync step 1 covering it reached the writer) is in the store afterwards, and
// once it is started again on the same port and data directory the clients reconnect by
// themselves and finish syncing what was lost in flight.

import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { createLogger } from '../../signaling/log'
import { openRoomStore } from '../../signaling/store/open-room-store'
import { ServerProcess } from '../support/server-process'
import { StockClient, newRoom, type RoomCredentials } from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'
import { makeTempDir } from '../support/server-harness'

const WAIT = { timeout: 30_000, interval: 20 }
// Paced under the relay's sustained message rate (50/s), so only the crash stops the writes.
const WRITE_EVERY_MS = 25
// Written in one tick right before the kill, so some updates are surely in flight.
const FINAL_BURST = 10

interface Writer {
  name: string
  room: RoomCredentials
  client: StockClient
  written: number
  timer?: NodeJS.Timeout
}

const scope = relayTestScope()

function record(writer: Writer): void {
  writer.client.doc.getArray<string>('messages').push([`${writer.name}:${writer.written++}`])
}

/** Records in a room, as the store holds them (read straight from the data directory). */
async function storedRecords(dataDir: string, rooms: RoomCredentials[]): Promise<Set<string>> {
  const store = await openRoomStore({ dataDir, redisUrl: null }, createLogger({ level: 'silent' }))
  try {
    const records = new Set<string>()
    for (const room of rooms) {
      const doc = new Y.Doc()
      for (const update of (await store.load(room.roomId)).updates) Y.applyUpdate(doc, update)
      for (const text of doc.getArray<string>('messages').toArray()) records.add(text)
    }
    return records
  } finally {
    await store.close()
  }
}

describe('relay crash', () => {
  it('keeps every acknowledged update through a SIGKILL; clients reconnect by themselves', async () => {
    const data = await makeTempDir('parley-relay-crash-')
    scope.defer(() => data.remove())
    const first = await ServerProcess.start({ dataDir: data.dir })
    scope.defer(() => first.kill())
    const shared = newRoom()
    const own = newRoom()
    const writers: Writer[] = [
      { name: 'alice', room: shared },
      { name: 'bob', room: shared },
      { name: 'carol', room: own },
    ].map(({ name, room }) => {
      const client = new StockClient(first.wsUrl('/relay'), room.roomId, { token: room.token })
      scope.defer(() => client.destroy())
      return { name, room, client, written: 0 }
    })
    await vi.waitFor(() => expect(writers.every((w) => w.client.synced)).toBe(true), WAIT)
    for (const writer of writers) {
      writer.timer = setInterval(() => record(writer), WRITE_EVERY_MS)
      scope.defer(() => clearInterval(writer.timer))
    }
    // Mid-sync: every writer has had a good part of its writes acknowledged...
    await vi.waitFor(
      () => expect(writers.every((w) => w.client.storedClock() >= 40)).toBe(true),
      WAIT,
    )
    // ...and has more on the wire when the relay dies.
    for (const writer of writers) for (let i = 0; i < FINAL_BURST; i++) record(writer)
    await first.kill()
    const acknowledged = writers.map((writer) => writer.client.storedClock())
    for (const [i, writer] of writers.entries()) {
      expect(acknowledged[i]).toBeLessThan(writer.written)
    }

    // Every record whose clock an acknowledgement covered is on disk. (Record n of a writer
    // is its (n+1)th single-item insert: clock n.)
    const stored = await storedRecords(data.dir, [shared, own])
    for (const [i, writer] of writers.entries()) {
      for (let n = 0; n < acknowledged[i]; n++) expect(stored).toContain(`${writer.name}:${n}`)
    }

    // Back on the same port: the writers reconnect without being told to, and everything
    // written, lost in flight or written while the relay was down, reaches it.
    const second = await ServerProcess.start({ dataDir: data.dir, port: first.port })
    scope.defer(() => second.kill())
    await vi.waitFor(
      () => expect(writers.every((w) => w.client.opens === 2 && w.client.synced)).toBe(true),
      WAIT,
    )
    for (const writer of writers) clearInterval(writer.timer)
    await vi.waitFor(
      () => expect(writers.every((w) => w.client.storedClock() === w.client.clock)).toBe(true),
      WAIT,
    )
    for (const room of [shared, own]) {
      const reader = new StockClient(second.wsUrl('/relay'), room.roomId, { token: room.token })
      scope.defer(() => reader.destroy())
      await vi.waitFor(() => expect(reader.synced).toBe(true), WAIT)
      const texts = new Set(reader.doc.getArray<string>('messages').toArray())
      for (const writer of writers.filter((w) => w.room === room)) {
        for (let n = 0; n < writer.written; n++) expect(texts).toContain(`${writer.name}:${n}`)
      }
    }
  })
})
