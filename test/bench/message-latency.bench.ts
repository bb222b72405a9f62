// Issue 5 item 7: message latency browser to browser. Two Chromium processes, each in its own
// network namespace, with the real Parley server (the benchmark's build of the app) in a third:
//   direct: routed networks that reach each other, relay off, so every message crosses the
//     WebRTC data channel (checked: an open channel and its selected candidate pair);
//   relay: networks that cannot reach each other, so every message goes through the relay
//     (checked: no data channel ever opened).
// The sending page calls the app's own RoomSession.send at a steady rate; the receiving page
// records when each message enters its timeline, when its content opens (decrypted, signature
// checked) and when its row renders with the text. Latency is send → on screen, p50/p99, against
// the round-trip time of a raw transport between the same namespaces, measured in the same run:
// an RTCDataChannel between the same two browsers (direct), a WebSocket from the sending browser
// to an echo server beside the relay (relay).
import { availableParallelism, loadavg } from 'node:os'
import type { Page } from 'playwright-core'
import {
  closeAll,
  launchBrowserIn,
  webrtcStats,
  type LaunchedBrowser,
} from '../e2e/support/browser'
import {
  createTopology,
  requireNetnsSupport,
  type Topology,
  type TopologyKind,
} from '../e2e/support/netns'
import { createRoom, openRoom, startParleyIn, type RunningParley } from '../e2e/support/parley'
import { seededRandom, type Random } from '../support/seeded-random'
import { builtApp, REPO_ROOT } from './support/built-app'
import { installLatencyTools, pageScript, type Arrival, type Sent } from './support/latency-page'
import { BenchReport, format, quick } from './support/report'
import { fixtureTexts } from './support/room-fixture'

const MESSAGES = quick ? 100 : 1_000
/** Sent first and not counted: they pay for JIT warm-up, the first IndexedDB writes and the
 * message rows' first layout. */
const WARMUP = quick ? 10 : 30
/** One message every 50 ms on average, open loop (20/s): far above anyone typing, far below
 * what either browser can process. Not faster: each message costs the sender ~2.3 frames to the relay (the
 * update, its answer to the relay's "saved" sync step 1, a share of presence), and the relay
 * closes a connection that sustains more than 50 frames/s once its burst of 500 is spent
 * (signaling/limits.ts); at 30 ms that happened ~20 s in, and the reconnect became the p99. */
const SEND_INTERVAL_MS = 50
/** Gaps vary by up to this either way: a fixed 50 ms is exactly three 60 Hz frames, so every
 * message would land at the same point of a frame and the wait for the next one (up to 16.7
 * ms of each latency) would be one random phase per run instead of its average. */
const SEND_JITTER_MS = 10
const FLOOR_ROUND_TRIPS = quick ? 50 : 200
/** Floor and messages alternate in rounds (a noisy minute hits both alike). */
const ROUNDS = quick ? 1 : 5
/** About one message's update on the wire (record ~230 B plus Yjs and y-webrtc framing). */
const FLOOR_PAYLOAD_BYTES = 300
/** A data channel between namespaces opens in about a second; the relay in less. Allows for
 * two loaded cores. */
const CONNECT_MS = 30_000
/** After the last send: every message should be on screen well within this, even loaded. */
const ARRIVAL_TIMEOUT_MS = 60_000
/** Clock comparisons between Node and a page: enough to catch one quick round trip. */
const CLOCK_SAMPLES = 20
/** Headless pages count as visible, but nothing here may be throttled as a background tab. */
const EXTRA_FLAGS = ['--disable-background-timer-throttling', '--disable-renderer-backgrounding']

interface PathSpec {
  readonly id: 'direct' | 'relay'
  readonly label: string
  readonly topology: TopologyKind
  readonly relay: boolean
  readonly goalMs: number
  readonly floorLabel: string
}

