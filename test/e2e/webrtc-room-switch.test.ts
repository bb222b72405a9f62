// Going from one room to another and back, in any rhythm, leaves a working direct connection
// (docs/webrtc.md, "Teardown and one provider per room"). Before, coming back to a room while
// its previous y-webrtc provider was still being destroyed made the new provider throw inside
// a promise: WebRTC stayed silently dead for the rest of the session. Two Chromium processes,
// relay off, so a message that arrives came over a data channel.
import { randomBytes } from 'node:crypto'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, webrtcStats, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import { composer, messageTexts, openRoom, send, startParleyIn } from './support/parley'

/** A data channel between the two namespaces opens in about a second (glare included); this
 * bounds a loaded machine, not a dead link, which never connects. */
const CONNECT_MS = 15_000
/** Time spent in the other room before coming back: at once, while the first room is still
 * opening or closing, and after it has settled. */
const RHYTHMS_MS = [0, 0, 5, 20, 50, 100, 250, 500, 1_000, 2_000]

let topology: Topology
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let origin: string

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  const parley = await startParleyIn(topology.server, { relay: false })
  origin = parley.origin
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin })
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

const secret = (): string => randomBytes(16).toString('base64url')

/** Data channels this page load has opened so far, and whether one is open now. */
async function channels(page: Page): Promise<{ opened: number; open: boolean }> {
  const records = await webrtcStats(page)
  return {
    opened: records.filter((r) => r.dataChannelOpened).length,
    open: records.some((r) => r.dataChannelOpenNow),
  }
}

/** Changes the room in the page itself (the app's own hash routing, no reload), `hashes` one
 * after another with `gapMs` between them, as fast as a person clicking links would. */
async function navigate(page: Page, hashes: readonly string[], gapMs: number): Promise<void> {
  await page.evaluate(
    async ({ hashes, gapMs }) => {
      for (const [i, hash] of hashes.entries()) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
        location.hash = hash
      }
    },
    { hashes, gapMs },
  )
}

test('leaving a room and coming back at any speed leaves a working direct connection', async () => {
  const roomA = secret()
  const roomB = secret()
  await openRoom(alice.page, `${origin}/#${roomA}`)
  await openRoom(bob.page, `${origin}/#${roomA}`)
  await expect.poll(async () => (await channels(bob.page)).open, { timeout: CONNECT_MS }).toBe(true)

  for (const [round, gapMs] of RHYTHMS_MS.entries()) {
    const before = (await channels(bob.page)).opened
    // A -> B -> A, and every other round A -> B -> A -> B -> A.
    const hashes = round % 2 === 0 ? [roomB, roomA] : [roomB, roomA, roomB, roomA]
    await navigate(bob.page, hashes, gapMs)
    await composer(bob.page).waitFor()
    await expect
      .poll(
        async () => {
          const now = await channels(bob.page)
          return now.open && now.opened > before
        },
        { timeout: CONNECT_MS, message: `round ${round + 1} (${gapMs} ms): no new data channel` },
      )
      .toBe(true)
    // Bob is in room A and hears Alice over that channel (there is no relay).
    const text = `round ${round + 1}, ${gapMs} ms in between`
    await send(alice.page, text)
    await expect.poll(() => messageTexts(bob.page), { timeout: CONNECT_MS }).toContain(text)
  }
  expect([...alice.problems, ...bob.problems]).toEqual([])
}, 300_000)
