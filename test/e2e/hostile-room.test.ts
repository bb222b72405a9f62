// A room whose document holds hostile values, in the real app in Chromium: a token holder's
// stock y-websocket client (only the relay token) writes a Y.Map under a message's edit key
// and a signed message stamped near 2^53. The list must keep rendering — the bad row as a
// named anomaly, later messages as usual — and the room must open again after a reload
// (docs/document-model.md).
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { deriveRoomKeys, generateSigningIdentity, toBase64Url } from '../../src/crypto'
import { encodeMessage } from '../../src/model'
import { composeMessage, newMessageId } from '../../src/session/authoring'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import {
  createTopology,
  requireNetnsSupport,
  type NodeProcess,
  type Topology,
} from './support/netns'
import {
  composer,
  createRoom,
  messageTexts,
  send,
  startParleyIn,
  type RunningParley,
} from './support/parley'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SHOW_MS = 20_000

let topology: Topology
let parley: RunningParley
let browser: LaunchedBrowser
let page: Page
let vandal: NodeProcess | undefined

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 1 })
  parley = await startParleyIn(topology.server)
  browser = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  page = browser.page
})

afterAll(async () => {
  await vandal?.stop()
  await closeAll()
  await topology?.destroy()
})

const shownMessage = (text: string) =>
  page.locator('parley-message article', { hasText: text }).first()
const anomalyRow = () => page.getByRole('article', { name: /could not be shown/ })

describe('a room with hostile values in its document', () => {
  test('renders the others, shows the bad row as an anomaly, and opens again', async () => {
    const link = await createRoom(page, parley.origin)
    await send(page, 'before the vandal')
    await page.getByText('saved to relay').waitFor({ timeout: SHOW_MS })
    const beforeId = await page.evaluate(() => {
      const app = document.querySelector('parley-app') as unknown as {
        session: { timeline: { entries(): { id: string }[] } }
      }
      return app.session.timeline.entries()[0].id
    })

    const keys = await deriveRoomKeys(new URL(link).hash.slice(1).split('/').pop() ?? '')
    const mallory = await generateSigningIdentity()
    const futureId = newMessageId()
    const future = await composeMessage(
      keys,
      mallory,
      futureId,
      { wall: 2 ** 53 - 1, counter: 0 },
      'from the end of time',
      false,
    )
    const writes = {
      messages: { [futureId]: toBase64Url(encodeMessage(future)) },
      typesUnder: { edits: [beforeId] },
    }
    vandal = await topology.server.startNode(
      [
        '--import',
        'tsx',
        'test/e2e/support/vandal-client.ts',
        'ws://127.0.0.1:8787/relay',
        keys.roomId,
        keys.relayToken,
        JSON.stringify(writes),
      ],
      { ready: /vandal wrote/, cwd: REPO_ROOT, label: 'vandal' },
    )

    await anomalyRow().waitFor({ timeout: SHOW_MS })
    await expect(anomalyRow().textContent()).resolves.toMatch(/more than a day in the future/)
    await shownMessage('before the vandal').waitFor()
    // The list goes on rendering what comes after.
    await send(page, 'after the vandal')
    await shownMessage('after the vandal').waitFor({ timeout: SHOW_MS })

    await page.reload()
    await composer(page).waitFor({ timeout: SHOW_MS })
    await shownMessage('before the vandal').waitFor({ timeout: SHOW_MS })
    await shownMessage('after the vandal').waitFor({ timeout: SHOW_MS })
    await anomalyRow().waitFor({ timeout: SHOW_MS })
    expect(await messageTexts(page)).toEqual(['before the vandal', 'after the vandal', '(anomaly)'])
    expect(browser.problems.filter((p) => p.kind === 'page-error')).toEqual([])
  })
})
