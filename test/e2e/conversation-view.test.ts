// Reading a conversation (issue 12 §6), two browsers: my messages sit apart from the others',
// one person's consecutive messages show their name once, times carry the full date on hover,
// and a message's actions (Copy text; Edit and Delete on my own) appear on hover or keyboard
// focus, not on every message at rest.
import type { Locator, Page } from 'playwright-core'
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

const row = (page: Page, text: string) => page.getByRole('article').filter({ hasText: text })
const opacityOf = (l: Locator) => l.evaluate((el) => Number(getComputedStyle(el).opacity))

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
  await bob.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: parley.origin,
  })
  const link = await createRoom(alice.page, parley.origin)
  await openRoom(bob.page, link)
  for (const [page, name] of [
    [alice.page, 'Alice'],
    [bob.page, 'Bob'],
  ] as const) {
    const box = page.getByRole('textbox', { name: 'Display name' })
    await box.fill(name)
    await box.press('Enter')
  }
  // (send() polls, which a hook may not: type and wait for the row instead.)
  for (const [page, text] of [
    [alice.page, 'first from alice'],
    [alice.page, 'second from alice'],
    [bob.page, 'reply from bob'],
  ] as const) {
    await composer(page).fill(text)
    await composer(page).press('Enter')
    await row(bob.page, text).waitFor()
  }
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

describe('reading', () => {
  test("my messages sit on the other side from others'", async () => {
    const mine = await row(bob.page, 'reply from bob').boundingBox()
    const theirs = await row(bob.page, 'first from alice').boundingBox()
    expect(mine && theirs).toBeTruthy()
    // Right-aligned versus left-aligned in the same list.
    expect(mine!.x + mine!.width).toBeGreaterThan(theirs!.x + theirs!.width + 20)
    expect(mine!.x).toBeGreaterThan(theirs!.x + 20)
  })

  test('one person’s consecutive messages show the name once, still read out on each', async () => {
    const nameIn = (text: string) => row(bob.page, text).locator('.author')
    const headerIn = (text: string) => row(bob.page, text).locator('header')
    const first = await headerIn('first from alice').boundingBox()
    const second = await headerIn('second from alice').boundingBox()
    expect(first!.width).toBeGreaterThan(10)
    expect(second!.width).toBeLessThanOrEqual(1) // visually hidden, not removed
    expect(await nameIn('second from alice').textContent()).toBe('Alice')
    expect(await row(bob.page, 'reply from bob').locator('.author').textContent()).toBe('Bob')
  })

  test('a time shows the full date on hover', async () => {
    const title = await row(bob.page, 'first from alice').locator('time').getAttribute('title')
    expect(title).toContain(String(new Date().getFullYear()))
  })
})

describe('actions', () => {
  test('hidden at rest, shown on hover and on keyboard focus; Edit and Delete only on mine', async () => {
    const theirs = row(bob.page, 'first from alice')
    const mine = row(bob.page, 'reply from bob')
    await bob.page.mouse.move(0, 0)
    const toolbar = mine.getByRole('toolbar', { name: 'Message actions' })
    expect(await opacityOf(toolbar)).toBe(0)
    await mine.hover()
    await expect.poll(() => opacityOf(toolbar)).toBe(1)
    expect(await mine.getByRole('button', { name: 'Edit' }).count()).toBe(1)
    expect(await mine.getByRole('button', { name: 'Delete' }).count()).toBe(1)
    expect(await theirs.getByRole('button', { name: 'Edit' }).count()).toBe(0)
    expect(await theirs.getByRole('button', { name: 'Delete' }).count()).toBe(0)

    await bob.page.mouse.move(0, 0)
    const copy = theirs.getByRole('button', { name: 'Copy text' })
    await copy.focus()
    await expect.poll(() => opacityOf(theirs.getByRole('toolbar'))).toBe(1)
    await bob.page.keyboard.press('Enter')
    await theirs.getByRole('status').filter({ hasText: 'Copied' }).waitFor()
    expect(await bob.page.evaluate(() => navigator.clipboard.readText())).toBe('first from alice')
  })
})

