// The relay benchmark's load generator, a process of its own (forked by relay-fanout.bench.ts,
// driven over IPC: load-protocol.ts). Each client holds a real Y.Doc and writes each record as
// a real Yjs update (a Uint8Array of random bytes set in the `messages` Y.Map, as Parley writes
// its encrypted records), framed in its server's protocol (y-websocket's sync protocol, or
// Hocuspocus' document-prefixed one), and answers the server's sync requests as a stock client
// does. Receiving clients do not apply what they receive: 200 docs applying each other's
// updates would saturate this process long before the server. They find each record's marker in
// the frame instead; one stock provider per run (the observer) applies everything for real and
// checks that the server delivered a mergeable document.
import { randomFillSync } from 'node:crypto'
import { HocuspocusProvider } from '@hocuspocus/provider'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import {
  HEADER_BYTES,
  LatencyHistogram,
  MAGIC,
  nowMs,
  type LoadCommand,
  type LoadReply,
  type RoomTarget,
  type SetupCommand,
  type StepCommand,
} from './load-protocol'

;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const SYNC = 0
const STEP1 = 0
const STEP2 = 1
const UPDATE = 2
const HOCUSPOCUS_AUTH = 2
const HOCUSPOCUS_SYNC_REPLY = 4
/** Clients opening their sockets at once: enough to be quick, few enough not to time out. */
const CONNECT_CONCURRENCY = 25
const CONNECT_TIMEOUT_MS = 20_000

function reply(message: LoadReply): void {
  process.send?.(message)
}

interface Measure {
  step: number
  hist: LatencyHistogram
  observerHist: LatencyHistogram
  delivered: number
}
let measure: Measure = {
  step: -1,
  hist: new LatencyHistogram(),
  observerHist: new LatencyHistogram(),
  delivered: 0,
}

/** Finds every record marker in a frame; returns how many were new to `seen`. */
function scan(
  frame: Buffer,
  self: number,
  seen: Int32Array,
  clientsPerRoom: number,
  hist: LatencyHistogram,
): number {
  const now = nowMs()
  let found = 0
  for (let at = frame.indexOf(MAGIC); at >= 0; at = frame.indexOf(MAGIC, at + HEADER_BYTES)) {
    if (at + HEADER_BYTES > frame.length) break
    const sender = frame.readUInt32LE(at + 16)
    if (sender === self) continue
    const seq = frame.readUInt32LE(at + 20)
    const slot = sender % clientsPerRoom
    if (seq <= seen[slot]) continue
    seen[slot] = seq
    if (frame[at + 24] !== (measure.step & 0xff)) continue
    hist.add(now - frame.readDoubleLE(at + 8))
    found++
  }
  return found
}

function urlOf(target: RoomTarget): string {
  const query = new URLSearchParams(target.params).toString()
  return `${target.base}/${target.room}${query ? `?${query}` : ''}`
}

/** One load client: a Y.Doc of its own, a socket, and the protocol around them. */
class LoadClient {
  readonly doc = new Y.Doc()
  private readonly map = this.doc.getMap<Uint8Array>('messages')
  private socket!: WebSocket
  private seq = 0
  private readonly seen: Int32Array
  private readonly record: Buffer

  constructor(
    private readonly setup: SetupCommand,
    readonly index: number,
    private readonly target: RoomTarget,
  ) {
    this.seen = new Int32Array(setup.clientsPerRoom).fill(-1)
    this.record = Buffer.alloc(setup.recordBytes)
    this.doc.on('update', (update: Uint8Array) => {
      if (this.setup.protocol !== 'raw') this.sendSync(UPDATE, update)
    })
  }

