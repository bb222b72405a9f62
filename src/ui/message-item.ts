// One row of the room: author (name, colour, fingerprint), time, text, "(edited)",
// "sent offline", delivery state for our own messages, and edit/delete for their author.
// Content is resolved (decrypted, verified) on demand when the row is rendered. A row that
// cannot be rendered shows "This message could not be shown" instead of throwing
// (docs/document-model.md "Rendering").
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import type { RoomSession } from '../session/room-session'
import type { DeliveryState } from '../session/delivery'
import type { TimelineEntry } from '../session/timeline'
import { CANNOT_SHOW, type ResolvedEntry } from '../session/message-content'
import { baseStyles } from './styles'
import { isoTime, timeLabel } from './time-labels'
import { colourOf, defaultName, fingerprint } from './identity-look'
import { SubscriptionController } from './subscription-controller'
import './message-text'

// Our writes nobody has reported holding are "not yet delivered"; an unknown write (marks are
// kept for a bounded number of sessions) has long been delivered.
const deliveryLabel: Record<DeliveryState, string> = {
  pending: 'not yet delivered',
  'saved-to-relay': 'saved to relay',
  delivered: 'delivered',
}

/** The row of an entry that could not be rendered: named, so it is found and read out. */
export function renderUnshowable() {
  return html`<article data-state="unshowable" aria-label=${CANNOT_SHOW}>
    <p class="text placeholder warn">${CANNOT_SHOW}</p>
  </article>`
}

@customElement('parley-message')
export class ParleyMessage extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        padding: 0.25rem 0.75rem;
      }
      article {
        max-width: 42rem;
        padding: 0.4rem 0.6rem;
        border-radius: 8px;
        background: #f3f4f6;
      }
      article.mine {
        margin-left: auto;
        background: #e0ecff;
      }
      header {
        display: flex;
        gap: 0.5rem;
        align-items: baseline;
        font-size: 0.8rem;
      }
      .author {
        font-weight: 600;
      }
      .text {
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        margin: 0.15rem 0;
      }
      .flags {
        font-size: 0.75rem;
        display: flex;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
      .warn {
        color: #b45309;
      }
      .actions button {
        font-size: 0.75rem;
        padding: 0.1rem 0.4rem;
      }
      textarea {
        width: 100%;
        font: inherit;
      }
      .placeholder {
        font-style: italic;
      }
    `,
  ]

  @property({ attribute: false }) entry!: TimelineEntry
  @property({ attribute: false }) session!: RoomSession
  @state() private resolved: ResolvedEntry | undefined
  @state() private editing = false
  @state() private error = ''
  /** Delivery marks and member names change without the entry changing. */
  private readonly subscriptions = new SubscriptionController(this)

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('session'))
      this.subscriptions.follow(this.session.delivery.changed, this.session.members.changed)
    const known = this.resolved
    const stale =
      changed.has('entry') ||
      changed.has('session') ||
      (known?.kind === 'message' && known.authenticity === 'unverified')
    if (stale) this.resolve()
  }

  private resolve(): void {
    const entry = this.entry
    this.resolved = this.session.content.peek(entry) ?? this.resolved
    void this.session.content.resolve(entry).then((resolved) => {
      if (this.entry === entry && resolved !== this.resolved) this.resolved = resolved
    })
  }

  override render() {
    try {
      return this.renderEntry()
    } catch (error) {
      console.error('message: this row could not be rendered', error)
      return renderUnshowable()
    }
  }

  private renderEntry() {
    const entry = this.entry
    const mine = entry.key.author === this.session.myKeyId
    const resolved = this.resolved
    const member = this.session.members.get(entry.key.author)
    const name = mine ? this.session.myName : (member?.name ?? defaultName(entry.key.author))
    return html`
      <article
        class=${mine ? 'mine' : ''}
        data-id=${entry.id}
        data-state=${resolved?.kind ?? 'loading'}
        aria-label=${resolved?.kind === 'anomaly' ? resolved.reason : nothing}
      >
        <header>
          <span class="author" style="color: ${colourOf(entry.key.author)}">${name}</span>
          <span class="muted" title="Key fingerprint">${fingerprint(entry.key.author)}</span>
          <time class="muted" datetime=${isoTime(entry.key.wall)}
            >${timeLabel(entry.key.wall)}</time
          >
        </header>
        ${this.renderBody(resolved, mine)}
      </article>
    `
  }

  private renderBody(resolved: ResolvedEntry | undefined, mine: boolean) {
    if (!resolved) return html`<p class="text muted">…</p>`
    if (resolved.kind === 'deleted')
      return html`<p class="text placeholder muted">message deleted</p>`
    if (resolved.kind === 'anomaly')
      return html`<p class="text placeholder warn">${resolved.reason}</p>`
    if (this.editing && resolved.text !== null) return this.renderEditor(resolved.text)
    const delivery = mine ? this.session.deliveryOf(this.entry.id) : undefined
    return html`
      ${
        resolved.text === null
          ? html`<p class="text placeholder warn">cannot decrypt</p>`
          : html`<parley-message-text class="text" .text=${resolved.text}></parley-message-text>`
      }
      <div class="flags">
        ${resolved.edited ? html`<span class="muted">(edited)</span>` : nothing}
        ${resolved.sentOffline ? html`<span class="muted">sent offline</span>` : nothing}
        ${
          resolved.authenticity === 'forged'
            ? html`<span class="warn">signature does not match its author</span>`
            : resolved.authenticity === 'unverified'
              ? html`<span class="warn">unverified author</span>`
              : nothing
        }
        ${this.entry.fromTheFuture ? html`<span class="warn">time stamp in the future</span>` : nothing}
        ${
          mine
            ? html`<span class="muted delivery" data-delivery=${delivery ?? 'delivered'}
                >${deliveryLabel[delivery ?? 'delivered']}</span
              >`
            : nothing
        }
        ${
          mine && resolved.text !== null
            ? html`<span class="actions">
                <button type="button" @click=${() => (this.editing = true)}>Edit</button>
                <button type="button" @click=${() => this.deleteMessage()}>Delete</button>
              </span>`
            : nothing
        }
      </div>
      ${this.error ? html`<p class="warn" role="alert">${this.error}</p>` : nothing}
    `
  }

  private renderEditor(text: string) {
    return html`
      <form @submit=${(e: Event) => this.saveEdit(e)}>
        <textarea aria-label="Edit message" .value=${text}></textarea>
        <button class="primary" type="submit">Save</button>
        <button type="button" @click=${() => (this.editing = false)}>Cancel</button>
      </form>
    `
  }

  private async saveEdit(event: Event): Promise<void> {
    event.preventDefault()
    const text = this.renderRoot.querySelector('textarea')?.value ?? ''
    try {
      await this.session.edit(this.entry.id, text)
      this.editing = false
      this.error = ''
    } catch (error) {
      this.error = error instanceof Error ? error.message : 'Could not save the edit.'
    }
  }

  private async deleteMessage(): Promise<void> {
    if (!confirm('Delete this message for everyone?')) return
    try {
      await this.session.remove(this.entry.id)
    } catch (error) {
      this.error = error instanceof Error ? error.message : 'Could not delete the message.'
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-message': ParleyMessage
  }
}
