// The application root: routes on the URL fragment (the room secret, docs/architecture.md), owns the one
// open RoomSession (signing with this browser's key for that room: docs/presence.md), and
// destroys it before opening another.
import { LitElement, html, css, type PropertyValues } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { isRoomSecret, newRoomSecret, sameNetwork, type NetworkConfig } from '../session/room-link'
import { browserRoomIdentities } from '../session/identity-store'
import { RoomSession } from '../session/room-session'
import { baseStyles } from './styles'
import { defaultName } from './identity-look'
import './landing'
import './room-view'

export interface AppConfig extends NetworkConfig {
  /** Operator key for a private relay, if this browser was given one. */
  readonly relayKey?: string
}

/** The name last chosen: a room opened for the first time starts with it (names are kept per
 * room in its member record, docs/presence.md). */
const NAME_KEY = 'parley:display-name'
/** An update's reload waits this long at most for the room to close: a write transaction takes
 * milliseconds, and a stuck disk must not keep the old build running (pagehide still stores
 * what is queued, docs/local-storage.md). */
const RELOAD_CLOSE_MS = 2_000

@customElement('parley-app')
export class ParleyApp extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        height: 100%;
      }
      .notice {
        max-width: 36rem;
        margin: 4rem auto;
        padding: 0 1rem;
      }
    `,
  ]

  @property({ attribute: false }) config!: AppConfig
  /** Resolves once `config` is worth connecting with: at once when a configuration was seen
   * before; on a first visit, when the server answered or a short wait ran out (main.ts). */
  @property({ attribute: false }) configKnown: Promise<void> = Promise.resolve()
  /** The configuration the open room connected with. */
  private sessionConfig: AppConfig | undefined
  @state() private session: RoomSession | undefined
  @state() private problem = ''
  @state() private opening = false
  /** Between "Leave room" and the room's local data being gone. */
  @state() private leaving = false
  private leftRoom: Promise<void> = Promise.resolve()
  /** Increments per navigation so a slow open never installs a session for an old link. */
  private navigation = 0

  override connectedCallback(): void {
    super.connectedCallback()
    window.addEventListener('hashchange', this.onHashChange)
    this.addEventListener('new-room', this.onNewRoom)
    this.addEventListener('leave', this.onLeaveRequest)
    this.addEventListener('rename', this.onRename as EventListener)
    void this.route()
  }

  override disconnectedCallback(): void {
    window.removeEventListener('hashchange', this.onHashChange)
    this.removeEventListener('new-room', this.onNewRoom)
    this.removeEventListener('leave', this.onLeaveRequest)
    this.removeEventListener('rename', this.onRename as EventListener)
    void this.closeSession()
    super.disconnectedCallback()
  }

  /** The server's configuration arrives after first paint (main.ts): an open room reconnects
   * only if it now names other places to connect to. */
  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('config') && this.session && this.configChanged()) void this.route()
  }

  private configChanged(): boolean {
    const used = this.sessionConfig
    return (
      used !== undefined &&
      (!sameNetwork(used, this.config) || used.relayKey !== this.config.relayKey)
    )
  }

  override render() {
    if (this.problem)
      return html`<div class="notice" role="alert">
        <h1>Parley</h1>
        <p>${this.problem}</p>
        <a href="#">Start page</a>
      </div>`
    if (this.session) return html`<parley-room .session=${this.session}></parley-room>`
    if (this.leaving)
      return html`<p class="notice muted" role="status">Deleting this room from this browser…</p>`
    if (this.opening) return html`<p class="notice muted">Opening the room…</p>`
    return html`<parley-landing></parley-landing>`
  }

  private readonly onHashChange = (): void => void this.route()
  private readonly onLeaveRequest = (): void => void this.leave()

  private async route(): Promise<void> {
    const navigation = ++this.navigation
    const secret = location.hash.slice(1)
    await this.closeSession()
    await this.leftRoom.catch(() => undefined) // reported by leave()
    this.problem = ''
    if (!secret) return
    if (!isRoomSecret(secret)) {
      this.problem = 'This room link is not valid. Check that it was copied completely.'
      return
    }
    this.opening = true
    try {
      const displayName = localStorage.getItem(NAME_KEY) ?? defaultName
      // Awaited inside open(), beside reading the room's keys and what this browser stored.
      const known = this.configKnown.then(() => this.config)
      const session = await RoomSession.open(
        secret,
        browserRoomIdentities,
        known.then((config) => ({
          ...config,
          displayName,
          storage: localStorage,
          // Per tab, so two tabs of a room never overwrite each other's draft; kept across
          // this tab's reloads and app updates, and restored with the tab (session/drafts.ts).
          draftStorage: sessionStorage,
        })),
      )
      const config = await known
      if (navigation !== this.navigation) {
        await session.destroy()
        return
      }
      this.session = session
      this.sessionConfig = config
      // The server's configuration changed while the room was opening: connect with it.
      if (this.configChanged()) void this.route()
      // It may be showing only its newest messages while the rest loads.
      session.loaded.catch((error: unknown) => {
        if (this.session !== session) return
        this.problem = couldNotOpen(error)
        void this.closeSession()
      })
    } catch (error) {
      if (navigation === this.navigation) this.problem = couldNotOpen(error)
    } finally {
      if (navigation === this.navigation) this.opening = false
    }
  }

  /** Before the page reloads into a new build (main.ts): closes the open room so its writes
   * are committed, waiting at most RELOAD_CLOSE_MS. */
  async closeForReload(): Promise<void> {
    ++this.navigation
    this.opening = true // "Opening the room…" until the reload, not the start page
    const closed = this.closeSession().catch(() => undefined)
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, RELOAD_CLOSE_MS))])
  }

  private async closeSession(): Promise<void> {
    const session = this.session
    this.session = undefined
    await session?.destroy()
  }

  private readonly onNewRoom = (): void => {
    location.hash = newRoomSecret()
  }

  private async leave(): Promise<void> {
    const session = this.session
    if (!session) return
    this.session = undefined
    const navigation = ++this.navigation
    // The start page shows only once the data is gone: opening the room again meanwhile would
    // race the deletion of its database.
    this.leaving = true
    this.leftRoom = session.leave()
    try {
      await this.leftRoom
      if (navigation === this.navigation) history.replaceState(null, '', location.pathname)
    } catch (error) {
      this.problem = `Could not delete this room's local data: ${error instanceof Error ? error.message : String(error)}`
    } finally {
      this.leaving = false
    }
  }

  private readonly onRename = (event: CustomEvent<string>): void => {
    localStorage.setItem(NAME_KEY, event.detail)
    void this.session?.setDisplayName(event.detail)
  }
}

function couldNotOpen(error: unknown): string {
  return `Could not open this room: ${error instanceof Error ? error.message : String(error)}`
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-app': ParleyApp
  }
}
