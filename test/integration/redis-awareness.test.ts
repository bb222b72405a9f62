// Presence on the relay across instances: two Parley servers on one Redis. Stock y-websocket
// clients on different instances see each other's awareness states come, change and go; a
// newcomer on the other instance sees the states already there at once (the query), not after
// the clients' 15 s renewal; and the states of a crashed instance's clients time out everywhere.

import { describe, expect, it, vi } from 'vitest'
import { newRoom, untilSynced, type StockClient } from '../support/relay-client'
import { RedisRelayPair } from '../support/redis-relay-pair'

const WAIT = { timeout: 15_000, interval: 20 }
// Well under the 15 s in which stock clients renew their state on their own: only the query
// can make a state appear this fast on an instance that had never seen it.
const AT_ONCE = { timeout: 5_000, interval: 20 }
// y-protocols drops a state not renewed for 30 s, checking every 3 s; the last renewal before
// the crash was up to 15 s earlier, so this is the worst case plus margin.
const TIMED_OUT = { timeout: 40_000, interval: 100 }

const pair = RedisRelayPair.forThisFile()
const client = pair.client.bind(pair)

function stateOf(viewer: StockClient, subject: StockClient): unknown {
  return viewer.provider.awareness.getStates().get(subject.doc.clientID)
}

describe('relay presence over Redis', () => {
  it('shows each instance the states set, changed and withdrawn on the other', async () => {
    const room = newRoom()
    const alice = client(pair.a, room)
    const bob = client(pair.b, room)
    await Promise.all([untilSynced(alice), untilSynced(bob)])

    alice.provider.awareness.setLocalState({ envelope: 'alice-1' })
    await vi.waitFor(() => expect(stateOf(bob, alice)).toEqual({ envelope: 'alice-1' }), WAIT)
    bob.provider.awareness.setLocalState({ envelope: 'bob-1' })
    await vi.waitFor(() => expect(stateOf(alice, bob)).toEqual({ envelope: 'bob-1' }), WAIT)
    alice.provider.awareness.setLocalStateField('envelope', 'alice-2')
    await vi.waitFor(() => expect(stateOf(bob, alice)).toEqual({ envelope: 'alice-2' }), WAIT)

    // Withdrawn by the client itself, then by its connection closing: both well before any
    // 30 s timeout could have removed them.
    bob.provider.awareness.setLocalState(null)
    await vi.waitFor(() => expect(stateOf(alice, bob)).toBeUndefined(), AT_ONCE)
    bob.provider.awareness.setLocalState({ envelope: 'bob-2' })
    await vi.waitFor(() => expect(stateOf(alice, bob)).toEqual({ envelope: 'bob-2' }), WAIT)
    bob.destroy()
    await vi.waitFor(() => expect(stateOf(alice, bob)).toBeUndefined(), AT_ONCE)
    // Gone from instance A too, not only from alice's copy: a newcomer there never sees it.
    const carol = client(pair.a, room)
    await untilSynced(carol)
    expect(stateOf(carol, alice)).toEqual({ envelope: 'alice-2' })
    expect(stateOf(carol, bob)).toBeUndefined()
  })

  it('shows a newcomer on another instance the states already there at once', async () => {
    const room = newRoom()
    const alice = client(pair.a, room)
    const dan = client(pair.a, room)
    alice.provider.awareness.setLocalState({ envelope: 'alice' })
    dan.provider.awareness.setLocalState({ envelope: 'dan' })
    await vi.waitFor(() => expect(stateOf(dan, alice)).toEqual({ envelope: 'alice' }), WAIT)
    await vi.waitFor(() => expect(stateOf(alice, dan)).toEqual({ envelope: 'dan' }), WAIT)

    // The room is not loaded on B yet: B learns of alice and dan only by asking.
    const carol = client(pair.b, room)
    await vi.waitFor(() => {
      expect(stateOf(carol, alice)).toEqual({ envelope: 'alice' })
      expect(stateOf(carol, dan)).toEqual({ envelope: 'dan' })
    }, AT_ONCE)
  })

  it("times out a crashed instance's clients on the others", { timeout: 90_000 }, async () => {
    const crashing = await pair.startProcess()
    const room = newRoom()
    const alice = client(crashing, room)
    const bob = client(pair.b, room)
    alice.provider.awareness.setLocalState({ envelope: 'alice' })
    bob.provider.awareness.setLocalState({ envelope: 'bob' })
    await vi.waitFor(() => expect(stateOf(bob, alice)).toEqual({ envelope: 'alice' }), WAIT)

    await crashing.kill()
    alice.destroy()
    await vi.waitFor(() => expect(stateOf(bob, alice)).toBeUndefined(), TIMED_OUT)
    // Timed out on instance B itself, not only in bob's own copy: a newcomer does not get it.
    const carol = client(pair.b, room)
    await untilSynced(carol)
    await vi.waitFor(() => expect(stateOf(carol, alice)).toBeUndefined(), AT_ONCE)
    expect(stateOf(carol, bob)).toEqual({ envelope: 'bob' })
  })
})
