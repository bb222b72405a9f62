// Direct connections across NATs (TESTING.md "Networks behind NAT"): two Chromium processes,
// each behind its own masquerading NAT, and the Parley server on the public segment with its
// built-in STUN service. With STUN each browser learns its NAT's public address (a srflx
// candidate) and the two connect browser to browser through both NATs; without it they have
// only private addresses that cannot reach each other, and never connect. The relay is off, so
// a message that arrives came over the WebRTC data channel.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  closeAll,
  launchBrowserIn,
  webrtcStats,
  type LaunchedBrowser,
  type WebrtcConnectionRecord,
} from './support/browser'
import { createTopology, requireNetnsSupport, type NetnsHost, type Topology } from './support/netns'
import { createRoom, messageTexts, openRoom, send, startParleyIn } from './support/parley'

/** Through two NATs the data channel opens in a few seconds (STUN, then checks both ways). */
const CONNECT_MS = 20_000
/** Chromium gives up on ICE after ~15 s without a working pair; allow for a loaded machine. */
const ICE_FAILURE_MS = 25_000
const STUN_PORT = 3478

let topology: Topology

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'nat', clients: 2 })
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

/**
 * Init script recording what the app hands RTCPeerConnection (its ICE servers) and every local
 * candidate it gathers; the harness's probe records only the selected pair. Page source as a
 * string, so the test's loader cannot rewrite it (see probeScript in support/browser.ts).
 */
const CANDIDATE_RECORDER = `(() => {
  const Base = window.RTCPeerConnection
  const record = { iceServers: [], candidates: [] }
  window.__natTest = record
  window.RTCPeerConnection = class extends Base {
    constructor(config, ...rest) {
      super(config, ...rest)
      record.iceServers.push(JSON.parse(JSON.stringify((config && config.iceServers) || [])))
      this.addEventListener('icecandidate', (event) => {
        if (event.candidate && event.candidate.candidate) record.candidates.push(event.candidate.candidate)
      })
    }
  }
})()`

interface Gathered {
  /** The iceServers of each RTCPeerConnection the app built. */
  iceServers: { urls: string | string[] }[][]
  /** Local candidates as SDP attribute lines. */
  candidates: string[]
}

async function launch(host: NetnsHost, name: string, origin: string): Promise<LaunchedBrowser> {
  const browser = await launchBrowserIn(host, { name, origin })
  await browser.context.addInitScript({ content: CANDIDATE_RECORDER })
  browser.page.on('dialog', (dialog) => void dialog.accept())
  return browser
}

function gathered(browser: LaunchedBrowser): Promise<Gathered> {
  return browser.page.evaluate(() => (window as unknown as { __natTest: Gathered }).__natTest)
}

/** `typ srflx raddr … ` lines → the public addresses STUN reported. */
function srflxAddresses(candidates: readonly string[]): string[] {
  return candidates
    .map((line) => / (\S+) \d+ typ srflx /.exec(line)?.[1])
    .filter((address): address is string => address !== undefined)
}

function openChannel(records: readonly WebrtcConnectionRecord[]) {
  return records.find((r) => r.connectionState === 'connected' && r.dataChannelOpened)
}

describe('two people behind two NATs', () => {
  test('connect directly through the built-in STUN service', async () => {
    const parley = await startParleyIn(topology.server, { stunPort: STUN_PORT, relay: false })
    const [aliceHost, bobHost] = topology.clients as [NetnsHost, NetnsHost]
    try {
      const alice = await launch(aliceHost, 'alice', parley.origin)
      const bob = await launch(bobHost, 'bob', parley.origin)
      const link = await createRoom(alice.page, parley.origin)
      await openRoom(bob.page, link)

      await expect
        .poll(async () => openChannel(await webrtcStats(alice.page)) !== undefined, {
          timeout: CONNECT_MS,
        })
        .toBe(true)
      await expect
        .poll(async () => openChannel(await webrtcStats(bob.page)) !== undefined, {
          timeout: CONNECT_MS,
        })
        .toBe(true)

      const expectedStun = `stun:${topology.server.address}:${STUN_PORT}`
      for (const [browser, self, peer] of [
        [alice, aliceHost, bobHost],
        [bob, bobHost, aliceHost],
      ] as const) {
        const seen = await gathered(browser)
        // The app added our STUN service, by the host it loaded the page from.
        expect(seen.iceServers[0]).toContainEqual({ urls: expectedStun })
        // STUN told each browser its NAT's public address, not its private one.
        expect(srflxAddresses(seen.candidates)).toContain(self.publicAddress)
        // The pair in use runs between the two NATs' public addresses, both learned from
        // STUN: srflx at both ends (Chromium turns a peer-reflexive remote candidate into the
        // srflx one once it is signaled). 3 of 3 runs here: exactly this pair.
        const pair = openChannel(await webrtcStats(browser.page))?.selectedPair
        expect(pair, `${browser.name}'s selected pair`).toEqual({
          localType: 'srflx',
          localAddress: self.publicAddress,
          remoteType: 'srflx',
          remoteAddress: peer.publicAddress,
          protocol: 'udp',
        })
      }

      // With the relay off and two browser processes, this can only travel over WebRTC.
      await send(alice.page, 'Hello from behind NAT 0')
      await expect.poll(() => messageTexts(bob.page)).toEqual(['Hello from behind NAT 0'])
      await send(bob.page, 'And hello from behind NAT 1')
      await expect
        .poll(() => messageTexts(alice.page))
        .toEqual(['Hello from behind NAT 0', 'And hello from behind NAT 1'])

      const problems = [...alice.problems, ...bob.problems].filter(
        (p) => p.kind !== 'console-error',
      )
      expect(problems).toEqual([])
    } finally {
      await closeAll()
      await parley.process.stop()
    }
  })

  test('without the STUN service they never connect directly', async () => {
    const parley = await startParleyIn(topology.server, { relay: false }) // STUN off
    const [aliceHost, bobHost] = topology.clients as [NetnsHost, NetnsHost]
    try {
      const alice = await launch(aliceHost, 'alice', parley.origin)
      const bob = await launch(bobHost, 'bob', parley.origin)
      const link = await createRoom(alice.page, parley.origin)
      await openRoom(bob.page, link)

      // Wait for ICE to give up (an event, bounded), rather than for a fixed time.
      const failed = (records: WebrtcConnectionRecord[]) =>
        records.some((r) => r.connectionStates.includes('failed'))
      await expect
        .poll(async () => failed(await webrtcStats(alice.page)), { timeout: ICE_FAILURE_MS })
        .toBe(true)

      for (const browser of [alice, bob]) {
        const records = await webrtcStats(browser.page)
        expect(records.length, `${browser.name} tried to connect`).toBeGreaterThan(0)
        expect(
          records.filter((r) => r.dataChannelOpened || r.connectionState === 'connected'),
        ).toEqual([])
        const seen = await gathered(browser)
        expect(seen.iceServers.flat()).toEqual([])
        expect(srflxAddresses(seen.candidates)).toEqual([])
      }
    } finally {
      await closeAll()
      await parley.process.stop()
    }
  })
})
