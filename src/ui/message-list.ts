// The room's messages, virtualized so a room of 100,000 renders only what is on screen, with a
// separator per day. Follows the newest message while the reader is at the bottom.
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import '@lit-labs/virtualizer'
import type { LitVirtualizer } from '@lit-labs/virtualizer'
import type { RoomSession } from '../session/room-session'
import type { TimelineEntry } from '../session/timeline'
import { baseStyles } from './styles'
import './message-item'

type Row =
  { kind: 'day'; key: string; label: string } | { kind: 'entry'; key: string; entry: TimelineEntry }

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' })

function dayOf(wall: number): string {
  const d = new Date(wall)
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`
}

export function rowsOf(entries: readonly TimelineEntry[]): Row[] {
  const rows: Row[] = []
  let lastDay = ''
  for (const entry of entries) {
    const day = dayOf(entry.key.wall)
    if (day !== lastDay) {
      rows.push({ kind: 'day', key: `day:${day}`, label: dayFormat.format(entry.key.wall) })
      lastDay = day
    }
    rows.push({ kind: 'entry', key: entry.id, entry })
  }
  return rows
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
      .renderItem=${(row: Row) =>
        row.kind === 'day'
          ? html`<div class="day" role="separator">${row.label}</div>`
          : html`<parley-message .entry=${row.entry} .session=${this.session}></parley-message>`}
    ></lit-virtualizer>`
  }

  override updated(): void {
    if (this.atBottom) this.scrollToNewest()
  }

  scrollToNewest(): void {
    const virtualizer = this.renderRoot.querySelector<LitVirtualizer>('lit-virtualizer')
    if (!virtualizer || this.rows.length === 0) return
    virtualizer.scrollToIndex(this.rows.length - 1, 'end')
  }

  private readonly onScroll = (event: Event): void => {
    const scroller = event.currentTarget as HTMLElement
    this.atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-message-list': ParleyMessageList
  }
}
