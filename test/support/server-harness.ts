// Starts a real Parley server for a test: port 0 on 127.0.0.1, logs captured instead of printed,
// an empty temporary dist directory unless the test brings its own. `close()` removes it all.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RelayLimits, ServerConfig, SignalingLimits } from '../../signaling/config'
import {
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_RELAY_LIMITS,
  DEFAULT_SIGNALING_LIMITS,
} from '../../signaling/limits'
import { createLogger } from '../../signaling/log'
import { startParleyServer, type ParleyServer } from '../../signaling/server'

export interface LogRecord {
  level: string
  event: string
  [field: string]: unknown
}

export interface TestServer {
  server: ParleyServer
  config: ServerConfig
  /** `ws://127.0.0.1:PORT` + path. */
  wsUrl(path: string): string
  /** Every log line the server wrote, parsed. */
  logs: LogRecord[]
  close(): Promise<void>
}

export interface TestServerOptions extends Partial<Omit<ServerConfig, 'limits' | 'relayLimits'>> {
  limits?: Partial<SignalingLimits>
  relayLimits?: Partial<RelayLimits>
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { limits, relayLimits, ...rest } = options
  const scratch = await mkdtemp(join(tmpdir(), 'parley-test-'))
  const config: ServerConfig = {
    port: 0,
    host: '127.0.0.1',
    distDir: join(scratch, 'dist-not-built'),
    iceServers: [],
    trustProxy: false,
    logLevel: 'debug',
    relay: true,
    maxConnectionsPerIp: DEFAULT_MAX_CONNECTIONS_PER_IP,
    dataDir: join(scratch, 'data'),
    redisUrl: null,
    allowedOrigins: [],
    operatorKey: null,
    // Tests that exercise STUN ask for it (port 0); the rest must not hold UDP 3478.
    stunPort: null,
    ...rest,
    limits: { ...DEFAULT_SIGNALING_LIMITS, ...limits },
    relayLimits: { ...DEFAULT_RELAY_LIMITS, ...relayLimits },
  }
  const logs: LogRecord[] = []
  const logger = createLogger({
    level: 'debug',
    sink: (line) => logs.push(JSON.parse(line) as LogRecord),
  })
  const server = await startParleyServer(config, { logger })
  return {
    server,
    config,
    logs,
    wsUrl: (path) => `ws://127.0.0.1:${server.port}${path}`,
    close: async () => {
      await server.close()
      await rm(scratch, { recursive: true, force: true })
    },
  }
}

/** A throwaway directory for a test's own dist; removed by the returned function. */
export async function makeTempDir(
  prefix: string,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}
