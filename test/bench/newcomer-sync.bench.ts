// Item 4, second half: a newcomer syncing a room it has never seen. A Chromium with empty
// storage opens the room link (1k, 10k, 100k realistic messages, support/room-fixture.ts) and
// we time navigation → the room fully synced with its newest 50 messages decrypted (the same
// "shown" check as open-room), and, inside that, link open → all records in the document. Two
// paths, each against the real server (signaling/main.ts in its own process):
// - from the relay: the room was pushed to the relay by a stock y-websocket client beforehand;
//   no other peer is online; the relay sends the newest records first (docs/relay.md);
// - over WebRTC alone: relay off; another Chromium process (the holder) has the room in its
//   IndexedDB and open, and the newcomer syncs from it over a data channel (patched y-webrtc,
//   chunked); the holder sends the newest records before the room (docs/webrtc.md).
// On both paths the goal's time (navigation → newest 50 decrypted) ends before the room is in
// the document ("records → shown" is negative); "link open → all records" is the whole sync.
// The floor is JSON.parse of the same messages in the same browser. Each size needs a server of
// its own: the fixtures share one secret, so they share a room id and a y-webrtc room.
// `--profile` adds one CPU-profiled newcomer per path at the largest size and prints where its
// main thread spent the time (by original source, through the build's source maps).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import * as Y from 'yjs'
import { ServerProcess } from '../support/server-process'
import { StockClient } from '../support/relay-client'
import { BenchReport, format, median, quick, sizeLabel } from './support/report'
import { roomFixture, type RoomFixture } from './support/room-fixture'
import { builtApp } from './support/built-app'
import {
  NEWEST,
  VIEWPORT,
  jsonFloor,
  launchChromium,
  newestShownAt,
  newestShownScript,
  recordsJson,
  serveBenchFiles,
  storeRoomLocally,
  type BenchFileServer,
} from './support/browser-room'
import {
  BuildSourceMaps,
  describeProfile,
  summarizeProfile,
  type CpuProfile,
} from './support/cpu-profile'

const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]
const REPEATS = quick ? 3 : 5
const PROFILE = process.argv.includes('--profile')
/** The goal (issue 10 §4): receiving a room and showing its newest messages ≤ 4×
 * JSON.parse of the same messages, over the relay and over WebRTC. Most of what is left of it
 * is loading the app up to the link's opening, which the floor does not include. */
const GOAL = { maxRatio: 4, text: '≤ 4× JSON.parse' }
/** A 100k room took seconds here; minutes means it is stuck. */
const SYNC_TIMEOUT_MS = 180_000
/** Host candidates as plain addresses: with mDNS names Chromium would announce them on the
 * machine's network and need mDNS to resolve them. */
const WEBRTC_FLAGS = ['--disable-features=WebRtcHideLocalIpsWithMdns']
/** CPU profile sampling interval: finer than the 1 ms default, coarse enough to stay cheap. */
const PROFILE_SAMPLING_US = 250

const report = new BenchReport('newcomer-sync')

type SyncPath = 'relay' | 'webrtc'
/** The patched y-webrtc's message type for a chunk of a larger message (patches/README.md). */
const CHUNK_MESSAGE = 5
const PATH_LABEL: Record<SyncPath, string> = {
  relay: 'from the relay',
  webrtc: 'over WebRTC alone',
}

