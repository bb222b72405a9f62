// Runs test/support/server-ywebrtc-peer.ts in a child process and lets a test wait on what it
// reports. `stop()` asks it to exit and kills it if it does not; `kill()` is the afterAll net.

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { PeerCommand, PeerEvent } from './server-ywebrtc-peer'

const PEER_SCRIPT = fileURLToPath(new URL('./server-ywebrtc-peer.ts', import.meta.url))

// A child told to exit does so in well under a second; past this it is killed.
const EXIT_GRACE_MS = 5_000

export interface PeerOptions {
  signalUrl: string
  room: string
  password: string
}

export class PeerProcess {
  readonly events: PeerEvent[] = []
  /** The child's stdout and stderr, for failure messages (set LOG=y-webrtc for its debug log). */
  output = ''
  readonly exited: Promise<number | null>
  private readonly listeners = new Set<() => void>()

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (event: PeerEvent) => {
      this.events.push(event)
      for (const listener of this.listeners) listener()
    })
    const collect = (chunk: Buffer) => (this.output += chunk.toString())
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  }

  static start(options: PeerOptions): PeerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', PEER_SCRIPT], {
      env: {
        ...process.env,
        PARLEY_SIGNAL_URL: options.signalUrl,
        PARLEY_ROOM: options.room,
        PARLEY_PASSWORD: options.password,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    return new PeerProcess(child)
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  send(command: PeerCommand): void {
    this.child.send(command)
  }

  /** Resolves with the first event (past or future) matching `predicate`. */
  waitFor<T extends PeerEvent>(
    description: string,
    predicate: (event: PeerEvent) => event is T,
    deadlineMs: number,
  ): Promise<T>
  waitFor(
    description: string,
    predicate: (event: PeerEvent) => boolean,
    deadlineMs: number,
  ): Promise<PeerEvent>
  waitFor(
    description: string,
    predicate: (event: PeerEvent) => boolean,
    deadlineMs: number,
  ): Promise<PeerEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const fatal = this.events.find((event) => event.event === 'fatal')
        if (fatal) return finish(() => reject(new Error(`peer failed: ${JSON.stringify(fatal)}`)))
        const found = this.events.find(predicate)
        if (found) finish(() => resolve(found))
      }
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `peer ${this.pid}: no "${description}" within ${deadlineMs} ms; events: ` +
                  `${JSON.stringify(this.events.slice(-5))}; output: ${this.output.slice(-3000)}`,
              ),
            ),
          ),
        deadlineMs,
      )
      const finish = (settle: () => void) => {
        clearTimeout(timer)
        this.listeners.delete(check)
        settle()
      }
      this.listeners.add(check)
      check()
    })
  }

  /** Asks the child to exit cleanly; kills it if it has not within the grace period. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited
    if (this.child.connected) this.send({ cmd: 'exit' })
    const timer = setTimeout(() => this.kill(), EXIT_GRACE_MS)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}
