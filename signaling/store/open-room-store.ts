// Picks the relay's room store from the configuration: Redis when a URL is given (rooms shared by
// every instance), otherwise the embedded LevelDB store in the data directory. Either way the
// store is open and checked before this resolves, so a bad setup fails startup, not a client.

import type { ServerConfig } from '../config'
import type { Logger } from '../log'
import { LevelRoomStore } from './level-store'
import type { RoomStore } from './room-store'

export async function openRoomStore(
  config: Pick<ServerConfig, 'dataDir' | 'redisUrl'>,
  logger: Logger,
): Promise<RoomStore> {
  if (config.redisUrl) {
    // Loaded only when asked for, so the embedded setup never pulls in the Redis client.
    const { RedisRoomStore } = await import('./redis-store')
    return RedisRoomStore.open({ url: config.redisUrl, logger })
  }
  return LevelRoomStore.open({ dataDir: config.dataDir, logger })
}
