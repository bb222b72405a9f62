// Item 4: opening a room in Chromium. The production build is served on localhost; each room
// (1k, 10k, 100k realistic messages, fixture from support/room-fixture.ts) is stored in the
// browser's IndexedDB the way LocalStore keeps it, opened once (as the user did before), then
// reopened several times: the time from navigation to the newest 50 messages on screen,
// decrypted and verified (a reopened room shows the newest messages it kept before reading
// its whole document: session/recent-records.ts), the time until the whole room is loaded
// (for comparison), and the JS heap per loaded message once it is (after a forced GC, against
// the app with an empty room open). The floor is JSON.parse of the same messages in the same
// browser: time, and heap per message of the parsed objects.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { newRoomSecret } from '../../src/crypto'
import { BenchReport, median, quick, sizeLabel } from './support/report'
import { roomFixture, type RoomFixture } from './support/room-fixture'
import { builtApp } from './support/built-app'
import {
  BLANK_PAGE,
  NEWEST,
  VIEWPORT,
  heapBytes,
  jsonFloor,
  launchChromium,
  newestShownAt,
  newestShownScript,
  recordsJson,
  serveBenchFiles,
  storeRoomLocally,
  type JsonFloor,
} from './support/browser-room'

const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]
const REPEATS = quick ? 3 : 7
const OPEN_TIMEOUT_MS = 120_000

interface Room {
  n: number
  fixture: RoomFixture
  link: string
  context: BrowserContext
  newest: readonly string[]
  opens: number[]
  loads: number[]
  heapPerMessage: number[]
}

/** Ms from navigation until the page's session has loaded the whole room. */
function wholeRoomLoadedAt(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const app = document.querySelector('parley-app') as unknown as {
      session: { loaded: Promise<void> }
    }
    await app.session.loaded
    return performance.now()
  })
}

/** Whether the room's newest messages are kept for the next open (written after loading). */
function recentKept(page: Page, roomId: string): Promise<boolean> {
  return page.evaluate(
    (name) =>
      new Promise<boolean>((resolve) => {
        const open = indexedDB.open(name)
        open.onerror = () => resolve(false)
        open.onsuccess = () => {
          const get = open.result.transaction('custom').objectStore('custom').getKey('recent')
          get.onsuccess = () => {
            open.result.close()
            resolve(get.result !== undefined)
          }
          get.onerror = () => resolve(false)
        }
      }),
    roomId,
  )
}

/** Navigates a fresh page to the room: ms from navigation to the newest on screen, and to the
 * whole room loaded. */
async function openOnce(room: Room): Promise<{ ms: number; loadedMs: number; page: Page }> {
  const page = await room.context.newPage()
  await page.setViewportSize(VIEWPORT)
  await page.addInitScript({ content: newestShownScript(room.newest) })
  await page.goto(room.link)
  const ms = await newestShownAt(page, OPEN_TIMEOUT_MS)
  const loadedMs = await wholeRoomLoadedAt(page)
  return { ms, loadedMs, page }
}

