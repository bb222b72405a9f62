// Stock y-webrtc 10.3 clients, unchanged, against the Parley signaling endpoint: two peers in two
// processes (y-webrtc keeps rooms in module state) find each other through /signal and sync a
// Yjs document over a real WebRTC data channel (@roamhq/wrtc, host candidates, no STUN/TURN).

import { randomUUID } from 'node:crypto'
import { networkInterfaces } from 'node:os'
import * as decoding from 'lib0/decoding'
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest'
import { startTestServer, type TestServer } from '../support/server-harness'
import { PeerProcess } from '../support/server-peer-process'
import { TestSignalClient } from '../support/server-signal-client'
import type { PeerEvent } from '../support/server-ywebrtc-peer'

// Starting a child (tsx + wrtc load) takes ~1-2 s on these machines; ICE on loopback well under
// one. Generous deadlines: they only matter when something is broken.
const STARTUP_DEADLINE_MS = 20_000
const CONNECT_DEADLINE_MS = 30_000
const SYNC_DEADLINE_MS = 10_000

const PASSWORD = 'correct horse battery staple'

let harness: TestServer
const peers: PeerProcess[] = []
const observers: TestSignalClient[] = []

beforeAll(async () => {
  harness = await startTestServer()
})

afterAll(async () => {
  // Ask nicely, then make sure: no child may outlive the suite.
  await Promise.allSettled(peers.map((peer) => peer.stop()))
  for (const peer of peers) peer.kill()
  await Promise.all(observers.map((observer) => observer.close()))
  await harness.close()
})

function startPeer(room: string): PeerProcess {
  const peer = PeerProcess.start({ signalUrl: harness.wsUrl('/signal'), room, password: PASSWORD })
  peers.push(peer)
  // Both sides' story, not just the one that timed out. Run with LOG=y-webrtc for its debug log.
  onTestFailed(() => {
    console.error(
      `peer ${peer.pid} events: ${JSON.stringify(peer.events)}\noutput:\n${peer.output.slice(-4000)}`,
    )
  })
  return peer
}

const isReady = (event: PeerEvent) => event.event === 'ready'
const isChannelOpen = (event: PeerEvent): event is Extract<PeerEvent, { event: 'channel-open' }> =>
  event.event === 'channel-open'
const hasDoc = (text: string, items: string[]) => (event: PeerEvent) =>
  event.event === 'doc' &&
  event.text === text &&
  JSON.stringify(event.items) === JSON.stringify(items)

describe('stock y-webrtc clients', () => {
  it('announce through /signal, then sync a document over a WebRTC data channel', async () => {
    const room = `interop-${randomUUID()}`
    // A raw client in the room sees what the server relays, as any subscriber would.
    const observer = await TestSignalClient.connect(harness.wsUrl('/signal'))
    observers.push(observer)
    observer.send({ type: 'subscribe', topics: [room] })
    await observer.sync()

    const writer = startPeer(room)
    await writer.waitFor('ready', isReady, STARTUP_DEADLINE_MS)
    // Written before the peers meet: arrives through y-webrtc's initial sync.
    writer.send({ cmd: 'write', text: 'hello ' })

    // The stock client subscribed on connect and published its announce; `clients: 2` shows
    // the server counted its subscription alongside the observer's; the payload survived intact.
    const writerAnnounce = await nextAnnounce(observer, room)
    expect(writerAnnounce.clients).toBe(2)

    // The reader joins only now. Two stock peers that announce at the same instant can both
    // initiate and end in a standstill (y-webrtc glare, seen here as ERR_SET_LOCAL_DESCRIPTION
    // under load): joining one after the other is the case this test is about.
    const reader = startPeer(room)
    await reader.waitFor('ready', isReady, STARTUP_DEADLINE_MS)
    const readerAnnounce = await nextAnnounce(observer, room)
    expect(readerAnnounce.clients).toBe(3)
    expect(readerAnnounce.from).not.toBe(writerAnnounce.from)

    const [writerChannel] = await Promise.all([
      writer.waitFor('data channel open', isChannelOpen, CONNECT_DEADLINE_MS),
      reader.waitFor('data channel open', isChannelOpen, CONNECT_DEADLINE_MS),
    ])
    // No STUN/TURN configured: the pair must be host candidates on this machine's own
    // addresses (wrtc, unlike Chromium, also gathers loopback candidates).
    const route = writerChannel.route
    expect(route?.local.candidateType).toBe('host')
    expect(route?.remote.candidateType).toBe('host')
    expect(localAddresses()).toContain(route?.local.address)
    expect(localAddresses()).toContain(route?.remote.address)
    await reader.waitFor('initial state', hasDoc('hello ', ['hello ']), SYNC_DEADLINE_MS)

    // Written while connected: arrives as a live update. The two processes share nothing but
    // the signaling server, which never sees document content, so this came over WebRTC.
    writer.send({ cmd: 'write', text: 'world' })
    await reader.waitFor(
      'live update',
      hasDoc('hello world', ['hello ', 'world']),
      SYNC_DEADLINE_MS,
    )

    expect(await Promise.all([writer.stop(), reader.stop()])).toEqual([0, 0])
  })
})

/**
 * Skips relayed WebRTC signals (offers, answers, candidates) until the next announce published
 * to `room`, decrypts it, and returns it with the subscriber count the server attached.
 */
async function nextAnnounce(
  observer: TestSignalClient,
  room: string,
): Promise<{ from: unknown; clients: unknown }> {
  for (;;) {
    const published = (await observer.next(CONNECT_DEADLINE_MS)) as Record<string, unknown>
    expect(published).toMatchObject({ type: 'publish', topic: room })
    expect(typeof published.data).toBe('string')
    const signal = (await decryptSignal(published.data as string, PASSWORD, room)) as {
      type?: unknown
      from?: unknown
    }
    if (signal.type === 'announce') {
      expect(typeof signal.from).toBe('string')
      return { from: signal.from, clients: published.clients }
    }
  }
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .map((info) => info.address)
}

/** y-webrtc's signaling encryption (src/crypto.js), reimplemented to read what the server relayed. */
async function decryptSignal(base64: string, password: string, room: string): Promise<unknown> {
  const encoder = new TextEncoder()
  const material = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, [
    'deriveKey',
  ])
  const key = await crypto.subtle.deriveKey(
    { name: 'PBKDF2', salt: encoder.encode(room), iterations: 100_000, hash: 'SHA-256' },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['decrypt'],
  )
  const envelope = decoding.createDecoder(Buffer.from(base64, 'base64'))
  expect(decoding.readVarString(envelope)).toBe('AES-GCM')
  const iv = decoding.readVarUint8Array(envelope)
  const cipher = decoding.readVarUint8Array(envelope)
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, cipher)
  return decoding.readAny(decoding.createDecoder(new Uint8Array(plain)))
}
