// A relay endpoint on its own HTTP server whose budgets run on a clock the test moves, so a test
// can play seconds of a client's traffic in a moment. Real sockets, real stock clients; rooms
// stored in memory (test/support/relay-memory-store.ts).

import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from '../../signaling/limits'
import { createLogger } from '../../signaling/log'
import { RelayEndpoint } from '../../signaling/relay/relay-endpoint'
import type { LogRecord } from './server-harness'
import { MemoryRoomStore } from './relay-memory-store'

export interface ClockedRelay {
  /** `ws://127.0.0.1:PORT/relay`, for StockClient. */
  readonly relayUrl: string
  readonly logs: LogRecord[]
  /** The budgets' clock, in milliseconds; move it forward. */
  now: number
  close(): Promise<void>
}

export async function startClockedRelay(limits: Partial<RelayLimits> = {}): Promise<ClockedRelay> {
  const logs: LogRecord[] = []
  const logger = createLogger({
    level: 'debug',
    sink: (line) => logs.push(JSON.parse(line) as LogRecord),
  })
  const relay: ClockedRelay = {
    relayUrl: '',
    logs,
    now: 0,
    close: () => Promise.resolve(),
  }
  const endpoint = new RelayEndpoint({
    pathPrefix: '/relay/',
    limits: { ...DEFAULT_RELAY_LIMITS, ...limits },
    logger,
    store: new MemoryRoomStore(),
    operatorKey: null,
    now: () => relay.now,
  })
  const http = createServer((_req, res) => res.writeHead(404).end())
  http.on('upgrade', (req, socket, head) =>
    endpoint.handleUpgrade(req, socket, head, (socket as Socket).remoteAddress ?? 'unknown'),
  )
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return Object.assign(relay, {
    relayUrl: `ws://127.0.0.1:${port}/relay`,
    close: async () => {
      await endpoint.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  })
}
