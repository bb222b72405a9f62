// The STUN service on real UDP sockets (loopback, port 0): the mapped address a client gets
// back, silence for what is not a well-formed Binding request, the per-source and total rate
// limits, its place in startParleyServer (/config.json, bind errors, close), and an
// independent client (coturn's turnutils_stunclient) reading our answers.
import { execFile } from 'node:child_process'
import { createSocket, type Socket, type SocketType } from 'node:dgram'
import { existsSync } from 'node:fs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseConfig } from '../../signaling/config'
import { createLogger, silentLogger } from '../../signaling/log'
import {
  ATTR,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  decodeStunMessage,
  decodeXorMappedAddress,
  encodeStunMessage,
  type StunMessage,
  type TransportAddress,
} from '../../signaling/stun/stun-message'
import { StunServer, type StunServerOptions } from '../../signaling/stun/stun-server'
import { startTestServer, type LogRecord } from '../support/server-harness'

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

async function startStun(options: Partial<StunServerOptions> = {}): Promise<StunServer> {
  const stun = new StunServer({ host: '127.0.0.1', port: 0, logger: silentLogger, ...options })
  await stun.start()
  cleanup.push(() => stun.close())
  return stun
}

/** A UDP client that collects every datagram it receives. */
interface UdpClient {
  socket: Socket
  local: TransportAddress
  received: Buffer[]
  send(bytes: Uint8Array, port: number, address?: string): void
  /** The decoded answer to transaction `id` (polls the received datagrams). */
  answerTo(id: Uint8Array): Promise<StunMessage>
}

async function udpClient(address = '127.0.0.1', type: SocketType = 'udp4'): Promise<UdpClient> {
  const socket = createSocket(type)
  const received: Buffer[] = []
  socket.on('message', (datagram) => received.push(datagram))
  await new Promise<void>((resolve) => socket.bind(0, address, resolve))
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())))
  const bound = socket.address()
  const find = (id: Uint8Array): StunMessage | undefined =>
    received
      .map((datagram) => decodeStunMessage(datagram))
      .flatMap((result) => (result.ok ? [result.message] : []))
      .find((message) => Buffer.from(message.transactionId).equals(id))
  return {
    socket,
    local: { family: bound.family as 'IPv4' | 'IPv6', address: bound.address, port: bound.port },
    received,
    send: (bytes, port, to = address) => socket.send(bytes, port, to),
    answerTo: async (id) => {
      await expect.poll(() => find(id) !== undefined).toBe(true)
      return find(id)!
    },
  }
}

let nextId = 1
function request(attributes: { type: number; value: Uint8Array }[] = []) {
  const id = new Uint8Array(12)
  new DataView(id.buffer).setUint32(8, nextId++)
  return { id, bytes: encodeStunMessage({ type: BINDING_REQUEST, transactionId: id, attributes }) }
}

function mappedAddress(message: StunMessage): TransportAddress | null {
  const value = message.attributes.find((a) => a.type === ATTR.XOR_MAPPED_ADDRESS)?.value
  return value ? decodeXorMappedAddress(value, message.transactionId) : null
}

/** Fails (never skips) where the machine has no IPv6 loopback: the test needs one. */
function requireIPv6Loopback(): Promise<void> {
  const socket = createSocket('udp6')
  return new Promise((resolve, reject) => {
    socket.once('error', (error) => {
      socket.close()
      reject(new Error(`this test needs an IPv6 loopback (::1): ${error.message}`))
    })
    socket.bind(0, '::1', () => socket.close(() => resolve()))
  })
}