  connect(): Promise<void> {
    const { protocol } = this.setup
    const url = protocol === 'hocuspocus' ? this.target.base : urlOf(this.target)
    this.socket = new WebSocket(url, { perMessageDeflate: false })
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${url}: no sync`)), CONNECT_TIMEOUT_MS)
      const synced = () => {
        clearTimeout(timer)
        resolve()
      }
      this.socket.once('error', reject)
      this.socket.on('open', () => {
        if (protocol === 'raw') return synced()
        if (protocol === 'hocuspocus') {
          const auth = this.prefix()
          encoding.writeVarUint(auth, HOCUSPOCUS_AUTH)
          encoding.writeVarUint(auth, 0) // token
          encoding.writeVarString(auth, '')
          this.socket.send(encoding.toUint8Array(auth))
        }
        this.sendSync(STEP1, Y.encodeStateVector(this.doc))
      })
      this.socket.on('message', (data: Buffer) => this.receive(data, synced))
      this.socket.on('close', (code) => {
        if (!stopping) console.error(`client ${this.index} closed: ${code}`)
      })
    })
  }

  private prefix(): encoding.Encoder {
    const encoder = encoding.createEncoder()
    if (this.setup.protocol === 'hocuspocus') encoding.writeVarString(encoder, this.target.room)
    return encoder
  }

  private sendSync(kind: number, payload: Uint8Array): void {
    const encoder = this.prefix()
    encoding.writeVarUint(encoder, SYNC)
    encoding.writeVarUint(encoder, kind)
    encoding.writeVarUint8Array(encoder, payload)
    this.socket.send(encoding.toUint8Array(encoder))
  }

  private receive(frame: Buffer, synced: () => void): void {
    measure.delivered += scan(frame, this.index, this.seen, this.setup.clientsPerRoom, measure.hist)
    if (this.setup.protocol === 'raw') return
    const decoder = decoding.createDecoder(frame)
    if (this.setup.protocol === 'hocuspocus') decoding.readVarString(decoder)
    const type = decoding.readVarUint(decoder)
    if (type !== SYNC && type !== HOCUSPOCUS_SYNC_REPLY) return
    const kind = decoding.readVarUint(decoder)
    // As a stock client: answer a state vector with what the server lacks.
    if (kind === STEP1) {
      const stateVector = decoding.readVarUint8Array(decoder)
      this.sendSync(STEP2, Y.encodeStateAsUpdate(this.doc, stateVector))
    } else if (kind === STEP2) synced()
  }

  /** Writes one record (as a Yjs update, or raw). */
  send(step: number): void {
    const record = this.record
    randomFillSync(record, HEADER_BYTES)
    MAGIC.copy(record, 0)
    record.writeDoubleLE(nowMs(), 8)
    record.writeUInt32LE(this.index, 16)
    record.writeUInt32LE(this.seq, 20)
    record[24] = step & 0xff
    if (this.setup.protocol === 'raw') this.socket.send(Buffer.from(record))
    else this.map.set(`${this.index}.${this.seq}`, new Uint8Array(record))
    this.seq++
  }

  close(): void {
    this.socket.terminate()
    this.doc.destroy()
  }
}

/** A stock provider in room 0 that applies everything it is sent. */
class Observer {
  readonly doc = new Y.Doc()
  private readonly provider: WebsocketProvider | HocuspocusProvider
  private readonly seen: Int32Array

  constructor(setup: SetupCommand) {
    const target = setup.rooms[0]
    this.seen = new Int32Array(setup.clientsPerRoom).fill(-1)
    this.provider =
      setup.protocol === 'hocuspocus'
        ? new HocuspocusProvider({ url: target.base, name: target.room, document: this.doc })
        : new WebsocketProvider(target.base, target.room, this.doc, {
            params: target.params,
            disableBc: true,
            WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
          })
    this.doc.on('update', (update: Uint8Array) => {
      scan(Buffer.from(update), -1, this.seen, setup.clientsPerRoom, measure.observerHist)
    })
  }

  synced(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const done =
          this.provider instanceof WebsocketProvider ? this.provider.synced : this.provider.isSynced
        if (done) resolve()
        else setTimeout(check, 20)
      }
      check()
    })
  }

  get records(): number {
    return this.doc.getMap('messages').size
  }

  destroy(): void {
    this.provider.destroy()
    this.doc.destroy()
  }
}

let clients: LoadClient[] = []
let observer: Observer | null = null
let setupCommand: SetupCommand | null = null
let stopping = false

async function setup(command: SetupCommand): Promise<void> {
  setupCommand = command
  const started = performance.now()
  command.rooms.forEach((target, r) => {
    for (let i = 0; i < command.clientsPerRoom; i++) {
      clients.push(new LoadClient(command, r * command.clientsPerRoom + i, target))
    }
  })
  for (let i = 0; i < clients.length; i += CONNECT_CONCURRENCY) {
    await Promise.all(clients.slice(i, i + CONNECT_CONCURRENCY).map((c) => c.connect()))
  }
  if (command.observer && command.protocol !== 'raw') {
    observer = new Observer(command)
    await observer.synced()
  }
  reply({ type: 'ready', connectMs: performance.now() - started })
}

async function step(command: StepCommand, clientsPerRoom: number): Promise<void> {
  measure = {
    step: command.step,
    hist: new LatencyHistogram(),
    observerHist: new LatencyHistogram(),
    delivered: 0,
  }
  const cpu = process.cpuUsage()
  const started = performance.now()
  let sent = 0
  let next = 0
  // Every client sends its share at a steady rate: a tick sends what is due, round robin.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - started
      const due = Math.min(
        Math.floor((elapsed * command.rate) / 1000),
        Math.floor((command.durationMs * command.rate) / 1000),
      )
      while (sent < due) {
        clients[next].send(command.step)
        next = (next + 1) % clients.length
        sent++
      }
      if (elapsed >= command.durationMs) resolve()
      else setTimeout(tick, 1)
    }
    tick()
  })
  const expected = sent * (clientsPerRoom - 1)
  const drainEnd = performance.now() + command.drainMs
  while (measure.delivered < expected && performance.now() < drainEnd) {
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const used = process.cpuUsage(cpu)
  reply({
    type: 'step-done',
    step: command.step,
    sent,
    expected,
    delivered: measure.delivered,
    p50Ms: measure.hist.quantile(0.5),
    p99Ms: measure.hist.quantile(0.99),
    maxMs: measure.hist.max,
    wallMs: performance.now() - started,
    generatorCpuSeconds: (used.user + used.system) / 1e6,
    observerP99Ms: observer ? measure.observerHist.quantile(0.99) : null,
  })
}

process.on('message', (message: LoadCommand) => {
  const run = async () => {
    switch (message.type) {
      case 'setup':
        return setup(message)
      case 'step':
        return step(message, setupCommand?.clientsPerRoom ?? 1)
      case 'stop': {
        stopping = true
        const observerRecords = observer?.records ?? null
        // Room 0's records: every client of room 0 wrote its share of every step.
        const observerExpected = clients
          .filter((c) => c.index < (setupCommand?.clientsPerRoom ?? 0))
          .reduce((n, c) => n + c.doc.getMap('messages').size, 0)
        observer?.destroy()
        for (const client of clients) client.close()
        clients = []
        reply({ type: 'stopped', observerRecords, observerExpected })
        setTimeout(() => process.exit(0), 100)
        return
      }
    }
  }
  run().catch((error: unknown) => {
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) })
    setTimeout(() => process.exit(1), 100)
  })
})
// The benchmark going away takes this process with it.
process.on('disconnect', () => process.exit(0))
