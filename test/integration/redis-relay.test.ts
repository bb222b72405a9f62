// The relay across instances: two Parley servers on one Redis serve one room. Stock y-websocket
// clients on different instances sync live, someone joining later on the other instance gets
// what was stored, and a crashed instance leaves the other serving the room with everything
// that was acknowledged.

import { describe, expect, it, vi } from 'vitest'
import {
  newRoom,
  textsOf,
  untilSaved,
  untilSynced,
  writeText,
  type StockClient,
} from '../support/relay-client'
import { RedisRelayPair } from '../support/redis-relay-pair'

const WAIT = { timeout: 15_000, interval: 20 }

const pair = RedisRelayPair.forThisFile()
const client = pair.client.bind(pair)
/** Instances may deliver writes in another order: compare as sets. */
const texts = (stock: StockClient) => textsOf(stock).sort()

describe('relay over Redis', () => {
  it('syncs stock clients connected to different instances, both ways', async () => {
    const room = newRoom()
    const alice = client(pair.a, room)
    const bob = client(pair.b, room)
    await Promise.all([untilSynced(alice), untilSynced(bob)])
    writeText(alice, 'hello from A')
    await vi.waitFor(() => expect(texts(bob)).toEqual(['hello from A']), WAIT)
    writeText(bob, 'hello from B')
    await vi.waitFor(() => expect(texts(alice)).toEqual(['hello from A', 'hello from B']), WAIT)
    await Promise.all([untilSaved(alice), untilSaved(bob)])
  })

  it('hands what was stored through one instance to a newcomer on the other', async () => {
    const room = newRoom()
    const alice = client(pair.a, room)
    await untilSynced(alice)
    writeText(alice, 'left on A')
    await untilSaved(alice)
    alice.destroy()
    const carol = client(pair.b, room)
    await untilSynced(carol)
    expect(texts(carol)).toEqual(['left on A'])
  })

  it('keeps serving a room on B when instance A crashes', async () => {
    const crashing = await pair.startProcess()
    const room = newRoom()
    const alice = client(crashing, room)
    const bob = client(pair.b, room)
    await Promise.all([untilSynced(alice), untilSynced(bob)])
    writeText(alice, 'acknowledged before the crash')
    await untilSaved(alice)
    await vi.waitFor(() => expect(texts(bob)).toEqual(['acknowledged before the crash']), WAIT)

    await crashing.kill()
    alice.destroy()
    writeText(bob, 'after the crash')
    await untilSaved(bob)
    const carol = client(pair.b, room)
    await untilSynced(carol)
    expect(texts(carol)).toEqual(['acknowledged before the crash', 'after the crash'])
    writeText(carol, 'still live on B')
    await vi.waitFor(() => expect(texts(bob)).toContain('still live on B'), WAIT)
  })
})
