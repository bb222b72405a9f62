// Running the relay: `/metrics` in the Prometheus text format, `/healthz` asking the store, and
// logs that carry no room content (the relay forwards and stores what clients wrote, opaque to
// it: in Parley that is ciphertext, and the relay never decodes it either way).

import { describe, expect, it, vi } from 'vitest'
import type { TestServer } from '../support/server-harness'
import { RawRelayClient, StockClient, newRoom, relayUrl } from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'
import { TestSignalClient } from '../support/server-signal-client'

const WAIT = { timeout: 10_000, interval: 20 }

const scope = relayTestScope()
const server = () => scope.server()

async function metrics(harness: TestServer): Promise<string> {
  const response = await fetch(`${harness.server.url}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return response.text()
}

/** The value of one sample, e.g. `parley_connections{endpoint="relay"}`. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `))
  if (line === undefined) throw new Error(`no sample ${name}`)
  return Number(line.slice(name.length + 1))
}

describe('operating the relay', () => {
  it('reports connections, rooms, messages, rejections and append latency on /metrics', async () => {
    const harness = await server()
    const room = newRoom()
    const client = new StockClient(harness.wsUrl('/relay'), room.roomId, { token: room.token })
    scope.defer(() => client.destroy())
    const signal = await TestSignalClient.connect(harness.wsUrl('/signal'))
    scope.defer(() => signal.close().then(() => undefined))
    await signal.sync()
    await vi.waitFor(() => expect(client.synced).toBe(true), WAIT)
    client.doc.getArray<string>('messages').push(['counted, never read'])
    await vi.waitFor(() => expect(client.storedClock()).toBe(client.clock), WAIT)
    const refused = await RawRelayClient.connect(relayUrl(harness.wsUrl('/relay'), room.roomId))
    await refused.closed

    await vi.waitFor(async () => {
      const text = await metrics(harness)
      expect(sample(text, 'parley_connections{endpoint="relay"}')).toBe(1)
      expect(sample(text, 'parley_connections{endpoint="signal"}')).toBe(1)
      expect(sample(text, 'parley_relay_rooms_loaded')).toBe(1)
      expect(sample(text, 'parley_messages_received_total{endpoint="relay"}')).toBeGreaterThan(1)
      expect(sample(text, 'parley_messages_sent_total{endpoint="relay"}')).toBeGreaterThan(1)
      expect(sample(text, 'parley_messages_received_total{endpoint="signal"}')).toBe(1)
      expect(sample(text, 'parley_rejected_total{endpoint="relay",limit="token"}')).toBe(1)
      expect(sample(text, 'parley_store_append_seconds_count')).toBeGreaterThanOrEqual(1)
    }, WAIT)
  })

  it('answers /healthz from the store', async () => {
    const harness = await server()
    const response = await fetch(`${harness.server.url}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('ok')
  })

  it('logs no room content, and no secret, at any level', async () => {
    const harness = await server()
    const room = newRoom()
    const marker = 'MARKER-written-inside-a-message-7f3a'
    const alice = new StockClient(harness.wsUrl('/relay'), room.roomId, { token: room.token })
    const bob = new StockClient(harness.wsUrl('/relay'), room.roomId, { token: room.token })
    scope.defer(() => alice.destroy())
    scope.defer(() => bob.destroy())
    alice.provider.awareness.setLocalStateField('presence', `${marker}-presence`)
    alice.doc.getArray<Uint8Array>('messages').push([new TextEncoder().encode(marker)])
    alice.doc.getMap<string>('names').set('alice', marker)
    await vi.waitFor(() => expect(bob.doc.getMap('names').get('alice')).toBe(marker), WAIT)
    await vi.waitFor(() => expect(alice.storedClock()).toBe(alice.clock), WAIT)
    const everything = JSON.stringify(harness.logs) + (await metrics(harness))
    expect(everything).not.toContain(marker)
    expect(everything).not.toContain(room.token)
    expect(everything).not.toContain(room.roomId) // logged by its first characters only
  })
})
