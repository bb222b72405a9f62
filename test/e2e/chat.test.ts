// Parley end to end, as people use it: separate Chromium processes on separate networks
// (network namespaces, TESTING.md), talking through the real app and the real server over a
// real WebRTC data channel.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  closeAll,
  directlyConnected,
  launchBrowserIn,
  type LaunchedBrowser,
} from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import {
  DELIVERED_OR_SEEN,
  composer,
  createRoom,
  messageCount,
  messageTexts,
  openRoom,
  send,
  setNetwork,
  startParleyIn,
  type RunningParley,
} from './support/parley'

/** A data channel between namespaces opens in a second or two; merges after reconnect take
 * longer because the old ICE session has to time out first (~30 s in Chromium). */
const CONNECT_MS = 20_000
const RECONNECT_MS = 90_000

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let link: string

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
  alice.page.on('dialog', (dialog) => void dialog.accept())
  bob.page.on('dialog', (dialog) => void dialog.accept())
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

/** Written alternately while both are offline; the merged room must show exactly this order. */
const order = [
  'A1 offline from Alice',
  'B1 offline from Bob',
  'A2 offline from Alice',
  'B2 offline from Bob',
]

async function writeWhileOffline(): Promise<void> {
  // Offline means no connection passes packets (the data channel's ICE says so within seconds).
  await alice.page.getByText(/Offline/).waitFor({ timeout: CONNECT_MS })
  await bob.page.getByText(/Offline/).waitFor({ timeout: CONNECT_MS })
  for (const text of order) {
    const page = text.startsWith('A') ? alice.page : bob.page
    await send(page, text)
    await page.waitForTimeout(20) // distinct wall-clock stamps; order is what is asserted
  }
  await alice.page
    .locator('parley-message', { hasText: 'A1 offline' })
    .getByText('not yet delivered')
    .waitFor()
  await bob.page
    .locator('parley-message', { hasText: 'B1 offline' })
    .getByText('sent offline')
    .waitFor()
}

