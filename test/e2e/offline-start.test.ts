// Start-up never waits on the network, and the connection state tells the truth
// (docs/connection-state.md). A reload with the link down, or with every packet silently
// dropped (a train, a captive portal), shows the room and its messages within a second —
// several times in a row, so a start that wins only half the time cannot pass. And with the
// browser's offline flag set while a data channel to a peer is alive, the header says so and a
// message is delivered, not marked "sent offline".
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  closeAll,
  directlyConnected,
  launchBrowserIn,
  type LaunchedBrowser,
} from './support/browser'
import { createTopology, requireNetnsSupport, type NetnsHost, type Topology } from './support/netns'
import {
  composer,
  createRoom,
  messageTexts,
  openRoom,
  send,
  setNetwork,
  startParleyIn,
  type RunningParley,
  DELIVERED_OR_SEEN,
} from './support/parley'

/** The promise: the room is on screen within a second of a reload, whatever the network does. */
const FIRST_PAINT_MS = 1_000
/** Reloads per way of losing the network: a start that hangs half the time fails 5 in a row
 * with probability 1 − 2⁻⁵. */
const RELOADS = 5
const CONNECT_MS = 20_000

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let link: string
const history = ['first, online', 'second, online', 'third, online']

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

/** Every packet from `host` vanishes in the router: no error, no reset, nothing. */
async function blackHole(host: NetnsHost, on: boolean): Promise<void> {
  const router = topology.routers[0]
  await router.exec('iptables', [on ? '-I' : '-D', 'FORWARD', '-s', host.subnet, '-j', 'DROP'])
}

/** Reloads and returns how long until the room's messages are on screen. */
async function reloadAndTime(page: Page, expected: string[]): Promise<number> {
  const started = Date.now()
  await page.reload({ waitUntil: 'commit' })
  await expect
    .poll(() => messageTexts(page).catch(() => []), { timeout: 10_000, interval: 25 })
    .toEqual(expected)
  await composer(page).waitFor({ timeout: 10_000 })
  return Date.now() - started
}

describe('start-up without a network', () => {
  test('a room with history, its service worker installed', async () => {
    link = await createRoom(alice.page, parley.origin)
    for (const text of history) await send(alice.page, text)
    await alice.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))
    // Controlled by the service worker, so the next loads come from its cache.
    await alice.page.reload()
    await composer(alice.page).waitFor()
    expect(await alice.page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)
  })

  test(`reload with the link down shows the room within ${FIRST_PAINT_MS} ms, ${RELOADS} times`, async () => {
    const host = topology.clients[0]
    await setNetwork(host, false)
    const times: number[] = []
    try {
      for (let i = 0; i < RELOADS; i++) times.push(await reloadAndTime(alice.page, history))
      await alice.page.getByText(/^Offline/).waitFor()
    } finally {
      await setNetwork(host, true)
    }
    console.log('reload to messages on screen, link down (ms):', times)
    for (const ms of times) expect(ms).toBeLessThan(FIRST_PAINT_MS)
  })

  test(`reload with every packet dropped shows the room within ${FIRST_PAINT_MS} ms, ${RELOADS} times`, async () => {
    const host = topology.clients[0]
    await blackHole(host, true)
    const times: number[] = []
    try {
      for (let i = 0; i < RELOADS; i++) times.push(await reloadAndTime(alice.page, history))
      // The browser believes it is online; nothing is connected, and the header says so.
      expect(await alice.page.evaluate(() => navigator.onLine)).toBe(true)
      await alice.page.getByText('Cannot reach the server — working offline').waitFor()
    } finally {
      await blackHole(host, false)
    }
    console.log('reload to messages on screen, black-holed (ms):', times)
    for (const ms of times) expect(ms).toBeLessThan(FIRST_PAINT_MS)
    // Back on the network, the room reconnects by itself.
    await alice.page
      .getByText(/^Online — waiting for others to join|^Connected/)
      .waitFor({ timeout: CONNECT_MS })
  })
})

describe('connection state comes from the connections', () => {
  test('with the offline flag set but a live data channel, a message is delivered', async () => {
    await openRoom(bob.page, link)
    await expect.poll(() => directlyConnected(alice), { timeout: CONNECT_MS }).toBe(true)
    await alice.page.getByText('Connected to 1 peer').waitFor({ timeout: CONNECT_MS })

    await alice.context.setOffline(true)
    try {
      expect(await alice.page.evaluate(() => navigator.onLine)).toBe(false)
      // The relay and signaling sockets are gone; the data channel is not.
      await alice.page.getByText('Connected to 1 peer').waitFor()
      await send(alice.page, 'written with the offline flag set')
      const mine = alice.page.locator('parley-message', {
        hasText: 'written with the offline flag set',
      })
      await mine.getByText(DELIVERED_OR_SEEN).waitFor({ timeout: CONNECT_MS })
      expect(await mine.getByText('sent offline').count()).toBe(0)
      await expect
        .poll(() => messageTexts(bob.page), { timeout: CONNECT_MS })
        .toContain('written with the offline flag set')
    } finally {
      await alice.context.setOffline(false)
    }
  })

  test('no page errors', () => {
    const problems = [...alice.problems, ...bob.problems].filter((p) => p.kind !== 'console-error')
    expect(problems).toEqual([])
  })
})
