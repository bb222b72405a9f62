// A Parley server in its own process (`signaling/main.ts`, as `npm start` runs it), for tests
// that must crash an instance: `kill()` is SIGKILL, so nothing is closed or flushed and Redis
// only learns of it when the TCP connections drop. Port 0 on 127.0.0.1; the URL is read back
// from the `server.listening` log line.

import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../signaling/main.ts', import.meta.url))
// tsx compiles the server on start: ~1-2 s here. Only reached when something is broken.
const START_DEADLINE_MS = 30_000

export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly scratch: string,
    private readonly output: () => string,
  ) {}

  /** Starts `signaling/main.ts` with these flags (plus port 0, loopback, no STUN, own data dir). */
  static async start(flags: string[] = []): Promise<ServerProcess> {
    const scratch = await mkdtemp(join(tmpdir(), 'parley-server-'))
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--stun-port',
        'off',
        '--data-dir',
        join(scratch, 'data'),
        '--dist',
        join(scratch, 'dist'),
        ...flags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`server did not listen within ${START_DEADLINE_MS} ms:\n${output}`))
      }, START_DEADLINE_MS)
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /"event":"server\.listening","url":"([^"]+)"/.exec(output)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`server exited (${code}) before listening:\n${output}`))
      })
    })
    return new ServerProcess(child, url, scratch, () => output)
  }

  /** `ws://127.0.0.1:PORT` + path. */
  wsUrl(path: string): string {
    return this.url.replace(/^http/, 'ws') + path
  }

  get logs(): string {
    return this.output()
  }

  /** SIGKILL: a crash, not a shutdown. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
      this.child.kill('SIGKILL')
      await exited
    }
    await rm(this.scratch, { recursive: true, force: true })
  }
}
