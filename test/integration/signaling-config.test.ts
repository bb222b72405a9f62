// Command-line and environment configuration: precedence, defaults, and error messages that say
// where a bad value came from.

import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, DEFAULT_DIST_DIR, parseConfig, usage } from '../../signaling/config'
import { DEFAULT_SIGNALING_LIMITS } from '../../signaling/limits'

describe('parseConfig', () => {
  it('defaults to localhost:8787, dist/ beside the server, no ICE servers', () => {
    const config = parseConfig([], {})
    expect(config).toMatchObject({
      port: 8787,
      host: 'localhost',
      distDir: DEFAULT_DIST_DIR,
      iceServers: [],
      limits: DEFAULT_SIGNALING_LIMITS,
      trustProxy: false,
      logLevel: 'info',
      relay: true,
      dataDir: resolve('data'),
      redisUrl: null,
      allowedOrigins: [],
      operatorKey: null,
      stunPort: 3478,
    })
    expect(DEFAULT_DIST_DIR).toBe(resolve(import.meta.dirname, '../../dist'))
  })

  it('reads the relay, Redis, origin and STUN options', () => {
    const config = parseConfig(
      [
        '--data-dir',
        '/var/lib/parley',
        '--redis=redis://127.0.0.1:6380/2',
        '--allowed-origins',
        'https://chat.example.org, http://localhost:8787',
        '--operator-key',
        'k3y-with-enough_chars',
        '--stun-port',
        'off',
        '--relay=off',
      ],
      {},
    )
    expect(config).toMatchObject({
      relay: false,
      dataDir: '/var/lib/parley',
      redisUrl: 'redis://127.0.0.1:6380/2',
      allowedOrigins: ['https://chat.example.org', 'http://localhost:8787'],
      operatorKey: 'k3y-with-enough_chars',
      stunPort: null,
    })
    expect(parseConfig([], { PARLEY_STUN_PORT: '0' }).stunPort).toBe(0)
  })

  it('reads the environment', () => {
    const config = parseConfig([], {
      PORT: '9000',
      HOST: '0.0.0.0',
      PARLEY_ICE_SERVERS: '[{"urls":"stun:stun.example.org"}]',
      PARLEY_TRUST_PROXY: '1',
      PARLEY_LOG_LEVEL: 'warn',
    })
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      iceServers: [{ urls: 'stun:stun.example.org' }],
      trustProxy: true,
      logLevel: 'warn',
    })
  })

  it('lets flags win over the environment, in both --flag value and --flag=value forms', () => {
    const config = parseConfig(
      ['--port', '0', '--host=127.0.0.1', '--dist', 'build/out', '--trust-proxy'],
      { PORT: '9000', HOST: '0.0.0.0' },
    )
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      distDir: resolve('build/out'),
      trustProxy: true,
    })
  })

  it('accepts TURN servers with credentials and bracketed IPv6 hosts', () => {
    const config = parseConfig(
      [
        '--ice-servers',
        '[{"urls":["turn:t.example.org:3478","turns:t.example.org:5349"],"username":"u","credential":"c"}]',
        '--host',
        '[::1]',
      ],
      {},
    )
    expect(config.iceServers).toEqual([
      {
        urls: ['turn:t.example.org:3478', 'turns:t.example.org:5349'],
        username: 'u',
        credential: 'c',
      },
    ])
    expect(config.host).toBe('::1')
  })

  it.each([
    [['--port', 'eighty'], {}, /--port: "eighty" is not a port/],
    [[], { PORT: '70000' }, /PORT: "70000" is not a port/],
    [[], { PORT: '-1' }, /PORT: "-1" is not a port/],
    [['--port'], {}, /--port needs a value/],
    [['--port', '--host', 'x'], {}, /--port needs a value/],
    [['--verbose'], {}, /Unknown argument "--verbose"/],
    [['--host', 'a b'], {}, /--host: "a b" is not a host/],
    [['--ice-servers', '{oops'], {}, /--ice-servers: not valid JSON/],
    [[], { PARLEY_ICE_SERVERS: '{"urls":"stun:x"}' }, /PARLEY_ICE_SERVERS: expected a JSON array/],
    [[], { PARLEY_ICE_SERVERS: '["stun:x"]' }, /PARLEY_ICE_SERVERS\[0\]: expected an object/],
    [[], { PARLEY_ICE_SERVERS: '[{"urls":[]}]' }, /\[0\]\.urls: expected a string or a non-empty/],
    [[], { PARLEY_ICE_SERVERS: '[{"urls":"http://x"}]' }, /"http:\/\/x" must start with stun:/],
    [[], { PARLEY_ICE_SERVERS: '[{"urls":"turn:x"}]' }, /TURN servers need both username/],
    [[], { PARLEY_ICE_SERVERS: '[{"urls":"stun:x","user":"u"}]' }, /unknown field\(s\) user/],
    [
      [],
      { PARLEY_ICE_SERVERS: '[{"urls":"stun:x","username":1}]' },
      /\.username: expected a string/,
    ],
    [[], { PARLEY_TRUST_PROXY: 'maybe' }, /PARLEY_TRUST_PROXY: "maybe" is not a boolean/],
    [['--log-level', 'loud'], {}, /--log-level: "loud" is not a log level/],
    [['--redis', 'localhost:6379'], {}, /--redis: "localhost:6379" must start with redis:\/\//],
    [[], { PARLEY_REDIS_URL: 'not a url' }, /PARLEY_REDIS_URL: "not a url" is not a URL/],
    [['--allowed-origins', 'https://a.example/path'], {}, /is not an origin/],
    [['--operator-key', 'short'], {}, /operator key must be 16–256 characters/],
    [[], { PARLEY_STUN_PORT: 'udp' }, /PARLEY_STUN_PORT: "udp" is not a port/],
  ])('rejects %j %j', (argv, env, message) => {
    expect(() => parseConfig(argv, env)).toThrow(ConfigError)
    expect(() => parseConfig(argv, env)).toThrow(message)
  })

  it('lists every flag in the usage text', () => {
    for (const flag of [
      '--port',
      '--host',
      '--dist',
      '--ice-servers',
      '--trust-proxy',
      '--data-dir',
      '--redis',
      '--allowed-origins',
      '--operator-key',
      '--stun-port',
    ]) {
      expect(usage()).toContain(flag)
    }
  })
})
