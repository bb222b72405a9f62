// The automated accessibility audit (issue 12 §9): axe-core, injected into the real app in
// Chromium, finds no serious or critical violation on the landing page and in a room with
// messages from two people on separate networks — an edited one, a deleted one, a long one, a
// link, code — in the light and the dark theme, on a wide screen and at 360 px (people drawer
// open too), and with the delete dialog open.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
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

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser

const row = (page: Page, text: string) => page.getByRole('article').filter({ hasText: text })
const LONG = `A long message: ${'the quick brown fox jumps over the lazy dog '.repeat(40)}end.`

interface Finding {
  id: string
  impact: string
  help: string
  targets: string[]
}

/** Runs axe over the whole page (it walks open shadow roots); serious and critical only. */
async function audit(page: Page): Promise<Finding[]> {
  // Evaluated over CDP, not as a page script: the app's CSP (rightly) refuses inline scripts.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource)
  // A colour caught mid-transition (a toolbar fading in) is not what anyone reads.
  // (Each shadow root lists its own animations.)
  await page.waitForFunction(() => {
    const running = (root: Document | ShadowRoot): boolean =>
      root.getAnimations().some((a) => a.playState === 'running') ||
      [...root.querySelectorAll('*')].some((el) => el.shadowRoot && running(el.shadowRoot))
    return !running(document)
  })
  const findings = await page.evaluate(async () => {
    interface AxeResult {
      violations: {
        id: string
        impact: string
        help: string
        nodes: { target: unknown; failureSummary: string }[]
      }[]
    }
    const { axe } = window as unknown as {
      axe: { run(context: Document, options: object): Promise<AxeResult> }
    }
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => `${JSON.stringify(n.target)}: ${n.failureSummary}`),
    }))
  })
  return findings.filter((f) => f.impact === 'serious' || f.impact === 'critical')
}

/** Sends from one side and waits until the other has it (texts are formatted on screen). */
async function say(page: Page, text: string): Promise<void> {
  await composer(page).fill(text)
  await composer(page).press('Enter')
  const other = page === alice.page ? bob.page : alice.page
  await expect.poll(() => messageTexts(other), { timeout: 15_000 }).toContain(text)
}

const layouts = [
  { name: 'wide', width: 1280, height: 800 },
  { name: '360 px', width: 360, height: 740 },
] as const
const themes = ['light', 'dark'] as const

async function inEveryLook(page: Page, check: (look: string) => Promise<void>): Promise<void> {
  try {
    for (const theme of themes)
      for (const layout of layouts) {
        await page.emulateMedia({ colorScheme: theme })
        await page.setViewportSize({ width: layout.width, height: layout.height })
        await check(`${theme}, ${layout.name}`)
      }
  } finally {
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize({ width: 1280, height: 800 })
  }
}

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

describe('axe finds no serious or critical violation', () => {
  test('on the landing page', async () => {
    await bob.page.goto(parley.origin)
    await bob.page.getByRole('button', { name: 'New room' }).waitFor()
    await inEveryLook(bob.page, async (look) => {
      expect(await audit(bob.page), `landing page, ${look}`).toEqual([])
    })
  })

  test('in a room with edited, deleted, long, linked and code messages from two people', async () => {
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
    await say(alice.page, 'Hello Bob, the notes are at https://example.com/notes?id=1')
    await say(bob.page, 'Thanks! Run `npm test` first:\n```\nnpm ci\nnpm test\n```')
    await say(alice.page, 'this one gets edited')
    await composer(alice.page).focus()
    await alice.page.keyboard.press('ArrowUp')
    await alice.page.getByRole('textbox', { name: 'Edit message' }).press('End')
    await alice.page.keyboard.type(' (fixed)')
    await alice.page.keyboard.press('Enter')
    await row(bob.page, 'this one gets edited (fixed)').getByText('(edited)').waitFor()
    await say(bob.page, 'a message that will be deleted')
    await row(bob.page, 'a message that will be deleted')
      .getByRole('button', { name: 'Delete' })
      .click()
    await bob.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
    await alice.page.getByText('message deleted').waitFor()
    await say(alice.page, LONG)
    await say(
      bob.page,
      '**Bold**, _italic_, ~~gone~~ and > a quote, mail me at mailto:bob@example.com',
    )
    await say(alice.page, '🎉')

    for (const page of [alice.page, bob.page])
      await inEveryLook(page, async (look) => {
        expect(await audit(page), `room, ${look}`).toEqual([])
      })
  }, 90_000) // eight messages across two networks and sixteen audits, on a shared machine

  test('with the people drawer open at 360 px, and with the delete dialog open', async () => {
    const page = bob.page
    await inEveryLook(page, async (look) => {
      if (!look.endsWith('360 px')) return
      await page.getByRole('button', { name: /^People/ }).click()
      await page.getByRole('list', { name: 'People here' }).waitFor()
      expect(await audit(page), `people drawer, ${look}`).toEqual([])
      await page.keyboard.press('Escape')
    })
    await inEveryLook(page, async (look) => {
      await row(page, 'Thanks!').getByRole('button', { name: 'Delete' }).click()
      await page.getByRole('dialog').waitFor()
      expect(await audit(page), `delete dialog, ${look}`).toEqual([])
      await page.keyboard.press('Escape')
      await page.getByRole('dialog').waitFor({ state: 'hidden' })
    })
  })
})