const report = new BenchReport('open-room')
console.log('Opening a room in Chromium (navigation → newest 50 messages decrypted and verified)')
const dist = builtApp()
const files = new Map<string, Uint8Array | string>()
const fixtures = new Map<number, RoomFixture>()
for (const n of SIZES) {
  const fixture = await roomFixture(n)
  fixtures.set(n, fixture)
  files.set(`/bench/room-${n}.bin`, fixture.update)
  files.set(`/bench/room-${n}.json`, new TextEncoder().encode(recordsJson(fixture)))
}
const server = await serveBenchFiles(files, dist)
const origin = server.origin
const profiles = mkdtempSync(join(tmpdir(), 'parley-bench-chromium-'))
const browser = await launchChromium()
try {
  // The app with an empty room open: the heap every room starts from.
  const emptyContext = await browser.newContext({ viewport: VIEWPORT })
  const emptyPage = await emptyContext.newPage()
  await emptyPage.goto(`${origin}/#${newRoomSecret()}`)
  await emptyPage.getByRole('textbox', { name: 'Message', exact: true }).waitFor()
  await emptyPage.goto(`${origin}/#${newRoomSecret()}`)
  await emptyPage.getByRole('textbox', { name: 'Message', exact: true }).waitFor()
  const emptyHeap = await heapBytes(emptyPage)
  await emptyContext.close()

  const rooms: Room[] = []
  for (const n of SIZES) {
    const fixture = fixtures.get(n)!
    // One browser context (its own IndexedDB) per room: the fixtures share a secret.
    const context = await browser.newContext({ viewport: VIEWPORT })
    await storeRoomLocally(
      context,
      `${origin}${BLANK_PAGE}`,
      fixture.keys.roomId,
      `/bench/room-${n}.bin`,
    )
    const room: Room = {
      n,
      fixture,
      link: `${origin}/#${fixture.secret}`,
      context,
      newest: fixture.ids.slice(-NEWEST),
      opens: [],
      loads: [],
      heapPerMessage: [],
    }
    // The first open: the service worker installs, this browser joins the room's members, and
    // the newest messages are kept (as after any visit that lasted a moment).
    const first = await openOnce(room)
    const deadline = Date.now() + OPEN_TIMEOUT_MS
    while (!(await recentKept(first.page, fixture.keys.roomId))) {
      if (Date.now() > deadline) throw new Error('the room never kept its newest messages')
      await first.page.waitForTimeout(100)
    }
    await first.page.close()
    rooms.push(room)
  }
  // Round robin, so a noisy moment hits every size alike.
  for (let i = 0; i < REPEATS; i++) {
    for (const room of rooms) {
      const { ms, loadedMs, page } = await openOnce(room)
      room.opens.push(ms)
      room.loads.push(loadedMs)
      if (i < 2) room.heapPerMessage.push(((await heapBytes(page)) - emptyHeap) / room.n)
      await page.close()
    }
  }

  const floors = new Map<number, JsonFloor>()
  for (const n of SIZES) {
    const url = `${origin}/bench/room-${n}.json`
    floors.set(n, await jsonFloor(browser, url, n, { repeats: REPEATS, heap: true }))
  }
  for (const room of rooms) {
    const floor = floors.get(room.n)!
    report.add({
      id: `open-ms-${sizeLabel(room.n)}`,
      name: `Open a room of ${sizeLabel(room.n)} from IndexedDB: navigation → newest ${NEWEST} decrypted`,
      unit: 'ms',
      parley: median(room.opens),
      peer: floor.ms,
      peerLabel: 'floor: JSON.parse of the same messages',
    })
    report.add({
      id: `open-loaded-ms-${sizeLabel(room.n)}`,
      name: `Open a room of ${sizeLabel(room.n)}: navigation → whole room loaded (for comparison)`,
      unit: 'ms',
      parley: median(room.loads),
      peer: floor.ms,
      peerLabel: 'floor: JSON.parse of the same messages',
    })
  }
  const small = rooms[0]
  const large = rooms[rooms.length - 1]
  report.add({
    id: `open-ratio-${sizeLabel(large.n)}-${sizeLabel(small.n)}`,
    name: `Open ${sizeLabel(large.n)} / open ${sizeLabel(small.n)}`,
    unit: 'ms',
    parley: median(large.opens),
    peer: median(small.opens),
    peerLabel: `open ${sizeLabel(small.n)}`,
    goal: { maxRatio: 1.5, text: '≤ 1.5×' },
  })
  for (const room of rooms.filter((r) => r.n >= 10_000)) {
    report.add({
      id: `heap-per-message-${sizeLabel(room.n)}`,
      name: `JS heap per loaded message (incl. array buffers), ${sizeLabel(room.n)} messages`,
      unit: 'B',
      parley: median(room.heapPerMessage),
      peer: floors.get(room.n)!.heapPerMessage!,
      peerLabel: 'floor: parsed JSON of the same records',
      goal: { maxRatio: 1.5, text: '≤ 1.5× parsed JSON' },
    })
  }
  for (const room of rooms) await room.context.close()
} finally {
  await browser.close()
  server.close()
  rmSync(profiles, { recursive: true, force: true })
}
report.write()
