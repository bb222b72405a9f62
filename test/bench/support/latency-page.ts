// The page side of the message-latency benchmark, installed into each Chromium as
// `window.__latency` once a room is open: a steady sender that calls the app's own
// RoomSession.send, a receiver that timestamps each benchmark message as it enters the timeline,
// as its content opens (decrypted, signature checked) and as its row renders, and a raw echo
// channel (RTCDataChannel or WebSocket) that measures the transport's round trip as the floor.
// Times are `performance.timeOrigin + performance.now()`: both browsers run on one machine, so
// their clocks are comparable (the benchmark checks the skew).

/** One benchmark message as the receiving page saw it, times in ms. */
export interface Arrival {
  /** In the receiving session's timeline: the Yjs update arrived and was applied. */
  timeline: number
  /** Content resolved: decrypted and its signature checked. */
  opened?: number
  /** Its row rendered in the message list with the text on screen. */
  shown?: number
  /** Start of the animation frame that rendered the row (`document.timeline.currentTime`):
   * tells waiting for a frame apart from work within it. */
  frame?: number
  /** The signature was checked against a known member (not merely "unverified"). */
  verified?: boolean
}

/** One benchmark message as the sending page sent it, times in ms. */
export interface Sent {
  /** When RoomSession.send was called. */
  at: number
  /** When it resolved: composed (encrypted, signed) and inserted into the document. */
  inserted: number
}

export interface LatencyTools {
  /** How this page reaches each other person, as its people list shows it. */
  reaches(): string[]
  /** Sends `#<seq> <text>` for each text (seq from `firstSeq`), text i `gapsMs[i]` after the
   * time text i − 1 was due, whether or not earlier ones have arrived (an open loop: a slow
   * message does not hold back the next ones, so the tail is not hidden). */
  sendSteadily(
    texts: readonly string[],
    gapsMs: readonly number[],
    firstSeq: number,
  ): Promise<Sent[]>
  /** Starts recording arrivals of benchmark messages from other people. */
  watchArrivals(): void
  /** Arrivals so far, by sequence number. */
  arrivals(): Record<number, Arrival>
  shownCount(): number
  /** Floor, direct path: this page offers a plain data channel (complete SDP, no trickle). */
  offerEchoChannel(): Promise<string>
  /** The other page answers and echoes every message on the channel back. */
  answerEchoChannel(offer: string): Promise<string>
  acceptEchoAnswer(answer: string): Promise<void>
  /** Floor, relay path: a WebSocket to an echo server beside the relay. */
  openEchoSocket(url: string): Promise<void>
  /** Round trips over the echo channel, one sent every `intervalMs` (open loop). */
  echoRtts(count: number, intervalMs: number, payloadBytes: number): Promise<number[]>
  now(): number
}

declare global {
  interface Window {
    __latency?: LatencyTools
  }
}

/**
 * Installs `window.__latency`. Runs in the page, so it must not refer to anything outside its
 * own body; turn it into page source with pageScript().
 */
