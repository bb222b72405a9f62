// Composition root: mount the app at once with the server configuration last seen, register
// the service worker that makes the app work offline, and refresh the configuration in the
// background — nothing on the network is awaited before first paint (docs/connection-state.md).
import { registerSW } from 'virtual:pwa-register'
import { ServerConfigSource } from './net/server-config'
import { applyChosenTheme } from './ui/theme-switch'
import './ui/app-shell'

const RELAY_KEY_STORAGE = 'parley:relay-key'
/** First visit only (no configuration seen before): how long opening a room may wait for the
 * server's answer before it connects with a stock server's configuration. The page has just
 * come from that server, so it normally answers in milliseconds. */
const FIRST_VISIT_CONFIG_WAIT_MS = 3_000

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

function main(): void {
  applyChosenTheme() // before the first paint, so a chosen theme never flashes the other
  const serverConfig = new ServerConfigSource({
    storage: localStorage,
    base: new URL(location.href),
  })
  const key = relayKey()
  const app = document.createElement('parley-app')
  app.config = { ...serverConfig.current(), relayKey: key }
  // Applied when it arrives; the app reconnects an open room only if it changed.
  const refreshed = serverConfig.refresh().then((fresh) => {
    if (fresh) app.config = { ...fresh, relayKey: key }
  })
  if (!serverConfig.seenBefore)
    app.configKnown = Promise.race([
      refreshed,
      new Promise<void>((resolve) => setTimeout(resolve, FIRST_VISIT_CONFIG_WAIT_MS)),
    ])
  document.body.append(app)
  if ('serviceWorker' in navigator)
    registerSW({
      immediate: true,
      // A new build took over: close the open room first (its queued writes committed, its
      // client id retired; the draft is kept per tab, session/drafts.ts), then reload into it.
      onNeedReload: () => void app.closeForReload().finally(() => location.reload()),
    })
}

main()
