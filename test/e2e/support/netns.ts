// Network topologies for browser end-to-end tests, built from Linux network namespaces.
// A Topology owns every namespace, link, iptables rule and child process it creates and
// removes all of them in destroy(); nothing is ever attached to the machine's own namespace.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  access,
  constants,
  link,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Namespace names are `pl<4 base36 chars>-<role>`; the sweep only ever touches this pattern. */
const NETNS_NAME = /^(pl[0-9a-z]{4})-[a-z0-9]+$/
/** Who owns which run id: a pid file per live run (tmpfs, so it vanishes on reboot with the namespaces). */
const REGISTRY_DIR = '/run/parley-e2e'
/** All addresses live in 10.231.0.0/16, only ever inside namespaces this module creates. */
const ADDRESS_BASE = '10.231'
/** Client i gets subnet 10.231.(CLIENT_SUBNET_OFFSET + i).0/24; 0..9 stay for server/public. */
const CLIENT_SUBNET_OFFSET = 10
/** Enough for any test we foresee, and it keeps every subnet inside one /16. */
const MAX_CLIENTS = 20
/** `ip`/`iptables` finish in milliseconds; a command taking this long is stuck, not slow. */
const COMMAND_TIMEOUT_MS = 15_000
/** A node fixture prints its ready line well within a second; 15 s covers a loaded CI box. */
const DEFAULT_READY_TIMEOUT_MS = 15_000
/** Grace for SIGTERM before SIGKILL: servers close sockets quickly, and cleanup must stay fast. */
const KILL_GRACE_MS = 2_000

/** When this module was loaded: namespaces of dead runs created before it are stale. */
const RUN_STARTED_AT_MS = Date.now()

export type TopologyKind = 'lan' | 'isolated' | 'nat'

export interface TopologySpec {
  /**
   * - `lan`: server and clients on separate /24s joined by one forwarding router.
   * - `isolated`: as `lan`, but the router drops traffic between client subnets.
   * - `nat`: server on a public segment; each client behind its own masquerading NAT router.
   */
  kind: TopologyKind
  /** Number of client hosts (1..20). */
  clients: number
}

export interface ExecResult {
  stdout: string
  stderr: string
}

export interface ExecOptions {
  /** Defaults to COMMAND_TIMEOUT_MS. */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
}

export interface StartNodeOptions {
  /** A stdout line matching this means the process is ready. Default: /listening/i. */
  ready?: RegExp
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Prefix for the process's stderr lines echoed to the test output; defaults to the host name. */
  label?: string
}

export interface NodeProcess {
  readonly child: ChildProcess
  /** The stdout line that matched `ready`, and its match (for reading back a port). */
  readonly readyLine: string
  readonly match: RegExpMatchArray
  /** Everything the process wrote so far, for assertions and failure messages. */
  output(): { stdout: string; stderr: string }
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
  stop(): Promise<void>
}

export interface NetnsHost {
  /** Logical name: `server`, `client0`, `router`, `nat0`, … */
  readonly name: string
  /** The network namespace this host lives in. */
  readonly netns: string
  /** Address on the host's own interface. */
  readonly address: string
  /** The /24 the host's interface is on, e.g. `10.231.10.0/24`. */
  readonly subnet: string
  /** Source address the server sees for this host: the NAT's outside address behind a NAT. */
  readonly publicAddress: string
  /** Run `cmd args` inside the namespace; rejects with the command line and its stderr. */
  exec(cmd: string, args?: readonly string[], opts?: ExecOptions): Promise<ExecResult>
  /** Spawn `cmd args` inside the namespace; the process is killed by Topology.destroy(). */
  spawn(cmd: string, args?: readonly string[], opts?: SpawnOptions): ChildProcess
  /** Run `node args` inside the namespace and wait for its ready line; killed on destroy(). */
  startNode(args: readonly string[], opts?: StartNodeOptions): Promise<NodeProcess>
}

