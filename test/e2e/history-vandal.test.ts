// History cannot be rewritten (issue 11 §2, docs/threat-model.md), in the real app in two
// Chromiums: Alice and Bob see two messages; Alice deletes one. A token holder's stock
// y-websocket client (only the relay token: vandal-client.ts) then deletes the other's entry
// and brings the deleted one back (its tombstone removed, its old bytes re-inserted). Neither
// browser loses the first silently — it is an anomaly row, also after a reload — and neither
// shows the deleted one again; the room puts its proven delete back.
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
import {
  composer,
  createRoom,
  messageTexts,
  openRoom,
  send,
  startParleyIn,
  type RunningParley,
} from './support/parley'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SHOW_MS = 20_000
const RELAY_URL = 'ws://127.0.0.1:8787/relay'

let topology: Topology
let parley: RunningParley
let alice: LaunchedBrowser
let bob: LaunchedBrowser
let vandal: NodeProcess | undefined

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server)
  alice = await launchBrowserIn(topology.clients[0], { name: 'alice', origin: parley.origin })
  bob = await launchBrowserIn(topology.clients[1], { name: 'bob', origin: parley.origin })
})

afterAll(async () => {
  await vandal?.stop()
  await closeAll()
  await topology?.destroy()
})

interface Probe {
  session?: {
    roomId: string
    keys: { relayToken: string }
    remove(id: string): Promise<void>
    timeline: { entries(): { id: string }[] }
    room: { maps: { messages: { get(id: string): unknown } } }
  }
}

/** The room's id and relay token, the ids of its messages, and one record's stored bytes. */
const roomFacts = (page: Page, recordOf: number) =>
  page.evaluate((index) => {
    const session = (document.querySelector('parley-app') as unknown as Probe).session
    if (!session) throw new Error('no open room')
    const ids = session.timeline.entries().map((entry) => entry.id)
    const bytes = session.room.maps.messages.get(ids[index]) as Uint8Array
    let binary = ''
    for (const byte of bytes) binary += String.fromCharCode(byte)
    const record = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    return { roomId: session.roomId, token: session.keys.relayToken, ids, record }
  }, recordOf)

const remove = (page: Page, id: string) =>
  page.evaluate(async (messageId) => {
    const session = (document.querySelector('parley-app') as unknown as Probe).session
    await session?.remove(messageId)
  }, id)

const vanishedRow = (page: Page) =>
  page.getByRole('article', { name: /removed without a valid delete/ })

describe('a token holder rewriting history', () => {
  test('a deleted entry shows as an anomaly and a resurrected message stays deleted', async () => {
    const link = await createRoom(alice.page, parley.origin)
    await send(alice.page, 'on the record')
    await send(alice.page, 'taken back')
    await openRoom(bob.page, link)
    await expect
      .poll(() => messageTexts(bob.page), { timeout: SHOW_MS })
      .toEqual(['on the record', 'taken back'])
    const { roomId, token, ids, record } = await roomFacts(alice.page, 1)
    const [kept, takenBack] = ids
    await remove(alice.page, takenBack)
    for (const { page } of [alice, bob])
      await expect
        .poll(() => messageTexts(page), { timeout: SHOW_MS })
        .toEqual(['on the record', '(deleted)'])

    const writes = {
      deleteFrom: { messages: [kept], tombstones: [takenBack] },
      messages: { [takenBack]: record },
    }
    vandal = await topology.server.startNode(
      [
        '--import',
        'tsx',
        'test/e2e/support/vandal-client.ts',
        RELAY_URL,
        roomId,
        token,
        JSON.stringify(writes),
      ],
      { ready: /vandal wrote/, cwd: REPO_ROOT, label: 'vandal' },
    )

    for (const { page } of [alice, bob]) {
      await vanishedRow(page).waitFor({ timeout: SHOW_MS })
      // Never the taken-back text again: shown as deleted once the room puts its delete back.
      await expect
        .poll(() => messageTexts(page), { timeout: SHOW_MS })
        .toEqual(['(anomaly)', '(deleted)'])
    }

    await bob.page.reload()
    await composer(bob.page).waitFor({ timeout: SHOW_MS })
    await vanishedRow(bob.page).waitFor({ timeout: SHOW_MS })
    await expect
      .poll(() => messageTexts(bob.page), { timeout: SHOW_MS })
      .toEqual(['(anomaly)', '(deleted)'])
    for (const browser of [alice, bob])
      expect(browser.problems.filter((p) => p.kind === 'page-error')).toEqual([])
  })
})
