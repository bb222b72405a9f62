// The server's configuration: command-line flags win over environment variables, which win over
// defaults. Every bad value is reported with where it came from and what was expected, before
// anything listens.

import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_RELAY_LIMITS,
  DEFAULT_SIGNALING_LIMITS,
  type RelayLimits,
  type SignalingLimits,
} from './limits'
import { LOG_LEVELS, isLogLevel, type LogLevel } from './log'

export type { RelayLimits, SignalingLimits } from './limits'

/** One ICE server as the browser's RTCPeerConnection accepts it. */
export interface RTCIceServerConfig {
  urls: string | string[]
  username?: string
  credential?: string
}

export interface ServerConfig {
  port: number
  host: string
  /** Directory of the built app (`npm run build` output). */
  distDir: string
  /** Handed to browsers through `/config.json`; empty means host candidates only. */
  iceServers: RTCIceServerConfig[]
  limits: SignalingLimits
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy: boolean
  /** Default `info`. Ignored when the caller passes its own logger to startParleyServer. */
  logLevel?: LogLevel
  /** Run the relay on `/relay/<roomId>` (default); off serves signaling and the app only. */
  relay: boolean
  relayLimits: RelayLimits
  /** WebSocket connections one client address may hold open, `/signal` and `/relay` together. */
  maxConnectionsPerIp: number
  /** Where the embedded store keeps rooms (default `./data` in the working directory). */
  dataDir: string
  /** `redis://…`: share signaling, room updates and storage with other instances. */
  redisUrl: string | null
  /** Origins allowed to open WebSockets (exact `scheme://host[:port]`); empty allows any. */
  allowedOrigins: string[]
  /** When set, creating a room on the relay needs the query parameter `key` with this value. */
  operatorKey: string | null
  /** UDP port of the built-in STUN service (default 3478; 0 = any free port); null = off. */
  stunPort: number | null
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export const DEFAULT_HOST = 'localhost'
export const DEFAULT_PORT = 8787
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../dist', import.meta.url))
export const DEFAULT_DATA_DIR = 'data'
export const DEFAULT_STUN_PORT = 3478

interface OptionSpec {
  flag: string
  env: string
  /** Boolean options take no value on the command line. */
  boolean?: true
  description: string
}

const OPTIONS = {
  port: { flag: '--port', env: 'PORT', description: `TCP port (default ${DEFAULT_PORT}; 0 = any)` },
  host: {
    flag: '--host',
    env: 'HOST',
    description: `interface to listen on (default ${DEFAULT_HOST})`,
  },
  distDir: {
    flag: '--dist',
    env: 'PARLEY_DIST_DIR',
    description: 'built app directory (default dist/)',
  },
  iceServers: {
    flag: '--ice-servers',
    env: 'PARLEY_ICE_SERVERS',
    description: 'JSON array of {urls, username?, credential?} (default [])',
  },
  trustProxy: {
    flag: '--trust-proxy',
    env: 'PARLEY_TRUST_PROXY',
    boolean: true,
    description: 'client addresses (limits, logs) from X-Forwarded-For',
  },
  relay: {
    flag: '--relay',
    env: 'PARLEY_RELAY',
    boolean: true,
    description: 'run the relay (default on; --relay=off: signaling and app only)',
  },
  dataDir: {
    flag: '--data-dir',
    env: 'PARLEY_DATA_DIR',
    description: `embedded store directory (default ./${DEFAULT_DATA_DIR})`,
  },
  redisUrl: {
    flag: '--redis',
    env: 'PARLEY_REDIS_URL',
    description: 'redis://host:port/db to scale out over Redis (default: embedded store)',
  },
  allowedOrigins: {
    flag: '--allowed-origins',
    env: 'PARLEY_ALLOWED_ORIGINS',
    description: 'comma-separated origins allowed to connect (default: any)',
  },
  operatorKey: {
    flag: '--operator-key',
    env: 'PARLEY_OPERATOR_KEY',
    description: 'require ?key=<value> to create rooms on the relay (default: open)',
  },
  maxRoomBytes: {
    flag: '--max-room-bytes',
    env: 'PARLEY_MAX_ROOM_BYTES',
    description: `bytes the relay stores per room (default ${DEFAULT_RELAY_LIMITS.maxRoomBytes})`,
  },
  maxConnectionsPerIp: {
    flag: '--max-connections-per-ip',
    env: 'PARLEY_MAX_CONNECTIONS_PER_IP',
    description: `WebSockets per client address (default ${DEFAULT_MAX_CONNECTIONS_PER_IP})`,
  },
  stunPort: {
    flag: '--stun-port',
    env: 'PARLEY_STUN_PORT',
    description: `UDP port of the STUN service, or "off" (default ${DEFAULT_STUN_PORT})`,
  },
  logLevel: {
    flag: '--log-level',
    env: 'PARLEY_LOG_LEVEL',
    description: `one of ${LOG_LEVELS.join(', ')} (default info)`,
  },
} as const satisfies Record<string, OptionSpec>

type OptionName = keyof typeof OPTIONS

/** Usage text for `--help`, generated from the same table the parser reads. */
export function usage(): string {
  const lines = Object.values(OPTIONS).map((spec: OptionSpec) => {
    const flag = spec.boolean ? spec.flag : `${spec.flag} <value>`
    return `  ${flag.padEnd(34)} ${spec.env.padEnd(30)} ${spec.description}`
  })
  return ['Usage: parley-server [options]', '', `  ${'flag'.padEnd(34)} env`, ...lines].join('\n')
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const flags = parseFlags(argv)
  // A raw value and the name of where it came from, for error messages.
  const raw = (name: OptionName): { value: string; source: string } | undefined => {
    const spec: OptionSpec = OPTIONS[name]
    const fromFlag = flags.get(spec.flag)
    if (fromFlag !== undefined) return { value: fromFlag, source: spec.flag }
    const fromEnv = env[spec.env]
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: spec.env }
    return undefined
  }

