// What the benchmarks that open rooms in Chromium share: how Chromium is launched, a file server
// for fixtures (and optionally the built app), putting a room into a browser's IndexedDB, the
// check that a room shows its newest messages decrypted, and the floor they are compared with:
// JSON.parse of the same messages in the same browser.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import sirv from 'sirv'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import * as Y from 'yjs'
import { toBase64Url } from '../../../src/crypto'
import { RoomDocument, parseMessage } from '../../../src/model'
import { median } from './report'
import type { RoomFixture } from './room-fixture'

export const CHROMIUM = '/usr/bin/chromium'
export const VIEWPORT = { width: 1000, height: 800 }
/** The newest messages that must be shown for a room to count as open. */
export const NEWEST = 50
export const CHROMIUM_FLAGS: readonly string[] = [
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

export function launchChromium(extraFlags: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
    headless: true,
  })
}

/** The messages as a plain JSON store would hold them: the stored records, binary as base64. */
export function recordsJson(fixture: RoomFixture): string {
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

export interface BenchFileServer {
  readonly origin: string
  close(): void
}

/** A blank page on the bench file server: somewhere to run code without the app. */
export const BLANK_PAGE = '/bench/blank'

/**
 * Serves `files` (binary, or HTML when a string) on localhost, plus a blank page. With `dist`,
 * also the built app, told to use no signaling and no relay (opening from local data only).
 * Files may be fetched from other origins: a page of the app on the Parley server loads its
 * fixture from here.
 */
export function serveBenchFiles(
  files: ReadonlyMap<string, Uint8Array | string>,
  dist?: string,
): Promise<BenchFileServer> {
  const assets = dist ? sirv(dist, { etag: true }) : null
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://bench').pathname
    if (assets && path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify({ signaling: [], iceServers: [] }))
      return
    }
    const file = path === BLANK_PAGE ? '<!doctype html><title>bench</title>' : files.get(path)
    if (file !== undefined) {
      const type =
        typeof file === 'string' ? 'text/html; charset=utf-8' : 'application/octet-stream'
      res.writeHead(200, {
        'content-type': type,
        'cache-control': 'no-store',
        'access-control-allow-origin': '*',
      })
      res.end(file)
      return
    }
    const notFound = () => {
      res.writeHead(404)
      res.end()
    }
    if (assets) assets(req, res, notFound)
    else notFound()
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        origin: `http://localhost:${(server.address() as AddressInfo).port}`,
        close: () => server.close(),
      }),
    ),
  )
}

/**
 * Stores a room in `context`'s IndexedDB the way LocalStore (and y-indexeddb before it) keeps
 * it: one snapshot in `updates`. `originPage` is any page of the app's origin (IndexedDB is
 * per origin); `updateUrl` serves the room as one Yjs update.
 */
export async function storeRoomLocally(
  context: BrowserContext,
  originPage: string,
  roomId: string,
  updateUrl: string,
): Promise<void> {
  const page = await context.newPage()
  await page.goto(originPage)
  await page.evaluate(
    async ({ roomId, url }) => {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer())
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
    { roomId, url: updateUrl },
  )
  await page.close()
}

/**
 * Init script: from the page's first script on, records in `window.__benchShownAt` when the
 * room is open with the newest messages decrypted and verified, as the message list renders
 * them. (Read from the session: the list itself opens a room scrolled to its oldest message —
 * see open-room's notes — so "on screen" cannot be waited for.)
 */
export function newestShownScript(newest: readonly string[]): string {
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

/** Ms from the page's navigation until `newestShownScript` saw the newest shown. */
export async function newestShownAt(page: Page, timeoutMs: number): Promise<number> {
  await page.waitForFunction(() => (window as { __benchShownAt?: number }).__benchShownAt, null, {
    timeout: timeoutMs,
    polling: 100,
  })
  return page.evaluate(() => (window as unknown as { __benchShownAt: number }).__benchShownAt)
}

/** Bytes of the page's JS heap after a forced GC, array buffers included. */
export async function heapBytes(page: Page): Promise<number> {
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

export interface JsonFloor {
  /** Median ms of JSON.parse of the messages' JSON text. */
  readonly ms: number
  /** Heap per message of the parsed objects, when asked for. */
  readonly heapPerMessage?: number
}

/**
 * JSON.parse of the same messages (`recordsJson`, served at `jsonUrl`) in a fresh context of
 * `browser`: the median time of `repeats` parses and, with `heap`, the heap per message of what
 * it builds.
 */
export async function jsonFloor(
  browser: Browser,
  jsonUrl: string,
  n: number,
  options: { repeats: number; heap: boolean },
): Promise<JsonFloor> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.goto(new URL(BLANK_PAGE, jsonUrl).href)
    await page.evaluate(async (url) => {
      ;(window as unknown as { benchText: string }).benchText = await (await fetch(url)).text()
    }, jsonUrl)
    const times = await page.evaluate((repeats) => {
      const text = (window as unknown as { benchText: string }).benchText
      const out: number[] = []
      for (let i = 0; i < repeats; i++) {
        const start = performance.now()
        JSON.parse(text)
        out.push(performance.now() - start)
      }
      return out
    }, options.repeats)
    if (!options.heap) return { ms: median(times) }
    const before = await heapBytes(page)
    await page.evaluate(() => {
      const w = window as unknown as { benchText: string | null; kept: unknown }
      w.kept = JSON.parse(w.benchText ?? '')
    })
    const withText = await heapBytes(page)
    await page.evaluate(() => ((window as unknown as { benchText: null }).benchText = null))
    const after = await heapBytes(page)
    const textBytes = withText - after
    // `before` holds the text; `after` holds the parsed objects without it.
    return { ms: median(times), heapPerMessage: (after - (before - textBytes)) / n }
  } finally {
    await context.close()
  }
}
