// A newcomer joining a big room gets all of it over WebRTC alone (no relay exists here):
// y-webrtc sends the whole document in one data-channel message, which Chromium drops past
// ~256 KiB unless our patch (patches/README.md) splits it into chunks.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { closeAll, launchBrowserIn, webrtcStats, type LaunchedBrowser } from './support/browser'
import { createTopology, requireNetnsSupport, type Topology } from './support/netns'
import {
  createRoom,
  messageCount,
  openRoom,
  startParleyIn,
  type RunningParley,
} from './support/parley'

const MESSAGES = 20_000
/** Writing 20k signed, encrypted messages takes a while in one browser; syncing must not. */
const WRITE_MS = 240_000
const SYNC_MS = 120_000

let topology: Topology
let parley: RunningParley
let owner: LaunchedBrowser
let newcomer: LaunchedBrowser

beforeAll(async () => {
  await requireNetnsSupport()
  topology = await createTopology({ kind: 'lan', clients: 2 })
  parley = await startParleyIn(topology.server, { relay: false })
  owner = await launchBrowserIn(topology.clients[0], { name: 'owner', origin: parley.origin })
  newcomer = await launchBrowserIn(topology.clients[1], { name: 'newcomer', origin: parley.origin })
})

afterAll(async () => {
  await closeAll()
  await topology?.destroy()
})

test(
  `a newcomer syncs a ${MESSAGES.toLocaleString('en')}-message room over WebRTC alone`,
  async () => {
    const link = await createRoom(owner.page, parley.origin)
    // Written through the app's own send path, many at a time, each its own transaction.
    await owner.page.evaluate(async (count) => {
      const app = document.querySelector('parley-app') as unknown as {
        session: { send(text: string): Promise<string> }
      }
      const line = 'A realistic chat line, about as long as people write them. '
      for (let i = 0; i < count; i += 200)
        await Promise.all(
          Array.from({ length: Math.min(200, count - i) }, (_, j) =>
            app.session.send(`${line}#${i + j}`),
          ),
        )
    }, MESSAGES)
    expect(await messageCount(owner.page)).toBe(MESSAGES)

    const started = Date.now()
    await openRoom(newcomer.page, link)
    await expect
      .poll(() => messageCount(newcomer.page), { timeout: SYNC_MS, interval: 500 })
      .toBe(MESSAGES)
    console.log(`newcomer synced ${MESSAGES} messages in ${Date.now() - started} ms`)

    const records = await webrtcStats(newcomer.page)
    expect(records.some((r) => r.connectionState === 'connected' && r.dataChannelOpened)).toBe(true)
    // The newest message is readable on the newcomer's side, not just present.
    const newest = await newcomer.page.evaluate(async () => {
      const app = document.querySelector('parley-app') as unknown as {
        session: {
          timeline: { entries(): unknown[] }
          content: { resolve(e: unknown): Promise<{ kind: string; text?: string | null }> }
        }
      }
      const entries = app.session.timeline.entries()
      return app.session.content.resolve(entries[entries.length - 1])
    })
    expect(newest.kind).toBe('message')
    expect(newest.text).toMatch(/#19999$/)
  },
  WRITE_MS + SYNC_MS + 60_000,
)
