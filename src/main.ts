// Composition root: read the server's configuration (ICE servers, signaling path), register
// the service worker that makes the app work offline, mount the app.
import { registerSW } from 'virtual:pwa-register'
import type { AppConfig } from './ui/app-shell'
import './ui/app-shell'

const CONFIG_CACHE_KEY = 'parley:server-config'

interface ServerConfig {
  iceServers?: unknown
  signaling?: unknown
  relay?: unknown
  stunPort?: unknown
}

function toWebSocketUrl(path: string): string {
  const url = new URL(path, location.href)
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

function parseConfig(raw: ServerConfig): AppConfig {
  const signaling = Array.isArray(raw.signaling)
    ? raw.signaling.filter((s): s is string => typeof s === 'string')
    : ['/signal']
  // The server's own STUN service listens on the host this page came from: a browser that
  // reached the page reaches it by the same name (location.hostname keeps IPv6 brackets).
  const stunPort = parseStunPort(raw.stunPort)
  const iceServers = [
    ...(Array.isArray(raw.iceServers) ? raw.iceServers.filter(isIceServer) : []),
    ...(stunPort === null ? [] : [{ urls: `stun:${location.hostname}:${stunPort}` }]),
  ]
  return {
    signalingUrls: signaling.map(toWebSocketUrl),
    iceServers,
    relayUrl: typeof raw.relay === 'string' ? toWebSocketUrl(raw.relay) : null,
    relayKey: relayKey(),
  }
}

const RELAY_KEY_STORAGE = 'parley:relay-key'

/** A private relay's operator hands out `https://host/?relay-key=…` once; it is kept in this
 * browser and removed from the address bar so it does not end up in shared room links. */
function relayKey(): string | undefined {
  const params = new URLSearchParams(location.search)
  const given = params.get('relay-key')
  if (given) {
    localStorage.setItem(RELAY_KEY_STORAGE, given)
    params.delete('relay-key')
    const query = params.toString()
    history.replaceState(
      null,
      '',
      `${location.pathname}${query ? `?${query}` : ''}${location.hash}`,
    )
  }
  return localStorage.getItem(RELAY_KEY_STORAGE) ?? undefined
}

/** The server's config, or the last one seen when the network is down (offline start). */
async function loadConfig(): Promise<AppConfig> {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' })
    if (!response.ok) throw new Error(`config: HTTP ${response.status}`)
    const raw = (await response.json()) as ServerConfig
    localStorage.setItem(CONFIG_CACHE_KEY, JSON.stringify(raw))
    return parseConfig(raw)
  } catch {
    try {
      return parseConfig(JSON.parse(localStorage.getItem(CONFIG_CACHE_KEY) ?? '{}') as ServerConfig)
    } catch {
      return parseConfig({})
    }
  }
}

async function main(): Promise<void> {
  if ('serviceWorker' in navigator) registerSW({ immediate: true })
  const app = document.createElement('parley-app')
  app.config = await loadConfig()
  document.body.append(app)
}

void main()