  const port = raw('port')
  const host = raw('host')
  const distDir = raw('distDir')
  const iceServers = raw('iceServers')
  const trustProxy = raw('trustProxy')
  const logLevel = raw('logLevel')
  const relay = raw('relay')
  const dataDir = raw('dataDir')
  const redisUrl = raw('redisUrl')
  const allowedOrigins = raw('allowedOrigins')
  const operatorKey = raw('operatorKey')
  const stunPort = raw('stunPort')
  const maxRoomBytes = raw('maxRoomBytes')
  const maxConnectionsPerIp = raw('maxConnectionsPerIp')
  return {
    port: port ? parsePort(port.value, port.source) : DEFAULT_PORT,
    host: host ? parseHost(host.value, host.source) : DEFAULT_HOST,
    distDir: distDir ? resolve(distDir.value) : DEFAULT_DIST_DIR,
    iceServers: iceServers ? parseIceServers(iceServers.value, iceServers.source) : [],
    limits: { ...DEFAULT_SIGNALING_LIMITS },
    trustProxy: trustProxy ? parseBoolean(trustProxy.value, trustProxy.source) : false,
    logLevel: logLevel ? parseLogLevel(logLevel.value, logLevel.source) : 'info',
    relay: relay ? parseBoolean(relay.value, relay.source) : true,
    relayLimits: maxRoomBytes
      ? relayLimitsForRoomBytes(parsePositiveInteger(maxRoomBytes.value, maxRoomBytes.source))
      : { ...DEFAULT_RELAY_LIMITS },
    maxConnectionsPerIp: maxConnectionsPerIp
      ? parsePositiveInteger(maxConnectionsPerIp.value, maxConnectionsPerIp.source)
      : DEFAULT_MAX_CONNECTIONS_PER_IP,
    dataDir: resolve(dataDir ? dataDir.value : DEFAULT_DATA_DIR),
    redisUrl: redisUrl ? parseRedisUrl(redisUrl.value, redisUrl.source) : null,
    allowedOrigins: allowedOrigins ? parseOrigins(allowedOrigins.value, allowedOrigins.source) : [],
    operatorKey: operatorKey ? parseOperatorKey(operatorKey.value, operatorKey.source) : null,
    stunPort: stunPort ? parseStunPort(stunPort.value, stunPort.source) : DEFAULT_STUN_PORT,
  }
}

function parseFlags(argv: string[]): Map<string, string> {
  const specs = new Map<string, OptionSpec>(
    Object.values(OPTIONS).map((spec: OptionSpec) => [spec.flag, spec]),
  )
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg
    const spec = specs.get(flag)
    if (!spec) {
      throw new ConfigError(`Unknown argument "${arg}". Known flags:\n${usage()}`)
    }
    if (spec.boolean) {
      flags.set(flag, eq === -1 ? 'true' : arg.slice(eq + 1))
    } else if (eq !== -1) {
      flags.set(flag, arg.slice(eq + 1))
    } else {
      const value = argv[i + 1]
      if (value === undefined || value.startsWith('--')) {
        throw new ConfigError(`${flag} needs a value`)
      }
      flags.set(flag, value)
      i++
    }
  }
  return flags
}

function parsePort(value: string, source: string): number {
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isInteger(port) || port > 65535) {
    throw new ConfigError(`${source}: "${value}" is not a port; expected an integer 0–65535`)
  }
  return port
}

function parseHost(value: string, source: string): string {
  const host = value.trim()
  if (host === '' || /[\s/]/.test(host)) {
    throw new ConfigError(`${source}: "${value}" is not a host name or address`)
  }
  // Accept "[::1]" as well as "::1": listen() wants the bare address.
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}