/** One newcomer's timeline, ms. */
interface NewcomerRun {
  /** Navigation → newest 50 decrypted: what the goal is about. */
  readonly shown: number
  /** Navigation → the link that carried the room opened (relay socket or data channel). */
  readonly linkOpen: number
  /** Link open → all records in the document. */
  readonly sync: number
  /** Link open → the first part of the room arrives: asking for it, the peer encoding it, and
   * for the relay its whole transfer (a WebSocket message is only seen once it is complete). */
  readonly wait: number
  /** The first part of the room → the last (WebRTC: chunk after chunk; relay: 0). */
  readonly receive: number
  /** Handling of that message: decode, Y.applyUpdate, and what observes it synchronously
   * (Timeline, LocalStore's queue, y-webrtc's re-broadcast). */
  readonly apply: number
  /** All records in the document → newest shown (decrypt, render, whatever else is queued);
   * negative when the newest were shown first (the relay's newest records, docs/relay.md). */
  readonly show: number
  /** Bytes received on the link from its opening until the room was complete. */
  readonly bytes: number
  /** The room was complete before the app had its session, so `apply` is a best guess. */
  readonly inferred: boolean
}

/** A room offered to newcomers: its own server and, for WebRTC, the holder's open page. */
interface RoomHost {
  readonly n: number
  readonly fixture: RoomFixture
  readonly newest: readonly string[]
  readonly server: ServerProcess
  readonly link: string
  readonly holder: BrowserContext | null
  /** The holder's page with the room open. */
  holderPage: Page | null
  readonly runs: NewcomerRun[]
}

const appOrigin = (server: ServerProcess) => `http://127.0.0.1:${server.port}`

/** Pushes the room to the relay with a stock y-websocket client; resolves once it is stored. */
async function pushToRelay(server: ServerProcess, fixture: RoomFixture): Promise<void> {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, fixture.update)
  const wanted = Y.decodeStateVector(Y.encodeStateVector(doc))
  const client = new StockClient(server.wsUrl('/relay'), fixture.keys.roomId, {
    token: fixture.keys.relayToken,
    doc,
  })
  const deadline = Date.now() + SYNC_TIMEOUT_MS
  try {
    // The relay sends a sync step 1 (its state vector) once an update is durably stored.
    while (![...wanted].every(([id, clock]) => client.storedClock(id) >= clock)) {
      if (client.terminal) throw new Error(`relay refused the room: ${client.terminal.reason}`)
      if (Date.now() > deadline) throw new Error('relay did not store the room in time')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    client.destroy()
    doc.destroy()
  }
}

async function startRelayHost(fixture: RoomFixture, n: number, dist: string): Promise<RoomHost> {
  const server = await ServerProcess.start({ flags: ['--dist', dist] })
  try {
    await pushToRelay(server, fixture)
  } catch (error) {
    await server.kill()
    throw error
  }
  return roomHost(fixture, n, server, null)
}

/** The WebRTC path: relay off, the holder's Chromium has the room in IndexedDB and open. */
async function startPeerHost(
  fixture: RoomFixture,
  n: number,
  dist: string,
  holderBrowser: Browser,
  files: BenchFileServer,
): Promise<RoomHost> {
  const server = await ServerProcess.start({ flags: ['--dist', dist, '--relay=off'] })
  // The fixture comes from the bench file server: the app's content security policy would
  // block that fetch (the holder is not measured, so bypassing it changes nothing measured).
  const holder = await holderBrowser.newContext({ viewport: VIEWPORT, bypassCSP: true })
  const host = roomHost(fixture, n, server, holder)
  try {
    await storeRoomLocally(
      holder,
      `${appOrigin(server)}/healthz`,
      fixture.keys.roomId,
      `${files.origin}/bench/room-${n}.bin`,
    )
    const page = await holder.newPage()
    await page.addInitScript({ content: newestShownScript(host.newest) })
    await page.goto(host.link)
    await newestShownAt(page, SYNC_TIMEOUT_MS)
    host.holderPage = page
  } catch (error) {
    await closeHost(host)
    throw error
  }
  return host
}

function roomHost(
  fixture: RoomFixture,
  n: number,
  server: ServerProcess,
  holder: BrowserContext | null,
): RoomHost {
  return {
    n,
    fixture,
    newest: fixture.ids.slice(-NEWEST),
    server,
    link: `${appOrigin(server)}/#${fixture.secret}`,
    holder,
    holderPage: null,
    runs: [],
  }
}