export function installLatencyTools(): void {
  interface Entry {
    readonly id: string
  }
  interface Resolved {
    readonly kind: string
    readonly text?: string | null
    readonly authenticity?: string
  }
  /** The parts of the app's RoomSession the benchmark drives. */
  interface Session {
    readonly timeline: {
      entries(): readonly Entry[]
      readonly changed: { subscribe(listener: () => void): () => void }
    }
    readonly content: { resolve(entry: Entry): Promise<Resolved> }
    send(text: string): Promise<string>
  }
  /** The people list's own data (ui/room-state.ts peopleOf), read from the element. */
  const shownPeople = (): { isMe: boolean; reach: string }[] => {
    const room = document.querySelector('parley-app')?.shadowRoot?.querySelector('parley-room')
    const list = room?.shadowRoot?.querySelector('parley-people') as
      { people?: { isMe: boolean; reach: string }[] } | null | undefined
    return list?.people ?? []
  }
  /** Gathering host candidates inside a namespace takes milliseconds; this is a stuck one. */
  const ICE_GATHERING_TIMEOUT_MS = 10_000
  /** A lost echo is a broken floor, not a slow one. */
  const ECHO_TIMEOUT_MS = 30_000

  const now = (): number => performance.timeOrigin + performance.now()
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
  const session = (): Session => {
    const app = document.querySelector('parley-app') as unknown as { session?: Session } | null
    if (!app?.session) throw new Error('no room open in this page')
    return app.session
  }
  const sequenceOf = (text: string | null | undefined): number | undefined => {
    const match = /^#(\d+) /.exec(text ?? '')
    return match ? Number(match[1]) : undefined
  }

  const arrivals: Record<number, Arrival> = {}
  let shown = 0
  const seen = new Set<string>()

  /** Timeline entries are ordered by HLC, and two concurrent sends may land out of order, so
   * every change is scanned in full (a few thousand entries: microseconds). */
  const onTimelineChange = (): void => {
    const at = now()
    const current = session()
    for (const entry of current.timeline.entries()) {
      if (seen.has(entry.id)) continue
      seen.add(entry.id)
      void current.content.resolve(entry).then((resolved) => {
        const seq = resolved.kind === 'message' ? sequenceOf(resolved.text) : undefined
        if (seq === undefined) return
        const arrival = (arrivals[seq] ??= { timeline: at })
        arrival.timeline = Math.min(arrival.timeline, at)
        arrival.opened = now()
        arrival.verified = resolved.authenticity === 'verified'
      })
    }
  }

  /** Wraps the message row's `updated` (Lit calls it once the row's DOM is committed), so the
   * first commit that shows a benchmark message's text is its time on screen. */
  const watchRows = (): void => {
    const Row = customElements.get('parley-message')
    if (!Row) throw new Error('the app has not defined <parley-message>')
    const proto = Row.prototype as {
      updated: (this: HTMLElement, changed: Map<PropertyKey, unknown>) => void
    }
    const original = proto.updated
    proto.updated = function (this: HTMLElement, changed) {
      original.call(this, changed)
      const text = (
        this.shadowRoot?.querySelector('parley-message-text') as { text?: string } | null
      )?.text
      const seq = sequenceOf(text)
      if (seq === undefined) return
      const arrival = (arrivals[seq] ??= { timeline: now() })
      if (arrival.shown === undefined) {
        arrival.shown = now()
        arrival.frame = performance.timeOrigin + Number(document.timeline.currentTime ?? 0)
        shown++
      }
    }
  }

  let echo: { send(data: string): void; onmessage: ((event: MessageEvent) => void) | null } | null =
    null
  let echoPeer: RTCPeerConnection | undefined
  let echoOpened: Promise<void> | undefined

  const completeDescription = async (pc: RTCPeerConnection): Promise<string> => {
    const deadline = now() + ICE_GATHERING_TIMEOUT_MS
    while (pc.iceGatheringState !== 'complete') {
      if (now() > deadline) throw new Error('ICE gathering did not complete')
      await sleep(10)
    }
    return pc.localDescription?.sdp ?? ''
  }

  window.__latency = {
    now,
    reaches: () =>
      shownPeople()
        .filter((p) => !p.isMe)
        .map((p) => p.reach),

    async sendSteadily(texts, gapsMs, firstSeq) {
      const current = session()
      let due = now()
      const sends: Promise<Sent>[] = []
      for (let i = 0; i < texts.length; i++) {
        due += gapsMs[i]
        const wait = due - now()
        if (wait > 0) await sleep(wait)
        const at = now()
        const text = `#${firstSeq + i} ${texts[i]}`
        sends.push(current.send(text).then(() => ({ at, inserted: now() })))
      }
      return Promise.all(sends)
    },

    watchArrivals() {
      watchRows()
      session().timeline.changed.subscribe(onTimelineChange)
      onTimelineChange()
    },
    arrivals: () => arrivals,
    shownCount: () => shown,

    async offerEchoChannel() {
      // No ICE servers: host candidates only, as the app is configured in this topology.
      echoPeer = new RTCPeerConnection({ iceServers: [] })
      // Ordered and reliable, as y-webrtc's (simple-peer's) channel is.
      const channel = echoPeer.createDataChannel('latency-floor')
      echo = channel
      echoOpened = new Promise((resolve) => channel.addEventListener('open', () => resolve()))
      await echoPeer.setLocalDescription(await echoPeer.createOffer())
      return completeDescription(echoPeer)
    },
    async answerEchoChannel(offer) {
      echoPeer = new RTCPeerConnection({ iceServers: [] })
      echoPeer.addEventListener('datachannel', ({ channel }) => {
        channel.onmessage = (event) => channel.send(event.data as string)
      })
      await echoPeer.setRemoteDescription({ type: 'offer', sdp: offer })
      await echoPeer.setLocalDescription(await echoPeer.createAnswer())
      return completeDescription(echoPeer)
    },
    async acceptEchoAnswer(answer) {
      if (!echoPeer) throw new Error('offerEchoChannel first')
      await echoPeer.setRemoteDescription({ type: 'answer', sdp: answer })
      await echoOpened
    },
    async openEchoSocket(url) {
      const socket = new WebSocket(url)
      await new Promise<void>((resolve, reject) => {
        socket.addEventListener('open', () => resolve())
        socket.addEventListener('error', () => reject(new Error(`cannot open ${url}`)))
      })
      echo = socket
    },

    async echoRtts(count, intervalMs, payloadBytes) {
      const channel = echo
      if (!channel) throw new Error('no echo channel open')
      const payload = 'x'.repeat(payloadBytes)
      const sentAt: number[] = []
      const rtts: number[] = []
      let received = 0
      const done = new Promise<void>((resolve) => {
        channel.onmessage = (event) => {
          const seq = Number.parseInt(String(event.data), 10)
          rtts[seq] = now() - sentAt[seq]
          if (++received === count) resolve()
        }
      })
      const start = now()
      for (let seq = 0; seq < count; seq++) {
        const wait = start + seq * intervalMs - now()
        if (wait > 0) await sleep(wait)
        sentAt[seq] = now()
        channel.send(`${seq} ${payload}`)
      }
      let timer: ReturnType<typeof setTimeout> | undefined
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`echo floor: ${received} of ${count} round trips completed`)),
          ECHO_TIMEOUT_MS,
        )
      })
      try {
        await Promise.race([done, timedOut])
      } finally {
        clearTimeout(timer)
      }
      channel.onmessage = null
      return rtts
    },
  }
}

/**
 * A page function as source for `page.evaluate` or `addInitScript`. A loader that keeps
 * function names (tsx, esbuild `keepNames`) rewrites nested functions to call its `__name`
 * helper, which does not exist in the page.
 */
export function pageScript(install: () => void): string {
  return `(() => { const __name = (target) => target; (${install.toString()})() })()`
}