const PATHS: readonly PathSpec[] = [
  {
    id: 'direct',
    label: 'direct (WebRTC)',
    topology: 'lan',
    relay: false,
    goalMs: 50,
    floorLabel: 'RTCDataChannel echo RTT between the same browsers',
  },
  {
    id: 'relay',
    label: 'via the relay',
    topology: 'isolated',
    relay: true,
    goalMs: 80,
    floorLabel: 'WebSocket echo RTT, sending browser ↔ server host',
  },
]

interface Pair {
  readonly sender: LaunchedBrowser
  readonly receiver: LaunchedBrowser
}

/** Per measured message (warm-up dropped), in ms. */
interface Timings {
  /** send() called → on screen in the other browser: the latency reported. */
  total: number[]
  /** send() called → composed (encrypted, signed) and inserted into the sender's document. */
  compose: number[]
  /** Inserted → in the receiver's timeline (provider, transport, Yjs apply). */
  transit: number[]
  /** In the timeline → content opened (decrypted, signature checked). */
  open: number[]
  /** Opened → its row rendered. */
  render: number[]
  /** The part of `render` before the animation frame that rendered the row began: waiting for
   * a frame (text reaches the screen only with one, ~16.7 ms apart here). */
  frameWait: number[]
  unverified: number
}

interface PathResult {
  readonly timings: Timings
  readonly floorRtts: number[]
  /** The receiver's clock minus the sender's, as far as Node can tell. */
  readonly clockSkew: { ms: number; uncertaintyMs: number }
  readonly route: string
  /** What the relay logged refusing a connection during the run (none for a clean run). */
  readonly rejections: string[]
}

/** The server's `relay.rejected` log lines (a closed connection turns into a reconnect that
 * the latencies would silently include). */
function relayRejections(parley: RunningParley): string[] {
  return parley.process
    .output()
    .stdout.split('\n')
    .filter((line) => line.includes('"relay.rejected"'))
    .map((line) => {
      const entry = JSON.parse(line) as { limit?: string; value?: number; max?: number }
      return `${entry.limit ?? '?'} ${entry.value ?? '?'} > ${entry.max ?? '?'}`
    })
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of nothing')
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** p99 of each round's share of `values` (recorded round after round), to tell a stall of
 * the machine in one round from a tail in every round. */
function p99ByRound(values: readonly number[]): string {
  const size = values.length / ROUNDS
  return Array.from({ length: ROUNDS }, (_, r) =>
    format(percentile(values.slice(r * size, (r + 1) * size), 99)),
  ).join(', ')
}

const p50p99 = (values: readonly number[]): string =>
  `${format(percentile(values, 50))}/${format(percentile(values, 99))} ms`

async function launchPair(topology: Topology, origin: string): Promise<Pair> {
  const [senderHost, receiverHost] = topology.clients
  const launch = async (host: typeof senderHost, name: string) => {
    const browser = await launchBrowserIn(host, { name, origin, args: EXTRA_FLAGS })
    browser.page.on('dialog', (dialog) => void dialog.accept())
    return browser
  }
  const sender = await launch(senderHost, 'sender')
  const receiver = await launch(receiverHost, 'receiver')
  const link = await createRoom(sender.page, origin)
  await openRoom(receiver.page, link)
  for (const { page } of [sender, receiver]) await page.evaluate(pageScript(installLatencyTools))
  return { sender, receiver }
}

/** Until each page reaches the other person the way this path is about. */
async function waitForReach(pair: Pair, reach: 'direct' | 'relay'): Promise<void> {
  for (const { name, page } of [pair.sender, pair.receiver]) {
    try {
      await page.waitForFunction((want) => window.__latency?.reaches().includes(want), reach, {
        timeout: CONNECT_MS,
        polling: 250,
      })
    } catch (error) {
      const reaches = await page.evaluate(() => window.__latency?.reaches())
      const connections = (await webrtcStats(page)).map((r) => r.connectionStates.join('→'))
      throw new Error(
        `${name} does not reach the other ${reach} (reaches: ${JSON.stringify(reaches)}; ` +
          `WebRTC connections: ${JSON.stringify(connections)}): ${String(error)}`,
      )
    }
  }
}

/** What each page's WebRTC probe recorded for the floor's own connection, to tell it apart. */
type FloorConnections = ReadonlyMap<string, number>

interface EchoFloor {
  /** Round trips over the floor's transport, at the messages' rate. */
  rtts(count: number): Promise<number[]>
  readonly connections: FloorConnections
}

/** An open data channel of the app's, and the candidate pair it runs over (for the report). */
async function directRoute(pair: Pair, floor: FloorConnections): Promise<string> {
  const routes: string[] = []
  for (const browser of [pair.sender, pair.receiver]) {
    const open = (await webrtcStats(browser.page)).filter(
      (r) =>
        r.id !== floor.get(browser.name) &&
        r.connectionState === 'connected' &&
        r.dataChannelOpened,
    )
    const selected = open[0]?.selectedPair
    if (!selected) throw new Error(`${browser.name} has no open data channel: not a direct run`)
    const { localType, localAddress, remoteType, remoteAddress, protocol } = selected
    routes.push(
      `${browser.name} ${localType} ${localAddress} → ${remoteType} ${remoteAddress} ${protocol}`,
    )
  }
  return `data channel, ${routes.join('; ')}`
}

/** The relay run is only that if no data channel ever opened (the networks are cut apart). */
async function relayOnlyRoute(pair: Pair): Promise<string> {
  let attempts = 0
  for (const browser of [pair.sender, pair.receiver]) {
    const records = await webrtcStats(browser.page)
    if (records.some((r) => r.dataChannelOpened))
      throw new Error(`${browser.name} opened a data channel: not a relay-only run`)
    attempts += records.length
  }
  return `relay only: no data channel opened (${attempts} failed WebRTC attempts meanwhile)`
}

/**
 * Offset of the page's clock from Node's (`performance.timeOrigin + now()` on both sides),
 * NTP-style: from the quickest of several round trips, with half that round trip as the bound.
 */
async function clockOffset(page: Page): Promise<{ ms: number; uncertaintyMs: number }> {
  const nodeNow = (): number => performance.timeOrigin + performance.now()
  let best = { ms: 0, uncertaintyMs: Infinity }
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const before = nodeNow()
    const pageNow = await page.evaluate(() => performance.timeOrigin + performance.now())
    const after = nodeNow()
    const uncertaintyMs = (after - before) / 2
    if (uncertaintyMs < best.uncertaintyMs)
      best = { ms: pageNow - (before + after) / 2, uncertaintyMs }
  }
  return best
}

