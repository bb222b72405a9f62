// Who may use the relay: the room token, the room id's shape, the operator key, allowed origins
// and connections per client address. Refusals that are permanent close with a 44xx code (a
// stock client then stops reconnecting) and never touch the room; none logs a secret.

import { existsSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { CloseCode } from '../../signaling/close-codes'
import { addressKey } from '../../signaling/ip-connection-limit'
import type { TestServer } from '../support/server-harness'
import {
  RawRelayClient,
  StockClient,
  newRoom,
  relayUrl,
  syncUpdateFrame,
  upgradeStatus,
  type RoomCredentials,
} from '../support/relay-client'
import { relayTestScope } from '../support/relay-test-scope'

const WAIT = { timeout: 10_000, interval: 20 }
const OPERATOR_KEY = 'operator-key-for-tests-0123'

const scope = relayTestScope()
const server = scope.server

function stock(
  harness: TestServer,
  roomId: string,
  options: ConstructorParameters<typeof StockClient>[2] = {},
): StockClient {
  const client = new StockClient(harness.wsUrl('/relay'), roomId, options)
  scope.defer(() => client.destroy())
  return client
}

async function raw(url: string, headers: Record<string, string> = {}): Promise<RawRelayClient> {
  const client = await RawRelayClient.connect(url, { headers })
  scope.defer(() => client.close())
  return client
}

function anUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getArray<string>('messages').push([text])
  return Y.encodeStateAsUpdate(doc)
}

/** What a room holds, as a newcomer with the right token sees it. */
async function roomContents(harness: TestServer, room: RoomCredentials): Promise<string[]> {
  const reader = stock(harness, room.roomId, { token: room.token })
  await vi.waitFor(() => expect(reader.synced).toBe(true), WAIT)
  const contents = reader.doc.getArray<string>('messages').toArray()
  reader.destroy()
  return contents
}

function rejections(harness: TestServer, limit: string) {
  return harness.logs.filter((line) => line.event.endsWith('rejected') && line.limit === limit)
}

describe('room token', () => {
  it('closes a connection without a token with 4401; the stock client stops for good', async () => {
    const harness = await server()
    const room = newRoom()
    const client = stock(harness, room.roomId, { token: null })
    await vi.waitFor(() => expect(client.terminal).not.toBeNull(), WAIT)
    expect(client.terminal).toEqual({ code: CloseCode.TOKEN_INVALID, reason: 'invalid room token' })
    expect(client.provider.shouldConnect).toBe(false)
    expect(rejections(harness, 'token')).toMatchObject([{ value: 'missing', closeCode: 4401 }])
  })

  it('closes a wrong token with 4401; what it sent never reaches the room', async () => {
    const harness = await server()
    const room = newRoom()
    const other = newRoom()
    const intruder = await raw(
      relayUrl(harness.wsUrl('/relay'), room.roomId, { token: other.token }),
    )
    // Sent at once, before the close frame can arrive.
    intruder.send(syncUpdateFrame(anUpdate('intruder was here')))
    expect(await intruder.closed).toEqual({ code: 4401, reason: 'invalid room token' })
    expect(intruder.received).toEqual([])
    expect(rejections(harness, 'token')).toMatchObject([
      { value: 'does not hash to the room id', closeCode: 4401 },
    ])
    expect(await roomContents(harness, room)).toEqual([])

    const client = stock(harness, room.roomId, { token: other.token })
    await vi.waitFor(() => expect(client.terminal?.code).toBe(4401), WAIT)
  })

  it('refuses room ids that are not 43 base64url characters with 4404', async () => {
    const harness = await server()
    const room = newRoom()
    const base = harness.wsUrl('/relay')
    for (const path of [
      `/not-a-room?token=${room.token}`,
      `/${room.roomId}/extra?token=${room.token}`,
      `/${room.roomId.slice(1)}=?token=${room.token}`,
      `/${room.roomId}x?token=${room.token}`,
      `/?token=${room.token}`,
    ]) {
      const client = await raw(`${base}${path}`)
      expect(await client.closed).toEqual({
        code: CloseCode.ROOM_ID_INVALID,
        reason: 'room id must be 43 base64url characters',
      })
    }
    const client = stock(harness, 'not-a-room', { token: room.token })
    await vi.waitFor(() => expect(client.terminal?.code).toBe(4404), WAIT)
  })
})

describe('operator key', () => {
  it('needs the key to create a room, not to use one that exists', async () => {
    const harness = await server({ operatorKey: OPERATOR_KEY })
    const room = newRoom()
    const withoutKey = stock(harness, room.roomId, { token: room.token })
    await vi.waitFor(() => expect(withoutKey.terminal).not.toBeNull(), WAIT)
    expect(withoutKey.terminal).toEqual({
      code: CloseCode.OPERATOR_KEY_REQUIRED,
      reason: 'creating a room needs the operator key',
    })
    const wrongKey = stock(harness, room.roomId, { token: room.token, key: `${OPERATOR_KEY}x` })
    await vi.waitFor(() => expect(wrongKey.terminal?.code).toBe(4403), WAIT)

    const creator = stock(harness, room.roomId, { token: room.token, key: OPERATOR_KEY })
    await vi.waitFor(() => expect(creator.synced).toBe(true), WAIT)
    creator.doc.getArray<string>('messages').push(['created with the key'])
    await vi.waitFor(() => expect(creator.storedClock()).toBe(creator.clock), WAIT)
    creator.destroy()

    // The room exists now: members without the key may use it.
    const member = stock(harness, room.roomId, { token: room.token })
    await vi.waitFor(() => expect(member.synced).toBe(true), WAIT)
    expect(member.doc.getArray<string>('messages').toArray()).toEqual(['created with the key'])
    // The key never appears in the log.
    expect(JSON.stringify(harness.logs)).not.toContain(OPERATOR_KEY)
  })
})

