// When to restart ICE on a direct connection whose path went away (a network change, a NAT
// rebinding): one IceRestartPolicy per connection, fed its ICE states (docs/webrtc.md, "ICE
// restart"). The mechanism is the y-webrtc patch's WebrtcConn.restartIce().

/** What the policy may do about one connection. */
export interface IceRestartActions {
  /** Starts an ICE restart if this side may (the first offerer); false otherwise. */
  restartIce(): boolean
  /** Reopens the signaling socket: it may have died with the old network. */
  reopenSignaling(): void
  /** Whether signaling can carry an offer now (a restart offer sent into a dead socket is lost). */
  signalingReady(): boolean
}

/** How long ICE stays `disconnected` before we restart. Chromium reports `disconnected` only
 * after ~6 s without answers to its checks (measured, test/e2e/webrtc-ice-restart.test.ts), so
 * a blip has had its chance by then; the short wait lets a spell of `disconnected` that ends
 * by itself at once (a late check answer) pass without a restart. */
export const RESTART_AFTER_MS = 500
/** Between restarts while ICE stays disconnected: a restart's offer and answer take one
 * signaling round trip (~100 ms here, well under a second on the internet), and gathering and
 * checks a second or two more; sooner would take back an offer whose answer is on its way. */
export const RESTART_RETRY_MS = 4_000
/** How often to look whether a reopened signaling socket is up (lib0 reconnects in ~0.4 s). */
export const SIGNALING_POLL_MS = 100

/** ICE states in which the connection passes packets again. */
const PASSING: ReadonlySet<RTCIceConnectionState> = new Set(['connected', 'completed'])

export class IceRestartPolicy {
  private timer: ReturnType<typeof setTimeout> | null = null
  /** Restart attempts in the current disconnected spell; the first one reopens signaling. */
  private attempts = 0
  private stopped = false

  constructor(private readonly actions: IceRestartActions) {}

  /** Feeds the connection's ICE state (simple-peer's `iceStateChange`). */
  onIceState(state: RTCIceConnectionState): void {
    if (this.stopped) return
    if (state === 'disconnected') {
      // Still (or again) disconnected while a restart is pending: keep its schedule.
      if (this.timer === null) this.schedule(RESTART_AFTER_MS)
      return
    }
    if (PASSING.has(state)) {
      this.clear()
      this.attempts = 0
      return
    }
    // `failed` and `closed`: simple-peer destroys the connection; y-webrtc then reconnects.
    if (state === 'failed' || state === 'closed') this.stop()
    // `new` and `checking` (a restart in progress) change nothing.
  }

  /** The connection is gone: no more restarts. */
  stop(): void {
    this.stopped = true
    this.clear()
  }

  private attempt(): void {
    this.timer = null
    if (this.stopped) return
    if (this.attempts === 0) this.actions.reopenSignaling()
    this.attempts++
    this.whenSignalingReady(() => {
      this.actions.restartIce()
      this.schedule(RESTART_RETRY_MS)
    })
  }

  private whenSignalingReady(then: () => void): void {
    if (this.actions.signalingReady()) {
      then()
      return
    }
    this.timer = setTimeout(() => {
      this.timer = null
      if (!this.stopped) this.whenSignalingReady(then)
    }, SIGNALING_POLL_MS)
  }

  private schedule(ms: number): void {
    this.clear()
    this.timer = setTimeout(() => this.attempt(), ms)
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
