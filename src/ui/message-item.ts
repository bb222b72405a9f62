// One row of the room: author (name, colour, fingerprint; once per turn), time (full date on
// hover), text, "(edited)", "sent offline", delivery state for our own messages, and a toolbar
// shown on hover or keyboard focus: Copy text, and Edit and Delete for their author. Editing
// (from Edit, or ArrowUp in the composer) saves on Enter and is cancelled by Escape.
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
import { fullTimeLabel, isoTime, timeLabel } from './time-labels'
import { colourOf, defaultName, fingerprint } from './identity-look'
import { SubscriptionController } from './subscription-controller'
import { seenByText } from './room-state'
import { askToConfirm } from './confirm-request'
import './message-text'

// Our writes nobody has reported holding are "not yet delivered"; an unknown write (marks are
// kept for a bounded number of sessions) has long been delivered.
const deliveryLabel: Record<DeliveryState, string> = {
  // This browser cannot store the room right now, and nobody else has the message yet.
  unsaved: 'not saved yet',
  pending: 'not yet delivered',
  'saved-to-relay': 'saved to relay',
  delivered: 'delivered',
}

/** Long enough to be read, short enough not to linger. */
const COPIED_SHOWN_MS = 2000

export type EditOrigin = 'button' | 'composer'

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
        /* The virtualizer positions rows absolutely, which would shrink a row to its text:
           full width, so a message of mine can sit on the right. */
        width: 100%;
        box-sizing: border-box;
        padding: 0.25rem 0.75rem;
      }
      :host([continued]) {
        padding-top: 0;
      }
      article {
        position: relative;
        width: fit-content;
        min-width: 8rem;
        max-width: min(42rem, 85%);
        padding: 0.4rem 0.6rem;
        border-radius: 8px;
        background: var(--surface);
      }
      /* Mine: on the other side and in another colour, as people know from other chats. */
      article.mine {
        margin-left: auto;
        background: var(--mine-bg);
        border: 1px solid var(--mine-border);
      }
      /* A name shown once per turn: later rows of it keep it for screen readers only. */
      :host([continued]) header {
        position: absolute;
        width: 1px;
        height: 1px;
        overflow: hidden;
        clip-path: inset(50%);
        white-space: nowrap;
      }
      .toolbar {
        position: absolute;
        top: -0.9rem;
        right: 0.5rem;
        display: flex;
        gap: 0.15rem;
        padding: 0.1rem;
        border: 1px solid var(--border);
        border-radius: 6px;
        background: var(--button-bg);
        opacity: 0;
        transition: opacity 0.1s;
      }
      /* Actions appear where the reader is: pointer over the message, or keyboard focus in it;
         on touch screens, which cannot hover, they stay shown. */
      article:hover .toolbar,
      article:focus-within .toolbar {
        opacity: 1;
        z-index: 1;
      }
      @media (hover: none) {
        .toolbar {
          position: static;
          opacity: 1;
          border: none;
          background: none;
          justify-content: flex-end;
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .toolbar {
          transition: none;
        }
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
        color: var(--warn);
      }
      .toolbar button {
        font-size: 0.75rem;
        padding: 0.1rem 0.4rem;
        border: none;
        background: none;
        white-space: nowrap;
      }
      .toolbar button:hover,
      .toolbar button:focus-visible {
        background: var(--hover);
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
  /** Follows a message of the same person (message-list.ts): the name is not repeated. */
  @property({ type: Boolean, reflect: true }) continued = false
  @state() private resolved: ResolvedEntry | undefined
  @state() private editing = false
  @state() private error = ''
  @state() private copied = false
  /** Where focus goes back to once the edit ends: the Edit button, or the composer. */
  private editFrom: EditOrigin = 'button'
  /** Delivery marks and member names change without the entry changing. */
  private readonly subscriptions = new SubscriptionController(this)

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('session'))
      this.subscriptions.follow(
        this.session.delivery.changed,
        this.session.members.changed,
        this.session.seenBy.changed,
      )
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
          <time
            class="muted"
            datetime=${isoTime(entry.key.wall)}
            title=${fullTimeLabel(entry.key.wall)}
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
    const seen = mine ? seenByText(this.session, this.entry.key) : null
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
              ? html`<span class="warn"
                  >${resolved.legacy ? 'older format: author not verified' : 'unverified author'}</span
                >`
              : nothing
        }
        ${this.entry.fromTheFuture ? html`<span class="warn">time stamp in the future</span>` : nothing}
        ${
          mine
            ? html`<span
                class="muted delivery"
                data-delivery=${seen ? 'seen' : (delivery ?? 'delivered')}
                >${seen ?? deliveryLabel[delivery ?? 'delivered']}</span
              >`
            : nothing
        }
        ${this.copied ? html`<span class="muted" role="status">Copied</span>` : nothing}
      </div>
      ${resolved.text !== null ? this.renderToolbar(resolved.text, mine) : nothing}
      ${this.error ? html`<p class="warn" role="alert">${this.error}</p>` : nothing}
    `
  }

  /** Opens the editor on this message's text and focuses it. */
  startEdit(from: EditOrigin): void {
    this.editFrom = from
    this.editing = true
    void this.updateComplete.then(() => {
      const box = this.renderRoot.querySelector<HTMLTextAreaElement>('textarea')
      box?.focus()
      box?.setSelectionRange(box.value.length, box.value.length)
    })
  }

  private endEdit(): void {
    this.editing = false
    const from = this.editFrom
    this.dispatchEvent(new CustomEvent('edit-end', { detail: from, bubbles: true, composed: true }))
    if (from === 'button')
      void this.updateComplete.then(() => this.button('Edit')?.focus({ preventScroll: true }))
  }

  private button(name: string): HTMLButtonElement | undefined {
    return [...this.renderRoot.querySelectorAll('button')].find((b) => b.textContent === name)
  }

  private renderToolbar(text: string, mine: boolean) {
    return html`<div class="toolbar" role="toolbar" aria-label="Message actions">
      <button type="button" @click=${() => this.copyText(text)}>Copy text</button>
      ${
        mine
          ? html`<button type="button" @click=${() => this.startEdit('button')}>Edit</button>
              <button type="button" @click=${() => this.deleteMessage()}>Delete</button>`
          : nothing
      }
    </div>`
  }

  private async copyText(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text)
      this.copied = true
      this.error = ''
      setTimeout(() => (this.copied = false), COPIED_SHOWN_MS)
    } catch {
      this.error = 'Could not copy: this browser did not allow it.'
    }
  }

  private renderEditor(text: string) {
    return html`
      <form @submit=${(e: Event) => this.saveEdit(e)}>
        <textarea
          aria-label="Edit message"
          .value=${text}
          @keydown=${(e: KeyboardEvent) => this.onEditKey(e)}
        ></textarea>
        <button class="primary" type="submit">Save</button>
        <button type="button" @click=${() => this.endEdit()}>Cancel</button>
      </form>
    `
  }

  /** As in the composer: Enter saves, Shift+Enter is a newline; Escape cancels. */
  private onEditKey(event: KeyboardEvent): void {
    if (event.isComposing || event.keyCode === 229) return
    if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      this.endEdit()
    } else if (event.key === 'Enter' && !event.shiftKey) {
      void this.saveEdit(event)
    }
  }

  private async saveEdit(event: Event): Promise<void> {
    event.preventDefault()
    const text = this.renderRoot.querySelector('textarea')?.value ?? ''
    try {
      await this.session.edit(this.entry.id, text)
      this.endEdit()
      this.error = ''
    } catch (error) {
      this.error = error instanceof Error ? error.message : 'Could not save the edit.'
    }
  }

  /** Asked once (issue 12 §6): deleting reaches every copy of the room and cannot be undone,
   * so — as Signal and Element do — the person confirms, in the room's dialog. */
  private async deleteMessage(): Promise<void> {
    const confirmed = await askToConfirm(this, {
      title: 'Delete this message?',
      body: 'It will be deleted for everyone in the room. This cannot be undone.',
      action: 'Delete',
    })
    if (!confirmed) return
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
