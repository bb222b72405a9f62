// Smoke test of the e2e harness itself: the three namespace topologies, Chromium processes
// started inside them, and the RTCPeerConnection probe. Signaling is done by this test,
// moving offers, answers and candidates between the pages with page.evaluate.
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterEach, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, webrtcStats, type LaunchedBrowser } from './support/browser'
import {
  createTopology,
  namespacesOf,
  requireNetnsSupport,
  type NetnsHost,
  type Topology,
  type TopologyKind,
} from './support/netns'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const FIXTURE_SERVER = fileURLToPath(new URL('./support/fixture-server.ts', import.meta.url))
/**
 * How long the isolated peers get to connect. Chromium gives up on ICE with no working pair
 * after ~15 s (TESTING.md); 20 s covers that and still keeps the file short.
 */
const ISOLATED_WAIT_MS = 20_000
/** Data channels between namespaces open in well under a second; 10 s means broken. */
const CONNECT_TIMEOUT_MS = 10_000
/** A RST or ICMP error between namespaces comes back in microseconds; silence this long is a drop. */
const TCP_PROBE_TIMEOUT_MS = 1_000

interface SignalingMessage {
  description: RTCSessionDescriptionInit
  candidates: RTCIceCandidateInit[]
}

interface SmokePeer {
  createOffer(): Promise<SignalingMessage>
  acceptOffer(offer: SignalingMessage): Promise<SignalingMessage>
  acceptAnswer(answer: SignalingMessage): Promise<void>
  /** Resolves with the first of `connected`/`failed`, or the current state after `timeoutMs`. */
  settle(timeoutMs: number): Promise<RTCPeerConnectionState>
  send(text: string): void
  received: string[]
}

declare global {
  interface Window {
    smokePeer?: SmokePeer
  }
}

/** Page side of the test's hand-carried signaling; runs in the page, so self-contained. */
function installSmokePeer(): void {
  const pc = new RTCPeerConnection({ iceServers: [] })
  const candidates: RTCIceCandidateInit[] = []
  let channel: RTCDataChannel | undefined
  const received: string[] = []
  const gathered = new Promise<void>((resolve) => {
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate) candidates.push(event.candidate.toJSON())
      else resolve()
    })
  })
  const useChannel = (c: RTCDataChannel): void => {
    channel = c
    c.addEventListener('message', (event) => received.push(String(event.data)))
  }
  pc.addEventListener('datachannel', (event) => useChannel(event.channel))
  const addRemote = async (message: SignalingMessage): Promise<void> => {
    await pc.setRemoteDescription(message.description)
    for (const candidate of message.candidates) await pc.addIceCandidate(candidate)
  }
  const local = async (description: RTCSessionDescriptionInit): Promise<SignalingMessage> => {
    await pc.setLocalDescription(description)
    await gathered
    return { description, candidates }
  }

  window.smokePeer = {
    received,
    createOffer: async () => {
      useChannel(pc.createDataChannel('smoke'))
      return local(await pc.createOffer())
    },
    acceptOffer: async (offer) => {
      await addRemote(offer)
      return local(await pc.createAnswer())
    },
    acceptAnswer: addRemote,
    settle: (timeoutMs) =>
      new Promise((resolve) => {
        const done = (): boolean => {
          if (pc.connectionState !== 'connected' && pc.connectionState !== 'failed') return false
          resolve(pc.connectionState)
          return true
        }
        if (done()) return
        pc.addEventListener('connectionstatechange', done)
        setTimeout(() => resolve(pc.connectionState), timeoutMs)
      }),
    send: (text) => {
      if (channel?.readyState !== 'open') throw new Error(`channel is ${channel?.readyState}`)
      channel.send(text)
    },
  }
}

function received(page: Page): Promise<string[]> {
  return page.evaluate(() => window.smokePeer?.received ?? [])
}

/** Offer from `a`, answer from `b`, each with all its candidates, carried by the test. */
async function signal(a: Page, b: Page): Promise<SignalingMessage> {
  await a.evaluate(installSmokePeer)
  await b.evaluate(installSmokePeer)
  const offer = await a.evaluate(() => window.smokePeer!.createOffer())
  const answer = await b.evaluate((o) => window.smokePeer!.acceptOffer(o), offer)
  await a.evaluate((ans) => window.smokePeer!.acceptAnswer(ans), answer)
  return offer
}

interface WhoAmI {
  address: string
}

async function whoami(page: Page): Promise<WhoAmI> {
  return page.evaluate(async () => {
    const response = await fetch('/whoami')
    if (!response.ok) throw new Error(`/whoami: HTTP ${response.status}`)
    return (await response.json()) as WhoAmI
  })
}

/**
 * Outcome of a TCP connect from `from` to address:port, run as node inside the namespace:
 * `connected`, an errno code such as `ECONNREFUSED`, or `timeout`.
 */
async function tcpConnect(from: NetnsHost, address: string, port: number): Promise<string> {
  const script = `
    const socket = require('node:net').connect(${port}, '${address}')
    socket.setTimeout(${TCP_PROBE_TIMEOUT_MS}, () => { console.log('timeout'); process.exit(0) })
    socket.on('connect', () => { console.log('connected'); process.exit(0) })
    socket.on('error', (e) => { console.log(e.code); process.exit(0) })`
  return (await from.exec(process.execPath, ['-e', script])).stdout.trim()
}

let topology: Topology | undefined
let browsers: LaunchedBrowser[] = []

beforeAll(requireNetnsSupport)

afterEach(async () => {
  const current = topology
  topology = undefined
  browsers = []
  try {
    await closeAll()
  } finally {
    if (current) {
      await current.destroy()
      expect(await namespacesOf(current.id)).toEqual([])
    }
  }
})

