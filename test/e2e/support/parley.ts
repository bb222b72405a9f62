// Parley inside a test topology: the real server (built app + signaling) in the server's
// namespace, browsers driving the real UI, and the few hooks tests need to look inside a
// page's RoomSession or to cut a host off the network.
import { mkdtemp } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'
import { scratchDirPrefix, type NetnsHost, type NodeProcess } from './netns'

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url))
/** Fixed inside the server's own namespace, so it cannot collide with anything. */
const PARLEY_PORT = 8787

export interface RunningParley {
  readonly origin: string
  readonly process: NodeProcess
  /** The relay's store; pass it again to restart on the same rooms. */
  readonly dataDir: string
}

export interface ParleyOptions {
  /** Run the relay (default true). Tests of WebRTC alone turn it off. */
  relay?: boolean
  /** UDP port of the built-in STUN service; off by default in tests. */
  stunPort?: number
  /** Reuse a store (a restart); a fresh one in the run's scratch space otherwise. */
  dataDir?: string
  /** Serve this build of the app instead of the repository's dist/ (benchmarks build their own). */
  dist?: string
}

export async function startParleyIn(
  host: NetnsHost,
  options: ParleyOptions = {},
): Promise<RunningParley> {
  // Under the namespace's scratch prefix, so the topology's teardown removes it.
  const dataDir = options.dataDir ?? (await mkdtemp(scratchDirPrefix(host.netns)))
  const process = await host.startNode(
    [
      '--import',
      'tsx',
      'signaling/main.ts',
      '--host',
      '0.0.0.0',
      '--port',
      String(PARLEY_PORT),
      '--data-dir',
      dataDir,
      '--stun-port',
      options.stunPort === undefined ? 'off' : String(options.stunPort),
      `--relay=${options.relay === false ? 'off' : 'on'}`,
      ...(options.dist === undefined ? [] : ['--dist', options.dist]),
    ],
    { ready: /Parley running at/, cwd: REPO_ROOT, label: 'parley' },
  )
  return { origin: `http://${host.address}:${PARLEY_PORT}`, process, dataDir }
}

/** A message of ours delivered, or the step after it: seen by the other person (issue 12 §8). */
export const DELIVERED_OR_SEEN = /^(delivered|Seen by .+)$/

export const composer = (page: Page) => page.getByRole('textbox', { name: 'Message', exact: true })

/** Opens Parley, presses "New room" and returns the room link from the address bar. */
export async function createRoom(page: Page, origin: string): Promise<string> {
  await page.goto(origin)
  await page.getByRole('button', { name: 'New room' }).click()
  await composer(page).waitFor()
  expect(page.url()).toMatch(/#[A-Za-z0-9_-]{22}$/)
  return page.url()
}

export async function openRoom(page: Page, link: string): Promise<void> {
  await page.goto(link)
  await composer(page).waitFor()
}

export async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text)
  await composer(page).press('Enter')
  await expect.poll(() => messageTexts(page)).toContain(text)
}

/** Message texts in display order, read from the page's session (the list is virtualized). */
export function messageTexts(page: Page): Promise<(string | null)[]> {
  return page.evaluate(async () => {
    const app = document.querySelector('parley-app') as unknown as { session?: SessionView }
    const session = app?.session
    if (!session) return []
    const resolved = await Promise.all(
      session.timeline.entries().map((e) => session.content.resolve(e)),
    )
    return resolved.map((r) => (r.kind === 'message' ? (r.text ?? null) : `(${r.kind})`))
  })
}

export function messageCount(page: Page): Promise<number> {
  return page.evaluate(() => {
    const app = document.querySelector('parley-app') as unknown as { session?: SessionView }
    return app?.session?.timeline.entries().length ?? -1
  })
}

/** The page-side shape tests read; kept minimal so the page code stays self-contained. */
interface SessionView {
  timeline: { entries(): unknown[] }
  content: { resolve(entry: unknown): Promise<{ kind: string; text?: string | null }> }
}

/** Takes the host's network interfaces down (Chromium then reports offline) or back up,
 * restoring the default route that taking the link down removed. */
export async function setNetwork(host: NetnsHost, up: boolean): Promise<void> {
  const links = (await host.exec('ip', ['-o', 'link', 'show'])).stdout
  const names = [...links.matchAll(/^\d+: ([^:@]+)[@:]/gm)]
    .map((m) => m[1])
    .filter((n) => n !== 'lo')
  if (!up) {
    const route = (await host.exec('ip', ['route', 'show', 'default'])).stdout.trim()
    routes.set(host.netns, route)
    for (const name of names) await host.exec('ip', ['link', 'set', name, 'down'])
    return
  }
  for (const name of names) await host.exec('ip', ['link', 'set', name, 'up'])
  const route = routes.get(host.netns)
  if (route) await host.exec('ip', ['route', 'replace', ...route.split(/\s+/)])
}
const routes = new Map<string, string>()
