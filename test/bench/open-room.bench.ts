// Item 4: opening a room in Chromium. The production build is served on localhost; each room
// (1k, 10k, 100k realistic messages, fixture from support/room-fixture.ts) is stored in the
// browser's IndexedDB the way LocalStore keeps it, opened once (as the user did before), then
// reopened several times: the time from navigation to the newest 50 messages on screen,
// decrypted and verified, and the JS heap per loaded message (after a forced GC, against the
// app with an empty room open). The floor is JSON.parse of the same messages in the same
// browser: time, and heap per message of the parsed objects.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sirv from 'sirv'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import * as Y from 'yjs'
import { newRoomSecret, toBase64Url } from '../../src/crypto'
import { RoomDocument, parseMessage } from '../../src/model'
import { BenchReport, median, quick, sizeLabel } from './support/report'
import { roomFixture, type RoomFixture } from './support/room-fixture'
import { builtApp } from './support/built-app'

const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]
const REPEATS = quick ? 3 : 7
const NEWEST = 50
const VIEWPORT = { width: 1000, height: 800 }
const OPEN_TIMEOUT_MS = 120_000
const CHROMIUM = '/usr/bin/chromium'
const FLAGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
]

interface Room {
  n: number
  fixture: RoomFixture
  link: string
  context: BrowserContext
  newest: string[]
  opens: number[]
  heapPerMessage: number[]
}

/** The messages as a plain JSON store would hold them: the stored records, binary as base64. */
function recordsJson(fixture: RoomFixture): string {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, fixture.update)
  const messages = new RoomDocument(doc).maps.messages
  return JSON.stringify(
    fixture.ids.map((id) => {
      const parsed = parseMessage(messages.get(id))
      if (!parsed.ok) throw new Error(parsed.reason)
      const r = parsed.value
      return {
        id,
        wall: r.stamp.wall,
        counter: r.stamp.counter,
        author: toBase64Url(r.author),
        envelope: toBase64Url(r.envelope),
        signature: toBase64Url(r.signature),
      }
    }),
  )
}