function parseBoolean(value: string, source: string): boolean {
  const normalized = value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(normalized)) return true
  if (['0', 'false', 'no', 'off'].includes(normalized)) return false
  throw new ConfigError(`${source}: "${value}" is not a boolean; expected true or false`)
}

function parseRedisUrl(value: string, source: string): string {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    throw new ConfigError(`${source}: "${value}" is not a URL; expected redis://host:port`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`${source}: "${value}" must start with redis:// or rediss://`)
  }
  return url.href
}

function parseOrigins(value: string, source: string): string[] {
  return value
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
    .map((origin) => {
      let url: URL
      try {
        url = new URL(origin)
      } catch {
        throw new ConfigError(`${source}: "${origin}" is not an origin; expected https://host`)
      }
      if (url.origin !== origin.replace(/\/$/, '')) {
        throw new ConfigError(
          `${source}: "${origin}" is not an origin; expected scheme://host[:port]`,
        )
      }
      return url.origin
    })
}

function parseOperatorKey(value: string, source: string): string {
  // The key travels in a query string: keep it to URL-safe characters and long enough to guess.
  if (!/^[A-Za-z0-9_~.-]{16,256}$/.test(value)) {
    throw new ConfigError(
      `${source}: the operator key must be 16–256 characters of A–Z a–z 0–9 _ ~ . -`,
    )
  }
  return value
}

function parsePositiveInteger(value: string, source: string): number {
  const number = /^\d{1,15}$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new ConfigError(`${source}: "${value}" is not a positive integer`)
  }
  return number
}

function relayLimitsForRoomBytes(maxRoomBytes: number): RelayLimits {
  // A client may have to push a whole room in one frame (y-websocket cannot split a sync step
  // 2), so the frame and slow-reader limits grow with the room limit; they never shrink.
  const defaults = DEFAULT_RELAY_LIMITS
  const maxPayloadBytes = Math.max(defaults.maxPayloadBytes, maxRoomBytes + 1024)
  return {
    ...defaults,
    maxRoomBytes,
    maxPayloadBytes,
    maxBufferedBytes: Math.max(defaults.maxBufferedBytes, 2 * maxPayloadBytes),
    byteBurst: Math.max(defaults.byteBurst, 2 * maxPayloadBytes),
  }
}

function parseStunPort(value: string, source: string): number | null {
  if (value.trim().toLowerCase() === 'off') return null
  return parsePort(value, source)
}

function parseLogLevel(value: string, source: string): LogLevel {
  if (!isLogLevel(value)) {
    throw new ConfigError(
      `${source}: "${value}" is not a log level; expected one of ${LOG_LEVELS.join(', ')}`,
    )
  }
  return value
}

const ICE_URL_SCHEMES = ['stun:', 'stuns:', 'turn:', 'turns:']

export function parseIceServers(value: string, source: string): RTCIceServerConfig[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (error) {
    throw new ConfigError(`${source}: not valid JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(parsed)) {
    throw new ConfigError(`${source}: expected a JSON array of {urls, username?, credential?}`)
  }
  return parsed.map((entry: unknown, index) => parseIceServer(entry, `${source}[${index}]`))
}

function parseIceServer(entry: unknown, where: string): RTCIceServerConfig {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ConfigError(`${where}: expected an object {urls, username?, credential?}`)
  }
  const { urls, username, credential, ...rest } = entry as Record<string, unknown>
  const unknownKeys = Object.keys(rest)
  if (unknownKeys.length > 0) {
    throw new ConfigError(`${where}: unknown field(s) ${unknownKeys.join(', ')}`)
  }
  const urlList = typeof urls === 'string' ? [urls] : urls
  if (
    !Array.isArray(urlList) ||
    urlList.length === 0 ||
    !urlList.every((url): url is string => typeof url === 'string')
  ) {
    throw new ConfigError(`${where}.urls: expected a string or a non-empty array of strings`)
  }
  for (const url of urlList) {
    if (!ICE_URL_SCHEMES.some((scheme) => url.toLowerCase().startsWith(scheme))) {
      throw new ConfigError(`${where}.urls: "${url}" must start with ${ICE_URL_SCHEMES.join(' ')}`)
    }
  }
  if (username !== undefined && typeof username !== 'string') {
    throw new ConfigError(`${where}.username: expected a string`)
  }
  if (credential !== undefined && typeof credential !== 'string') {
    throw new ConfigError(`${where}.credential: expected a string`)
  }
  // Browsers throw when building the peer connection if a TURN server lacks credentials:
  // fail here, at startup, instead of in every user's tab.
  const needsCredentials = urlList.some((url) => url.toLowerCase().startsWith('turn'))
  if (needsCredentials && (username === undefined || credential === undefined)) {
    throw new ConfigError(`${where}: TURN servers need both username and credential`)
  }
  const server: RTCIceServerConfig = { urls: urls as string | string[] }
  if (username !== undefined) server.username = username
  if (credential !== undefined) server.credential = credential
  return server
}
