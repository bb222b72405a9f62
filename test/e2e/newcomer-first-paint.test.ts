// A newcomer to a big room sees its newest messages before the whole room has synced: the relay
// sends the newest records first (docs/relay.md, "Newest records first"), the app shows them
// verified and decrypted, and only then applies the room. Asserted as an order of events seen in
// the newcomer's page (never as a time): the newest message readable on screen while the
// document still holds none of the room, then the whole room.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, type LaunchedBrowser } from './support/browser'
import {
  createTopology,
  requireNetnsSupport,
  scratchDirPrefix,
  type NodeProcess,
  type Topology,
} from './support/netns'
import { startParleyIn, type RunningParley } from './support/parley'
import { roomFixture, type RoomFixture } from '../bench/support/room-fixture'
import { watchFirstPaint, type FirstPaintSeen as Seen } from './support/first-paint'

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MESSAGES = 10_000
/** Composing 10k signed, encrypted messages takes a while the first time (then cached). */
const SETUP_MS = 180_000
const SYNC_MS = 60_000

let topology: Topology
let parley: RunningParley
let newcomer: LaunchedBrowser
let pusher: NodeProcess | undefined
let fixture: RoomFixture

beforeAll(async () => {
  await requireNetnsSupport()
  fixture = await roomFixture(MESSAGES)
  topology = await createTopology({ kind: 'lan', clients: 1 })
  parley = await startParleyIn(topology.server)
  const dir = await mkdtemp(scratchDirPrefix(topology.server.netns))
  const file = join(dir, 'room.bin')
  await writeFile(file, fixture.update)
  pusher = await topology.server.startNode(
    [
      '--import',
      'tsx',
      'test/e2e/support/room-pusher.ts',
      `${parley.origin.replace(/^http/, 'ws')}/relay`,
      fixture.keys.roomId,
      fixture.keys.relayToken,
      file,
    ],
    { ready: /room stored/, cwd: REPO_ROOT, label: 'pusher', timeoutMs: SYNC_MS },
  )
  // Nobody else in the room: what the newcomer gets comes from the relay alone.
  await pusher.stop()
  newcomer = await launchBrowserIn(topology.clients[0], { name: 'newcomer', origin: parley.origin })
}, SETUP_MS)

afterAll(async () => {
  await pusher?.stop()
  await closeAll()
  await topology?.destroy()
})

test(
  `a newcomer to a ${MESSAGES.toLocaleString('en')}-message room sees the newest message before the room has synced`,
  async () => {
    const newestText = fixture.texts.at(-1)!
    const page = newcomer.page
    await page.addInitScript(watchFirstPaint, [fixture.ids.at(-1)!, newestText, MESSAGES] as [
      string,
      string,
      number,
    ])
    await page.goto(`${parley.origin}/#${fixture.secret}`)
    const seen = async () =>
      page.evaluate(() => (window as unknown as { __firstPaint: Seen }).__firstPaint)
    await expect
      .poll(async () => (await seen()).order, { timeout: SYNC_MS, interval: 200 })
      .toHaveLength(2)
    const result = await seen()
    expect(result.order).toEqual(['newest shown', 'room complete'])
    // Shown from the relay's newest records: the room's document was still empty.
    expect(result.newestShownWith).toBe(0)
    expect(result.timelineWith).toBe(50)
    // Then the room itself is what the timeline lists.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const app = document.querySelector('parley-app') as unknown as {
              session: { timeline: { entries(): unknown[] } }
            }
            return app.session.timeline.entries().length
          }),
        { timeout: SYNC_MS },
      )
      .toBe(MESSAGES)
    expect(newcomer.problems.filter((p) => p.kind !== 'console-error')).toEqual([])
  },
  SYNC_MS * 2,
)