async function closeHost(host: RoomHost): Promise<void> {
  await host.holder?.close()
  await host.server.kill()
}

// ---------------------------------------------------------------------------------------------
// What the newcomer's page records

interface HandledMessage {
  readonly link: SyncPath
  readonly start: number
  readonly end: number
  readonly bytes: number
  /** The message's first byte: its y-websocket / y-webrtc type (5: a chunk of a larger one). */
  readonly type: number
  /** Whether the app had its session when the handling ended (so the count was checked). */
  readonly checked: boolean
}

interface SyncProbe {
  /** When each relay socket or data channel opened, in order. */
  readonly opened: { link: SyncPath; at: number }[]
  readonly handled: HandledMessage[]
  /** The handling after which the document held all messages. */
  complete: HandledMessage | null
  inferred: boolean
}

/**
 * Runs in the page before its scripts. y-websocket (relay) and simple-peer (data channel)
 * install `onmessage` handlers, and Yjs applies what arrives synchronously inside them: wrapping
 * the handlers times each message's handling, and the first one after which the room's message
 * map holds `n` entries is when the room is in the document. Must not refer to anything
 * outside its own body.
 */
function installSyncProbe(n: number): void {
  const probe: SyncProbe = { opened: [], handled: [], complete: null, inferred: false }
  ;(window as unknown as { __benchSync: SyncProbe }).__benchSync = probe
  type App = { session?: { room: { maps: { messages: { size: number } } } } }
  const messagesInDoc = (): number | null => {
    const app = document.querySelector('parley-app') as unknown as App | null
    return app?.session ? app.session.room.maps.messages.size : null
  }
  const linkOf = (target: WebSocket | RTCDataChannel): SyncPath | null =>
    target instanceof RTCDataChannel ? 'webrtc' : target.url.includes('/relay/') ? 'relay' : null
  const noteOpen = (target: WebSocket | RTCDataChannel, link: SyncPath): void => {
    const mark = () => probe.opened.push({ link, at: performance.now() })
    const open =
      target instanceof WebSocket
        ? target.readyState === WebSocket.OPEN
        : target.readyState === 'open'
    if (open) mark()
    else target.addEventListener('open', mark, { once: true })
  }
  const timed = (link: SyncPath, handler: (event: MessageEvent) => unknown) =>
    function (this: unknown, event: MessageEvent): unknown {
      const start = performance.now()
      try {
        return handler.call(this, event)
      } finally {
        const end = performance.now()
        const count = messagesInDoc()
        const data = event.data as ArrayBuffer | Blob | string
        const bytes =
          typeof data === 'string' ? data.length : 'size' in data ? data.size : data.byteLength
        const type = data instanceof ArrayBuffer && bytes > 0 ? new Uint8Array(data)[0] : -1
        const handled = { link, start, end, bytes, type, checked: count !== null }
        probe.handled.push(handled)
        if (!probe.complete && count !== null && count >= n) probe.complete = handled
      }
    }
  for (const target of [WebSocket.prototype, RTCDataChannel.prototype]) {
    const property = Object.getOwnPropertyDescriptor(target, 'onmessage')!
    Object.defineProperty(target, 'onmessage', {
      ...property,
      set(this: WebSocket | RTCDataChannel, handler: unknown) {
        const link = linkOf(this)
        if (link && typeof handler === 'function') {
          noteOpen(this, link)
          handler = timed(link, handler as (event: MessageEvent) => unknown)
        }
        property.set!.call(this, handler)
      },
    })
  }
  // The app installs its session once the room is open locally; the network may have delivered
  // the room before that. Then the longest handling before it is the one that applied the room.
  const watch = (): void => {
    if (probe.complete) return
    const count = messagesInDoc()
    if (count !== null && count >= n) {
      const unchecked = probe.handled.filter((h) => !h.checked)
      const longest = (a: HandledMessage, b: HandledMessage) =>
        b.end - b.start > a.end - a.start ? b : a
      if (unchecked.length > 0) {
        probe.complete = unchecked.reduce(longest)
        probe.inferred = true
      } else if (probe.handled.length > 0) {
        // Applied outside any message handler: a newcomer shown the relay's newest records
        // holds the room's state until they are painted (docs/relay.md). The room was complete
        // by this frame; the message that carried it is the largest one received, and its
        // handling is counted from its arrival to this frame (held, then applied).
        const carrier = probe.handled.reduce((a, b) => (b.bytes > a.bytes ? b : a))
        probe.complete = { ...carrier, end: performance.now() }
        probe.inferred = true
      }
      return
    }
    requestAnimationFrame(watch)
  }
  requestAnimationFrame(watch)
}

