// The room's messages, virtualized so a room of 100,000 renders only what is on screen, with a
// separator per day. Follows the newest message while the reader is at the bottom; a room
// opened with unread messages shows a "New messages" divider above the first and starts
// there; while the reader is up in the history, new messages do not move the view and a
// "Jump to latest" button counts them. What was seen moves the read position
// (session/read-position.ts). Rendering is total: a row that cannot render shows as an
// anomaly and the list goes on (docs/document-model.md "Rendering").
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import '@lit-labs/virtualizer'
import type { LitVirtualizer } from '@lit-labs/virtualizer'
import type { VisibilityChangedEvent } from '@lit-labs/virtualizer/events.js'
import { compareSortKeys, type SortKey } from '../model'
import type { RoomSession } from '../session/room-session'
import type { TimelineEntry } from '../session/timeline'
import { baseStyles } from './styles'
import { dayKey, dayLabel } from './time-labels'
import { roomCaughtUp } from './room-state'
import { renderUnshowable, type EditOrigin, type ParleyMessage } from './message-item'

/** A separator row, or a timeline entry itself: a room of 100,000 messages costs no object
 * per row beyond its entry (whether a message continues the one above is worked out when it is
 * rendered, `isContinued`). */
type Row =
  { kind: 'day'; key: string; label: string } | { kind: 'unread'; key: string } | TimelineEntry

function isEntry(row: Row): row is TimelineEntry {
  return !('kind' in row)
}

const isDivider = (row: Row): boolean => !isEntry(row) && row.kind === 'unread'

const rowKey = (row: Row): string => (isEntry(row) ? row.id : row.key)

/** Messages of one person this close together read as one turn, as in other chat apps. */
const GROUP_MS = 5 * 60_000

export interface UnreadFrom {
  /** What was read when the room was opened: the divider goes above the first newer entry. */
  readonly readUpTo: SortKey
  /** Our own messages are never unread. */
  readonly myKeyId: string
}

export function rowsOf(entries: readonly TimelineEntry[], unread?: UnreadFrom): Row[] {
  const rows: Row[] = []
  let lastDay = ''
  let divided = !unread
  for (const entry of entries) {
    if (
      !divided &&
      entry.key.author !== unread?.myKeyId &&
      compareSortKeys(entry.key, unread!.readUpTo) > 0
    ) {
      rows.push({ kind: 'unread', key: 'unread' })
      divided = true
    }
    const day = dayKey(entry.key.wall)
    if (day !== lastDay) {
      // Entries are in time order, so each day (and 'no-date', past every real one) is one run.
      rows.push({ kind: 'day', key: `day:${day}`, label: dayLabel(entry.key.wall) })
      lastDay = day
    }
    rows.push(entry)
  }
  return rows
}

/** Same author as the row before (an entry, not a separator), within GROUP_MS: shown under
 * the same name. */
export function isContinued(rows: readonly Row[], index: number): boolean {
  const row = rows[index]
  const previous = rows[index - 1]
  return (
    row !== undefined &&
    previous !== undefined &&
    isEntry(row) &&
    isEntry(previous) &&
    previous.key.author === row.key.author &&
    row.key.wall - previous.key.wall < GROUP_MS
  )
}

/** Within this many pixels of the end counts as "at the newest message". */
const BOTTOM_SLACK_PX = 48
/** Layout rounds to wait for the end to settle: a few suffice; bounded so it never spins. */
const MAX_PIN_ROUNDS = 20
/** How long a pin round waits for a layout that may never be scheduled. */
const LAYOUT_WAIT_MS = 100

/** Resolves true once the virtualizer's pending layout is done, or after a short wait when
 * none is pending (its `layoutComplete` waits for the *next* layout, and one that finished
 * between our rounds leaves nothing to wait for); false when it left the page mid-layout. */
function layoutSettled(virtualizer: LitVirtualizer): Promise<boolean> {
  const complete = virtualizer.layoutComplete
  if (!complete) return Promise.resolve(true)
  return Promise.race([
    complete.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) =>
      setTimeout(() => resolve(virtualizer.isConnected), LAYOUT_WAIT_MS),
    ),
  ])
}

function nearBottom(scroller: HTMLElement): boolean {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < BOTTOM_SLACK_PX
}