async function clockSkew(pair: Pair): Promise<PathResult['clockSkew']> {
  const sender = await clockOffset(pair.sender.page)
  const receiver = await clockOffset(pair.receiver.page)
  return {
    ms: receiver.ms - sender.ms,
    uncertaintyMs: receiver.uncertaintyMs + sender.uncertaintyMs,
  }
}

/** Sends `texts` as messages #firstSeq… at the steady rate; resolves once all are on screen. */
async function sendRound(
  pair: Pair,
  texts: string[],
  firstSeq: number,
  random: Random,
): Promise<Sent[]> {
  const gaps = texts.map(() => SEND_INTERVAL_MS + (2 * random.next() - 1) * SEND_JITTER_MS)
  const sent: Sent[] = await pair.sender.page.evaluate(
    ({ texts, gaps, firstSeq }) => window.__latency!.sendSteadily(texts, gaps, firstSeq),
    { texts, gaps, firstSeq },
  )
  const total = firstSeq + texts.length
  try {
    await pair.receiver.page.waitForFunction(
      (total) => (window.__latency?.shownCount() ?? 0) >= total,
      total,
      { timeout: ARRIVAL_TIMEOUT_MS, polling: 100 },
    )
  } catch (error) {
    const shown = await pair.receiver.page.evaluate(() => window.__latency?.shownCount())
    throw new Error(`${shown} of ${total} messages on screen: ${String(error)}`)
  }
  return sent
}

/**
 * The warm-up, then ROUNDS rounds of (floor round trips, messages), so that floor and messages
 * see the same moments of this shared machine's load.
 */