export interface Topology {
  /** Run id, the prefix of every namespace name (`pl` + 4 base36 chars). */
  readonly id: string
  readonly kind: TopologyKind
  readonly server: NetnsHost
  readonly clients: readonly NetnsHost[]
  /** The forwarding router (`lan`, `isolated`) or the NAT routers (`nat`), for tests that cut links. */
  readonly routers: readonly NetnsHost[]
  /** Every namespace this topology created. */
  readonly namespaces: readonly string[]
  /** Kill child processes, delete every namespace (and with it links and rules). Idempotent. */
  destroy(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Commands

function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ')
}

/** Run a command to completion; the error names the command, its exit status and its stderr. */
export function run(
  cmd: string,
  args: readonly string[] = [],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? COMMAND_TIMEOUT_MS,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) {
          const status = error.killed ? `killed (${String(error.signal)})` : `code ${error.code}`
          const detail = stderr.trim() || stdout.trim() || error.message
          reject(new Error(`\`${formatCommand(cmd, args)}\` failed with ${status}: ${detail}`))
          return
        }
        resolve({ stdout, stderr })
      },
    )
  })
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

async function findOnPath(binary: string): Promise<string | undefined> {
  // PATH only: `run('ip', …)` and the browser wrapper script find their tools through it too.
  const dirs = (process.env.PATH ?? '').split(':')
  for (const dir of dirs) {
    if (dir && (await isExecutable(`${dir}/${binary}`))) return `${dir}/${binary}`
  }
  return undefined
}

/**
 * Throws one message naming everything missing for namespace tests: root, `ip`, `iptables`,
 * Chromium. Call it in `beforeAll` so a machine without them fails clearly and early.
 */
export async function requireNetnsSupport(): Promise<void> {
  const missing: string[] = []
  if (process.getuid?.() !== 0) missing.push('root (run the e2e tests as uid 0)')
  if (!(await findOnPath('ip'))) missing.push('`ip` on PATH (apt-get install -y iproute2)')
  if (!(await findOnPath('iptables')))
    missing.push('`iptables` on PATH (apt-get install -y iptables)')
  if (!(await isExecutable(CHROMIUM_PATH))) {
    missing.push(`${CHROMIUM_PATH} (apt-get install -y chromium)`)
  }
  if (missing.length > 0) {
    throw new Error(
      `Browser e2e tests need network namespaces (see TESTING.md); missing: ${missing.join(', ')}`,
    )
  }
}

// ---------------------------------------------------------------------------------------------
// Run ids, registry and the sweep of crashed runs

const SCRATCH_DIR_PREFIX = 'parley-e2e-'

/**
 * Prefix for `mkdtemp` of files that belong to processes in `netns` (browser profiles, wrapper
 * scripts). Topology.destroy() and the sweep remove whatever is left under it for their run.
 */
export function scratchDirPrefix(netns: string): string {
  return join(tmpdir(), `${SCRATCH_DIR_PREFIX}${netns}-`)
}

async function removeScratchDirs(id: string): Promise<void> {
  const mine = (await readdir(tmpdir())).filter((e) => e.startsWith(`${SCRATCH_DIR_PREFIX}${id}-`))
  await Promise.all(mine.map((e) => rm(join(tmpdir(), e), { recursive: true, force: true })))
}

async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list'])
  // Lines look like `name` or `name (id: 3)`.
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.length > 0)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but is not ours to signal — still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isRegistryEntry(value: unknown): value is { pid: number; startedAt: number } {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  return typeof entry.pid === 'number' && typeof entry.startedAt === 'number'
}

async function readOwner(id: string): Promise<{ pid: number; startedAt: number } | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(`${REGISTRY_DIR}/${id}.json`, 'utf8'))
    return isRegistryEntry(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

async function namespaceCreatedAt(name: string): Promise<number> {
  try {
    return (await stat(`/run/netns/${name}`)).mtimeMs
  } catch {
    return 0
  }
}

async function killNamespaceProcesses(netns: string): Promise<void> {
  let pids: number[]
  try {
    const { stdout } = await run('ip', ['netns', 'pids', netns])
    pids = stdout
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0)
  } catch {
    return // The namespace is already gone.
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
    }
  }
}

