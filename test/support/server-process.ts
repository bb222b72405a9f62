// A Parley server in its own process (`signaling/main.ts`, as `npm start` runs it), for tests
// that must crash an instance: `kill()` is SIGKILL, so nothing is closed or flushed and Redis
// only learns of it when the TCP connections drop. 127.0.0.1, port 0 unless the test restarts a
// server where it was (same port: clients reconnect by themselves; same data dir: same store).
// The port is read back from the `server.listening` log line.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../signaling/main.ts', import.meta.url))
// tsx compiles the server on start: ~1-2 s here. Only reached when something is broken.
const START_DEADLINE_MS = 30_000

export interface ServerProcessOptions {
  /** More flags, e.g. `['--redis', url]`. */
  flags?: string[]
  /** The store to use (kept after kill()); a scratch one, removed by kill(), otherwise. */
  dataDir?: string
  /** Default 0 (any free port). */
  port?: number
}

export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** Removed by kill(): the scratch dir, never a data dir the test passed in. */
    private readonly scratch: string,
    private readonly output: () => string,
  ) {}

  /** Starts `signaling/main.ts` on loopback with no STUN, plus the options. */
  static async start(options: ServerProcessOptions = {}): Promise<ServerProcess> {
    const scratch = await mkdtemp(join(tmpdir(), 'parley-server-'))
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        '--port',
        String(options.port ?? 0),
        '--host',
        '127.0.0.1',
        '--stun-port',
        'off',
        '--data-dir',
        options.dataDir ?? join(scratch, 'data'),
        '--dist',
        join(scratch, 'dist'),
        ...(options.flags ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`server did not listen within ${START_DEADLINE_MS} ms:\n${output}`))
      }, START_DEADLINE_MS)
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /"event":"server\.listening","url":"http:\/\/[^"]+:(\d+)"/.exec(output)
        if (match) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`server exited (${code}) before listening:\n${output}`))
      })
    }).catch(async (error: unknown) => {
      child.kill('SIGKILL')
      await rm(scratch, { recursive: true, force: true })
      throw error
    })
    return new ServerProcess(child, port, scratch, () => output)
  }

  /** `ws://127.0.0.1:PORT` + path. */
  wsUrl(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`
  }

  get logs(): string {
    return this.output()
  }

  /** SIGKILL: a crash, not a shutdown. Nothing is flushed or closed. Idempotent. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
      this.child.kill('SIGKILL')
      await exited
    }
    await rm(this.scratch, { recursive: true, force: true })
  }
}