async function measureRounds(
  pair: Pair,
  floor: EchoFloor,
): Promise<{ timings: Timings; floorRtts: number[] }> {
  const texts = fixtureTexts(WARMUP + MESSAGES, 17)
  const random = seededRandom(17)
  await pair.receiver.page.evaluate(() => window.__latency?.watchArrivals())
  const sent = await sendRound(pair, texts.slice(0, WARMUP), 0, random)
  const floorRtts: number[] = []
  const perRound = MESSAGES / ROUNDS
  for (let round = 0; round < ROUNDS; round++) {
    floorRtts.push(...(await floor.rtts(FLOOR_ROUND_TRIPS / ROUNDS)))
    const first = WARMUP + round * perRound
    sent.push(...(await sendRound(pair, texts.slice(first, first + perRound), first, random)))
  }
  const arrivals: Record<number, Arrival> = await pair.receiver.page.evaluate(() =>
    window.__latency!.arrivals(),
  )
  return { timings: timingsOf(sent, arrivals), floorRtts }
}

function timingsOf(sent: readonly Sent[], arrivals: Record<number, Arrival>): Timings {
  const timings: Timings = {
    total: [],
    compose: [],
    transit: [],
    open: [],
    render: [],
    frameWait: [],
    unverified: 0,
  }
  for (let seq = WARMUP; seq < sent.length; seq++) {
    const { at, inserted } = sent[seq]
    const { timeline, opened, shown, frame, verified } = arrivals[seq]
    if (opened === undefined || shown === undefined) throw new Error(`message ${seq} not shown`)
    timings.total.push(shown - at)
    timings.compose.push(inserted - at)
    timings.transit.push(timeline - inserted)
    timings.open.push(opened - timeline)
    timings.render.push(shown - opened)
    // A row committed in a frame that began before the content opened waited for none.
    timings.frameWait.push(Math.max(0, Math.min(shown, frame ?? opened) - opened))
    if (!verified) timings.unverified++
  }
  return timings
}

function echoRtts(page: Page, count: number): Promise<number[]> {
  return page.evaluate(
    ({ count, interval, bytes }) => window.__latency!.echoRtts(count, interval, bytes),
    { count, interval: SEND_INTERVAL_MS, bytes: FLOOR_PAYLOAD_BYTES },
  )
}

/** Direct floor: a plain data channel between the same two pages, signaled by the benchmark. */
async function dataChannelFloor(pair: Pair): Promise<EchoFloor> {
  const connections = new Map<string, number>()
  // The probe numbers connections in order of construction: the next one is the floor's.
  for (const { name, page } of [pair.sender, pair.receiver])
    connections.set(name, (await webrtcStats(page)).length)
  const offer = await pair.sender.page.evaluate(() => window.__latency!.offerEchoChannel())
  const answer = await pair.receiver.page.evaluate(
    (sdp) => window.__latency!.answerEchoChannel(sdp),
    offer,
  )
  await pair.sender.page.evaluate((sdp) => window.__latency!.acceptEchoAnswer(sdp), answer)
  return { rtts: (count) => echoRtts(pair.sender.page, count), connections }
}

/** Relay floor: the same hops as a relayed message (browser → server host → browser). The
 * echo server is a child of the topology, stopped with it. */
async function webSocketFloor(topology: Topology, pair: Pair): Promise<EchoFloor> {
  const echoServer = await topology.server.startNode(
    ['--import', 'tsx', 'test/bench/support/ws-echo-server.ts'],
    { ready: /listening (\d+)/, cwd: REPO_ROOT, label: 'ws-echo' },
  )
  const url = `ws://${topology.server.address}:${echoServer.match[1]}`
  await pair.sender.page.evaluate((url) => window.__latency!.openEchoSocket(url), url)
  return { rtts: (count) => echoRtts(pair.sender.page, count), connections: new Map() }
}

