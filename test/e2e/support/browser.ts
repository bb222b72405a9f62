// Chromium processes for end-to-end tests, each started inside a NetnsHost's namespace.
// Owns the per-browser temp dir (wrapper script + profile), the RTCPeerConnection probe
// installed on every page, and the forwarding of page errors to the test output.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { CHROMIUM_PATH, scratchDirPrefix, type NetnsHost } from './netns'

/**
 * Chromium cold start inside a namespace takes ~1 s here; 30 s leaves room for a loaded CI
 * machine without hiding a browser that will never come up.
 */
const LAUNCH_TIMEOUT_MS = 30_000

/** Flags every test browser gets; see TESTING.md "Browsers" and "Real WebRTC between browsers". */
const CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox', // we are root
  '--headless=new',
  '--disable-gpu',
  // QUIC would only be tried against real servers; keep every HTTP request on plain TCP.
  '--disable-quic',
  '--no-first-run',
  // Chromium must not try to reach the internet from a test.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Host candidates across subnets are otherwise hidden behind mDNS names nobody can resolve.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Even with the flags above Chromium looks up accounts.google.com, clients2.google.com and
  // update.googleapis.com. Namespaces have no route out, but each lookup still costs packets,
  // ICMP errors and the router's ICMP rate-limit budget, so fail them inside Chromium.
  // (`MAP *` would also catch the IP literals tests use.)
  '--host-resolver-rules=MAP *.google.com ~NOTFOUND, MAP *.googleapis.com ~NOTFOUND',
]

export interface LaunchBrowserOptions {
  /** Prefix for forwarded console lines; defaults to the host's name. */
  name?: string
  /**
   * The app origin, e.g. `http://10.231.0.2:4173`: treated as a secure context (WebCrypto,
   * service workers and IndexedDB need one; only `localhost` is by default).
   */
  origin?: string
  /** Extra Chromium flags, appended after the standard ones. */
  args?: readonly string[]
}

export type PageProblemKind = 'console-error' | 'page-error' | 'crash'

export interface PageProblem {
  browser: string
  kind: PageProblemKind
  text: string
  /** Page URL at the time, when known. */
  url: string
}

export interface LaunchedBrowser {
  readonly name: string
  readonly host: NetnsHost
  /** A persistent context: this browser process's only context. */
  readonly context: BrowserContext
  /** The first page, opened with the browser. */
  readonly page: Page
  /** Console errors, uncaught page errors and crashes seen so far, in order. */
  readonly problems: readonly PageProblem[]
  /** Close the browser process and remove its temp dir. Idempotent. */
  close(): Promise<void>
}

const launched = new Set<LaunchedBrowser>()

/**
 * Start a separate Chromium process inside `host`'s namespace, with its own temporary profile.
 * Close it with `browser.close()` or `closeAll()` (in `finally`/`afterAll`) before the
 * topology is destroyed.
 */
export async function launchBrowserIn(
  host: NetnsHost,
  opts: LaunchBrowserOptions = {},
): Promise<LaunchedBrowser> {
  const name = opts.name ?? host.name
  const dir = await mkdtemp(scratchDirPrefix(host.netns))
  let context: BrowserContext
  try {
    const wrapper = join(dir, 'chromium-in-netns.sh')
    // `ip netns exec` execs in place, so Playwright's pipes (fds 3 and 4) reach Chromium.
    await writeFile(
      wrapper,
      `#!/bin/sh\nexec ip netns exec '${host.netns}' ${CHROMIUM_PATH} "$@"\n`,
    )
    await chmod(wrapper, 0o755)
    const args = [...CHROMIUM_FLAGS]
    if (opts.origin) args.push(`--unsafely-treat-insecure-origin-as-secure=${opts.origin}`)
    args.push(...(opts.args ?? []))
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: wrapper,
      headless: true,
      args,
      timeout: LAUNCH_TIMEOUT_MS,
    })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }

  const problems: PageProblem[] = []
  const report = (page: Page, kind: PageProblemKind, text: string): void => {
    problems.push({ browser: name, kind, text, url: page.url() })
    console.error(`[${name}] ${kind}: ${text}`)
  }
  const watch = (page: Page): void => {
    page.on('console', (message) => {
      if (message.type() !== 'error') return
      const { url, lineNumber } = message.location()
      report(
        page,
        'console-error',
        url ? `${message.text()} (${url}:${lineNumber})` : message.text(),
      )
    })
    page.on('pageerror', (error) => report(page, 'page-error', error.stack ?? error.message))
    page.on('crash', () => report(page, 'crash', 'page crashed'))
  }
  context.on('page', watch)
  context.pages().forEach(watch)
  let page: Page
  try {
    // Applies to every later navigation, including the first page's (it is still about:blank).
    await context.addInitScript({ content: probeScript() })
    page = context.pages()[0] ?? (await context.newPage())
  } catch (error) {
    await context.close().finally(() => rm(dir, { recursive: true, force: true }))
    throw error
  }

  let closed: Promise<void> | undefined
  const browser: LaunchedBrowser = {
    name,
    host,
    context,
    page,
    problems,
    close: () =>
      (closed ??= (async () => {
        launched.delete(browser)
        try {
          await context.close()
        } finally {
          await rm(dir, { recursive: true, force: true })
        }
      })()),
  }
  launched.add(browser)
  return browser
}