/** The probe as page source. A loader that keeps function names (tsx, esbuild `keepNames`)
 * rewrites nested functions to call its `__name` helper, which does not exist in the page. */
function syncProbeScript(n: number): string {
  return `(() => { const __name = (target) => target; (${installSyncProbe.toString()})(${n}) })()`
}

function newcomerRun(probe: SyncProbe, shown: number, path: SyncPath): NewcomerRun {
  const complete = probe.complete
  if (!complete) throw new Error('the room was shown but never complete in the document')
  // Over WebRTC this is the proof that a data channel carried the room (TESTING.md).
  if (complete.link !== path) throw new Error(`the room arrived via ${complete.link}, not ${path}`)
  const opened = probe.opened.filter((o) => o.link === path && o.at <= complete.start).at(-1)
  if (!opened) throw new Error(`no ${path} link opened before the room arrived`)
  const received = probe.handled.filter(
    (h) => h.link === path && h.start >= opened.at && h.start <= complete.start,
  )
  const firstPart = received.find((h) => h.type === CHUNK_MESSAGE) ?? complete
  return {
    shown,
    linkOpen: opened.at,
    sync: complete.end - opened.at,
    wait: firstPart.start - opened.at,
    receive: complete.start - firstPart.start,
    apply: complete.end - complete.start,
    show: shown - complete.end,
    bytes: received.reduce((sum, h) => sum + h.bytes, 0),
    inferred: probe.inferred,
  }
}

// ---------------------------------------------------------------------------------------------
// One newcomer

/** Starts a CPU profile of the page's renderer; resolves to a function that stops it. */
async function startProfiler(page: Page): Promise<() => Promise<CpuProfile>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_US })
  await cdp.send('Profiler.start')
  return async (): Promise<CpuProfile> => {
    const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile }
    await cdp.detach()
    return profile
  }
}

/** A fresh context (empty storage) opens the room link; resolves once the room is shown. */
async function joinAsNewcomer(
  browser: Browser,
  host: RoomHost,
  path: SyncPath,
  profile = false,
): Promise<{ run: NewcomerRun; profile?: CpuProfile }> {
  const context = await browser.newContext({ viewport: VIEWPORT })
  try {
    const page = await context.newPage()
    await page.addInitScript({ content: newestShownScript(host.newest) })
    await page.addInitScript({ content: syncProbeScript(host.n) })
    // Profile in the renderer the room will load in: a same-origin page first, so that the
    // navigation to the room does not move to another process and lose the profiler.
    if (profile) await page.goto(`${appOrigin(host.server)}/healthz`)
    const stopProfiler = profile ? await startProfiler(page) : null
    await page.goto(host.link)
    const shown = await newestShownAt(page, SYNC_TIMEOUT_MS)
    // A newcomer may show the relay's newest records before the room is in its document.
    await page.waitForFunction(
      () => (window as unknown as { __benchSync: SyncProbe }).__benchSync.complete !== null,
      null,
      { timeout: SYNC_TIMEOUT_MS, polling: 100 },
    )
    const cpuProfile = await stopProfiler?.()
    const probe = await page.evaluate(
      () => (window as unknown as { __benchSync: SyncProbe }).__benchSync,
    )
    return { run: newcomerRun(probe, shown, path), profile: cpuProfile }
  } finally {
    // Gone before the next newcomer comes: only the holder (or nobody) is in the room.
    await context.close()
  }
}