async function deleteNamespace(netns: string): Promise<void> {
  await killNamespaceProcesses(netns)
  try {
    await run('ip', ['netns', 'del', netns])
  } catch (error) {
    if (!(await listNamespaces()).includes(netns)) return // Deleted concurrently: fine.
    throw error
  }
}

/**
 * Delete namespaces left by crashed runs: names matching our pattern whose owning process is
 * dead (or unrecorded) and that were created before this run started. Live parallel runs are
 * left alone. Returns the namespaces it removed.
 */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const removed: string[] = []
  const byRun = new Map<string, string[]>()
  for (const name of await listNamespaces()) {
    const id = NETNS_NAME.exec(name)?.[1]
    if (id) byRun.set(id, [...(byRun.get(id) ?? []), name])
  }
  for (const [id, names] of byRun) {
    const owner = await readOwner(id)
    if (owner && isAlive(owner.pid)) continue
    const createdAt = Math.min(...(await Promise.all(names.map(namespaceCreatedAt))))
    if (createdAt >= RUN_STARTED_AT_MS) continue
    for (const name of names) {
      await deleteNamespace(name)
      removed.push(name)
    }
    await removeScratchDirs(id)
    await rm(`${REGISTRY_DIR}/${id}.json`, { force: true })
  }
  // Registry entries whose run died after removing its namespaces but before its pid file.
  try {
    for (const file of await readdir(REGISTRY_DIR)) {
      if (!file.endsWith('.json')) continue
      const id = file.replace(/\.json$/, '')
      if (byRun.has(id)) continue
      const owner = await readOwner(id)
      if (owner && isAlive(owner.pid)) continue
      await removeScratchDirs(id)
      await rm(`${REGISTRY_DIR}/${file}`, { force: true })
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (removed.length > 0) {
    console.warn(`[netns] removed stale namespaces of crashed runs: ${removed.join(', ')}`)
  }
  return removed
}

async function claimRunId(): Promise<string> {
  await mkdir(REGISTRY_DIR, { recursive: true })
  const taken = new Set((await listNamespaces()).map((name) => NETNS_NAME.exec(name)?.[1]))
  for (let attempt = 0; attempt < 20; attempt++) {
    const suffix = [...randomBytes(4)].map((b) => (b % 36).toString(36)).join('')
    const id = `pl${suffix}`
    if (taken.has(id)) continue
    // Write then hard-link: the entry appears atomically and complete (a sweeping run never
    // reads a half-written file), and link() fails if another run claimed the same id.
    const draft = `${REGISTRY_DIR}/.${id}.${process.pid}.tmp`
    await writeFile(draft, JSON.stringify({ pid: process.pid, startedAt: Date.now() }))
    try {
      await link(draft, `${REGISTRY_DIR}/${id}.json`)
      return id
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    } finally {
      await rm(draft, { force: true })
    }
  }
  throw new Error('could not find a free network namespace run id after 20 attempts')
}

// ---------------------------------------------------------------------------------------------
// Hosts and processes

class ProcessRegistry {
  private readonly children = new Set<ChildProcess>()

  track(child: ChildProcess): void {
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => stopChild(child)))
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** SIGTERM the child's process group, SIGKILL after KILL_GRACE_MS; resolves on exit. */
function stopChild(child: ChildProcess): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return Promise.resolve()
  const pid = child.pid
  const signal = (sig: NodeJS.Signals): void => {
    try {
      // Children are spawned detached, so -pid is their whole process group.
      process.kill(-pid, sig)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
    }
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    signal('SIGTERM')
  })
}

