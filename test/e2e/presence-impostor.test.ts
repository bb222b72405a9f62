// Nobody passes as someone else, and rooms do not link a person (docs/presence.md), in the real
// app in Chromium: Alice and Bob in a room; Bob leaves; a hostile member (stock y-websocket
// clients with the room's secret: presence-impostor.ts) publishes presence claiming Bob — the
// old unsigned format, a signature by another key, Bob's own state moved to another client id —
// and an honestly signed stranger, all acknowledging every write. Alice's people list never
// shows Bob or the stranger, and her new message is never "delivered". Then one browser in two
// rooms signs with a different key in each, and the relay holds different key ids.
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import {
  createTopology,
  requireNetnsSupport,
  type NodeProcess,
  type Topology,
} from './support/netns'
import { createRoom, openRoom, send, startParleyIn, type RunningParley } from './support/parley'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SHOW_MS = 20_000
const RELAY_URL = 'ws://127.0.0.1:8787/relay'
const FORGERIES = 4
/** Of the forgeries, those that do not verify: the stranger's signature is valid (its presence
 * is kept, but it has no member record, so it is neither shown nor counted as delivery). */
const UNVERIFIABLE = 3

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let impostor: NodeProcess | undefined

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
})

afterAll(async () => {
  await impostor?.stop()
  await closeAll()
  await topology?.destroy()
})

interface SessionProbe {
  session?: {
    myKeyId: string
    presence: { relay: { refused: number; awareness: { getStates(): Map<number, unknown> } } }
  }
}

/** The open room's key id in this page. */
const myKeyId = (page: Page) =>
  page.evaluate(() => {
    const app = document.querySelector('parley-app') as unknown as SessionProbe
    if (!app.session) throw new Error('no open room')
    return app.session.myKeyId
  })

/** Presence states the page's relay channel has refused so far. */
const refusedViaRelay = (page: Page) =>
  page.evaluate(() => {
    const app = document.querySelector('parley-app') as unknown as SessionProbe
    if (!app.session) throw new Error('no open room')
    return app.session.presence.relay.refused
  })

/** Whether every one of these awareness client ids has a state at the page's relay link. */
const holdsStatesOf = (page: Page, ids: readonly number[]) =>
  page.evaluate((clientIds) => {
    const app = document.querySelector('parley-app') as unknown as SessionProbe
    const states = app.session?.presence.relay.awareness.getStates()
    return clientIds.every((id) => states?.has(id) ?? false)
  }, ids)

const PUBLISHED = /impostor published (\[[\d,]+\])/

const people = (page: Page) => page.getByRole('list', { name: 'People here' })

async function rename(page: Page, name: string): Promise<void> {
  const field = page.getByRole('textbox', { name: 'Display name' })
  await field.fill(name)
  await field.press('Enter')
  await people(page).getByText(name).waitFor()
}

function membersAtRelay(link: string): Promise<string[]> {
  return topology.server
    .exec(
      'node',
      [
        '--import',
        'tsx',
        'test/e2e/support/presence-impostor.ts',
        'members',
        RELAY_URL,
        new URL(link).hash.slice(1),
      ],
      { cwd: REPO_ROOT },
    )
    .then((r) => JSON.parse(r.stdout.trim().split('\n').pop() ?? '[]') as string[])
}

describe('presence', () => {
  test('a member cannot appear as someone else, or acknowledge for them', async () => {
    const link = await createRoom(alice.page, parley.origin)
    await rename(alice.page, 'Alice')
    await openRoom(bob.page, link)
    await rename(bob.page, 'Bob')
    // Honest presence works: each sees the other by name.
    await people(alice.page).getByText('Bob').waitFor({ timeout: SHOW_MS })
    await people(bob.page).getByText('Alice').waitFor({ timeout: SHOW_MS })
    const bobKeyId = await myKeyId(bob.page)

    impostor = await topology.server.startNode(
      [
        '--import',
        'tsx',
        'test/e2e/support/presence-impostor.ts',
        'impostor',
        RELAY_URL,
        new URL(link).hash.slice(1),
        bobKeyId,
      ],
      { ready: /impostor saw the victim/, cwd: REPO_ROOT, label: 'impostor', timeoutMs: SHOW_MS },
    )

    // Bob closes the room; the impostor publishes once the relay has dropped his presence.
    await bob.page.goto(parley.origin)
    const published = () => PUBLISHED.exec(impostor?.output().stdout ?? '')?.[1]
    await expect.poll(published, { timeout: SHOW_MS }).toBeDefined()
    const forgedIds = JSON.parse(published() ?? '[]') as number[]
    expect(forgedIds).toHaveLength(FORGERIES)

    // Every forged state reached Alice's relay awareness; those claiming Bob were refused.
    await expect.poll(() => holdsStatesOf(alice.page, forgedIds), { timeout: SHOW_MS }).toBe(true)
    await expect
      .poll(() => refusedViaRelay(alice.page), { timeout: SHOW_MS })
      .toBeGreaterThanOrEqual(UNVERIFIABLE)

    // Alice writes while only the impostor is there; it acknowledges everything in the room.
    const refusedBefore = await refusedViaRelay(alice.page)
    await send(alice.page, 'anyone there?')
    const mine = alice.page.locator('parley-message', { hasText: 'anyone there?' })
    await mine.getByText('saved to relay').waitFor({ timeout: SHOW_MS })
    // Each forged state was refused again once the impostor re-sent it acknowledging her
    // new message.
    await expect
      .poll(() => refusedViaRelay(alice.page), { timeout: SHOW_MS })
      .toBeGreaterThanOrEqual(refusedBefore + UNVERIFIABLE)

    // Only Alice is here: Bob has gone, and nobody shows as him or as the stranger.
    await expect.poll(() => people(alice.page).locator('li').count(), { timeout: SHOW_MS }).toBe(1)
    expect(await people(alice.page).getByText('Bob').count()).toBe(0)
    expect(await mine.locator('.delivery').textContent()).toBe('saved to relay')
    expect(alice.problems.filter((p) => p.kind === 'page-error')).toEqual([])
  })
})

describe('a key per room', () => {
  test('one browser signs with a different key in each room; the relay sees different ids', async () => {
    const page = alice.page
    const first = page.url()
    const firstKey = await myKeyId(page)
    const second = await createRoom(page, parley.origin)
    await send(page, 'in the second room')
    await page.getByText('saved to relay').waitFor({ timeout: SHOW_MS })
    const secondKey = await myKeyId(page)
    expect(secondKey).not.toBe(firstKey)
    // The name chosen last is the default for a new room.
    expect(await page.getByRole('textbox', { name: 'Display name' }).inputValue()).toBe('Alice')

    const [atRelayFirst, atRelaySecond] = await Promise.all([
      membersAtRelay(first),
      membersAtRelay(second),
    ])
    expect(atRelayFirst).toContain(firstKey)
    expect(atRelayFirst).not.toContain(secondKey)
    expect(atRelaySecond).toEqual([secondKey])

    // Back in the first room: the same key as before.
    await openRoom(page, first)
    expect(await myKeyId(page)).toBe(firstKey)
  })
})