function serve(dist: string, files: Map<string, Uint8Array | string>): Promise<Server> {
  const assets = sirv(dist, { etag: true })
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://bench').pathname
    if (path === '/config.json') {
      // No signaling, no relay: opening from local data is what is measured.
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify({ signaling: [], iceServers: [] }))
      return
    }
    const file = files.get(path)
    if (file !== undefined) {
      const type =
        typeof file === 'string' ? 'text/html; charset=utf-8' : 'application/octet-stream'
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(file)
      return
    }
    assets(req, res, () => {
      res.writeHead(404)
      res.end()
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/**
 * Runs in the page from its first script on: records when the room is open with the newest
 * messages decrypted and verified, as the message list renders them. (Read from the session:
 * the list itself opens a room scrolled to its oldest message — see the report's notes — so
 * "on screen" cannot be waited for.)
 */
function watchScript(newest: string[]): string {
  return `(() => {
    const newest = ${JSON.stringify(newest)}
    const check = async () => {
      const app = document.querySelector('parley-app')
      const session = app && app.session
      const entries = session ? session.timeline.entries() : []
      const last = entries.slice(-newest.length)
      if (last.length === newest.length && last.every((e, i) => e.id === newest[i])) {
        const shown = await Promise.all(last.map((e) => session.content.resolve(e)))
        if (shown.every((r) => r.kind === 'message' && r.text !== null)) {
          window.__benchShownAt = performance.now()
          return
        }
      }
      requestAnimationFrame(check)
    }
    requestAnimationFrame(check)
  })()`
}

async function heapBytes(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page)
  try {
    for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage')
    const usage = (await cdp.send('Runtime.getHeapUsage')) as {
      usedSize: number
      embedderHeapUsedSize?: number
      backingStorageSize?: number
    }
    // Array buffers (Yjs keeps records as views of one) live outside the JS heap proper.
    return usage.usedSize + (usage.embedderHeapUsedSize ?? 0) + (usage.backingStorageSize ?? 0)
  } finally {
    await cdp.detach()
  }
}

/** Navigates a fresh page to the room; resolves to ms from navigation to the newest on screen. */
async function openOnce(room: Room): Promise<{ ms: number; page: Page }> {
  const page = await room.context.newPage()
  await page.setViewportSize(VIEWPORT)
  await page.addInitScript({ content: watchScript(room.newest) })
  await page.goto(room.link)
  await page.waitForFunction(() => (window as { __benchShownAt?: number }).__benchShownAt, null, {
    timeout: OPEN_TIMEOUT_MS,
    polling: 100,
  })
  const ms = await page.evaluate(
    () => (window as unknown as { __benchShownAt: number }).__benchShownAt,
  )
  return { ms, page }
}

async function seed(
  context: BrowserContext,
  origin: string,
  roomId: string,
  n: number,
): Promise<void> {
  const page = await context.newPage()
  await page.goto(`${origin}/bench/blank`)
  await page.evaluate(
    async ({ roomId, url }) => {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer())
      // The layout LocalStore (and y-indexeddb before it) uses: a snapshot in `updates`.
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
    { roomId, url: `/bench/room-${n}.bin` },
  )
  await page.close()
}

/** JSON.parse of the same messages: median time, and heap per message of what it builds. */
async function jsonFloor(browser: Browser, origin: string, n: number) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${origin}/bench/blank`)
  await page.evaluate(async (url) => {
    ;(window as unknown as { benchText: string }).benchText = await (await fetch(url)).text()
  }, `/bench/room-${n}.json`)
  const times = await page.evaluate((repeats) => {
    const text = (window as unknown as { benchText: string }).benchText
    const out: number[] = []
    for (let i = 0; i < repeats; i++) {
      const start = performance.now()
      JSON.parse(text)
      out.push(performance.now() - start)
    }
    return out
  }, REPEATS)
  const before = await heapBytes(page)
  await page.evaluate(() => {
    const w = window as unknown as { benchText: string | null; kept: unknown }
    w.kept = JSON.parse(w.benchText ?? '')
  })
  const withText = await heapBytes(page)
  await page.evaluate(() => ((window as unknown as { benchText: null }).benchText = null))
  const after = await heapBytes(page)
  const textBytes = withText - after
  await context.close()
  // `before` holds the text; `after` holds the parsed objects without it.
  return { ms: median(times), heapPerMessage: (after - (before - textBytes)) / n }
}

const report = new BenchReport('open-room')
console.log('Opening a room in Chromium (navigation → newest 50 messages decrypted and verified)')
const dist = builtApp()
const files = new Map<string, Uint8Array | string>([
  ['/bench/blank', '<!doctype html><title>bench</title>'],
])
const fixtures = new Map<number, RoomFixture>()
for (const n of SIZES) {
  const fixture = await roomFixture(n)
  fixtures.set(n, fixture)
  files.set(`/bench/room-${n}.bin`, fixture.update)
  files.set(`/bench/room-${n}.json`, new TextEncoder().encode(recordsJson(fixture)))
}
const server = await serve(dist, files)
const origin = `http://localhost:${(server.address() as AddressInfo).port}`
const profiles = mkdtempSync(join(tmpdir(), 'parley-bench-chromium-'))
const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
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
    await seed(context, origin, fixture.keys.roomId, n)
    const room: Room = {
      n,
      fixture,
      link: `${origin}/#${fixture.secret}`,
      context,
      newest: fixture.ids.slice(-NEWEST),
      opens: [],
      heapPerMessage: [],
    }
    // The first open: the service worker installs, this browser joins the room's members.
    const first = await openOnce(room)
    await first.page.close()
    rooms.push(room)
  }
  // Round robin, so a noisy moment hits every size alike.
  for (let i = 0; i < REPEATS; i++) {
    for (const room of rooms) {
      const { ms, page } = await openOnce(room)
      room.opens.push(ms)
      if (i < 2) room.heapPerMessage.push(((await heapBytes(page)) - emptyHeap) / room.n)
      await page.close()
    }
  }

  const floors = new Map<number, Awaited<ReturnType<typeof jsonFloor>>>()
  for (const n of SIZES) floors.set(n, await jsonFloor(browser, origin, n))
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
      peer: floors.get(room.n)!.heapPerMessage,
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