describe('STUN server on UDP', () => {
  it('answers a Binding request with the address and port it came from', async () => {
    const stun = await startStun()
    const client = await udpClient()
    const { id, bytes } = request()
    client.send(bytes, stun.port)
    const answer = await client.answerTo(id)
    expect(answer.type).toBe(BINDING_SUCCESS)
    expect(answer.hasFingerprint).toBe(true)
    expect(mappedAddress(answer)).toEqual(client.local)
    expect(stun.counters.answered).toBe(1)
  })

  it('answers IPv6 clients with an IPv6 address, and IPv4 ones on a dual-stack socket with IPv4', async () => {
    await requireIPv6Loopback()
    const v6 = await startStun({ host: '::1' })
    const client6 = await udpClient('::1', 'udp6')
    const first = request()
    client6.send(first.bytes, v6.port)
    expect(mappedAddress(await client6.answerTo(first.id))).toEqual(client6.local)

    const dual = await startStun({ host: '::' })
    const client4 = await udpClient()
    const second = request()
    client4.send(second.bytes, dual.port)
    expect(mappedAddress(await client4.answerTo(second.id))).toEqual({
      family: 'IPv4',
      address: '127.0.0.1',
      port: client4.local.port,
    })
  })

  it('says nothing to malformed datagrams, other messages and classic RFC 3489 requests', async () => {
    const stun = await startStun()
    const client = await udpClient()
    const garbage: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('GET / HTTP/1.1\r\nHost: parley\r\n\r\n'),
      Uint8Array.from([0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), // RFC 3489
      (() => {
        const bad = request().bytes
        bad[bad.length - 1] ^= 0xff // wrong FINGERPRINT
        return bad
      })(),
      (() => {
        const indication = request().bytes.slice(0, 20)
        indication.set([0x00, 0x11, 0x00, 0x00]) // Binding indication, no attributes
        return indication
      })(),
    ]
    for (const datagram of garbage) client.send(datagram, stun.port)
    // Loopback keeps order: once the valid request's answer is here, the rest were handled.
    const { id, bytes } = request()
    client.send(bytes, stun.port)
    await client.answerTo(id)
    expect(client.received).toHaveLength(1)
    expect(stun.counters).toMatchObject({
      answered: 1,
      dropped: {
        'too-short': 1,
        'not-stun': 1,
        'no-magic-cookie': 1,
        'bad-fingerprint': 1,
        'not-binding-request': 1,
      },
    })
  })

  it('answers unknown comprehension-required attributes with 420', async () => {
    const stun = await startStun()
    const client = await udpClient()
    const { id, bytes } = request([{ type: 0x0003, value: new Uint8Array(4) }]) // CHANGE-REQUEST
    client.send(bytes, stun.port)
    const answer = await client.answerTo(id)
    expect(answer.type).toBe(BINDING_ERROR)
    const unknown = answer.attributes.find((a) => a.type === ATTR.UNKNOWN_ATTRIBUTES)?.value
    expect(Array.from(unknown ?? [])).toEqual([0x00, 0x03])
  })

  it('rate-limits each source address, refilling over time', async () => {
    let now = 0
    const stun = await startStun({
      now: () => now,
      limits: { perSourceBurst: 3, perSourcePerSecond: 1 },
    })
    const client = await udpClient()
    // A second socket on the same address shares the budget: the limit is per address.
    const sameAddress = await udpClient()
    for (let i = 0; i < 3; i++) client.send(request().bytes, stun.port)
    for (let i = 0; i < 3; i++) sameAddress.send(request().bytes, stun.port)
    await expect.poll(() => stun.counters.answered + stun.counters.rateLimited).toBe(6)
    expect(stun.counters).toMatchObject({ answered: 3, rateLimited: 3 })

    now += 2_000 // two tokens back
    for (let i = 0; i < 3; i++) client.send(request().bytes, stun.port)
    await expect.poll(() => stun.counters.answered + stun.counters.rateLimited).toBe(9)
    expect(stun.counters).toMatchObject({ answered: 5, rateLimited: 4 })
    await expect.poll(() => client.received.length + sameAddress.received.length).toBe(5)
  })

  it('caps the whole server’s answers across sources', async () => {
    const stun = await startStun({
      now: () => 0,
      limits: { perSourceBurst: 10, totalBurst: 4, totalPerSecond: 1 },
    })
    // Linux answers on all of 127.0.0.0/8, so these are two distinct source addresses.
    const a = await udpClient('127.0.0.2')
    const b = await udpClient('127.0.0.3')
    for (let i = 0; i < 3; i++) {
      a.send(request().bytes, stun.port, '127.0.0.1')
      b.send(request().bytes, stun.port, '127.0.0.1')
    }
    await expect.poll(() => stun.counters.answered + stun.counters.rateLimited).toBe(6)
    expect(stun.counters).toMatchObject({ answered: 4, rateLimited: 2 })
  })

  it('logs a summary line per interval, never a line per datagram', async () => {
    // Only setInterval is faked: UDP and expect.poll's timeouts stay real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    cleanup.push(() => void vi.useRealTimers())
    const lines: LogRecord[] = []
    const logger = createLogger({
      level: 'debug',
      sink: (line) => lines.push(JSON.parse(line) as LogRecord),
    })
    const stun = await startStun({ logger, now: () => 0, limits: { perSourceBurst: 1 } })
    const client = await udpClient()
    for (let i = 0; i < 20; i++) client.send(new Uint8Array(30), stun.port)
    for (let i = 0; i < 3; i++) client.send(request().bytes, stun.port)
    await expect.poll(() => stun.counters.answered + stun.counters.rateLimited).toBe(3)
    expect(lines.map((l) => l.event)).toEqual(['stun.listening'])
    expect(lines[0]).toMatchObject({ address: '127.0.0.1', port: stun.port })

    vi.advanceTimersByTime(60_000)
    expect(lines.slice(1)).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'stun.rate_limited',
        answered: 1,
        rateLimited: 2,
        dropped: { 'no-magic-cookie': 20 },
      }),
    ])
    vi.advanceTimersByTime(60_000) // nothing happened since: no line
    expect(lines).toHaveLength(2)
  })
})