/** Close every browser launched and not yet closed; reports all failures together. */
export async function closeAll(): Promise<void> {
  const results = await Promise.allSettled([...launched].map((browser) => browser.close()))
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failures.length > 0) {
    throw new Error(`closing browsers failed: ${failures.map((f) => String(f.reason)).join('; ')}`)
  }
}

// ---------------------------------------------------------------------------------------------
// RTCPeerConnection probe

export interface SelectedCandidatePair {
  /** `host`, `srflx`, `prflx` or `relay`. */
  localType: string
  remoteType: string
  localAddress: string
  remoteAddress: string
  protocol: string
}

export interface WebrtcConnectionRecord {
  /** Order of construction in this page, from 0. */
  id: number
  connectionState: RTCPeerConnectionState
  iceConnectionState: RTCIceConnectionState
  /** Every `iceConnectionState` the connection went through, starting with `new`. */
  iceConnectionStates: RTCIceConnectionState[]
  /** Every `connectionState` the connection went through, starting with `new`. */
  connectionStates: RTCPeerConnectionState[]
  /** Whether any data channel on this connection reached `open`. */
  dataChannelOpened: boolean
  /** When (the page's Date.now()) the first data channel on this connection opened. */
  dataChannelOpenedAt: number | null
  /** Whether a data channel on this connection is open now (at the snapshot). A connection
   * the page closed itself keeps its last `connectionState`: no event tells of that. */
  dataChannelOpenNow: boolean
  /** The pair ICE selected, read via getStats() when connected and on every snapshot. */
  selectedPair: SelectedCandidatePair | null
}

interface WebrtcProbe {
  snapshot(): Promise<WebrtcConnectionRecord[]>
  /** Closes every open data channel of the page; returns how many. */
  closeChannels(): number
}

declare global {
  interface Window {
    __parleyWebrtcProbe?: WebrtcProbe
  }
}

/**
 * Init script: replaces `RTCPeerConnection` with a subclass that records each connection.
 * Runs in the page, so it must not refer to anything outside its own body.
 */