async function measurePath(path: PathSpec, dist: string): Promise<PathResult> {
  const topology = await createTopology({ kind: path.topology, clients: 2 })
  try {
    const parley = await startParleyIn(topology.server, { relay: path.relay, dist })
    const pair = await launchPair(topology, parley.origin)
    await waitForReach(pair, path.id)
    const clock = await clockSkew(pair)
    const floor =
      path.id === 'direct' ? await dataChannelFloor(pair) : await webSocketFloor(topology, pair)
    const { timings, floorRtts } = await measureRounds(pair, floor)
    // Checked after the messages, so it covers the whole run.
    const route =
      path.id === 'direct' ? await directRoute(pair, floor.connections) : await relayOnlyRoute(pair)
    return { timings, floorRtts, clockSkew: clock, route, rejections: relayRejections(parley) }
  } finally {
    await closeAll()
    await topology.destroy()
  }
}

function reportPath(report: BenchReport, path: PathSpec, result: PathResult): void {
  const { timings, floorRtts } = result
  const what = `Message latency ${path.label}`
  const p99 = percentile(timings.total, 99)
  report.add({
    id: `${path.id}-p50`,
    name: `${what}, p50: send → decrypted, verified, on screen in the other browser`,
    unit: 'ms',
    parley: percentile(timings.total, 50),
    peer: percentile(floorRtts, 50),
    peerLabel: `floor p50: ${path.floorLabel}`,
  })
  report.add({
    id: `${path.id}-p99`,
    name: `${what}, p99`,
    unit: 'ms',
    parley: p99,
    peer: percentile(floorRtts, 99),
    peerLabel: `floor p99: ${path.floorLabel}`,
  })
  report.add({
    id: `${path.id}-p99-goal`,
    name: `${what}, p99 against the goal (namespaces on one machine)`,
    unit: 'ms',
    parley: p99,
    peer: path.goalMs,
    peerLabel: 'goal',
    goal: { maxRatio: 1, text: `≤ ${path.goalMs} ms` },
  })
  const skew = result.clockSkew
  report.note(
    `${path.label}: ${MESSAGES} messages after ${WARMUP} warm-up, one every ` +
      `${SEND_INTERVAL_MS} ± ${SEND_JITTER_MS} ms (open loop), in ${ROUNDS} round(s) alternating with ${FLOOR_ROUND_TRIPS} floor round trips ` +
      `of ${FLOOR_PAYLOAD_BYTES} B every ${SEND_INTERVAL_MS} ms. p50/p99 by stage: compose (send → in the ` +
      `sender's document) ${p50p99(timings.compose)}, transit (→ in the receiver's timeline) ` +
      `${p50p99(timings.transit)}, open (decrypt, verify) ${p50p99(timings.open)}, render ` +
      `(→ row committed) ${p50p99(timings.render)}, of which before the start of the frame ` +
      `that rendered it ${p50p99(timings.frameWait)}; ${timings.unverified} shown unverified; floor ` +
      `${p50p99(floorRtts)}. Route: ${result.route}. Receiver clock − sender clock ` +
      `${format(skew.ms)} ms (± ${format(skew.uncertaintyMs)}); page timers tick in 0.1 ms`,
  )
  if (ROUNDS > 1)
    report.note(
      `${path.label}: p99 by round, messages ${p99ByRound(timings.total)} ms; ` +
        `floor ${p99ByRound(floorRtts)} ms`,
    )
  if (result.rejections.length > 0)
    report.note(
      `${path.label}: THE RELAY CLOSED A CONNECTION during the run (${result.rejections.join(', ')}): ` +
        'the tail includes reconnecting',
    )
}

await requireNetnsSupport()
const report = new BenchReport('message-latency')
console.log(
  `Message latency browser to browser in Chromium, ${MESSAGES} messages per path, in namespaces`,
)
const dist = builtApp()
const loadBefore = loadavg()[0]
for (const path of PATHS) reportPath(report, path, await measurePath(path, dist))
report.note(
  `1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after, ` +
    `on ${availableParallelism()} cores shared with other work: read the p99s with that in mind`,
)
report.note(
  'The direct floor covers the path twice (there and back) while a message crosses it once; ' +
    'the relay floor covers the same hops as a relayed message (browser → server host → browser).',
)
report.write()
process.exit(0)
