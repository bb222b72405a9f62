// "NAME is typing…" between two browsers (issue 12 §3): shown at the other browser within 1 s
// of the first key press, gone within 3 s of the last one, and at once when the message is
// sent. Typing travels in the signed, encrypted presence (docs/presence.md), never in the
// document.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import { composer, createRoom, openRoom, startParleyIn, type RunningParley } from './support/parley'

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser

const typingLine = (page: Page) => page.locator('parley-typing').getByRole('status')

/** Milliseconds until `check` holds, polling every frame; throws after `limit`. */
async function msUntil(page: Page, check: () => Promise<boolean>, limit: number): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > limit) throw new Error(`not within ${limit} ms`)
    await page.waitForTimeout(16)
  }
  return Date.now() - started
}

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
  const link = await createRoom(alice.page, parley.origin)
  await openRoom(bob.page, link)
  const name = alice.page.getByRole('textbox', { name: 'Display name' })
  await name.fill('Alice')
  await name.press('Enter')
  await bob.page.getByRole('list', { name: 'People here' }).getByText('Alice').waitFor()
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

test('typing shows at the other browser, ends after the last key press, and at once on send', async () => {
  const shown = async () =>
    ((await typingLine(bob.page).textContent()) ?? '').includes('Alice is typing')
  expect(await shown()).toBe(false)

  await composer(alice.page).press('h')
  const appeared = await msUntil(bob.page, shown, 1000)
  await composer(alice.page).pressSequentially('ello')
  const gone = await msUntil(bob.page, async () => !(await shown()), 3000)
  console.log(`typing shown after ${appeared} ms; gone ${gone} ms after the last key press`)

  await composer(alice.page).pressSequentially(' again')
  await msUntil(bob.page, shown, 1000)
  await composer(alice.page).press('Enter')
  const afterSend = await msUntil(bob.page, async () => !(await shown()), 1000)
  console.log(`typing gone ${afterSend} ms after sending`)
  // Alice never sees herself typing.
  expect(await typingLine(alice.page).textContent()).toBe('')
})
