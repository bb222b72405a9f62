// What a relay test opens — servers, stock clients, anything else with a teardown — closed in
// reverse order after each test, so that a failing test leaves nothing running for the next.
import { afterEach } from 'vitest'
import { startTestServer, type TestServer } from './server-harness'
import { StockClient, type RoomCredentials, type StockClientOptions } from './relay-client'

export interface RelayTestScope {
  /** Runs `step` after the current test (later steps first). */
  readonly defer: (step: () => Promise<void> | void) => void
  readonly server: (options?: Parameters<typeof startTestServer>[0]) => Promise<TestServer>
  /** A stock client of `room` (its token unless options say otherwise) on the server's relay. */
  readonly client: (
    harness: TestServer,
    room: RoomCredentials,
    options?: StockClientOptions,
  ) => StockClient
}

/** Call once at the top of a test file. */
export function relayTestScope(): RelayTestScope {
  const steps: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step()
  })
  const defer = (step: () => Promise<void> | void) => void steps.push(step)
  return {
    defer,
    server: async (options = {}) => {
      const harness = await startTestServer(options)
      defer(() => harness.close())
      return harness
    },
    client: (harness, room, options = {}) => {
      const stock = new StockClient(harness.wsUrl('/relay'), room.roomId, {
        token: room.token,
        ...options,
      })
      defer(() => stock.destroy())
      return stock
    },
  }
}
