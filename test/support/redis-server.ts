// A real `redis-server` for a test: a free loopback port, a temporary directory, AOF with fsync
// on every write (so durability tests mean something), no RDB snapshots. `kill()` and
// `restart()` simulate a crash and recovery on the same directory and port; `stop()` removes it
// all. CI installs redis-server from apt (scripts/test.mjs): a missing binary is a failure.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const REDIS_SERVER = process.env.PARLEY_REDIS_SERVER ?? 'redis-server'
// redis-server answers PING within ~50 ms of starting here; past this something is wrong.
const START_DEADLINE_MS = 10_000

export interface TestRedisOptions {
  /** Append-only file with fsync per write (default true). */
  appendOnly?: boolean
}

export class TestRedis {
  private process: ChildProcess | undefined
  private output = ''

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: Required<TestRedisOptions>,
  ) {}

  static async start(options: TestRedisOptions = {}): Promise<TestRedis> {
    assertInstalled()
    const dir = await mkdtemp(join(tmpdir(), 'parley-redis-'))
    const redis = new TestRedis(await freePort(), dir, { appendOnly: true, ...options })
    await redis.launch()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** SIGKILL, like a crash: whatever AOF fsynced survives. */
  async kill(): Promise<void> {
    const child = this.process
    this.process = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await exited
  }

  /** Starts again on the same port and directory (after `kill`). */
  async restart(): Promise<void> {
    await this.kill()
    await this.launch()
  }

  async stop(): Promise<void> {
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
  }

  private async launch(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.options.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      'always',
      // Reachable only from loopback and only by this test: no password needed.
      '--protected-mode',
      'no',
    ]
    const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.process = child
    const collect = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000))
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const deadline = Date.now() + START_DEADLINE_MS
    while (!(await answersPing(this.port))) {
      if (child.exitCode !== null) {
        throw new Error(`redis-server exited with ${child.exitCode} on start:\n${this.output}`)
      }
      if (Date.now() > deadline) {
        throw new Error(
          `redis-server did not answer PING within ${START_DEADLINE_MS} ms:\n${this.output}`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

function assertInstalled(): void {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${REDIS_SERVER} is not installed: the Redis tests need it ` +
        '(apt-get install -y redis-server; npm test installs it as root). Not skipping.',
    )
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

/** One raw PING over TCP: true on `+PONG`. (Loading the AOF answers `-LOADING`: not yet.) */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once('error', () => done(false))
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
  })
}
