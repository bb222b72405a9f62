// An idle room is quiet (docs/connection-state.md, "Presence is quiet"): three people in one
// room, each in their own Chromium on their own network, connected directly and through the
// relay, send only heartbeats while nobody does anything. Every frame each browser sends is
// counted — WebSocket frames to signaling and the relay, and data channel messages.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import {
  DELIVERED_OR_SEEN,
  createRoom,
  openRoom,
  send,
  startParleyIn,
  type RunningParley,
} from './support/parley'

const CONNECT_MS = 30_000
/** How long the room sits idle while frames are counted (the 60 s). */
const IDLE_MS = 60_000
/**
 * What one browser may send in IDLE_MS. Heartbeats alone: awareness renews each link's state
 * every 15 s (4 per link: relay, and one data channel per other person = 12), the relay's
 * keepalive every ~15 s is answered (4), and signaling keeps its socket alive (a few). Twice
 * that leaves room for timing; the presence echo this guards against sent ~400 per link.
 */
const MAX_FRAMES_PER_BROWSER = 60

let topology: Topology
let parley: RunningParley
const people: LaunchedBrowser[] = []
const counts = new Map<Page, { ws: number }>()

/** Counts data channel sends inside the page (Playwright sees WebSocket frames only). */
function countDataChannelSends(): void {
  const w = window as unknown as { __dataChannelSends: number }
  w.__dataChannelSends = 0
  const proto = RTCDataChannel.prototype
  const send = Object.getOwnPropertyDescriptor(proto, 'send')?.value as (
    this: RTCDataChannel,
    data: never,
  ) => void
  proto.send = function (this: RTCDataChannel, data: never) {
    w.__dataChannelSends++
    send.call(this, data)
  }
}

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 3 })
  parley = await startParleyIn(topology.server)
  for (const [i, name] of ['ann', 'ben', 'cat'].entries()) {
    const browser = await launchBrowserIn(topology.clients[i], { name, origin: parley.origin })
    await browser.context.addInitScript(countDataChannelSends)
    const count = { ws: 0 }
    counts.set(browser.page, count)
    browser.page.on('websocket', (ws) => ws.on('framesent', () => count.ws++))
    people.push(browser)
  }
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

async function framesSent(page: Page): Promise<number> {
  const dataChannel = await page.evaluate(
    () => (window as unknown as { __dataChannelSends: number }).__dataChannelSends,
  )
  return dataChannel + (counts.get(page)?.ws ?? 0)
}

describe('an idle room', () => {
  test(`three people idle for ${IDLE_MS / 1000} s send at most ${MAX_FRAMES_PER_BROWSER} frames each`, async () => {
    const [ann, ben, cat] = people
    const link = await createRoom(ann.page, parley.origin)
    await openRoom(ben.page, link)
    await openRoom(cat.page, link)
    await send(ann.page, 'hello both')
    for (const { page } of people) {
      const list = page.locator('parley-people')
      await expect
        .poll(() => list.getByText('connected directly').count(), { timeout: CONNECT_MS })
        .toBe(2)
    }
    // Let the first exchange (sync, acknowledgements, presence) finish.
    await ann.page
      .locator('parley-message', { hasText: 'hello both' })
      .getByText(DELIVERED_OR_SEEN)
      .waitFor({ timeout: CONNECT_MS })
    await ann.page.waitForTimeout(3_000)

    const before = await Promise.all(people.map(({ page }) => framesSent(page)))
    await ann.page.waitForTimeout(IDLE_MS)
    const after = await Promise.all(people.map(({ page }) => framesSent(page)))
    const sent = after.map((n, i) => n - before[i])
    console.log(`frames sent in ${IDLE_MS / 1000} s idle (ann, ben, cat):`, sent)
    for (const n of sent) expect(n).toBeLessThanOrEqual(MAX_FRAMES_PER_BROWSER)
    // Still a room: everyone is still here, directly.
    for (const { page } of [ben, cat])
      expect(await page.locator('parley-people').getByText('connected directly').count()).toBe(2)
  })

  test('no page errors', () => {
    expect(people.flatMap((p) => p.problems).filter((p) => p.kind !== 'console-error')).toEqual([])
  })
})
