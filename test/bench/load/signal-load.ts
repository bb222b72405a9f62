// The signaling benchmark's load generator, a process of its own (forked by
// signaling.bench.ts, driven over IPC: load-protocol.ts). Each client is one y-webrtc peer's
// signaling connection: it subscribes to its room's topic, pings, and publishes JSON the size of
// a y-webrtc encrypted announce/signal message; receivers parse every message as y-webrtc does
// and time the publishes that carry a benchmark stamp.
import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'
import {
  LatencyHistogram,
  nowMs,
  type LoadCommand,
  type LoadReply,
  type SetupCommand,
  type StepCommand,
} from './load-protocol'

const CONNECT_CONCURRENCY = 50
const CONNECT_TIMEOUT_MS = 20_000

interface Stamp {
  ts: number
  from: number
  seq: number
  step: number
}

let hist = new LatencyHistogram()
let delivered = 0
let currentStep = -1
let stopping = false

class SignalClient {
  private socket!: WebSocket
  private seq = 0

  constructor(
    readonly index: number,
    private readonly url: string,
    private readonly topic: string,
    private readonly data: string,
  ) {}

  connect(): Promise<void> {
    this.socket = new WebSocket(this.url, { perMessageDeflate: false })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.url}: no open`)), CONNECT_TIMEOUT_MS)
      this.socket.once('error', reject)
      this.socket.on('open', () => {
        clearTimeout(timer)
        this.socket.send(JSON.stringify({ type: 'subscribe', topics: [this.topic] }))
        resolve()
      })
      this.socket.on('message', (data: Buffer) => this.receive(data.toString()))
      this.socket.on('close', (code) => {
        if (!stopping) console.error(`signaling client ${this.index} closed: ${code}`)
      })
    })
  }

  private receive(text: string): void {
    const now = nowMs()
    let message: { type?: string; bench?: Stamp }
    try {
      message = JSON.parse(text) as typeof message
    } catch {
      return
    }
    if (message.type !== 'publish' || !message.bench) return
    if (message.bench.step !== currentStep) return
    hist.add(now - message.bench.ts)
    delivered++
  }

  ping(): void {
    this.socket.send('{"type":"ping"}')
  }

  publish(step: number): void {
    const bench: Stamp = { ts: nowMs(), from: this.index, seq: this.seq++, step }
    this.socket.send(JSON.stringify({ type: 'publish', topic: this.topic, data: this.data, bench }))
  }

  close(): void {
    this.socket.terminate()
  }
}

let clients: SignalClient[] = []
let clientsPerTopic = 1

function reply(message: LoadReply): void {
  process.send?.(message)
}

async function setup(command: SetupCommand): Promise<void> {
  const started = performance.now()
  clientsPerTopic = command.clientsPerRoom
  // y-webrtc publishes base64 of AES-GCM ciphertext: a signal message of `recordBytes`.
  const data = randomBytes(command.recordBytes).toString('base64')
  command.rooms.forEach((target, r) => {
    for (let i = 0; i < command.clientsPerRoom; i++) {
      clients.push(new SignalClient(r * command.clientsPerRoom + i, target.base, target.room, data))
    }
  })
  for (let i = 0; i < clients.length; i += CONNECT_CONCURRENCY) {
    await Promise.all(clients.slice(i, i + CONNECT_CONCURRENCY).map((c) => c.connect()))
  }
  reply({ type: 'ready', connectMs: performance.now() - started })
}

async function step(command: StepCommand): Promise<void> {
  hist = new LatencyHistogram()
  delivered = 0
  currentStep = command.step
  const cpu = process.cpuUsage()
  const started = performance.now()
  for (const client of clients) client.ping()
  let sent = 0
  let next = 0
  await new Promise<void>((resolve) => {
    const total = Math.floor((command.durationMs * command.rate) / 1000)
    const tick = () => {
      const elapsed = performance.now() - started
      const due = Math.min(Math.floor((elapsed * command.rate) / 1000), total)
      while (sent < due) {
        clients[next].publish(command.step)
        next = (next + 1) % clients.length
        sent++
      }
      if (elapsed >= command.durationMs) resolve()
      else setTimeout(tick, 1)
    }
    tick()
  })
  // Stock semantics: a publish reaches every subscriber of the topic, the sender included.
  const expected = sent * clientsPerTopic
  const drainEnd = performance.now() + command.drainMs
  while (delivered < expected && performance.now() < drainEnd) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const used = process.cpuUsage(cpu)
  reply({
    type: 'step-done',
    step: command.step,
    sent,
    expected,
    delivered,
    p50Ms: hist.quantile(0.5),
    p99Ms: hist.quantile(0.99),
    maxMs: hist.max,
    wallMs: performance.now() - started,
    generatorCpuSeconds: (used.user + used.system) / 1e6,
    observerP99Ms: null,
  })
}

process.on('message', (message: LoadCommand) => {
  const run = async () => {
    switch (message.type) {
      case 'setup':
        return setup(message)
      case 'step':
        return step(message)
      case 'stop':
        stopping = true
        for (const client of clients) client.close()
        clients = []
        reply({ type: 'stopped', observerRecords: null, observerExpected: 0 })
        setTimeout(() => process.exit(0), 100)
        return
    }
  }
  run().catch((error: unknown) => {
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    setTimeout(() => process.exit(1), 100)
  })
})
process.on('disconnect', () => process.exit(0))
