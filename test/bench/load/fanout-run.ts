// Runs one server through the stepped load of one topology (relay-fanout and signaling
// benchmarks): starts the server and a load generator process, measures the server's CPU and
// memory from /proc around each step, and stops both whatever happens.
import type { LoadProtocol, RoomTarget, StepResult } from './load-protocol'
import { LoadGenerator } from './load-driver'
import { startPeer, type PeerName, type PeerServer } from './peer-servers'

export interface Topology {
  readonly id: string
  readonly rooms: number
  readonly clientsPerRoom: number
  /** Offered load per step, messages per second over all clients. */
  readonly rates: readonly number[]
}

export interface StepOutcome extends StepResult {
  rate: number
  /** Server CPU seconds over the step (sending and draining). */
  serverCpuSeconds: number
  /** p99, or a lower bound (the step's wall time) when over 1% never arrived. */
  effectiveP99Ms: number
  /** Not run: an earlier step was already far past saturation. */
  skipped: boolean
}

export interface RunOutcome {
  peer: PeerName
  /** Server RSS growth per connection once every client is connected and synced, bytes. */
  rssPerConnection: number
  /** Server RSS growth per room after the steps (rooms loaded with their data), bytes. */
  rssPerRoom: number
  steps: StepOutcome[]
  observer: { records: number | null; expected: number }
}

export interface RunOptions {
  generator: string
  stepMs: number
  drainMs: number
  /** Unrecorded first step at the lowest rate (JIT, first allocations). */
  warmupMs: number
  /** Pause after connecting, before memory is read. */
  settleMs: number
  recordBytes: number
  /** What the generator needs to set up: targets built from the server. */
  targets: (server: PeerServer, topology: Topology) => { rooms: RoomTarget[] }
  protocol?: (server: PeerServer) => LoadProtocol
}

/** Past this p99 the next steps only pile up backlog: they are not run. */
const GIVE_UP_P99_MS = 1_000
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function runPeer(
  peer: PeerName,
  topology: Topology,
  options: RunOptions,
): Promise<RunOutcome> {
  const server = await startPeer(peer)
  let generator: LoadGenerator | undefined
  try {
    await pause(500)
    const base = server.sample()
    generator = new LoadGenerator(options.generator)
    const clients = topology.rooms * topology.clientsPerRoom
    await generator.request(
      {
        type: 'setup',
        protocol: options.protocol?.(server) ?? server.protocol,
        rooms: options.targets(server, topology).rooms,
        clientsPerRoom: topology.clientsPerRoom,
        recordBytes: options.recordBytes,
        observer: true,
      },
      'ready',
      180_000,
    )
    await pause(options.settleMs)
    const connected = server.sample()
    const stepTimeout = options.stepMs + options.drainMs + 60_000
    // Warm-up (JIT, first allocations), not recorded.
    await generator.request(
      {
        type: 'step',
        step: 0,
        rate: topology.rates[0],
        durationMs: options.warmupMs,
        drainMs: 1_000,
      },
      'step-done',
      stepTimeout,
    )
    const steps: StepOutcome[] = []
    let gaveUp = false
    for (const [i, rate] of topology.rates.entries()) {
      const lowerBound = options.stepMs + options.drainMs
      if (gaveUp) {
        steps.push(skippedStep(rate, i + 1, lowerBound))
        continue
      }
      const before = server.sample()
      const result = await generator.request(
        { type: 'step', step: i + 1, rate, durationMs: options.stepMs, drainMs: options.drainMs },
        'step-done',
        stepTimeout,
      )
      const after = server.sample()
      const held = result.delivered >= 0.99 * result.expected
      const effectiveP99Ms = held ? result.p99Ms : Math.max(result.p99Ms, result.wallMs)
      steps.push({
        ...result,
        rate,
        serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
        effectiveP99Ms,
        skipped: false,
      })
      if (effectiveP99Ms > GIVE_UP_P99_MS) gaveUp = true
      // Let a backlog drain before the next step.
      await pause(500)
    }
    const loaded = server.sample()
    const stopped = await generator.request({ type: 'stop' }, 'stopped', 30_000)
    return {
      peer,
      rssPerConnection: (connected.rssBytes - base.rssBytes) / clients,
      rssPerRoom: (loaded.rssBytes - base.rssBytes) / topology.rooms,
      steps,
      observer: { records: stopped.observerRecords, expected: stopped.observerExpected },
    }
  } finally {
    await generator?.close()
    await server.stop()
  }
}

function skippedStep(rate: number, step: number, lowerBound: number): StepOutcome {
  return {
    type: 'step-done',
    step,
    rate,
    sent: 0,
    expected: 0,
    delivered: 0,
    p50Ms: NaN,
    p99Ms: NaN,
    maxMs: NaN,
    wallMs: 0,
    generatorCpuSeconds: 0,
    observerP99Ms: null,
    serverCpuSeconds: NaN,
    effectiveP99Ms: lowerBound,
    skipped: true,
  }
}