describe('allowed origins', () => {
  it('refuses WebSockets from other origins on both endpoints with 403', async () => {
    const harness = await server({ allowedOrigins: ['https://chat.example.org'] })
    const room = newRoom()
    const url = relayUrl(harness.wsUrl('/relay'), room.roomId, { token: room.token })
    const evil = { Origin: 'https://evil.example' }
    expect(await upgradeStatus(url, { headers: evil })).toBe(403)
    expect(await upgradeStatus(harness.wsUrl('/signal'), { headers: evil })).toBe(403)
    expect(rejections(harness, 'allowedOrigins')).toHaveLength(2)
    expect(rejections(harness, 'allowedOrigins')[0]).toMatchObject({
      event: 'http.upgrade_rejected',
      value: 'https://evil.example',
      status: 403,
    })
    // The listed origin, and clients that send none (not browsers), are let in.
    await raw(url, { Origin: 'https://chat.example.org' })
    await raw(url)
    await raw(harness.wsUrl('/signal'), { Origin: 'https://chat.example.org' })
  })
})

describe('connections per client address', () => {
  it('counts /signal and /relay together and frees a slot when a socket closes', async () => {
    const harness = await server({ maxConnectionsPerIp: 3 })
    const room = newRoom()
    const url = relayUrl(harness.wsUrl('/relay'), room.roomId, { token: room.token })
    const first = await raw(url)
    await raw(url)
    await raw(harness.wsUrl('/signal'))
    expect(await upgradeStatus(url)).toBe(429)
    expect(await upgradeStatus(harness.wsUrl('/signal'))).toBe(429)
    expect(rejections(harness, 'maxConnectionsPerIp')[0]).toMatchObject({
      value: 3,
      max: 3,
      status: 429,
    })
    first.close()
    await first.closed
    await vi.waitFor(async () => expect(await upgradeStatus(url)).toBe(101), WAIT)
  })

  it('takes the address from X-Forwarded-For only behind a trusted proxy', async () => {
    const trusting = await server({ maxConnectionsPerIp: 1, trustProxy: true })
    const room = newRoom()
    const url = relayUrl(trusting.wsUrl('/relay'), room.roomId, { token: room.token })
    await raw(url, { 'X-Forwarded-For': '203.0.113.1' })
    await raw(url, { 'X-Forwarded-For': '203.0.113.2' })
    expect(await upgradeStatus(url, { headers: { 'X-Forwarded-For': '203.0.113.1' } })).toBe(429)

    const direct = await server({ maxConnectionsPerIp: 1 })
    const directUrl = relayUrl(direct.wsUrl('/relay'), room.roomId, { token: room.token })
    await raw(directUrl, { 'X-Forwarded-For': '203.0.113.1' })
    // Not trusted: both come from 127.0.0.1, whatever they claim.
    expect(await upgradeStatus(directUrl, { headers: { 'X-Forwarded-For': '203.0.113.2' } })).toBe(
      429,
    )
  })
})

describe('addressKey', () => {
  it('counts IPv4 as is, IPv4-mapped IPv6 as IPv4, and IPv6 per /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7')
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:DB8:0001::1')).toBe('2001:db8:1:0::/64')
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(addressKey('unknown')).toBe('unknown')
  })
})

describe('log hygiene', () => {
  it('never logs a token, a key or a query string', async () => {
    const harness = await server({ operatorKey: OPERATOR_KEY })
    const room = newRoom()
    const client = stock(harness, room.roomId, { token: room.token, key: OPERATOR_KEY })
    await vi.waitFor(() => expect(client.synced).toBe(true), WAIT)
    const bad = stock(harness, room.roomId, { token: newRoom().token, key: 'x'.repeat(20) })
    await vi.waitFor(() => expect(bad.terminal).not.toBeNull(), WAIT)
    const text = JSON.stringify(harness.logs)
    expect(text).not.toContain(room.token)
    expect(text).not.toContain(OPERATOR_KEY)
    expect(text).not.toContain('token=')
    expect(text).not.toContain('key=')
  })
})

describe('relay off', () => {
  it('serves no /relay and tells the app there is none', async () => {
    const harness = await server({ relay: false })
    const room = newRoom()
    const url = relayUrl(harness.wsUrl('/relay'), room.roomId, { token: room.token })
    expect(await upgradeStatus(url)).toBe(404)
    const config = (await (await fetch(`${harness.server.url}/config.json`)).json()) as {
      relay: string | null
    }
    expect(config.relay).toBeNull()
    // Nothing is stored without a relay: no data directory, and health does not depend on one.
    expect(existsSync(harness.config.dataDir)).toBe(false)
    expect((await fetch(`${harness.server.url}/healthz`)).status).toBe(200)
  })
})
