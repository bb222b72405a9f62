// The servers the relay and signaling benchmarks compare, each started the same way: its own
// Node process on a loopback port, read back from its first line of output. Parley's server is
// `signaling/main.ts` itself with a temp data dir; the stock servers run their own entry points
// unchanged (preloaded with loopback-only.mjs so they do not listen on every interface).
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { roomIdForToken } from '../../../signaling/relay/room-access'
import type { LoadProtocol, RoomTarget } from './load-protocol'
import {
  freePort,
  sampleProcess,
  spawnNode,
  stop,
  tempDir,
  waitForOutput,
  type ProcessSample,
} from './processes'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const here = fileURLToPath(new URL('.', import.meta.url))
const loopbackOnly = join(here, 'loopback-only.mjs')
const exitOnSigterm = join(here, 'exit-on-sigterm.mjs')

export type PeerName =
  | 'parley'
  | 'y-websocket'
  | 'hocuspocus'
  | 'raw-immediate'
  | 'raw-batch'
  | 'y-webrtc-signaling'
  | 'raw-echo'

export const PEER_LABELS: Record<PeerName, string> = {
  parley: 'Parley',
  'y-websocket': '@y/websocket-server 0.1.1',
  hocuspocus: 'Hocuspocus 3',
  'raw-immediate': 'raw ws forwarder',
  'raw-batch': 'raw ws forwarder, batching per turn',
  'y-webrtc-signaling': 'y-webrtc signaling server',
  'raw-echo': 'raw ws forwarder',
}

export interface PeerServer {
  readonly name: PeerName
  readonly pid: number
  readonly protocol: LoadProtocol
  /** Where clients of room `i` connect (relay benchmark). */
  room(i: number): RoomTarget
  /** The signaling URL (signaling benchmark); raw forwarders take a topic as the path. */
  signalUrl(topic: string): string
  sample(): ProcessSample
  stop(): Promise<void>
}

/** Set PARLEY_BENCH_PROFILE=<dir> to run every server under `node --cpu-prof` into <dir>/<name>. */
const profileDir = process.env.PARLEY_BENCH_PROFILE

export async function startPeer(name: PeerName): Promise<PeerServer> {
  let args: string[]
  let env: NodeJS.ProcessEnv = {}
  let ready: RegExp
  let port: number | null = null
  switch (name) {
    case 'parley': {
      const scratch = tempDir('parley-bench-server-')
      args = [
        '--import',
        'tsx',
        join(root, 'signaling/main.ts'),
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data-dir',
        join(scratch, 'data'),
        '--dist',
        join(scratch, 'dist'),
        '--stun-port',
        'off',
        // Every load client comes from 127.0.0.1.
        '--max-connections-per-ip',
        '100000',
        '--log-level',
        'warn',
      ]
      ready = /Parley running at http:\/\/[^:]+:(\d+)/
      break
    }
    case 'y-websocket':
      port = await freePort()
      args = [
        '--import',
        loopbackOnly,
        join(root, 'node_modules/@y/websocket-server/src/server.js'),
      ]
      env = { HOST: '127.0.0.1', PORT: String(port) }
      ready = /running at/
      break
    case 'y-webrtc-signaling':
      port = await freePort()
      args = ['--import', loopbackOnly, join(root, 'node_modules/y-webrtc/bin/server.js')]
      env = { PORT: String(port) }
      ready = /Signaling server running/
      break
    case 'hocuspocus':
      args = ['--import', 'tsx', join(here, 'hocuspocus-server.ts')]
      ready = /listening (\d+)/
      break
    case 'raw-immediate':
    case 'raw-batch':
    case 'raw-echo':
      args = [
        '--import',
        'tsx',
        join(here, 'raw-forwarder.ts'),
        name === 'raw-batch' ? 'batch' : 'immediate',
        ...(name === 'raw-echo' ? ['--echo'] : []),
      ]
      ready = /listening (\d+)/
      break
  }
  if (profileDir) {
    // Parley and Hocuspocus exit cleanly on SIGTERM already.
    const needsExit = name !== 'parley' && name !== 'hocuspocus'
    args = [
      '--cpu-prof',
      '--cpu-prof-dir',
      join(profileDir, name),
      ...(needsExit ? ['--import', exitOnSigterm] : []),
      ...args,
    ]
  }
  const child = spawnNode(args, { env, cwd: root })
  const match = await waitForOutput(child, ready)
  const boundPort = port ?? Number(match[1])
  const base = `ws://127.0.0.1:${boundPort}`
  const tokens = new Map<number, string>()
  const protocol: LoadProtocol =
    name === 'parley' || name === 'y-websocket'
      ? 'y-websocket'
      : name === 'hocuspocus'
        ? 'hocuspocus'
        : 'raw'
  return {
    name,
    pid: child.pid ?? 0,
    protocol,
    room(i): RoomTarget {
      if (name === 'parley') {
        let token = tokens.get(i)
        if (!token) tokens.set(i, (token = randomBytes(32).toString('base64url')))
        return { base: `${base}/relay`, room: roomIdForToken(token), params: { token } }
      }
      return { base, room: `room-${i}`, params: {} }
    },
    signalUrl(topic) {
      if (name === 'parley') return `${base}/signal`
      if (name === 'y-webrtc-signaling') return base
      return `${base}/${topic}`
    },
    sample: () => sampleProcess(child.pid ?? 0),
    stop: () => stop(child),
  }
}
