// Reads out new messages from others to screen readers, politely (issue 12 §9): a visually
// hidden live region, since the message list itself stays quiet (rows it renders while
// opening or scrolling are not news). Only what arrives after the room caught up
// (room-state.ts roomCaughtUp) and sorts after the newest message then is read, so opening a
// room never reads its history; a burst is summed up rather than read one by one. The text
// is the one the list shows (never decrypted here): off screen, only the author is named.
import { LitElement, html, css, type PropertyValues } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { compareSortKeys, type SortKey } from '../model'
import type { RoomSession } from '../session/room-session'
import type { TimelineEntry } from '../session/timeline'
import { defaultName } from './identity-look'
import { roomCaughtUp } from './room-state'

/** Read out in full up to this many at once; more are counted. */
const READ_AT_ONCE = 3
/** A long message is cut for reading out: the list has the rest. */
const SPOKEN_CHARS = 200
/** How long a new message's row has to show its text before the author alone is announced. */
const SHOWN_WAIT_MS = 1500
const SHOWN_POLL_MS = 100

@customElement('parley-announcer')
export class ParleyAnnouncer extends LitElement {
  static override styles = css`
    :host {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
      white-space: nowrap;
    }
  `

  @property({ attribute: false }) session!: RoomSession
  @property({ attribute: false }) entries: readonly TimelineEntry[] = []
  @state() private said = ''
  /** What has been taken into account; undefined until the room caught up. */
  private newest: SortKey | undefined
  private caughtUp = false

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('session')) {
      this.caughtUp = false
      this.newest = undefined
      this.said = ''
      const session = this.session
      void roomCaughtUp(session).then(() => {
        if (this.session !== session) return
        this.caughtUp = true
        this.newest = this.entries[this.entries.length - 1]?.key
      })
    }
    if (changed.has('entries') && this.caughtUp) this.takeNew()
  }

  override render() {
    return html`<div role="status" aria-live="polite" aria-atomic="true">${this.said}</div>`
  }

  private takeNew(): void {
    const fresh: TimelineEntry[] = []
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i]
      if (this.newest && compareSortKeys(entry.key, this.newest) <= 0) break
      fresh.unshift(entry)
    }
    if (fresh.length === 0) return
    this.newest = fresh[fresh.length - 1].key
    const theirs = fresh.filter(
      (e) => e.key.author !== this.session.myKeyId && e.state === 'message' && !e.anomaly,
    )
    if (theirs.length > 0) void this.announce(theirs)
  }

  private async announce(entries: TimelineEntry[]): Promise<void> {
    const session = this.session
    const nameOf = (e: TimelineEntry) =>
      session.members.get(e.key.author)?.name ?? defaultName(e.key.author)
    if (entries.length > READ_AT_ONCE) {
      const names = [...new Set(entries.map(nameOf))]
      this.said = `${entries.length} new messages from ${names.slice(0, 3).join(', ')}${names.length > 3 ? ' and others' : ''}`
      return
    }
    const lines = await Promise.all(
      entries.map(async (e) => {
        const resolved = await shownContent(session, e)
        const text = resolved?.kind === 'message' ? resolved.text : null
        return text === null ? `New message from ${nameOf(e)}` : `${nameOf(e)}: ${spoken(text)}`
      }),
    )
    if (this.session === session) this.said = lines.join('. ')
  }
}

/** The content as the message list resolved it for its row, once it has: never resolved here,
 * so a message off screen (the reader is up in the history) is not decrypted for this, and
 * rows render as they would without the announcer. Undefined when the row did not show it
 * within SHOWN_WAIT_MS: then the announcement names only the author. */
async function shownContent(session: RoomSession, entry: TimelineEntry) {
  for (let waited = 0; waited <= SHOWN_WAIT_MS; waited += SHOWN_POLL_MS) {
    const known = session.content.peek(entry)
    if (known) return known
    await new Promise((resolve) => setTimeout(resolve, SHOWN_POLL_MS))
  }
  return undefined
}

function spoken(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > SPOKEN_CHARS ? `${flat.slice(0, SPOKEN_CHARS)}…` : flat
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-announcer': ParleyAnnouncer
  }
}
