// Formatted messages between two browsers (docs/rich-text.md): what Alice types in Markdown
// shows formatted at Bob's, links open in a new tab without access to the room, one to three
// emoji alone show larger, and XSS payloads in text, links and display names stay inert text.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import {
  composer,
  createRoom,
  openRoom,
  send,
  startParleyIn,
  type RunningParley,
} from './support/parley'

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser

/** The row (role article) at Bob's that contains `text`. */
const rowAt = (page: Page, text: string | RegExp) =>
  page.getByRole('article').filter({ hasText: text })

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
  const link = await createRoom(alice.page, parley.origin)
  await openRoom(bob.page, link)
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

describe('formatting', () => {
  test('bold, italic, strike, code, quotes and code blocks show formatted at the other browser', async () => {
    await send(alice.page, 'a **bold** _italic_ ~~gone~~ `x = 1` word')
    const row = rowAt(bob.page, 'bold')
    await row.waitFor()
    const text = row.locator('parley-message-text')
    await expect.poll(() => text.locator('strong').textContent()).toBe('bold')
    expect(await text.locator('em').textContent()).toBe('italic')
    expect(await text.locator('del').textContent()).toBe('gone')
    expect(await text.locator('code').textContent()).toBe('x = 1')

    await send(alice.page, '> quoted line\n\n```\nconst y = **2**\n```')
    const quoted = rowAt(bob.page, 'quoted line').locator('parley-message-text')
    await expect.poll(() => quoted.locator('blockquote').textContent()).toBe('quoted line')
    expect(await quoted.locator('pre code').textContent()).toBe('const y = **2**')
  })

  test('an address becomes a link that opens a new tab without this page', async () => {
    await send(alice.page, 'read https://example.com/docs?a=1 please')
    const anchor = rowAt(bob.page, 'please').getByRole('link', {
      name: 'https://example.com/docs?a=1',
    })
    await anchor.waitFor()
    expect(await anchor.getAttribute('href')).toBe('https://example.com/docs?a=1')
    expect(await anchor.getAttribute('target')).toBe('_blank')
    expect((await anchor.getAttribute('rel'))?.split(' ').sort()).toEqual([
      'nofollow',
      'noopener',
      'noreferrer',
    ])
  })

  test('emoji alone are shown larger; with words they are not', async () => {
    await send(alice.page, '🎉👍')
    await send(alice.page, '🎉 party')
    const alone = rowAt(bob.page, '🎉👍').locator('parley-message-text')
    const withWords = rowAt(bob.page, '🎉 party').locator('parley-message-text')
    await expect.poll(() => alone.getAttribute('jumbo')).toBe('')
    expect(await withWords.getAttribute('jumbo')).toBeNull()
    const size = (l: typeof alone) => l.evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    expect(await size(alone)).toBeGreaterThan((await size(withWords)) * 1.5)
  })
})

describe('hostile text stays text', () => {
  const payloads = [
    '<img src=x onerror="window.__xss=1">',
    '<script>window.__xss=1</script>',
    '[click me](javascript:window.__xss=1)',
    'javascript:window.__xss=1',
    '<a href="javascript:window.__xss=1">a</a>',
    '<svg onload="window.__xss=1"></svg>',
    '`<img src=x onerror="window.__xss=1">`',
  ]

  test('payloads in messages and names render as the characters typed', async () => {
    const name = bob.page.getByRole('textbox', { name: 'Display name' })
    await name.fill('<img src=x onerror="window.__xss=1">')
    await name.press('Enter')
    await send(bob.page, 'named')
    for (const payload of payloads) await send(alice.page, payload)

    for (const page of [alice.page, bob.page]) {
      for (const payload of payloads) {
        const shown = payload.replace(/^`|`$/g, '')
        await rowAt(page, shown).first().waitFor()
      }
      // Nothing a payload names exists as an element in any message row; no link but http(s).
      const rows = page.locator('parley-message')
      expect(await rows.locator('img, script, svg, iframe').count()).toBe(0)
      const hrefs = await rows
        .locator('a')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')))
      expect(hrefs.every((h) => h !== null && /^(https?|mailto):/.test(h))).toBe(true)
      await page
        .getByRole('list', { name: 'People here' })
        .getByText('<img src=x')
        .first()
        .waitFor()
      expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined()
    }
    // Clicking what looks like a link does nothing harmful either.
    await rowAt(bob.page, '[click me]').click()
    expect(await bob.page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined()
    expect(await composer(bob.page).isVisible()).toBe(true)
  })
})
