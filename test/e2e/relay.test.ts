// The relay end to end: two Chromium processes on networks that cannot reach each other chat
// through it (and the people list says so); a message written while the other person is away
// waits on the relay, across a server restart, until they open the link; and neither the relay's
// store nor any frame it carries holds the plaintext of what people wrote.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  closeAll,
  directlyConnected,
  launchBrowserIn,
  type LaunchedBrowser,
} from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import {
  createRoom,
  messageTexts,
  openRoom,
  send,
  startParleyIn,
  type RunningParley,
} from './support/parley'

/** The relay carries messages within a moment; allow for a loaded CI machine. */
const RELAY_MS = 10_000
/** Written by both sides; must never appear in the relay's store or on the wire. */
const MARKER = 'plaintext-marker-7f3a'

let topology: Topology
let parley: RunningParley
const frames: { browser: string; text: string }[] = []
/** Message ids are in clear on purpose (docs/architecture.md): finding them proves the scans can see. */
let messageIds: string[] = []

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'isolated', clients: 2 })
  parley = await startParleyIn(topology.server)
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

async function launch(index: number, name: string): Promise<LaunchedBrowser> {
  const browser = await launchBrowserIn(topology.clients[index], { name, origin: parley.origin })
  browser.page.on('dialog', (dialog) => void dialog.accept())
  // Every WebSocket frame either way (signaling and relay), to look for plaintext in them.
  browser.context.on('page', (page) => recordFrames(name, page))
  recordFrames(name, browser.page)
  return browser
}

function recordFrames(browser: string, page: Page): void {
  page.on('websocket', (ws) => {
    const keep = ({ payload }: { payload: string | Buffer }) =>
      frames.push({
        browser,
        text: typeof payload === 'string' ? payload : payload.toString('latin1'),
      })
    ws.on('framesent', keep)
    ws.on('framereceived', keep)
  })
}

function deliveryOf(page: Page, text: string) {
  return page.locator('parley-message', { hasText: text }).locator('.delivery')
}

describe('the relay', () => {
  let link: string

  test('carries a room between networks that cannot reach each other', async () => {
    const alice = await launch(0, 'alice')
    const bob = await launch(1, 'bob')
    link = await createRoom(alice.page, parley.origin)
    await openRoom(bob.page, link)

    await send(alice.page, `Hello Bob, through the relay ${MARKER}`)
    await expect
      .poll(() => messageTexts(bob.page), { timeout: RELAY_MS })
      .toContain(`Hello Bob, through the relay ${MARKER}`)
    await send(bob.page, `Hello Alice ${MARKER}`)
    await expect
      .poll(() => messageTexts(alice.page), { timeout: RELAY_MS })
      .toContain(`Hello Alice ${MARKER}`)

    for (const { page } of [alice, bob]) {
      await page.locator('parley-people').getByText('via relay').waitFor({ timeout: RELAY_MS })
      await page.getByText('Connected to 1 peer via relay').waitFor({ timeout: RELAY_MS })
    }
    // The networks really are cut off from each other: no data channel ever opened.
    expect(await directlyConnected(alice)).toBe(false)
    expect(await directlyConnected(bob)).toBe(false)
    await alice.close()
    await bob.close()
  })

  test('keeps a message for someone who is away, across a server restart', async () => {
    const alice = await launch(0, 'alice-again')
    await openRoom(alice.page, link)
    await send(alice.page, `While you were away ${MARKER}`)
    // Saved means on the relay's disk: only then does it say so.
    await expect
      .poll(() => deliveryOf(alice.page, 'While you were away').textContent(), {
        timeout: RELAY_MS,
      })
      .toBe('saved to relay')
    await alice.close()

    await parley.process.stop()
    parley = await startParleyIn(topology.server, { dataDir: parley.dataDir })

    const bob = await launch(1, 'bob-later')
    await openRoom(bob.page, link)
    await expect
      .poll(() => messageTexts(bob.page), { timeout: RELAY_MS })
      .toEqual([
        `Hello Bob, through the relay ${MARKER}`,
        `Hello Alice ${MARKER}`,
        `While you were away ${MARKER}`,
      ])
    messageIds = await bob.page.evaluate(() => {
      const app = document.querySelector('parley-app') as unknown as {
        session: { timeline: { entries(): { id: string }[] } }
      }
      return app.session.timeline.entries().map((e) => e.id)
    })
    await bob.close()
  })

  test('the relay never holds or carries the plaintext', async () => {
    expect(messageIds).toHaveLength(3)
    for (const id of messageIds) expect(frames.some((f) => f.text.includes(id))).toBe(true)
    expect(frames.filter((f) => f.text.includes(MARKER))).toEqual([])

    const stored = await readTree(parley.dataDir)
    const everything = Buffer.concat(stored.map((f) => f.bytes))
    for (const id of messageIds) expect(everything.includes(Buffer.from(id))).toBe(true)
    for (const { path, bytes } of stored) {
      expect(bytes.includes(Buffer.from(MARKER)), path).toBe(false)
    }
  })
})

async function readTree(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const files: { path: string; bytes: Buffer }[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    files.push({ path, bytes: await readFile(path) })
  }
  return files
}
