// Connections to Redis for the store and the signaling bus: one policy for all of them. Binary
// replies (room updates are bytes), commands rejected at once while disconnected (an append
// must fail, not wait in a queue, so the relay does not acknowledge it), reconnection with
// capped exponential backoff and jitter, and one log line per state change, not per retry.

import { createClient, RESP_TYPES } from '@redis/client'
import type { Logger } from './log'

/** A connected client whose string replies arrive as Buffers. */
export type RedisConnection = ReturnType<typeof createBinaryClient>

export interface RedisConnectOptions {
  url: string
  logger: Logger
  /** What this connection is for (`store`, `follow`, `bus-sub`…): logs and CLIENT LIST. */
  role: string
  /**
   * Queue commands while reconnecting instead of rejecting them. Only for connections whose
   * commands must happen eventually and in order (pub/sub SUBSCRIBE/UNSUBSCRIBE), never for
   * writes a client waits on.
   */
  queueWhileOffline?: boolean
  /** Called each time the connection is ready again after it was lost. */
  onReconnected?: () => void
}

// Startup fails fast: 3 attempts ≈ 0.35 s, enough to ride out a Redis still binding its port,
// short enough that a wrong URL is reported at once instead of hanging the start.
const STARTUP_ATTEMPTS = 3
// After startup, retry forever: 100 ms doubling to 2 s (with jitter, 1–2 s apart), so a Redis
// restart is noticed within ~2 s — presence must be back within 3 s of an outage's end
// (docs/relay.md, "Redis") — while a long outage costs a connection attempt (one TCP connect)
// every 1–2 s per connection, a handful per instance.
const BACKOFF_FIRST_MS = 100
const BACKOFF_MAX_MS = 2_000
// Connecting to a reachable Redis takes milliseconds; a firewall that drops SYNs would
// otherwise hold an attempt for the OS default (minutes).
const CONNECT_TIMEOUT_MS = 5_000

function createBinaryClient(
  options: RedisConnectOptions,
  strategy: (retries: number) => number | Error,
) {
  return createClient({
    url: options.url,
    name: `parley-${options.role}`,
    disableOfflineQueue: !options.queueWhileOffline,
    // RESP2: the reply shapes every Redis-protocol server (Redis ≥ 6.2, Valkey, proxies) speaks.
    RESP: 2,
    // No CLIENT SETINFO / maintenance-notification handshakes: plain protocol only.
    disableClientInfo: true,
    maintNotifications: 'disabled',
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries) => strategy(retries),
    },
    // Note: EXEC replies ignore the type mapping (node-redis 6.3): never read bytes in a MULTI.
    commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
  })
}

/** Connects, or rejects with a readable error if Redis cannot be reached at startup. */
export async function connectRedis(options: RedisConnectOptions): Promise<RedisConnection> {
  const { logger, role } = options
  const where = redactUrl(options.url)
  let started = false
  let down = false
  let lastError = ''
  const client = createBinaryClient(options, (retries) => {
    if (!started && retries >= STARTUP_ATTEMPTS - 1) {
      return new Error(`Cannot reach Redis at ${where}: ${lastError || 'no answer'}`)
    }
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** retries)
    // Full jitter on half the delay, so many instances restarting together do not reconnect
    // in lockstep.
    return Math.round(backoff / 2 + (Math.random() * backoff) / 2)
  })
  client.on('error', (error: Error) => {
    lastError = error.message
    if (!started || down) return
    down = true
    logger.warn('redis.disconnected', { role, url: where, error: error.message })
  })
  client.on('ready', () => {
    if (!started) return
    if (down) {
      logger.info('redis.reconnected', { role, url: where })
      down = false
      options.onReconnected?.()
    }
  })
  try {
    await client.connect()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(
      message.startsWith('Cannot reach Redis')
        ? message
        : `Cannot reach Redis at ${where}: ${message}`,
      { cause: error },
    )
  }
  started = true
  logger.debug('redis.connected', { role, url: where })
  return client
}

/** Closes gracefully (pending replies first), or cuts the socket if Redis is gone. */
export async function closeRedis(client: RedisConnection): Promise<void> {
  if (!client.isOpen) return
  if (!client.isReady) {
    client.destroy()
    return
  }
  try {
    await client.close()
  } catch {
    // Closing a connection that dropped meanwhile: nothing is left to release but the socket.
    client.destroy()
  }
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.href
  } catch {
    return 'redis://(unparseable URL)'
  }
}

/**
 * A Redis key or channel part from untrusted text: every character but [A-Za-z0-9_-] becomes
 * `%` + 4 hex digits of its UTF-16 code unit, so the result never contains `:`, `{`, `}`, `*`,
 * `?` or `[`, and two different inputs never map to the same part (lone surrogates included).
 */
export function escapeKeyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
