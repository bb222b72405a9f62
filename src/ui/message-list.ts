// The room's messages, virtualized so a room of 100,000 renders only what is on screen, with a
// separator per day. Follows the newest message while the reader is at the bottom. Rendering
// is total: a row that cannot render shows as an anomaly and the list goes on
// (docs/document-model.md "Rendering").
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import '@lit-labs/virtualizer'
import type { LitVirtualizer } from '@lit-labs/virtualizer'
import type { RoomSession } from '../session/room-session'
import type { TimelineEntry } from '../session/timeline'
import { baseStyles } from './styles'
import { dayKey, dayLabel } from './time-labels'
import { renderUnshowable } from './message-item'

type Row =
  | { kind: 'day'; key: string; label: string }
  | {
      kind: 'entry'
      key: string
      entry: TimelineEntry
      /** Same author as the row before, within GROUP_MS: shown under the same name. */
      continued: boolean
    }

/** Messages of one person this close together read as one turn, as in other chat apps. */
const GROUP_MS = 5 * 60_000

export function rowsOf(entries: readonly TimelineEntry[]): Row[] {
  const rows: Row[] = []
  let lastDay = ''
  let previous: TimelineEntry | undefined
  for (const entry of entries) {
    const day = dayKey(entry.key.wall)
    if (day !== lastDay) {
      // Entries are in time order, so each day (and 'no-date', past every real one) is one run.
      rows.push({ kind: 'day', key: `day:${day}`, label: dayLabel(entry.key.wall) })
      lastDay = day
      previous = undefined
    }
    const continued =
      previous !== undefined &&
      previous.key.author === entry.key.author &&
      entry.key.wall - previous.key.wall < GROUP_MS
    rows.push({ kind: 'entry', key: entry.id, entry, continued })
    previous = entry
  }
  return rows
}

/** Within this many pixels of the end counts as "at the newest message". */
const BOTTOM_SLACK_PX = 48
/** Layout rounds to wait for the end to settle: a few suffice; bounded so it never spins. */
const MAX_PIN_ROUNDS = 20

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
      }
      lit-virtualizer {
        flex: 1;
        width: 100%;
        min-height: 0;
      }
      .day {
        text-align: center;
        font-size: 0.75rem;
        color: #6b7280;
        padding: 0.75rem 0 0.25rem;
        width: 100%;
      }
      .empty {
        padding: 2rem;
        text-align: center;
      }
    `,
  ]

  @property({ attribute: false }) entries: readonly TimelineEntry[] = []
  @property({ attribute: false }) session!: RoomSession
  private atBottom = true
  /** While we scroll to the newest message ourselves: our own scroll events say nothing about
   * where the reader wants to be. */
  private pinning = false
  private rows: Row[] = []

  override willUpdate(): void {
    this.rows = rowsOf(this.entries)
  }

  override render() {
    if (this.entries.length === 0)
      return html`<p class="empty muted">No messages yet. Share the link and say hello.</p>`
    return html`<lit-virtualizer
      scroller
      @scroll=${this.onScroll}
      role="log"
      aria-label="Messages"
      .items=${this.rows}
      .keyFunction=${(row: Row) => row.key}
      .renderItem=${this.renderRow}
    ></lit-virtualizer>`
  }

  /** One row; a row that throws becomes an anomaly row instead of taking the list down. */
  private readonly renderRow = (row: Row) => {
    try {
      return row.kind === 'day'
        ? html`<div class="day" role="separator">${row.label}</div>`
        : html`<parley-message
            .entry=${row.entry}
            .session=${this.session}
            ?continued=${row.continued}
          ></parley-message>`
    } catch (error) {
      console.error('message list: a row could not be rendered', error)
      return renderUnshowable()
    }
  }

  override updated(): void {
    if (this.atBottom) this.pinToNewest()
  }

  scrollToNewest(): void {
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
      const laidOut = await virtualizer.layoutComplete?.then(
        () => true,
        () => false,
      )
      if (laidOut === false) return
      this.scrollToNewest()
      await new Promise((resolve) => requestAnimationFrame(resolve))
      // Round 0 may run before the rows were rendered at all: always check once more.
      if (round > 0 && nearBottom(virtualizer)) return
    }
  }

  private virtualizer(): LitVirtualizer | null {
    return this.renderRoot.querySelector<LitVirtualizer>('lit-virtualizer')
  }

  private readonly onScroll = (event: Event): void => {
    if (this.pinning) return
    this.atBottom = nearBottom(event.currentTarget as HTMLElement)
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-message-list': ParleyMessageList
  }
}
