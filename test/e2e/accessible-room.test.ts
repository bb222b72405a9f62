// Accessible and usable everywhere (issue 12 §9), two browsers on separate networks: the theme
// follows the system until the "Dark theme" switch is flipped, and the choice survives a
// reload; new messages from others are read out politely, the history on opening is not;
// reduced motion turns transitions off; at 360 px the header keeps two rows and the people
// panel is a drawer opened by a button, closed by Escape, focus going back; and the keyboard
// reaches a message's actions with a visible focus ring.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import { composer, createRoom, openRoom, startParleyIn, type RunningParley } from './support/parley'

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let link: string

const row = (page: Page, text: string) => page.getByRole('article').filter({ hasText: text })
const themeSwitch = (page: Page) => page.getByRole('button', { name: 'Dark theme' })
const background = (page: Page) =>
  page.evaluate(() => getComputedStyle(document.body).backgroundColor)
/** What the page's polite announcer says (new-message-announcer.ts). */
const announced = (page: Page) =>
  page.locator('parley-announcer [aria-live="polite"]').textContent()
const focused = (page: Page) =>
  page.evaluate(() => {
    let active = document.activeElement
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
    return {
      name: active?.getAttribute('aria-label') ?? active?.textContent?.trim() ?? '',
      outline: active ? getComputedStyle(active).outlineStyle : 'none',
    }
  })

async function say(page: Page, text: string, seenBy: Page): Promise<void> {
  await composer(page).fill(text)
  await composer(page).press('Enter')
  await row(seenBy, text).waitFor()
}

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
  link = await createRoom(alice.page, parley.origin)
  await openRoom(bob.page, link)
  for (const [page, name] of [
    [alice.page, 'Alice'],
    [bob.page, 'Bob'],
  ] as const) {
    const box = page.getByRole('textbox', { name: 'Display name' })
    await box.fill(name)
    await box.press('Enter')
  }
  await say(alice.page, 'history one', bob.page)
  await say(bob.page, 'history two', alice.page)
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

describe('themes', () => {
  test('follow the system until the switch is flipped; the choice is kept across a reload', async () => {
    const page = alice.page
    await page.emulateMedia({ colorScheme: 'light' })
    expect(await background(page)).toBe('rgb(255, 255, 255)')
    expect(await themeSwitch(page).getAttribute('aria-pressed')).toBe('false')
    await page.emulateMedia({ colorScheme: 'dark' })
    await expect.poll(() => background(page)).toBe('rgb(17, 24, 39)')
    await expect.poll(() => themeSwitch(page).getAttribute('aria-pressed')).toBe('true')

    await page.emulateMedia({ colorScheme: 'light' })
    await themeSwitch(page).click()
    await expect.poll(() => background(page)).toBe('rgb(17, 24, 39)')
    expect(await themeSwitch(page).getAttribute('aria-pressed')).toBe('true')
    expect(await page.evaluate(() => localStorage.getItem('parley:theme'))).toBe('dark')
    await page.reload()
    await composer(page).waitFor()
    expect(await background(page)).toBe('rgb(17, 24, 39)')
    // Choosing what the system shows goes back to following it.
    await themeSwitch(page).click()
    await expect.poll(() => background(page)).toBe('rgb(255, 255, 255)')
    expect(await page.evaluate(() => localStorage.getItem('parley:theme'))).toBeNull()
    await page.emulateMedia({ colorScheme: 'dark' })
    await expect.poll(() => background(page)).toBe('rgb(17, 24, 39)')
    await page.emulateMedia({ colorScheme: 'light' })
  })
})

describe('screen readers', () => {
  test('new messages from others are announced politely; the history on opening is not', async () => {
    await bob.page.reload()
    await composer(bob.page).waitFor()
    await row(bob.page, 'history two').waitFor()
    // Past the room catching up (room-state.ts SETTLE_MS at most), still nothing read out.
    await bob.page.waitForTimeout(3_500)
    expect(await announced(bob.page)).toBe('')
    await say(alice.page, 'fresh news', bob.page)
    await expect.poll(() => announced(bob.page)).toBe('Alice: fresh news')
    // My own messages are not read back to me.
    await say(bob.page, 'from me', alice.page)
    await expect.poll(() => announced(alice.page)).toBe('Bob: from me')
    expect(await announced(bob.page)).toBe('Alice: fresh news')
    expect(await bob.page.getByRole('log', { name: 'Messages' }).getAttribute('aria-live')).toBe(
      'off',
    )
  })
})

describe('keyboard', () => {
  test('Tab reaches a message’s actions with a visible focus ring', async () => {
    const page = bob.page
    // From the header onwards, as a keyboard user goes.
    await page.getByRole('textbox', { name: 'Display name' }).focus()
    const names: string[] = []
    for (let i = 0; i < 40 && !names.includes('Edit'); i++) {
      await page.keyboard.press('Tab')
      const now = await focused(page)
      names.push(now.name)
      expect(now.outline, `focus ring on ${now.name}`).not.toBe('none')
    }
    expect(names).toContain('Copy text')
    expect(names).toContain('Edit')
  })
})

describe('reduced motion', () => {
  test('transitions are off when the system asks for less motion', async () => {
    const page = bob.page
    const toolbarTransition = () =>
      row(page, 'history two')
        .getByRole('toolbar')
        .evaluate((el) => getComputedStyle(el).transitionDuration)
    expect(await toolbarTransition()).not.toBe('0s')
    await page.emulateMedia({ reducedMotion: 'reduce' })
    await expect.poll(toolbarTransition).toBe('0s')
    await page.emulateMedia({ reducedMotion: 'no-preference' })
  })
})

describe('a phone, 360 px wide', () => {
  test('the header keeps two rows, nothing overflows, people are a drawer', async () => {
    const page = bob.page
    await page.setViewportSize({ width: 360, height: 740 })
    try {
      const header = await page.locator('parley-room-header header').boundingBox()
      expect(header!.height).toBeLessThan(100)
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        360,
      )
      const people = page.getByRole('list', { name: 'People here' })
      // (Hidden at the end of the drawer's slide, which the resize itself starts.)
      await expect.poll(() => people.isVisible()).toBe(false)
      const toggle = page.getByRole('button', { name: /^People/ })
      expect(await toggle.getAttribute('aria-expanded')).toBe('false')
      await toggle.click()
      await expect.poll(() => people.isVisible()).toBe(true)
      expect(await toggle.getAttribute('aria-expanded')).toBe('true')
      expect((await focused(page)).name).toBe('Close people')
      expect(await people.textContent()).toContain('Alice')
      await page.keyboard.press('Escape')
      await expect.poll(() => people.isVisible()).toBe(false)
      expect((await focused(page)).name).toMatch(/^People/)
      // The composer and the send button still fit.
      const send = await page.getByRole('button', { name: 'Send' }).boundingBox()
      expect(send!.x + send!.width).toBeLessThanOrEqual(360)
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 })
    }
  })

  test('on a wide screen the people panel is always shown, with no drawer button', async () => {
    await bob.page.setViewportSize({ width: 1280, height: 720 })
    expect(await bob.page.getByRole('list', { name: 'People here' }).isVisible()).toBe(true)
    expect(await bob.page.getByRole('button', { name: /^People/ }).count()).toBe(0)
  })
})
