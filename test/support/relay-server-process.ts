// A Parley server in its own process (`signaling/main.ts`, as `npm start` runs it) on a data
// directory and port the test chooses, so it can be SIGKILLed and started again where it was:
// same port (clients reconnect by themselves), same store.

import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../signaling/main.ts', import.meta.url))
// tsx compiles the server on start: ~1-2 s here. Only reached when something is broken.
const START_DEADLINE_MS = 30_000

export class RelayServerProcess {
  readonly exited: Promise<void>

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly output: () => string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
  }

  /** Starts the server on 127.0.0.1:`port` (0: any) with its store in `dataDir`. */
  static async start(options: { dataDir: string; port?: number }): Promise<RelayServerProcess> {
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
        options.dataDir,
        '--dist',
        join(options.dataDir, 'no-dist'),
        '--log-level',
        'info',
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
    })
    return new RelayServerProcess(child, port, () => output)
  }

  /** `ws://127.0.0.1:PORT` + path. */
  wsUrl(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`
  }

  /** SIGKILL: a crash, not a shutdown. Nothing is flushed or closed. */
  kill(): Promise<void> {
    this.child.kill('SIGKILL')
    return this.exited
  }
}