function installWebrtcProbe(): void {
  const Native = window.RTCPeerConnection
  if (typeof Native !== 'function' || window.__parleyWebrtcProbe) return
  const tracked: { pc: RTCPeerConnection; record: WebrtcConnectionRecord }[] = []
  const channels: { channel: RTCDataChannel; record: WebrtcConnectionRecord }[] = []

  const str = (value: unknown): string => (typeof value === 'string' ? value : '')
  const readSelectedPair = async (
    pc: RTCPeerConnection,
    record: WebrtcConnectionRecord,
  ): Promise<void> => {
    if (pc.connectionState === 'closed') return
    const stats = await pc.getStats()
    const reports: Record<string, unknown>[] = []
    stats.forEach((report: Record<string, unknown>) => reports.push(report))
    const transport = reports.find((r) => r.type === 'transport' && r.selectedCandidatePairId)
    const pair =
      reports.find((r) => r.id === transport?.selectedCandidatePairId) ??
      reports.find((r) => r.type === 'candidate-pair' && r.state === 'succeeded' && r.nominated)
    if (!pair) return
    const local = reports.find((r) => r.id === pair.localCandidateId)
    const remote = reports.find((r) => r.id === pair.remoteCandidateId)
    record.selectedPair = {
      localType: str(local?.candidateType),
      remoteType: str(remote?.candidateType),
      localAddress: str(local?.address),
      remoteAddress: str(remote?.address),
      protocol: str(local?.protocol),
    }
  }

  class TrackedPeerConnection extends Native {
    constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
      super(...args)
      const record: WebrtcConnectionRecord = {
        id: tracked.length,
        connectionState: this.connectionState,
        iceConnectionState: this.iceConnectionState,
        iceConnectionStates: [this.iceConnectionState],
        connectionStates: [this.connectionState],
        dataChannelOpened: false,
        dataChannelOpenedAt: null,
        dataChannelOpenNow: false,
        selectedPair: null,
      }
      tracked.push({ pc: this, record })
      this.addEventListener('connectionstatechange', () => {
        record.connectionState = this.connectionState
        record.connectionStates.push(this.connectionState)
        if (this.connectionState === 'connected') void readSelectedPair(this, record)
      })
      this.addEventListener('iceconnectionstatechange', () => {
        record.iceConnectionState = this.iceConnectionState
        record.iceConnectionStates.push(this.iceConnectionState)
      })
      this.addEventListener('datachannel', (event) => this.watchChannel(event.channel))
    }

    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const channel = super.createDataChannel(label, init)
      this.watchChannel(channel)
      return channel
    }

    private watchChannel(channel: RTCDataChannel): void {
      const record = tracked.find((t) => t.pc === this)?.record
      if (!record) return
      channels.push({ channel, record })
      const opened = (): void => {
        record.dataChannelOpened = true
        record.dataChannelOpenedAt ??= Date.now()
      }
      if (channel.readyState === 'open') opened()
      channel.addEventListener('open', opened)
    }
  }

  window.RTCPeerConnection = TrackedPeerConnection
  window.__parleyWebrtcProbe = {
    snapshot: async () => {
      await Promise.all(tracked.map(({ pc, record }) => readSelectedPair(pc, record)))
      for (const { record } of tracked) {
        record.dataChannelOpenNow = channels.some(
          (c) => c.record === record && c.channel.readyState === 'open',
        )
      }
      // structuredClone: the caller gets a snapshot, not live objects that keep changing.
      return structuredClone(tracked.map(({ record }) => record))
    },
    closeChannels: () => {
      const open = channels.filter((c) => c.channel.readyState === 'open')
      open.forEach((c) => c.channel.close())
      return open.length
    },
  }
}

/**
 * The probe as page source. A loader that keeps function names (tsx, esbuild `keepNames`)
 * rewrites nested functions to call its `__name` helper, which does not exist in the page.
 */
function probeScript(): string {
  return `(() => { const __name = (target) => target; (${installWebrtcProbe.toString()})() })()`
}

/**
 * Every RTCPeerConnection the page constructed so far, with its state history, whether a data
 * channel opened, and the selected candidate pair. Proves a real WebRTC connection (two
 * browser processes cannot share a BroadcastChannel).
 */
export async function webrtcStats(page: Page): Promise<WebrtcConnectionRecord[]> {
  return page.evaluate(async () => {
    const probe = window.__parleyWebrtcProbe
    if (!probe) throw new Error('WebRTC probe missing: was this page opened by launchBrowserIn?')
    return probe.snapshot()
  })
}

/** Closes every open data channel of the page, as if its connections dropped: both sides see
 * the channel close at about the same moment. Returns how many were open. */
export async function closeDataChannels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const probe = window.__parleyWebrtcProbe
    if (!probe) throw new Error('WebRTC probe missing: was this page opened by launchBrowserIn?')
    return probe.closeChannels()
  })
}

/** A real WebRTC connection of this browser's page is up with an open data channel. */
export async function directlyConnected(browser: LaunchedBrowser): Promise<boolean> {
  const records = await webrtcStats(browser.page)
  return records.some((r) => r.connectionState === 'connected' && r.dataChannelOpened)
}
