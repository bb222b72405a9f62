// Nothing typed or acknowledged is lost, in the real app in Chromium (docs/local-storage.md,
// "Drafts" and "When storage fails"). A draft survives an app update — a new build deployed
// while the room is open, whose service worker takes over and reloads the page — and an
// ordinary reload. When IndexedDB refuses writes with a QuotaExceededError the room says so, a
// message is not shown as saved, what is typed is kept, and once writes work again they land
// and survive a reload. The relay is off, so this browser's storage is the only place a message
// can be kept. The refusal is injected into the page (IDBObjectStore add/put throw, as Chromium
// does when the quota is full): CDP's Storage.overrideQuotaForOrigin has no effect in the
// Chromium 156 used here (on a page target it is accepted and changes nothing, on the browser
// target it answers "Internal error"), and a full disk under the profile did not fail writes.
import { appendFile, cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import {
  createTopology,
  requireNetnsSupport,
  scratchDirPrefix,
  type Topology,
} from './support/netns'
import {
  composer,
  createRoom,
  messageTexts,
  send,
  startParleyIn,
  type RunningParley,
} from './support/parley'

const DIST = fileURLToPath(new URL('../../dist', import.meta.url))
/** LocalStore retries a failed write after 15 s (RETRY_MS); room for a loaded machine. */
const RETRY_WAIT_MS = 40_000
const RELOAD_MS = 30_000

let topology: Topology
let parley: RunningParley
let browser: LaunchedBrowser
let page: Page
/** This test's own copy of the build, so that "deploying" a new one touches nothing else. */
let dist: string

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 1 })
  dist = join(await mkdtemp(scratchDirPrefix(topology.server.netns)), 'dist')
  await cp(DIST, dist, { recursive: true })
  parley = await startParleyIn(topology.server, { relay: false, dist })
  browser = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  page = browser.page
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

const storageNotice = () => page.locator('parley-storage-notice [role=alert]')
const deliveryOf = (text: string) =>
  page.locator('parley-message article', { hasText: text }).first().locator('.delivery')

/** A new build on the server: its service worker differs, and index.html changed (the server
 * reloads its file list when index.html does). */
async function deployNewBuild(): Promise<void> {
  await appendFile(join(dist, 'sw.js'), `\n// deployed ${Date.now()}\n`)
  const index = await readFile(join(dist, 'index.html'), 'utf8')
  await writeFile(join(dist, 'index.html'), `${index}\n<!-- deployed ${Date.now()} -->\n`)
}

describe('drafts', () => {
  test('survive an app update and an ordinary reload', async () => {
    await createRoom(page, parley.origin)
    await send(page, 'hello')
    // The first visit installs the service worker; it controls the page from then on.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))
    await page.reload()
    await composer(page).waitFor()
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)

    await composer(page).fill('a draft across an update')
    await deployNewBuild()
    // The browser checks for a new service worker on navigation and periodically; ask now. The
    // app's own update path (vite-plugin-pwa's autoUpdate in main.ts) reloads the page once the
    // new worker has taken over.
    const reloaded = page.waitForEvent('load', { timeout: RELOAD_MS })
    await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.getRegistration()
      await registration?.update()
    })
    await reloaded
    await composer(page).waitFor()
    await expect.poll(() => composer(page).inputValue()).toBe('a draft across an update')
    expect(await messageTexts(page)).toEqual(['hello'])

    await composer(page).fill('a draft across a reload')
    await page.reload()
    await composer(page).waitFor()
    await expect.poll(() => composer(page).inputValue()).toBe('a draft across a reload')
    // Sent, the draft is gone for good.
    await composer(page).press('Enter')
    await expect.poll(() => messageTexts(page)).toContain('a draft across a reload')
    expect(await composer(page).inputValue()).toBe('')
    await page.reload()
    await composer(page).waitFor()
    await expect.poll(() => messageTexts(page)).toEqual(['hello', 'a draft across a reload'])
    expect(await composer(page).inputValue()).toBe('')
  })
})

/** Installed before the app on every load: while this tab's `test:quota-full` is set, adding to
 * or putting into the room's `updates` store throws a QuotaExceededError, as a full quota does. */
function refuseWritesWhileFull(): void {
  const proto = IDBObjectStore.prototype
  // Kept to be called with an object store as `this` (the page never puts them back).
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const { add, put } = proto
  const refuse = (store: IDBObjectStore): void => {
    if (store.name === 'updates' && sessionStorage.getItem('test:quota-full') === '1')
      throw new DOMException('The quota is full (test)', 'QuotaExceededError')
  }
  proto.add = function (this: IDBObjectStore, ...args: Parameters<typeof add>) {
    refuse(this)
    return add.apply(this, args)
  }
  proto.put = function (this: IDBObjectStore, ...args: Parameters<typeof put>) {
    refuse(this)
    return put.apply(this, args)
  }
}

describe('a full quota', () => {
  const setQuota = (full?: number) =>
    page.evaluate((on) => {
      if (on) sessionStorage.setItem('test:quota-full', '1')
      else sessionStorage.removeItem('test:quota-full')
    }, full !== undefined)

  test('is shown, nothing is shown as saved that is not, and once it is back the writes land', async () => {
    await page.addInitScript(refuseWritesWhileFull)
    await createRoom(page, parley.origin)
    await send(page, 'before the quota')
    await setQuota(1)
    await send(page, 'while full')
    await storageNotice().waitFor()
    expect(await storageNotice().textContent()).toContain('This browser has no space left')
    await expect.poll(() => deliveryOf('while full').getAttribute('data-delivery')).toBe('unsaved')
    expect(await deliveryOf('while full').textContent()).toBe('not saved yet')
    await composer(page).fill('typed while full')

    // The quota is back: the failed write is retried and lands.
    await setQuota()
    await storageNotice().waitFor({ state: 'detached', timeout: RETRY_WAIT_MS })
    await expect.poll(() => deliveryOf('while full').getAttribute('data-delivery')).toBe('pending')
    await page.reload()
    await composer(page).waitFor()
    await expect.poll(() => messageTexts(page)).toEqual(['before the quota', 'while full'])
    expect(await composer(page).inputValue()).toBe('typed while full')

    // A page that goes while storage is full: its message was kept nowhere, so its text comes
    // back into the composer when the room opens again.
    await setQuota(1)
    await composer(page).fill('')
    await send(page, 'sent, then the page went')
    await storageNotice().waitFor()
    await composer(page).fill('also typed')
    await page.reload()
    await composer(page).waitFor()
    await expect
      .poll(() => composer(page).inputValue())
      .toBe('also typed\nsent, then the page went')
    expect(await messageTexts(page)).toEqual(['before the quota', 'while full'])
    await setQuota()
  })
})