function describeRun(run: NewcomerRun): string {
  return (
    `shown at ${format(run.shown)} ms (link open ${format(run.linkOpen)}, wait ` +
    `${format(run.wait)}, receive ${format(run.receive)}, apply ${format(run.apply)}, show ` +
    `${format(run.show)})`
  )
}

async function measurePath(path: SyncPath, hosts: RoomHost[], browser: Browser): Promise<void> {
  // Round robin, so a noisy moment hits every size alike.
  for (let i = 0; i < REPEATS; i++) {
    for (const host of hosts) {
      const { run } = await joinAsNewcomer(browser, host, path)
      host.runs.push(run)
      console.log(`  ${path} ${sizeLabel(host.n)} #${i + 1}: ${describeRun(run)}`)
    }
  }
}

async function profilePath(
  path: SyncPath,
  host: RoomHost,
  browser: Browser,
  sourceMaps: BuildSourceMaps,
  outDir: string,
): Promise<void> {
  // The holder's side of a WebRTC sync (encoding and sending the room) is part of the wait.
  const stopHolder = host.holderPage ? await startProfiler(host.holderPage) : null
  const { run, profile } = await joinAsNewcomer(browser, host, path, true)
  const holderProfile = await stopHolder?.()
  console.log(`\nnewcomer ${PATH_LABEL[path]}, ${sizeLabel(host.n)}, profiled:`)
  console.log(`  ${describeRun(run)}`)
  const describe = (who: string, cpuProfile: CpuProfile) => {
    const file = join(outDir, `${who}-${path}-${sizeLabel(host.n)}.cpuprofile`)
    writeFileSync(file, JSON.stringify(cpuProfile))
    const summary = summarizeProfile(cpuProfile, sourceMaps)
    console.log(`CPU profile of the ${who} (${file}):`)
    for (const line of describeProfile(summary)) console.log(line)
    const top = summary.selfByFile
      .slice(0, 6)
      .map((row) => `${row.label} ${format(row.ms)} ms`)
      .join(', ')
    report.note(
      `profile, ${who} ${path} ${sizeLabel(host.n)}: main thread busy ${format(summary.busyMs)} ` +
        `ms of ${format(summary.totalMs)}; self time by file: ${top}`,
    )
  }
  describe('newcomer', profile!)
  if (holderProfile) describe('holder', holderProfile)
}

// ---------------------------------------------------------------------------------------------
// Results

/** Where a path's time goes, medians per phase. */
function phaseNote(path: SyncPath, host: RoomHost): string {
  const mid = (pick: (run: NewcomerRun) => number) => median(host.runs.map(pick))
  const megabytes = mid((r) => r.bytes) / 1e6
  const receive = mid((r) => r.receive)
  const rate = receive > 0 ? `, ${format(megabytes / (receive / 1000))} MB/s` : ''
  const inferred = host.runs.filter((r) => r.inferred).length
  return (
    `${path} ${sizeLabel(host.n)}, medians of ${host.runs.length}: link open at ` +
    `${format(mid((r) => r.linkOpen))} ms; wait ${format(mid((r) => r.wait))} ms, receive ` +
    `${format(receive)} ms (${format(megabytes)} MB${rate}), apply ${format(mid((r) => r.apply))} ` +
    `ms; records → shown ${format(mid((r) => r.show))} ms` +
    (inferred > 0
      ? `; ${inferred} run(s) applied the room outside a message handler (before the app had ` +
        'its session, or held behind the newest records): apply is counted to the next frame'
      : '')
  )
}