function startNodeProcess(
  host: NetnsHost,
  args: readonly string[],
  opts: StartNodeOptions,
): Promise<NodeProcess> {
  const ready = opts.ready ?? /listening/i
  const timeoutMs = opts.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  const label = opts.label ?? host.name
  const spawnOpts: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'] }
  if (opts.env) spawnOpts.env = opts.env
  if (opts.cwd) spawnOpts.cwd = opts.cwd
  const child = host.spawn(process.execPath, args, spawnOpts)
  let stdout = ''
  let stderr = ''
  const output = (): { stdout: string; stderr: string } => ({ stdout, stderr })
  const describe = `node ${args.join(' ')} in ${host.netns}`

  return new Promise<NodeProcess>((resolve, reject) => {
    let settled = false
    const fail = (reason: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      void stopChild(child)
      reject(new Error(`${describe}: ${reason}\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }
    const timer = setTimeout(
      () => fail(`no line matching ${ready} within ${timeoutMs} ms`),
      timeoutMs,
    )
    child.once('error', (error) => fail(`could not start: ${error.message}`))
    child.once('exit', (code, sig) => fail(`exited (${sig ?? `code ${code}`}) before ready`))
    if (!child.stdout || !child.stderr) {
      fail('spawned without stdout/stderr pipes')
      return
    }
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderr += `${line}\n`
      console.error(`[${label}] ${line}`)
    })
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout += `${line}\n`
      const match = settled ? null : line.match(ready)
      if (!match) return
      settled = true
      clearTimeout(timer)
      resolve({ child, readyLine: line, match, output, stop: () => stopChild(child) })
    })
  })
}

function makeHost(
  processes: ProcessRegistry,
  fields: Pick<NetnsHost, 'name' | 'netns' | 'address' | 'subnet' | 'publicAddress'>,
): NetnsHost {
  const host: NetnsHost = {
    ...fields,
    exec: (cmd, args = [], opts = {}) =>
      run('ip', ['netns', 'exec', fields.netns, cmd, ...args], opts),
    spawn: (cmd, args = [], opts = {}) => {
      // Detached: its own process group, so stopChild can signal everything it started.
      const child = spawn('ip', ['netns', 'exec', fields.netns, cmd, ...args], {
        stdio: 'pipe',
        ...opts,
        detached: true,
      })
      processes.track(child)
      return child
    },
    startNode: (args, opts = {}) => startNodeProcess(host, args, opts),
  }
  return host
}

// ---------------------------------------------------------------------------------------------
// Building topologies

interface Link {
  /** Namespace and interface name of each end; `address` in CIDR form, or none (bridge port). */
  a: { netns: string; ifname: string; address?: string }
  b: { netns: string; ifname: string; address?: string }
}

function subnetOf(third: number): { subnet: string; at: (host: number) => string } {
  return {
    subnet: `${ADDRESS_BASE}.${third}.0/24`,
    at: (host) => `${ADDRESS_BASE}.${third}.${host}`,
  }
}

class TopologyBuilder {
  readonly namespaces: string[] = []
  readonly processes = new ProcessRegistry()

  constructor(readonly id: string) {}

  async addNamespace(role: string): Promise<string> {
    const netns = `${this.id}-${role}`
    await run('ip', ['netns', 'add', netns])
    this.namespaces.push(netns)
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up'])
    return netns
  }

  /** A veth pair created directly between two of our namespaces (never in the root one). */
  async link({ a, b }: Link): Promise<void> {
    await run('ip', [
      ...['-n', a.netns, 'link', 'add', a.ifname, 'type', 'veth'],
      ...['peer', 'name', b.ifname, 'netns', b.netns],
    ])
    for (const end of [a, b]) {
      if (end.address) {
        await run('ip', ['-n', end.netns, 'addr', 'add', end.address, 'dev', end.ifname])
      }
      await run('ip', ['-n', end.netns, 'link', 'set', end.ifname, 'up'])
    }
  }

  async enableForwarding(netns: string): Promise<void> {
    await run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  }

  async defaultRoute(netns: string, via: string): Promise<void> {
    await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', via])
  }

  async iptables(netns: string, args: readonly string[]): Promise<void> {
    await run('ip', ['netns', 'exec', netns, 'iptables', '-w', ...args])
  }

  host(fields: Pick<NetnsHost, 'name' | 'netns' | 'address' | 'subnet' | 'publicAddress'>) {
    return makeHost(this.processes, fields)
  }

  async destroy(): Promise<void> {
    await this.processes.stopAll()
    const errors: string[] = []
    for (const netns of this.namespaces) {
      try {
        await deleteNamespace(netns)
      } catch (error) {
        errors.push((error as Error).message)
      }
    }
    // Left behind when a browser in one of our namespaces was not closed before destroy().
    await removeScratchDirs(this.id)
    await rm(`${REGISTRY_DIR}/${this.id}.json`, { force: true })
    if (errors.length > 0) throw new Error(`cleanup of ${this.id} failed:\n${errors.join('\n')}`)
  }
}

interface Built {
  server: NetnsHost
  clients: NetnsHost[]
  routers: NetnsHost[]
}

/** Server on 10.231.0.0/24 and client i on 10.231.(10+i).0/24, all joined by one router. */
async function buildRouted(b: TopologyBuilder, spec: TopologySpec): Promise<Built> {
  const routerNs = await b.addNamespace('rtr')
  await b.enableForwarding(routerNs)
  const serverNet = subnetOf(0)
  const serverNs = await b.addNamespace('srv')
  await b.link({
    a: { netns: serverNs, ifname: 'eth0', address: `${serverNet.at(2)}/24` },
    b: { netns: routerNs, ifname: 'srv', address: `${serverNet.at(1)}/24` },
  })
  await b.defaultRoute(serverNs, serverNet.at(1))
  const server = b.host({
    name: 'server',
    netns: serverNs,
    address: serverNet.at(2),
    subnet: serverNet.subnet,
    publicAddress: serverNet.at(2),
  })

  const clients: NetnsHost[] = []
  for (let i = 0; i < spec.clients; i++) {
    const net = subnetOf(CLIENT_SUBNET_OFFSET + i)
    const netns = await b.addNamespace(`c${i}`)
    await b.link({
      a: { netns, ifname: 'eth0', address: `${net.at(2)}/24` },
      b: { netns: routerNs, ifname: `c${i}`, address: `${net.at(1)}/24` },
    })
    await b.defaultRoute(netns, net.at(1))
    clients.push(
      b.host({
        name: `client${i}`,
        netns,
        address: net.at(2),
        subnet: net.subnet,
        publicAddress: net.at(2),
      }),
    )
  }

  if (spec.kind === 'isolated') {
    // Every ordered pair: clients cannot reach each other, but all still reach the server.
    for (const from of clients) {
      for (const to of clients) {
        if (from === to) continue
        await b.iptables(routerNs, [
          '-A',
          'FORWARD',
          '-s',
          from.subnet,
          '-d',
          to.subnet,
          '-j',
          'DROP',
        ])
      }
    }
  }

  const router = b.host({
    name: 'router',
    netns: routerNs,
    address: serverNet.at(1),
    subnet: serverNet.subnet,
    publicAddress: serverNet.at(1),
  })
  return { server, clients, routers: [router] }
}

/**
 * A "public" bridge segment 10.231.0.0/24 holding the server (.2) and each NAT router's outside
 * interface (.10+i); client i sits on private 10.231.(10+i).0/24 behind NAT router i.
 */
async function buildNat(b: TopologyBuilder, spec: TopologySpec): Promise<Built> {
  const publicNet = subnetOf(0)
  const switchNs = await b.addNamespace('pub')
  await run('ip', ['-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge'])
  await run('ip', ['-n', switchNs, 'link', 'set', 'br0', 'up'])
  const plug = async (port: string): Promise<void> => {
    await run('ip', ['-n', switchNs, 'link', 'set', port, 'master', 'br0'])
  }

  const serverNs = await b.addNamespace('srv')
  await b.link({
    a: { netns: serverNs, ifname: 'eth0', address: `${publicNet.at(2)}/24` },
    b: { netns: switchNs, ifname: 'p-srv' },
  })
  await plug('p-srv')
  // No default route: like a server on the internet, it has no way into private networks.
  const server = b.host({
    name: 'server',
    netns: serverNs,
    address: publicNet.at(2),
    subnet: publicNet.subnet,
    publicAddress: publicNet.at(2),
  })

  const clients: NetnsHost[] = []
  const routers: NetnsHost[] = []
  for (let i = 0; i < spec.clients; i++) {
    const outside = publicNet.at(CLIENT_SUBNET_OFFSET + i)
    const privateNet = subnetOf(CLIENT_SUBNET_OFFSET + i)
    const natNs = await b.addNamespace(`nat${i}`)
    await b.enableForwarding(natNs)
    await b.link({
      a: { netns: natNs, ifname: 'wan0', address: `${outside}/24` },
      b: { netns: switchNs, ifname: `p-nat${i}` },
    })
    await plug(`p-nat${i}`)
    const clientNs = await b.addNamespace(`c${i}`)
    await b.link({
      a: { netns: clientNs, ifname: 'eth0', address: `${privateNet.at(2)}/24` },
      b: { netns: natNs, ifname: 'lan0', address: `${privateNet.at(1)}/24` },
    })
    await b.defaultRoute(clientNs, privateNet.at(1))
    await b.iptables(natNs, ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan0', '-j', 'MASQUERADE'])
    // Without this, the peer's first inbound ICE check is tracked as traffic to the router
    // itself, the NAT must then pick another port for our outbound flow, and hole punching
    // fails (TESTING.md). Replies to masqueraded flows are forwarded, not INPUT, so they pass.
    await b.iptables(natNs, ['-A', 'INPUT', '-i', 'wan0', '-j', 'DROP'])
    clients.push(
      b.host({
        name: `client${i}`,
        netns: clientNs,
        address: privateNet.at(2),
        subnet: privateNet.subnet,
        publicAddress: outside,
      }),
    )
    routers.push(
      b.host({
        name: `nat${i}`,
        netns: natNs,
        address: outside,
        subnet: publicNet.subnet,
        publicAddress: outside,
      }),
    )
  }
  return { server, clients, routers }
}

/**
 * Build a topology in fresh namespaces named `<run id>-<role>`. Sweeps stale namespaces of
 * crashed runs first. On any setup failure everything created so far is removed again.
 * Always pair with `await topology.destroy()` in `finally`/`afterAll`.
 */
export async function createTopology(spec: TopologySpec): Promise<Topology> {
  if (!Number.isInteger(spec.clients) || spec.clients < 1 || spec.clients > MAX_CLIENTS) {
    throw new Error(`clients must be an integer in 1..${MAX_CLIENTS}, got ${spec.clients}`)
  }
  await requireNetnsSupport()
  await sweepStaleNamespaces()
  const builder = new TopologyBuilder(await claimRunId())
  let built: Built
  try {
    built = spec.kind === 'nat' ? await buildNat(builder, spec) : await buildRouted(builder, spec)
  } catch (error) {
    await builder.destroy().catch((cleanupError: unknown) => {
      console.error(`[netns] cleanup after failed setup also failed: ${String(cleanupError)}`)
    })
    throw error
  }
  let destroyed: Promise<void> | undefined
  return {
    id: builder.id,
    kind: spec.kind,
    ...built,
    namespaces: [...builder.namespaces],
    destroy: () => (destroyed ??= builder.destroy()),
  }
}

/** Namespaces currently present whose name belongs to run `id` (empty after destroy()). */
export async function namespacesOf(id: string): Promise<string[]> {
  return (await listNamespaces()).filter((name) => name.startsWith(`${id}-`))
}