/** A topology with two clients, the fixture server on the server host, a browser per client. */
async function setUp(kind: TopologyKind): Promise<{ topology: Topology; origin: string }> {
  const started = Date.now()
  topology = await createTopology({ kind, clients: 2 })
  const built = Date.now()
  const server = await topology.server.startNode(
    ['--import', 'tsx', FIXTURE_SERVER, '--host', topology.server.address],
    { ready: /listening (http:\/\/\S+)/, cwd: REPO_ROOT, label: 'fixture-server' },
  )
  const origin = server.match[1]
  const serverUp = Date.now()
  const names = ['alice', 'bob']
  browsers = await Promise.all(
    topology.clients.map((client, i) => launchBrowserIn(client, { origin, name: names[i] })),
  )
  await Promise.all(browsers.map((b) => b.page.goto(origin)))
  console.log(
    `[${kind}] ${topology.id}: topology ${built - started} ms, server ${serverUp - built} ms,` +
      ` browsers+page ${Date.now() - serverUp} ms`,
  )
  return { topology, origin }
}

function pages(): [Page, Page] {
  const [a, b] = browsers
  if (!a || !b) throw new Error('expected two browsers')
  return [a.page, b.page]
}

describe('e2e harness', () => {
  test('lan: two Chromium processes on different subnets connect over a WebRTC data channel', async () => {
    const { topology: t } = await setUp('lan')
    const [alice, bob] = pages()
    const [aliceHost, bobHost] = t.clients as [NetnsHost, NetnsHost]
    expect(aliceHost.subnet).not.toBe(bobHost.subnet)
    expect(await alice.evaluate(() => window.isSecureContext)).toBe(true)

    const offer = await signal(alice, bob)
    // Raw host candidate, not an mDNS name: the flag works and Chromium sees its namespace.
    expect(offer.candidates.map((c) => c.candidate).join('\n')).toContain(` ${aliceHost.address} `)

    const settled = await Promise.all(
      [alice, bob].map((p) => p.evaluate((ms) => window.smokePeer!.settle(ms), CONNECT_TIMEOUT_MS)),
    )
    expect(settled).toEqual(['connected', 'connected'])
    await expect.poll(async () => (await webrtcStats(alice))[0]?.dataChannelOpened).toBe(true)
    await expect.poll(async () => (await webrtcStats(bob))[0]?.dataChannelOpened).toBe(true)

    await alice.evaluate(() => window.smokePeer!.send('hello from alice'))
    await bob.evaluate(() => window.smokePeer!.send('hello from bob'))
    await expect.poll(async () => await received(bob)).toEqual(['hello from alice'])
    await expect.poll(async () => await received(alice)).toEqual(['hello from bob'])

    const [aliceStats] = await webrtcStats(alice)
    expect(aliceStats).toMatchObject({
      connectionState: 'connected',
      dataChannelOpened: true,
      selectedPair: {
        localType: 'host',
        remoteType: 'host',
        localAddress: aliceHost.address,
        remoteAddress: bobHost.address,
        protocol: 'udp',
      },
    })
    expect(aliceStats?.connectionStates).toContain('connected')
    expect(browsers.flatMap((b) => b.problems)).toEqual([])
  })

  test('isolated: clients reach the server but not each other, so ICE never connects', async () => {
    const { topology: t } = await setUp('isolated')
    const [alice, bob] = pages()
    const clients = t.clients as [NetnsHost, NetnsHost]
    expect(await whoami(alice)).toMatchObject({ address: clients[0].address })
    expect(await whoami(bob)).toMatchObject({ address: clients[1].address })

    const offer = await signal(alice, bob)
    expect(offer.candidates.length).toBeGreaterThan(0)
    const started = Date.now()
    const settled = await Promise.all(
      [alice, bob].map((p) => p.evaluate((ms) => window.smokePeer!.settle(ms), ISOLATED_WAIT_MS)),
    )
    console.log(`[isolated] ICE outcome after ${Date.now() - started} ms: ${settled.join(', ')}`)
    for (const state of settled) expect(['new', 'connecting', 'failed']).toContain(state)
    for (const page of [alice, bob]) {
      const [stats] = await webrtcStats(page)
      expect(stats?.connectionStates).not.toContain('connected')
      expect(stats?.dataChannelOpened).toBe(false)
    }
    // Still reachable after the attempt: the server path is untouched by the client-pair drops.
    expect(await whoami(alice)).toMatchObject({ address: clients[0].address })
    expect(browsers.flatMap((b) => b.problems)).toEqual([])
  })

  test('nat: clients reach the public server from their NAT address; private nets are unreachable', async () => {
    const { topology: t } = await setUp('nat')
    const [alice, bob] = pages()
    const clients = t.clients as [NetnsHost, NetnsHost]
    for (const [page, client] of [
      [alice, clients[0]],
      [bob, clients[1]],
    ] as const) {
      expect(client.publicAddress).not.toBe(client.address)
      expect((await whoami(page)).address).toBe(client.publicAddress)
    }
    // No route between the private networks, nor from the public side into them.
    const [nat0] = t.routers as [NetnsHost]
    await expect(nat0.exec('ip', ['route', 'get', clients[1].address])).rejects.toThrow(
      /Network is unreachable/,
    )
    await expect(t.server.exec('ip', ['route', 'get', clients[0].address])).rejects.toThrow(
      /Network is unreachable/,
    )
    // The NAT router drops everything addressed to itself on its outside interface: a closed
    // port would answer with a RST at once, a dropped SYN gets no answer at all.
    expect(await tcpConnect(t.server, clients[0].publicAddress, 9)).toBe('timeout')
    expect(browsers.flatMap((b) => b.problems)).toEqual([])
  })
})
