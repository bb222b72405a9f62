// Stock y-websocket clients drop a connection that received nothing for 30 s (WebSocket pings do
// not count) and reconnect. The relay's keepalive must keep an idle, lone client connected.
// The client's 30 s is hard-coded, so instead of waiting it out the test tells each client its
// last message came 29 s ago (the provider's own `wsLastMessageReceived`): one more second of
// silence and its watchdog fires. A control client, the same on a relay whose keepalive never
// fires, shows that it does.

import { describe, expect, it, vi } from 'vitest'
import type { TestServer } from '../support/server-harness'
import { StockClient, newRoom } from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'

const WAIT = { timeout: 15_000, interval: 20 }
const KEEPALIVE_MS = 200

const scope = relayTestScope()

async function server(keepaliveIntervalMs: number): Promise<TestServer> {
  return scope.server({ relayLimits: { keepaliveIntervalMs } })
}

/** A lone, idle stock client: no presence of its own, so nothing but the relay talks to it. */
async function loneClient(harness: TestServer): Promise<StockClient> {
  const room = newRoom()
  const client = new StockClient(harness.wsUrl('/relay'), room.roomId, { token: room.token })
  client.provider.awareness.setLocalState(null)
  scope.defer(() => client.destroy())
  await vi.waitFor(() => expect(client.synced).toBe(true), WAIT)
  return client
}

/** Watchdog closes: the provider closed the socket itself (no close event from the server). */
function watchdogCloses(client: StockClient): number {
  return client.closes.filter((close) => close === null).length
}

describe('relay keepalive', () => {
  it('sends an idle connection something at least every two intervals', async () => {
    const harness = await server(KEEPALIVE_MS)
    const client = await loneClient(harness)
    const from = client.receivedAt.length
    await vi.waitFor(() => expect(client.receivedAt.length - from).toBeGreaterThanOrEqual(6), WAIT)
    const times = client.receivedAt.slice(from)
    const gaps = times.slice(1).map((time, i) => time - times[i])
    // A sweep every interval sends to whoever got nothing since the previous one: < 2 intervals
    // apart, plus timer slack on a shared, busy machine (the real interval is 7.5 s, so a few
    // hundred ms there are nothing next to the client's 30 s).
    expect(Math.max(...gaps)).toBeLessThan(2 * KEEPALIVE_MS + 400)
    expect(client.closes).toEqual([])
  })

  it('keeps a stock client from its 30 s watchdog, where a relay without keepalive loses it', async () => {
    const withKeepalive = await server(KEEPALIVE_MS)
    const without = await server(3_600_000)
    const kept = await loneClient(withKeepalive)
    const control = await loneClient(without)

    for (let round = 1; round <= 3; round++) {
      // The watchdog (checked every 3 s) closes once more than 30 s passed since the last
      // message: 29 s ago leaves a second, five keepalive intervals.
      for (const client of [kept, control]) {
        client.provider.wsLastMessageReceived = Date.now() - 29_000
      }
      await vi.waitFor(() => expect(watchdogCloses(control)).toBe(round), WAIT)
      // The control reconnects by itself (and hears from its relay again on connect).
      await vi.waitFor(() => expect(control.synced).toBe(true), WAIT)
    }
    expect(kept.closes).toEqual([])
    expect(kept.connected).toBe(true)
    expect(kept.opens).toBe(1)
  })
})
