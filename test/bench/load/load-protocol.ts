// What a benchmark and its load generator process (relay-load.ts, signal-load.ts) say to each
// other over IPC, and the payload marker both sides agree on. Latency is measured by the
// receiving client: every payload carries its sender's timestamp (timeOrigin + now, so clocks of
// processes on one machine agree), sender index, sequence number and step.

export const MAGIC = Buffer.from('PRLYBNCH', 'latin1')
/** magic(8) ts f64(8) sender u32(4) seq u32(4) step u8(1). */
export const HEADER_BYTES = 25

export interface RoomTarget {
  /** ws://host:port[/path]: the provider's server URL. */
  base: string
  /** Room (y-websocket), document (Hocuspocus) or path (raw) name. */
  room: string
  /** Query parameters (Parley's relay token). */
  params: Record<string, string>
}

export type LoadProtocol = 'y-websocket' | 'hocuspocus' | 'raw'

export interface SetupCommand {
  type: 'setup'
  protocol: LoadProtocol
  rooms: RoomTarget[]
  clientsPerRoom: number
  /** Bytes per record (Parley's encrypted records are ~150). */
  recordBytes: number
  /** Add one stock provider (y-websocket's or Hocuspocus') to room 0 that only listens. */
  observer: boolean
}

export interface StepCommand {
  type: 'step'
  step: number
  /** Messages per second over all clients (each client sends its share at a steady rate). */
  rate: number
  durationMs: number
  /** How long to wait for stragglers after the last send. */
  drainMs: number
}

export interface StopCommand {
  type: 'stop'
}

export type LoadCommand = SetupCommand | StepCommand | StopCommand

export interface StepResult {
  type: 'step-done'
  step: number
  sent: number
  /** Deliveries to other clients the sends call for. */
  expected: number
  delivered: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Wall time of the step including the drain. */
  wallMs: number
  /** Load generator CPU seconds over the step (is the generator itself the bottleneck?). */
  generatorCpuSeconds: number
  observerP99Ms: number | null
}

export type LoadReply =
  | { type: 'ready'; connectMs: number }
  | StepResult
  | { type: 'stopped'; observerRecords: number | null; observerExpected: number }
  | { type: 'error'; message: string }

/** Latencies in 0.1 ms buckets up to 60 s; cheap enough for millions of samples. */
export class LatencyHistogram {
  private readonly buckets = new Uint32Array(600_000)
  count = 0
  max = 0

  add(ms: number): void {
    const bucket = Math.min(this.buckets.length - 1, Math.max(0, Math.round(ms * 10)))
    this.buckets[bucket]++
    this.count++
    if (ms > this.max) this.max = ms
  }

  quantile(q: number): number {
    if (this.count === 0) return NaN
    const target = Math.ceil(q * this.count)
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]
      if (seen >= target) return i / 10
    }
    return this.max
  }
}

export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}
