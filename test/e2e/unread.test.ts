// Never losing the place (issue 12 §5), two browsers: a room reopened with unread messages
// shows "New messages" above the first and starts there; while reading older messages, new
// ones do not move the view and "Jump to latest" counts them; the read position is kept per
// room in this browser and shared by its tabs.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import {
  composer,
  createRoom,
  messageTexts,
  openRoom,
  startParleyIn,
  type RunningParley,
} from './support/parley'

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let link: string

const divider = (page: Page) => page.getByRole('separator').filter({ hasText: 'New messages' })
const jump = (page: Page) => page.getByRole('button', { name: /Jump to latest/ })
const row = (page: Page, text: string) =>
  page.getByRole('article').filter({ has: page.getByText(text, { exact: true }) })

/** Sends through the page's session: many messages without typing each. */
async function sendMany(page: Page, texts: string[]): Promise<void> {
  await page.evaluate(async (all) => {
    const app = document.querySelector('parley-app') as unknown as {
      session: { send(text: string): Promise<string> }
    }
    for (const text of all) await app.session.send(text)
  }, texts)
}

const scrollTop = (page: Page) =>
  page.locator('parley-message-list lit-virtualizer').evaluate((el) => el.scrollTop)

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
  link = await createRoom(alice.page, parley.origin)
  await openRoom(bob.page, link)
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

describe('unread', () => {
  test('a room reopened with unread messages starts at a "New messages" divider', async () => {
    await sendMany(alice.page, ['seen 1', 'seen 2', 'seen 3'])
    await row(bob.page, 'seen 3').waitFor()
    // Bob goes elsewhere (the room stays in his browser) while Alice writes on.
    await bob.page.goto(parley.origin)
    await bob.page.getByRole('button', { name: 'New room' }).waitFor()
    const unread = Array.from({ length: 40 }, (_, i) => `unread ${i + 1}`)
    await sendMany(alice.page, unread)

    await bob.page.goto(link)
    await composer(bob.page).waitFor()
    await expect.poll(() => messageTexts(bob.page), { timeout: 20_000 }).toContain('unread 40')
    await divider(bob.page).waitFor()
    // The divider sits right above the first unread message, and the view starts there.
    const line = await divider(bob.page).boundingBox()
    const first = await row(bob.page, 'unread 1').boundingBox()
    expect(first!.y).toBeGreaterThan(line!.y)
    expect(first!.y - (line!.y + line!.height)).toBeLessThan(40)
    await expect
      .poll(async () => (await divider(bob.page).boundingBox())?.y ?? -1)
      .toBeLessThan(200)
    expect(await row(bob.page, 'unread 40').isVisible()).toBe(false)
    await jump(bob.page).waitFor()
  })

  test('new messages while reading older ones do not move the view; Jump to latest counts them', async () => {
    const before = await scrollTop(bob.page)
    await sendMany(alice.page, ['later 1', 'later 2'])
    await expect.poll(() => messageTexts(bob.page)).toContain('later 2')
    await expect.poll(async () => (await jump(bob.page).textContent()) ?? '').toMatch(/\(\d+ new\)/)
    expect(await scrollTop(bob.page)).toBe(before)

    await jump(bob.page).click()
    await row(bob.page, 'later 2').waitFor({ state: 'visible' })
    await expect.poll(() => jump(bob.page).count()).toBe(0)
  })

  test('the read position is kept in this browser and shared by its tabs', async () => {
    // Everything has been seen in Bob's first tab: a second tab opens with no divider.
    const second = await bob.context.newPage()
    try {
      await second.goto(link)
      await composer(second).waitFor()
      await expect.poll(() => messageTexts(second), { timeout: 20_000 }).toContain('later 2')
      await row(second, 'later 2').waitFor({ state: 'visible' })
      expect(await divider(second).count()).toBe(0)
      // A message that arrives while both tabs are at the bottom is read in both.
      await sendMany(alice.page, ['both tabs'])
      await row(second, 'both tabs').waitFor({ state: 'visible' })
      await bob.page.reload()
      await composer(bob.page).waitFor()
      await expect.poll(() => messageTexts(bob.page), { timeout: 20_000 }).toContain('both tabs')
      await row(bob.page, 'both tabs').waitFor({ state: 'visible' })
      expect(await divider(bob.page).count()).toBe(0)
    } finally {
      await second.close()
    }
  })
})
