// The relay's command-line options: room size and connections per address, with the limits
// that must grow with the room size growing along.

import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../signaling/config'
import { DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_RELAY_LIMITS } from '../../signaling/limits'

describe('relay options', () => {
  it('defaults to the documented limits', () => {
    const config = parseConfig([], {})
    expect(config.relayLimits).toEqual(DEFAULT_RELAY_LIMITS)
    expect(config.maxConnectionsPerIp).toBe(DEFAULT_MAX_CONNECTIONS_PER_IP)
  })

  it('reads --max-room-bytes; a room larger than a frame grows the frame and buffer limits', () => {
    const small = parseConfig(['--max-room-bytes', '1000000'], {}).relayLimits
    expect(small.maxRoomBytes).toBe(1_000_000)
    expect(small.maxPayloadBytes).toBe(DEFAULT_RELAY_LIMITS.maxPayloadBytes)

    const large = parseConfig([], { PARLEY_MAX_ROOM_BYTES: String(100 * 2 ** 20) }).relayLimits
    expect(large.maxRoomBytes).toBe(100 * 2 ** 20)
    // A client may push a whole room in one sync step 2: it must fit in one frame.
    expect(large.maxPayloadBytes).toBe(100 * 2 ** 20 + 1024)
    expect(large.maxBufferedBytes).toBe(2 * (100 * 2 ** 20 + 1024))
  })

  it('reads --max-connections-per-ip', () => {
    expect(parseConfig(['--max-connections-per-ip=16'], {}).maxConnectionsPerIp).toBe(16)
  })

  it('says which option was wrong', () => {
    expect(() => parseConfig(['--max-room-bytes', 'lots'], {})).toThrow(
      new ConfigError('--max-room-bytes: "lots" is not a positive integer'),
    )
    expect(() => parseConfig([], { PARLEY_MAX_CONNECTIONS_PER_IP: '0' })).toThrow(
      new ConfigError('PARLEY_MAX_CONNECTIONS_PER_IP: "0" is not a positive integer'),
    )
  })
})