describe('STUN in the Parley server', () => {
  it('is started with stunPort 0, named in /config.json, and released on close', async () => {
    const test = await startTestServer({ stunPort: 0 })
    let closed = false
    cleanup.push(() => (closed ? undefined : test.close()))
    const stunPort = test.server.stunPort
    expect(stunPort).toEqual(expect.any(Number))
    const config = (await (await fetch(`${test.server.url}/config.json`)).json()) as {
      stunPort: unknown
    }
    expect(config.stunPort).toBe(stunPort)
    expect(test.logs.find((l) => l.event === 'stun.listening')).toMatchObject({ port: stunPort })

    const client = await udpClient()
    const { id, bytes } = request()
    client.send(bytes, stunPort!)
    expect(mappedAddress(await client.answerTo(id))).toEqual(client.local)

    await test.close()
    closed = true
    // The port is free again.
    const again = await startStun({ port: stunPort! })
    expect(again.port).toBe(stunPort)
  })

  it('is off with stunPort null: /config.json says so', async () => {
    const test = await startTestServer({ stunPort: null })
    cleanup.push(() => test.close())
    expect(test.server.stunPort).toBeNull()
    const config = (await (await fetch(`${test.server.url}/config.json`)).json()) as {
      stunPort: unknown
    }
    expect(config.stunPort).toBeNull()
  })

  it('fails startup clearly when the UDP port is taken', async () => {
    const holder = await udpClient()
    await expect(startTestServer({ stunPort: holder.local.port })).rejects.toThrow(
      `Cannot listen for STUN on udp 127.0.0.1:${holder.local.port}: port already in use`,
    )
  })

  it('is configured by --stun-port / PARLEY_STUN_PORT, default 3478, "off" for none', () => {
    expect(parseConfig([], {}).stunPort).toBe(3478)
    expect(parseConfig(['--stun-port', 'off'], {}).stunPort).toBeNull()
    expect(parseConfig([], { PARLEY_STUN_PORT: '0' }).stunPort).toBe(0)
    expect(() => parseConfig(['--stun-port', '70000'], {})).toThrow(/--stun-port/)
  })
})

const STUN_CLIENT = '/usr/bin/turnutils_stunclient'

describe('an independent STUN client', () => {
  // coturn's client (apt-get install -y coturn; `npm test` installs it): a C implementation
  // that shares no code with ours. It sends Binding requests and prints the XOR-MAPPED-ADDRESS
  // it decoded.
  it('coturn’s turnutils_stunclient reads our answer', async () => {
    if (!existsSync(STUN_CLIENT))
      throw new Error(`${STUN_CLIENT} is missing: apt-get install -y coturn (npm test does)`)
    const stun = await startStun()
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        STUN_CLIENT,
        ['-p', String(stun.port), '127.0.0.1'],
        { timeout: 10_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(stderr || error.message)) : resolve(stdout),
      ),
    )
    expect(output).toMatch(/UDP reflexive addr: 127\.0\.0\.1:\d+/)
    expect(stun.counters.answered).toBeGreaterThanOrEqual(1)
    expect(stun.counters.dropped).toEqual({})
  })
})
