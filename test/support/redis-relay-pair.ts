// Two Parley servers on one real redis-server, started once per test file: the setup of the
// relay's scale-out tests. Stock clients a test opens are closed after it; server processes a
// test starts on the same Redis (to crash them) are killed with the rest at the end.
import { afterAll, afterEach, beforeAll } from 'vitest'
import { TestRedis } from './redis-server'
import { StockClient, type RoomCredentials } from './relay-client'
import { startTestServer, type TestServer } from './server-harness'
import { ServerProcess } from './server-process'

export class RedisRelayPair {
  redis!: TestRedis
  a!: TestServer
  b!: TestServer
  private readonly clients: StockClient[] = []
  private readonly processes: ServerProcess[] = []

  /** Call once at the top of a test file. */
  static forThisFile(): RedisRelayPair {
    const pair = new RedisRelayPair()
    beforeAll(async () => {
      pair.redis = await TestRedis.start()
      pair.a = await startTestServer({ redisUrl: pair.redis.url })
      pair.b = await startTestServer({ redisUrl: pair.redis.url })
    })
    afterEach(() => {
      for (const stock of pair.clients.splice(0)) stock.destroy()
    })
    afterAll(async () => {
      await Promise.all(pair.processes.map((p) => p.kill()))
      await pair.a?.close()
      await pair.b?.close()
      await pair.redis?.stop()
    })
    return pair
  }

  client(server: { wsUrl(path: string): string }, room: RoomCredentials): StockClient {
    const stock = new StockClient(server.wsUrl('/relay'), room.roomId, { token: room.token })
    this.clients.push(stock)
    return stock
  }

  /** A third instance on the same Redis, in its own process so that a test can SIGKILL it. */
  async startProcess(): Promise<ServerProcess> {
    const started = await ServerProcess.start({ flags: ['--redis', this.redis.url] })
    this.processes.push(started)
    return started
  }
}
