// Starts and drives a y-webrtc peer process (webrtc-peer.ts) from a test: typed requests over
// IPC, the peer's console warnings collected, and a stop() that always leaves no process behind.

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  isPeerMessage,
  type PeerLog,
  type PeerRequest,
  type PeerStatus,
} from './webrtc-peer-protocol'

const PEER_SCRIPT = fileURLToPath(new URL('./webrtc-peer.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
// A peer that does not answer `destroy` in this time is killed: y-webrtc and wrtc clean up in
// well under a second on loopback, so only a hung process gets here.
const STOP_GRACE_MS = 5_000

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

export class PeerProcess {
  /** Every console.warn / console.error the peer printed, in order. */
  readonly logs: PeerLog[] = []
  readonly exited: Promise<ExitInfo>
  private exit: ExitInfo | null = null
  private stderr = ''
  private nextId = 1
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >()

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (text: string) => {
      this.stderr += text
    })
    child.on('message', (message: unknown) => {
      if (!isPeerMessage(message)) return
      if ('log' in message) {
        this.logs.push(message)
        return
      }
      const waiter = this.pending.get(message.id)
      if (!waiter) return
      this.pending.delete(message.id)
      if (message.ok) waiter.resolve(message.result)
      else waiter.reject(new Error(`${this.name}: ${message.error}`))
    })
    this.exited = new Promise((resolve) => {
      const ended = (exit: ExitInfo): void => {
        if (this.exit) return
        this.exit = exit
        const error = new Error(
          `${this.name} exited (code ${exit.code}, signal ${exit.signal}) before answering.\n` +
            this.stderr,
        )
        for (const waiter of this.pending.values()) waiter.reject(error)
        this.pending.clear()
        resolve(exit)
      }
      child.on('exit', (code, signal) => ended({ code, signal }))
      // A process that could not be spawned never exits: count the failure as its end.
      child.on('error', (error) => {
        this.stderr += `${error.name}: ${error.message}\n`
        if (child.pid === undefined) ended({ code: null, signal: null })
      })
    })
  }

  /** `env` adds to the test's environment, e.g. PARLEY_TEST_Y_WEBRTC (see webrtc-peer.ts). */
  static start(name: string, env: Record<string, string> = {}): PeerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', PEER_SCRIPT], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
    return new PeerProcess(name, child)
  }

  get alive(): boolean {
    return this.exit === null
  }

  /** What the peer wrote to stderr (uncaught exceptions end up here). */
  get errorOutput(): string {
    return this.stderr
  }

  request<T = unknown>(request: PeerRequest): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} has exited`))
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (value) => resolve(value as T), reject })
      // A peer that just crashed may have closed its IPC channel before 'exit' arrives.
      this.child.send({ id, ...request }, (error) => {
        if (!error) return
        this.pending.delete(id)
        reject(new Error(`${this.name}: ${error.message}\n${this.stderr}`))
      })
    })
  }

  status(): Promise<PeerStatus> {
    return this.request<PeerStatus>({ op: 'status' })
  }

  waitForLength(length: number, timeoutMs: number): Promise<PeerStatus> {
    return this.request<PeerStatus>({ op: 'waitForLength', length, timeoutMs })
  }

  waitForOpenChannels(count: number, timeoutMs: number): Promise<PeerStatus> {
    return this.request<PeerStatus>({ op: 'waitForOpenChannels', count, timeoutMs })
  }

  waitForSyncStep2(count: number, timeoutMs: number): Promise<PeerStatus> {
    return this.request<PeerStatus>({ op: 'waitForSyncStep2', count, timeoutMs })
  }

  /** Destroys the provider and lets the process exit; kills it if it does not. Idempotent. */
  async stop(): Promise<ExitInfo> {
    if (this.alive) {
      const deadline = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS)
      await this.request({ op: 'destroy' }).catch(() => undefined)
      await this.exited
      clearTimeout(deadline)
    }
    return this.exited
  }
}