function reportPath(path: SyncPath, hosts: RoomHost[], floors: Map<number, number>): void {
  for (const host of hosts) {
    const size = sizeLabel(host.n)
    const floor = floors.get(host.n)!
    const mid = (pick: (run: NewcomerRun) => number) => median(host.runs.map(pick))
    report.add({
      id: `newcomer-${path}-ms-${size}`,
      name: `Newcomer syncs ${size} ${PATH_LABEL[path]}: navigation → newest ${NEWEST} decrypted`,
      unit: 'ms',
      parley: mid((r) => r.shown),
      peer: floor,
      peerLabel: 'floor: JSON.parse of the same messages',
      goal: GOAL,
    })
    report.add({
      id: `newcomer-${path}-sync-ms-${size}`,
      name: `Newcomer syncs ${size} ${PATH_LABEL[path]}: link open → all records in the document`,
      unit: 'ms',
      parley: mid((r) => r.sync),
      peer: floor,
      peerLabel: 'floor: JSON.parse of the same messages',
      goal: GOAL,
    })
    report.note(phaseNote(path, host))
  }
  const small = hosts[0]
  const large = hosts[hosts.length - 1]
  report.add({
    id: `newcomer-${path}-ratio-${sizeLabel(large.n)}-${sizeLabel(small.n)}`,
    name: `Newcomer ${PATH_LABEL[path]}: ${sizeLabel(large.n)} / ${sizeLabel(small.n)}`,
    unit: 'ms',
    parley: median(large.runs.map((r) => r.shown)),
    peer: median(small.runs.map((r) => r.shown)),
    peerLabel: `newcomer ${sizeLabel(small.n)}`,
  })
}

// ---------------------------------------------------------------------------------------------

console.log('A newcomer syncing a room (navigation → synced, newest 50 decrypted)')
const dist = builtApp()
const fixtures = new Map<number, RoomFixture>()
const files = new Map<string, Uint8Array | string>()
for (const n of SIZES) {
  const fixture = await roomFixture(n)
  fixtures.set(n, fixture)
  files.set(`/bench/room-${n}.bin`, fixture.update)
  files.set(`/bench/room-${n}.json`, new TextEncoder().encode(recordsJson(fixture)))
}
const fileServer = await serveBenchFiles(files)
const newcomers = await launchChromium(WEBRTC_FLAGS)
// Another process: pages of one browser could sync over BroadcastChannel instead (TESTING.md).
const holders = await launchChromium(WEBRTC_FLAGS)
const sourceMaps = new BuildSourceMaps(dist)
const profileDir = PROFILE ? mkdtempSync(join(tmpdir(), 'parley-newcomer-profile-')) : ''
try {
  const floors = new Map<number, number>()
  for (const n of SIZES) {
    const url = `${fileServer.origin}/bench/room-${n}.json`
    floors.set(n, (await jsonFloor(newcomers, url, n, { repeats: REPEATS, heap: false })).ms)
  }
  report.note(
    'newcomer: a fresh browser context per run, the app loaded from the server; the floor ' +
      '(JSON.parse in the browser) includes neither loading the app nor moving the bytes, so at ' +
      '1k the fixed cost up to "link open" dominates every ratio',
  )
  for (const path of ['relay', 'webrtc'] as const) {
    console.log(`\n${PATH_LABEL[path]}:`)
    const pathHosts: RoomHost[] = []
    try {
      for (const n of SIZES) {
        const fixture = fixtures.get(n)!
        pathHosts.push(
          path === 'relay'
            ? await startRelayHost(fixture, n, dist)
            : await startPeerHost(fixture, n, dist, holders, fileServer),
        )
      }
      await measurePath(path, pathHosts, newcomers)
      if (PROFILE) await profilePath(path, pathHosts.at(-1)!, newcomers, sourceMaps, profileDir)
    } finally {
      for (const host of pathHosts) await closeHost(host)
    }
    reportPath(path, pathHosts, floors)
  }
} finally {
  await newcomers.close()
  await holders.close()
  fileServer.close()
}
report.write()
