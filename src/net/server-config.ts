// The server's configuration as the app uses it (ICE servers, signaling, relay), from the last
// one seen — or the defaults of a stock Parley server on a first visit — at once, and refreshed
// from `/config.json` in the background with a timeout. Start-up never waits on the network
// (docs/connection-state.md): a black-holed request would otherwise hold the page blank for
// as long as TCP keeps trying.

export interface NetworkConfig {
  readonly signalingUrls: readonly string[]
  readonly iceServers: readonly RTCIceServer[]
  /** `ws(s)://host/relay`, or null when the server runs no relay. */
  readonly relayUrl: string | null
}

/** `/config.json` as the server sends it; every field is checked before use. */
interface RawConfig {
  iceServers?: unknown
  signaling?: unknown
  relay?: unknown
  stunPort?: unknown
}

const CACHE_KEY = 'parley:server-config'
/** A stock server's `/config.json` (signaling/config.ts defaults): right for a first visit to
 * nearly every server; when it is not, the refresh replaces it moments later. */
const STOCK_SERVER: RawConfig = { signaling: ['/signal'], relay: '/relay', stunPort: 3478 }
/** Long enough for a slow mobile link to answer a few hundred bytes; short enough that a
 * black-holed request gives up well before a person gives up on the app. */
export const CONFIG_REFRESH_TIMEOUT_MS = 8_000

export interface ServerConfigSourceOptions {
  readonly storage: Storage
  /** The page's own address: relative paths and our STUN host are resolved against it. */
  readonly base: URL
  readonly fetch?: typeof fetch
  readonly timeoutMs?: number
}

export class ServerConfigSource {
  private raw: RawConfig
  private readonly fetch: typeof fetch
  /** A configuration was seen before (else `current()` is a stock server's). */
  readonly seenBefore: boolean

  constructor(private readonly options: ServerConfigSourceOptions) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    const cached = readCache(options.storage)
    this.seenBefore = cached !== null
    this.raw = cached ?? STOCK_SERVER
  }

  /** The last configuration seen (or a stock server's), without touching the network. */
  current(): NetworkConfig {
    return parseConfig(this.raw, this.options.base)
  }

  /** Asks the server; resolves with its configuration, or null if it could not be had in
   * time (the current one stays). Never rejects. */
  async refresh(): Promise<NetworkConfig | null> {
    const abort = new AbortController()
    const timer = setTimeout(
      () => abort.abort(),
      this.options.timeoutMs ?? CONFIG_REFRESH_TIMEOUT_MS,
    )
    try {
      const response = await this.fetch(new URL('/config.json', this.options.base), {
        cache: 'no-store',
        signal: abort.signal,
      })
      if (!response.ok) return null
      const raw: unknown = await response.json()
      if (typeof raw !== 'object' || raw === null) return null
      this.raw = raw
      this.options.storage.setItem(CACHE_KEY, JSON.stringify(raw))
      return this.current()
    } catch {
      return null // offline, black-holed or not a Parley server: keep what we have
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Whether two configurations connect to the same places (an open room must reconnect if not). */
export function sameNetwork(a: NetworkConfig, b: NetworkConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function readCache(storage: Storage): RawConfig | null {
  try {
    const raw: unknown = JSON.parse(storage.getItem(CACHE_KEY) ?? 'null')
    return typeof raw === 'object' && raw !== null ? raw : null
  } catch {
    return null
  }
}

function toWebSocketUrl(path: string, base: URL): string {
  const url = new URL(path, base)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.toString()
}

/** An ICE server entry as RTCPeerConnection takes it; anything else would make it throw. */
function isIceServer(value: unknown): value is RTCIceServer {
  if (typeof value !== 'object' || value === null) return false
  const { urls, username, credential } = value as Record<string, unknown>
  const isUrlList =
    typeof urls === 'string' ||
    (Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === 'string'))
  const optionalString = (v: unknown) => v === undefined || typeof v === 'string'
  return isUrlList && optionalString(username) && optionalString(credential)
}

function parseStunPort(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 65535
    ? value
    : null
}

function parseConfig(raw: RawConfig, base: URL): NetworkConfig {
  const signaling = Array.isArray(raw.signaling)
    ? raw.signaling.filter((s): s is string => typeof s === 'string')
    : ['/signal']
  // The server's own STUN service listens on the host this page came from: a browser that
  // reached the page reaches it by the same name (hostname keeps IPv6 brackets).
  const stunPort = parseStunPort(raw.stunPort)
  const iceServers = [
    ...(Array.isArray(raw.iceServers) ? raw.iceServers.filter(isIceServer) : []),
    ...(stunPort === null ? [] : [{ urls: `stun:${base.hostname}:${stunPort}` }]),
  ]
  return {
    signalingUrls: signaling.map((path) => toWebSocketUrl(path, base)),
    iceServers,
    relayUrl: typeof raw.relay === 'string' ? toWebSocketUrl(raw.relay, base) : null,
  }
}
