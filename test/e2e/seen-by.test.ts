// "Seen by" between two browsers (issue 12 §8), over WebRTC alone and over the relay alone: once
// Bob has the message on screen, Alice's copy says "Seen by Bob"; with his "Send read
// receipts" switch off, what he reads next is not reported, and what was reported stays.
// Read positions travel in the signed, encrypted presence (docs/presence.md "Seen by").
import type { Page } from 'playwright-core'
import { afterAll, describe, expect, test } from 'vitest'
import { closeAll, launchBrowserIn } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import { createRoom, openRoom, send, startParleyIn } from './support/parley'

const topologies: Topology[] = []

afterAll(async () => {
  await closeAll()
  for (const topology of topologies) await topology.destroy()
})

function deliveryOf(page: Page, text: string) {
  return page.locator('parley-message', { hasText: text }).locator('.delivery')
}

async function rename(page: Page, name: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Display name' })
  await box.fill(name)
  await box.press('Enter')
}

for (const path of ['WebRTC alone', 'the relay alone'] as const) {
  describe(`over ${path}`, () => {
    test('a message Bob has read says "Seen by Bob" to Alice; with receipts off, the next does not', async () => {
      await requireNetnsSupport()
      const viaRelay = path === 'the relay alone'
      // Isolated: the two networks cannot reach each other, only the server (the relay).
      const topology = await createTopology({ kind: viaRelay ? 'isolated' : 'lan', clients: 2 })
      topologies.push(topology)
      const parley = await startParleyIn(topology.server, { relay: viaRelay })
      const alice = await launchBrowserIn(topology.clients[0], {
        name: 'alice',
        origin: parley.origin,
      })
      const bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
      const link = await createRoom(alice.page, parley.origin)
      await openRoom(bob.page, link)
      await rename(bob.page, 'Bob')
      await alice.page.getByRole('list', { name: 'People here' }).getByText('Bob').waitFor()

      await send(alice.page, 'read me')
      await bob.page.getByText('read me', { exact: true }).waitFor()
      await expect
        .poll(() => deliveryOf(alice.page, 'read me').textContent(), { timeout: 10_000 })
        .toBe('Seen by Bob')

      await bob.page.getByRole('checkbox', { name: 'Send read receipts' }).uncheck()
      await send(alice.page, 'not reported')
      await bob.page.getByText('not reported', { exact: true }).waitFor()
      await expect
        .poll(() => deliveryOf(alice.page, 'not reported').textContent(), { timeout: 10_000 })
        .toBe('delivered')
      // Long enough for a presence update to have come (they are coalesced over 150 ms).
      await alice.page.waitForTimeout(1500)
      expect(await deliveryOf(alice.page, 'not reported').textContent()).toBe('delivered')
      expect(await deliveryOf(alice.page, 'read me').textContent()).toBe('Seen by Bob')
      // Bob's own messages never say he saw them.
      await send(bob.page, 'from bob')
      await alice.page.getByText('from bob', { exact: true }).waitFor()
      await expect
        .poll(() => deliveryOf(bob.page, 'from bob').getAttribute('data-delivery'), {
          timeout: 10_000,
        })
        .toBe('seen')
      expect([...alice.problems, ...bob.problems]).toEqual([])
      await Promise.all([alice.close(), bob.close()])
    })
  })
}
