// What one connection may send (docs/relay.md, "Budgets"): a person or a bot sending 40 short
// messages every second through a stock y-websocket client is never refused, at the default
// limits; a flood of updates, of bytes or of frames is stopped with 1013 and a log line naming
// the budget. The budgets run on a clock the test moves, so 30 s of traffic take a moment.

import { afterEach, describe, expect, it, vi } from 'vitest'
import { CloseCode } from '../../signaling/close-codes'
import {
  QUERY_AWARENESS_FRAME,
  RawRelayClient,
  StockClient,
  newRoom,
  relayUrl,
  syncUpdateFrame,
  untilSynced,
  writeText,
} from '../support/relay-client'
import { startClockedRelay, type ClockedRelay } from '../support/relay-clocked-server'
import * as Y from 'yjs'

const WAIT = { timeout: 15_000, interval: 10 }
const teardown: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const step of teardown.splice(0).reverse()) await step()
})

async function relay(limits: Parameters<typeof startClockedRelay>[0] = {}) {
  const started = await startClockedRelay(limits)
  teardown.push(() => started.close())
  return started
}

function stock(clocked: ClockedRelay) {
  const room = newRoom()
  const client = new StockClient(clocked.relayUrl, room.roomId, { token: room.token })
  teardown.push(() => client.destroy())
  return client
}

function rejected(clocked: ClockedRelay, limit: string) {
  return clocked.logs.filter((line) => line.event === 'relay.rejected' && line.limit === limit)
}

describe('connection budget', () => {
  it('takes 40 short messages every second for 30 s from one stock client', async () => {
    const clocked = await relay()
    const writer = stock(clocked)
    await untilSynced(writer)
    const perSecond = 40
    for (let second = 0; second < 30; second++) {
      for (let i = 0; i < perSecond; i++) {
        clocked.now = second * 1000 + (i * 1000) / perSecond
        writeText(writer, `message ${second}.${i}`)
        // Apart in real time too, so each is a turn, an append and an acknowledgement of its
        // own (which the stock client answers), as when they come 25 ms apart.
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }
    await vi.waitFor(() => expect(writer.storedClock()).toBe(writer.clock), WAIT)
    expect(writer.closes).toEqual([])
    expect(clocked.logs.filter((line) => line.event === 'relay.rejected')).toEqual([])
  })

  it('stops a flood of updates with 1013, naming updatesPerSecond', async () => {
    const clocked = await relay()
    const flooder = stock(clocked)
    await untilSynced(flooder)
    for (let i = 0; i < 2_000 && flooder.closes.length === 0; i++) writeText(flooder, `${i}`)
    await vi.waitFor(() => expect(rejected(clocked, 'updatesPerSecond')).toHaveLength(1), WAIT)
    expect(rejected(clocked, 'updatesPerSecond')[0]).toMatchObject({ closeCode: 1013 })
    await vi.waitFor(
      () =>
        expect(flooder.closes).toContainEqual({
          code: CloseCode.TRY_AGAIN_LATER,
          reason: 'message rate limit exceeded',
        }),
      WAIT,
    )
  })

  it('stops a flood of bytes with 1013, naming bytesPerSecond', async () => {
    const clocked = await relay({ byteBurst: 64 * 1024, bytesPerSecond: 16 * 1024 })
    const room = newRoom()
    const raw = await RawRelayClient.connect(
      relayUrl(clocked.relayUrl, room.roomId, { token: room.token }),
    )
    teardown.push(() => raw.close())
    const doc = new Y.Doc()
    for (let i = 0; i < 10; i++) {
      const updates: Uint8Array[] = []
      doc.once('update', (update: Uint8Array) => updates.push(update))
      doc.getArray<string>('messages').push(['x'.repeat(10_000)])
      raw.send(syncUpdateFrame(updates[0]))
    }
    expect(await raw.closed).toEqual({
      code: CloseCode.TRY_AGAIN_LATER,
      reason: 'message rate limit exceeded',
    })
    expect(rejected(clocked, 'bytesPerSecond')[0]).toMatchObject({ max: 16 * 1024 })
  })

  it('still stops a flood of empty frames with 1013, naming messagesPerSecond', async () => {
    const clocked = await relay()
    const room = newRoom()
    const raw = await RawRelayClient.connect(
      relayUrl(clocked.relayUrl, room.roomId, { token: room.token }),
    )
    teardown.push(() => raw.close())
    for (let i = 0; i < 5_000; i++) raw.send(QUERY_AWARENESS_FRAME)
    expect((await raw.closed).code).toBe(CloseCode.TRY_AGAIN_LATER)
    expect(rejected(clocked, 'messagesPerSecond')).toHaveLength(1)
  })
})
