// A newcomer to a big room over WebRTC alone (no relay exists here) sees its newest messages
// before the room has synced: the peer that holds the room sends the newest records ahead of
// its sync step 2 (docs/webrtc.md, "Newest records first"), the newcomer shows them verified and
// decrypted, and then the whole room arrives. Asserted as an order of events seen in the
// newcomer's page (never as a time). Two real Chromiums in network namespaces.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, webrtcStats, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import { messageCount, startParleyIn, type RunningParley } from './support/parley'
import { watchFirstPaint, type FirstPaintSeen } from './support/first-paint'
import { roomFixture, type RoomFixture } from '../bench/support/room-fixture'

const MESSAGES = 10_000
/** Composing 10k signed, encrypted messages takes a while the first time (then cached). */
const SETUP_MS = 180_000
const SYNC_MS = 60_000

let topology: Topology
let parley: RunningParley
let holder: LaunchedBrowser
let newcomer: LaunchedBrowser
let fixture: RoomFixture

beforeAll(async () => {
  await requireNetnsSupport()
  fixture = await roomFixture(MESSAGES)
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server, { relay: false })
  holder = await launchBrowserIn(topology.clients[0], { name: 'holder', origin: parley.origin })
  newcomer = await launchBrowserIn(topology.clients[1], { name: 'newcomer', origin: parley.origin })
}, SETUP_MS)

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

/** Puts the room into the holder's IndexedDB as y-indexeddb keeps it (one stored update),
 * from a page of the app's origin, then opens it there. */
async function holderOpensRoom(): Promise<void> {
  const page = holder.page
  await page.goto(`${parley.origin}/healthz`)
  await page.evaluate(
    async ({ roomId, base64 }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))
      await new Promise<void>((resolve, reject) => {
        const open = indexedDB.open(roomId)
        open.onupgradeneeded = () => {
          open.result.createObjectStore('updates', { autoIncrement: true })
          open.result.createObjectStore('custom')
        }
        open.onerror = () => reject(open.error ?? new Error('open failed'))
        open.onsuccess = () => {
          const tx = open.result.transaction('updates', 'readwrite')
          tx.objectStore('updates').add(bytes)
          tx.oncomplete = () => {
            open.result.close()
            resolve()
          }
          tx.onerror = () => reject(tx.error ?? new Error('write failed'))
        }
      })
    },
    { roomId: fixture.keys.roomId, base64: Buffer.from(fixture.update).toString('base64') },
  )
  await page.goto(`${parley.origin}/#${fixture.secret}`)
  await expect.poll(() => messageCount(page), { timeout: SYNC_MS, interval: 200 }).toBe(MESSAGES)
}

test(
  `a newcomer to a ${MESSAGES.toLocaleString('en')}-message room over WebRTC alone sees the newest message before the room has synced`,
  async () => {
    await holderOpensRoom()
    const newestText = fixture.texts.at(-1)!
    const page = newcomer.page
    await page.addInitScript(watchFirstPaint, [fixture.ids.at(-1)!, newestText, MESSAGES] as [
      string,
      string,
      number,
    ])
    await page.goto(`${parley.origin}/#${fixture.secret}`)
    const seen = async () =>
      page.evaluate(() => (window as unknown as { __firstPaint: FirstPaintSeen }).__firstPaint)
    await expect
      .poll(async () => (await seen()).order, { timeout: SYNC_MS, interval: 200 })
      .toHaveLength(2)
    const result = await seen()
    expect(result.order).toEqual(['newest shown', 'room complete'])
    // Shown from the peer's newest records: the room's document was still empty.
    expect(result.newestShownWith).toBe(0)
    expect(result.timelineWith).toBe(50)
    // Then the room itself is what the timeline lists.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const app = document.querySelector('parley-app') as unknown as {
              session: { timeline: { entries(): unknown[] } }
            }
            return app.session.timeline.entries().length
          }),
        { timeout: SYNC_MS },
      )
      .toBe(MESSAGES)
    // It all came over a data channel: there is no relay.
    const records = await webrtcStats(page)
    expect(records.some((r) => r.connectionState === 'connected' && r.dataChannelOpened)).toBe(true)
    for (const browser of [holder, newcomer])
      expect(browser.problems.filter((p) => p.kind !== 'console-error')).toEqual([])
  },
  SYNC_MS * 3,
)
