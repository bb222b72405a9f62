// Child processes and temp dirs of a load benchmark, and what /proc says about a process. Every
// child and directory made through here is removed when the benchmark exits, however it exits
// (normal end, thrown error, unhandled rejection, SIGINT/SIGTERM from scripts/bench.mjs).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const children = new Set<ChildProcess>()
const dirs = new Set<string>()

function cleanUp(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  children.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
}
process.on('exit', cleanUp)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    cleanUp()
    process.exit(130)
  })
}
process.on('uncaughtException', (error) => {
  console.error(error)
  cleanUp()
  process.exit(1)
})
process.on('unhandledRejection', (error) => {
  console.error(error)
  cleanUp()
  process.exit(1)
})

/** A temp dir removed when this process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

/** Starts `node …args` and keeps it until `stop` or this process exits. */
export function spawnNode(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; ipc?: boolean; cwd?: string } = {},
): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: opts.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Resolves with the first stdout match of `pattern`; rejects if the child exits or stalls. */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(
      () => done(new Error(`no ${pattern} within ${timeoutMs} ms`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4096)
      const match = pattern.exec(seen)
      if (match) done(null, match)
    }
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before ${pattern}`))
    const done = (error: Error | null, match?: RegExpMatchArray) => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
      // Keep draining stdout so a chatty child never blocks on a full pipe.
      child.stdout?.resume()
      if (error) reject(error)
      else resolve(match as RegExpMatchArray)
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** A loopback TCP port free right now (the stock servers cannot report a port 0 back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

// Linux reports CPU times in clock ticks; USER_HZ is 100 on every architecture Node runs on.
const TICKS_PER_SECOND = 100

export interface ProcessSample {
  /** User + system CPU seconds used so far. */
  cpuSeconds: number
  rssBytes: number
}

/** CPU time and resident memory of any process, read from /proc (works for stock servers). */
export function sampleProcess(pid: number): ProcessSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)
  return {
    cpuSeconds: (utime + stime) / TICKS_PER_SECOND,
    rssBytes: rss ? Number(rss[1]) * 1024 : NaN,
  }
}