describe('two people on two networks', () => {
  test('chat over a real WebRTC data channel', async () => {
    link = await createRoom(alice.page, parley.origin)
    await openRoom(bob.page, link)
    await expect.poll(() => directlyConnected(alice), { timeout: CONNECT_MS }).toBe(true)
    await expect.poll(() => directlyConnected(bob), { timeout: CONNECT_MS }).toBe(true)

    await send(alice.page, 'Hello Bob, this is Alice')
    await expect.poll(() => messageTexts(bob.page)).toEqual(['Hello Bob, this is Alice'])
    await send(bob.page, 'Hi Alice!')
    await expect
      .poll(() => messageTexts(alice.page))
      .toEqual(['Hello Bob, this is Alice', 'Hi Alice!'])

    // Both sides see each other as connected directly, and Alice's message as delivered (or,
    // once Bob's read position arrives, seen: the step after delivered).
    await alice.page.getByText('connected directly').waitFor()
    await bob.page.getByText('Connected to 1 peer').waitFor()
    await expect
      .poll(() => alice.page.locator('parley-message .delivery').first().textContent())
      .toMatch(DELIVERED_OR_SEEN)
  })

  test('edits and deletes reach the other side; deleted text is gone there too', async () => {
    await send(alice.page, 'typo hre')
    await expect.poll(() => messageTexts(bob.page)).toContain('typo hre')
    const ids = await alice.page.evaluate(() => {
      const app = document.querySelector('parley-app') as unknown as {
        session: {
          timeline: { entries(): { id: string }[] }
          edit(id: string, t: string): Promise<void>
        }
      }
      return app.session.timeline.entries().map((e) => e.id)
    })
    const typoId = ids[ids.length - 1]
    await alice.page.evaluate(async (id) => {
      const app = document.querySelector('parley-app') as unknown as {
        session: { edit(id: string, t: string): Promise<void> }
      }
      await app.session.edit(id, 'typo here')
    }, typoId)
    await expect.poll(() => messageTexts(bob.page)).toContain('typo here')
    await bob.page.getByText('(edited)').waitFor()

    await send(alice.page, 'delete me')
    await expect.poll(() => messageTexts(bob.page)).toContain('delete me')
    await alice.page
      .locator('parley-message', { hasText: 'delete me' })
      .getByRole('button', { name: 'Delete' })
      .click()
    await alice.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
    await expect.poll(() => messageTexts(bob.page)).toContain('(deleted)')
    await bob.page.getByText('message deleted').waitFor()
    // The ciphertext is gone from Bob's replica, not just hidden.
    const stillStored = await bob.page.evaluate(() => {
      const app = document.querySelector('parley-app') as unknown as {
        session: {
          room: { maps: { messages: { size: number } } }
          timeline: { entries(): { state: string }[] }
        }
      }
      const deleted = app.session.timeline.entries().filter((e) => e.state === 'deleted').length
      return { records: app.session.room.maps.messages.size, deleted }
    })
    expect(stillStored.deleted).toBe(1)
    expect(stillStored.records).toBe((await messageCount(bob.page)) - 1)
  })

  test('both go offline, keep writing, and converge in time order when back', async () => {
    const before = await messageTexts(alice.page)
    await setNetwork(topology.clients[0], false)
    await setNetwork(topology.clients[1], false)
    try {
      await writeWhileOffline()
    } finally {
      await setNetwork(topology.clients[0], true)
      await setNetwork(topology.clients[1], true)
    }
    const expected = [...before, ...order]
    await expect.poll(() => messageTexts(alice.page), { timeout: RECONNECT_MS }).toEqual(expected)
    await expect.poll(() => messageTexts(bob.page), { timeout: RECONNECT_MS }).toEqual(expected)
    await alice.page
      .locator('parley-message', { hasText: 'A1 offline' })
      .getByText(DELIVERED_OR_SEEN)
      .waitFor({ timeout: CONNECT_MS })
  })

  test('a peer offline long enough for the connection to drop reconnects and merges', async () => {
    await setNetwork(topology.clients[1], false)
    try {
      // Alice's side notices only when ICE gives up on the old connection.
      await alice.page
        .getByText('Online — waiting for others to join')
        .waitFor({ timeout: RECONNECT_MS })
      await send(bob.page, 'Bob, written after the connection dropped')
      await send(alice.page, 'Alice, written while Bob was away')
    } finally {
      await setNetwork(topology.clients[1], true)
    }
    await expect.poll(() => directlyConnected(bob), { timeout: RECONNECT_MS }).toBe(true)
    for (const page of [alice.page, bob.page])
      await expect
        .poll(async () => (await messageTexts(page)).slice(-2), { timeout: RECONNECT_MS })
        .toEqual(['Bob, written after the connection dropped', 'Alice, written while Bob was away'])
  })

  test('two tabs of the same room stay in sync', async () => {
    const second = await alice.context.newPage()
    await openRoom(second, link)
    await send(second, 'from Alice, second tab')
    await expect.poll(() => messageTexts(alice.page)).toContain('from Alice, second tab')
    await expect.poll(() => messageTexts(bob.page)).toContain('from Alice, second tab')
    await send(alice.page, 'from Alice, first tab')
    await expect.poll(() => messageTexts(second)).toContain('from Alice, first tab')
    await second.close()
  })

  test('reload shows the history with the network off (service worker + IndexedDB)', async () => {
    await bob.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))
    const history = await messageTexts(bob.page)
    await setNetwork(topology.clients[1], false)
    try {
      await bob.page.reload()
      await composer(bob.page).waitFor()
      await expect.poll(() => messageTexts(bob.page)).toEqual(history)
      await bob.page.getByText(/Offline/).waitFor()
    } finally {
      await setNetwork(topology.clients[1], true)
    }
  })

  test('no page errors on either side', () => {
    const problems = [...alice.problems, ...bob.problems].filter((p) => p.kind !== 'console-error')
    expect(problems).toEqual([])
  })
})