@customElement('parley-message-list')
export class ParleyMessageList extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        min-height: 0;
        position: relative;
      }
      lit-virtualizer {
        flex: 1;
        width: 100%;
        min-height: 0;
      }
      .day {
        text-align: center;
        font-size: 0.75rem;
        color: var(--muted);
        padding: 0.75rem 0 0.25rem;
        width: 100%;
      }
      .unread {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        width: 100%;
        box-sizing: border-box;
        padding: 0.5rem 0.75rem;
        font-size: 0.75rem;
        font-weight: 600;
        color: var(--danger);
      }
      .unread::before,
      .unread::after {
        content: '';
        flex: 1;
        border-top: 1px solid currentColor;
      }
      .jump {
        position: absolute;
        right: 1rem;
        bottom: 0.75rem;
        z-index: 2;
        border-radius: 999px;
        box-shadow: 0 1px 4px var(--shadow);
      }
      .empty {
        padding: 2rem;
        text-align: center;
      }
    `,
  ]

  @property({ attribute: false }) entries: readonly TimelineEntry[] = []
  @property({ attribute: false }) session!: RoomSession
  @state() private atBottom = true
  /** Unread messages below the view, for "Jump to latest". */
  @state() private newBelow = 0
  /** While we scroll ourselves: our own scroll events say nothing about where the reader
   * wants to be. */
  private pinning = false
  private rows: Row[] = []
  /** Fixed when the room opens, so the divider stays where the reader left off. */
  private unreadFrom: UnreadFrom | undefined
  /** Until the reader scrolls, a room opened with unread messages is held at its divider while
   * it loads (rows arrive from the kept newest messages, then the whole room). */
  private holdAtDivider = false
  /** The room has caught up since it opened (its store loaded and the relay synced, or
   * SETTLE_MS passed): until then what arrives was written while the reader was away, so it
   * is not marked read by being on screen, and a missing divider may still come. */
  private settled = false
  private hasDivider = false
  /** The last row on screen, from the virtualizer. */
  private lastVisible = -1

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('session') && this.session) {
      const readUpTo = this.session.readPosition.get()
      this.unreadFrom = readUpTo ? { readUpTo, myKeyId: this.session.myKeyId } : undefined
      this.holdAtDivider = this.unreadFrom !== undefined
      this.atBottom = !this.holdAtDivider
      this.settled = false
      void this.settle(this.session)
    }
    if (this.followingLive()) {
      // Watching the newest with no divider: what arrives now is read as it comes and gets
      // none (the divider is for what came while the reader was away).
      const newest = this.entries[this.entries.length - 1]
      this.unreadFrom = { readUpTo: newest.key, myKeyId: this.session.myKeyId }
    }
    this.rows = rowsOf(this.entries, this.unreadFrom)
    this.hasDivider = this.rows.some(isDivider)
    this.newBelow = this.countNewBelow()
  }

  override render() {
    if (this.entries.length === 0)
      return html`<p class="empty muted">No messages yet. Share the link and say hello.</p>`
    return html`<lit-virtualizer
        scroller
        @scroll=${this.onScroll}
        role="log"
        aria-label="Messages"
        aria-live="off"
        .items=${this.rows}
        .keyFunction=${rowKey}
        .renderItem=${this.renderRow}
        @visibilityChanged=${this.onVisible}
      ></lit-virtualizer>
      ${
        this.atBottom
          ? nothing
          : html`<button class="jump" type="button" @click=${() => this.scrollToNewest()}>
              Jump to latest${this.newBelow > 0 ? ` (${this.newBelow} new)` : ''}
            </button>`
      }`
  }

  /** One row; a row that throws becomes an anomaly row instead of taking the list down. */
  private readonly renderRow = (row: Row, index: number) => {
    try {
      if (isEntry(row))
        return html`<parley-message
          .entry=${row}
          .session=${this.session}
          ?continued=${isContinued(this.rows, index)}
        ></parley-message>`
      return row.kind === 'unread'
        ? html`<div class="unread" role="separator">New messages</div>`
        : html`<div class="day" role="separator">${row.label}</div>`
    } catch (error) {
      console.error('message list: a row could not be rendered', error)
      return renderUnshowable()
    }
  }

  override updated(): void {
    if (this.holdAtDivider) this.revealDivider()
    else if (this.atBottom) this.pinToNewest()
  }

  /** Scrolls to the newest message and follows it from now on (after sending, or on request). */
  scrollToNewest(): void {
    this.holdAtDivider = false
    this.atBottom = true
    this.scrollToEnd()
    this.pinToNewest()
  }

  /** Opens the editor on one message (ArrowUp in the composer): brought into view first, as
   * only rows on screen are rendered. False when the message is not in the list. */
  async editMessage(id: string, from: EditOrigin): Promise<boolean> {
    const index = this.rows.findIndex((row) => isEntry(row) && row.id === id)
    const virtualizer = this.virtualizer()
    if (index < 0 || !virtualizer) return false
    const shown = () =>
      [...this.renderRoot.querySelectorAll<ParleyMessage>('parley-message')].find(
        (item) => item.entry.id === id,
      )
    let item = shown()
    for (let round = 0; !item && round < MAX_PIN_ROUNDS; round++) {
      virtualizer.element(index)?.scrollIntoView({ block: 'nearest' })
      if (!(await layoutSettled(virtualizer))) return false
      await new Promise((resolve) => requestAnimationFrame(resolve))
      item = shown()
    }
    item?.startEdit(from)
    return item !== undefined
  }

  private scrollToEnd(): void {
    const virtualizer = this.virtualizer()
    if (!virtualizer || this.rows.length === 0) return
    // The virtualizer sizes its scroll area from measured and estimated rows; scrolling to its
    // end renders the last rows, whose measurement may move the end again (pinToNewest).
    // (Its scrollToIndex() pins a layout that, when a room first opens, never applies.)
    virtualizer.scrollTop = virtualizer.scrollHeight
  }

  /** The virtualizer lays out over a few frames (row heights are measured as they render), so
   * one scroll to the end can land short of it, above all when a room first opens: after each
   * layout, scroll again until the end stays in view. */
  private pinToNewest(): void {
    if (this.pinning) return
    this.pinning = true
    void this.pinRounds().finally(() => (this.pinning = false))
  }

  private async pinRounds(): Promise<void> {
    for (let round = 0; round < MAX_PIN_ROUNDS; round++) {
      await this.updateComplete
      const virtualizer = this.virtualizer()
      if (!virtualizer) return
      // Rejected when the list leaves the page mid-layout (e.g. leaving the room): done.
      if (!(await layoutSettled(virtualizer))) return
      this.scrollToEnd()
      await new Promise((resolve) => requestAnimationFrame(resolve))
      // Round 0 may run before the rows were rendered at all: always check once more.
      if (round > 0 && nearBottom(virtualizer)) return
    }
  }

  private virtualizer(): LitVirtualizer | null {
    return this.renderRoot.querySelector<LitVirtualizer>('lit-virtualizer')
  }

  /** Puts the "New messages" divider at the top of the view once the rows are laid out. */
  private revealDivider(): void {
    if (this.pinning) return
    this.pinning = true
    void this.revealRounds().finally(() => {
      this.pinning = false
      // The room turned out to have nothing unread: follow the newest, over as many layout
      // rounds as it takes (one scroll to the end can land short while rows are measured).
      if (!this.holdAtDivider && this.atBottom) this.pinToNewest()
    })
  }

  private async revealRounds(): Promise<void> {
    for (let round = 0; round < MAX_PIN_ROUNDS && this.holdAtDivider; round++) {
      await this.updateComplete
      const virtualizer = this.virtualizer()
      const index = this.rows.findIndex(isDivider)
      // No rows yet: wait for them. (Rows from the kept newest messages that are all unread
      // put the divider first; it moves into place as the rest of the room loads.)
      if (!virtualizer) return
      if (index < 0) {
        // Nothing newer than what was read (yet): follow the newest; once the room has caught
        // up, for good, as in a room never read here.
        if (!this.settled) return this.scrollToEnd()
        // The room view passes new entries an update after the timeline has them: ask it.
        const current = rowsOf(this.session.timeline.entries(), this.unreadFrom)
        if (current.some(isDivider)) return
        this.holdAtDivider = false
        this.atBottom = true
        return
      }
      if (!(await layoutSettled(virtualizer))) return
      virtualizer.element(index)?.scrollIntoView({ block: 'start' })
      await new Promise((resolve) => requestAnimationFrame(resolve))
    }
    // Still holding after every round: where the rounds left the view decides. Not holding any
    // more (the reader asked for the newest meanwhile, scrollToNewest): following the newest
    // stands, and the pin rounds run once these are done (revealDivider).
    const virtualizer = this.virtualizer()
    if (virtualizer && this.holdAtDivider) this.atBottom = nearBottom(virtualizer)
  }

  private readonly onScroll = (event: Event): void => {
    if (this.pinning) return
    // The reader moved: from now on the view is theirs.
    this.holdAtDivider = false
    this.atBottom = nearBottom(event.currentTarget as HTMLElement)
  }

  override connectedCallback(): void {
    super.connectedCallback()
    document.addEventListener('visibilitychange', this.markSeen)
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback()
    document.removeEventListener('visibilitychange', this.markSeen)
  }

  private readonly onVisible = (event: VisibilityChangedEvent): void => {
    this.lastVisible = event.last
    this.newBelow = this.countNewBelow()
    this.markSeen()
  }

  private followingLive(): boolean {
    return (
      this.settled &&
      this.atBottom &&
      !this.holdAtDivider &&
      !this.hasDivider &&
      this.entries.length > 0 &&
      document.visibilityState === 'visible'
    )
  }

  private async settle(session: RoomSession): Promise<void> {
    await roomCaughtUp(session)
    if (this.session !== session) return
    this.settled = true
    this.requestUpdate()
  }

  /** What is on screen has been seen, if the page is: that moves the read position. */
  private readonly markSeen = (): void => {
    if (document.visibilityState !== 'visible' || !this.session || !this.settled) return
    for (let i = Math.min(this.lastVisible, this.rows.length - 1); i >= 0; i--) {
      const row = this.rows[i]
      if (isEntry(row)) return this.session.readPosition.markRead(row.key)
    }
  }

  /** Unread entries are a suffix of the rows (they sort after the read position): counted from
   * the end, so this costs the number of new messages, not the size of the room. */
  private countNewBelow(): number {
    if (!this.session) return 0
    let count = 0
    for (let i = this.rows.length - 1; i > this.lastVisible; i--) {
      const row = this.rows[i]
      if (!isEntry(row)) continue
      if (!this.session.readPosition.isUnread(row.key)) break
      if (row.key.author !== this.session.myKeyId) count++
    }
    return count
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-message-list': ParleyMessageList
  }
}