describe('editing from the keyboard (issue 12 §7)', () => {
  const editBox = (page: Page) => page.getByRole('textbox', { name: 'Edit message' })
  const focusedName = (page: Page) =>
    page.evaluate(() => {
      let active = document.activeElement
      while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
      return active?.getAttribute('aria-label') ?? active?.textContent ?? ''
    })

  test('ArrowUp in the empty composer edits my last message; Enter saves, focus comes back', async () => {
    await composer(bob.page).focus()
    await bob.page.keyboard.press('ArrowUp')
    await expect.poll(() => focusedName(bob.page)).toBe('Edit message')
    expect(await editBox(bob.page).inputValue()).toBe('reply from bob')
    await bob.page.keyboard.type(', edited')
    await bob.page.keyboard.press('Enter')
    await row(alice.page, 'reply from bob, edited').getByText('(edited)').waitFor()
    expect(await editBox(bob.page).count()).toBe(0)
    await expect.poll(() => focusedName(bob.page)).toBe('Message')
  })

  test('ArrowUp does nothing with text in the composer, and opens my message, not a later one of theirs', async () => {
    await composer(bob.page).fill('draft')
    await composer(bob.page).press('ArrowUp')
    expect(await editBox(bob.page).count()).toBe(0)
    await composer(bob.page).fill('')
    // Bob's message is the newest in the room: Alice's ArrowUp opens her own, older one.
    await composer(alice.page).focus()
    await alice.page.keyboard.press('ArrowUp')
    expect(await editBox(alice.page).inputValue()).toBe('second from alice')
    await alice.page.keyboard.press('Escape')
  })

  test('Escape cancels an edit without saving; focus returns to where the edit began', async () => {
    await composer(bob.page).focus()
    await bob.page.keyboard.press('ArrowUp')
    await editBox(bob.page).waitFor()
    await bob.page.keyboard.type(' and more')
    await bob.page.keyboard.press('Escape')
    expect(await editBox(bob.page).count()).toBe(0)
    await expect.poll(() => focusedName(bob.page)).toBe('Message')
    expect(await row(bob.page, 'reply from bob').textContent()).not.toContain('and more')

    const mine = row(bob.page, 'reply from bob, edited')
    await mine.getByRole('button', { name: 'Edit' }).focus()
    await bob.page.keyboard.press('Enter')
    await expect.poll(() => focusedName(bob.page)).toBe('Edit message')
    await bob.page.keyboard.press('Escape')
    await expect.poll(() => focusedName(bob.page)).toBe('Edit')
    expect(await row(alice.page, 'reply from bob').textContent()).not.toContain('and more')
  })
})

describe('delete asks once (issue 12 §6)', () => {
  const focusedText = (page: Page) =>
    page.evaluate(() => {
      let active = document.activeElement
      while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
      return active?.getAttribute('aria-label') ?? active?.textContent ?? ''
    })

  test('a dialog, opened on Cancel, keeps focus inside; Escape and Cancel keep the message', async () => {
    await composer(bob.page).fill('bob deletes this')
    await composer(bob.page).press('Enter')
    await row(alice.page, 'bob deletes this').waitFor()
    const mine = row(bob.page, 'bob deletes this')
    const dialog = bob.page.getByRole('dialog', { name: 'Delete this message?' })

    await mine.getByRole('button', { name: 'Delete' }).focus()
    await bob.page.keyboard.press('Enter')
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain('deleted for everyone')
    await expect.poll(() => focusedText(bob.page)).toBe('Cancel')
    for (let i = 0; i < 4; i++) {
      await bob.page.keyboard.press('Tab')
      expect(['Cancel', 'Delete']).toContain(await focusedText(bob.page))
    }
    // The page behind is inert.
    await composer(bob.page).focus()
    expect(['Cancel', 'Delete']).toContain(await focusedText(bob.page))
    await bob.page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    await expect.poll(() => focusedText(bob.page)).toBe('Delete')

    await mine.getByRole('button', { name: 'Delete' }).click()
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await dialog.waitFor({ state: 'hidden' })
    expect(await messageTexts(alice.page)).toContain('bob deletes this')
  })

  test('going ahead deletes it for everyone and gives focus to the composer', async () => {
    const dialog = bob.page.getByRole('dialog', { name: 'Delete this message?' })
    await row(bob.page, 'bob deletes this').getByRole('button', { name: 'Delete' }).click()
    await dialog.getByRole('button', { name: 'Delete' }).click()
    await dialog.waitFor({ state: 'hidden' })
    await expect.poll(() => messageTexts(alice.page)).not.toContain('bob deletes this')
    await expect.poll(() => focusedText(bob.page)).toBe('Message')
  })
})
