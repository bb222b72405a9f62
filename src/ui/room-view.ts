// The room: header (status, copy link, display name, leave), messages, people, composer.
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import type { RoomSession } from '../session/room-session'
import { MAX_NAME_CHARS } from '../model'
import { SubscriptionController } from './subscription-controller'
import { connectionOf, ignoredChangesText, peopleOf, typingOf, withheldText } from './room-state'
import { baseStyles } from './styles'
import type { EditOrigin } from './message-item'
import { CONFIRM_REQUEST, type ConfirmRequest } from './confirm-request'
import type { ParleyConfirm } from './confirm-dialog'
import './composer'
import './message-list'
import './people-list'
import './connection-status'
import './storage-notice'
import './typing-indicator'
import './read-receipts'

@customElement('parley-room')
export class ParleyRoom extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: grid;
        grid-template-rows: auto minmax(0, 1fr);
        grid-template-columns: 1fr 15rem;
        height: 100%;
      }
      header {
        grid-column: 1 / -1;
        display: flex;
        gap: 0.75rem;
        align-items: center;
        flex-wrap: wrap;
        padding: 0.5rem 0.75rem;
        border-bottom: 1px solid #e5e7eb;
      }
      header h1 {
        font-size: 1.1rem;
        margin: 0;
      }
      .spacer {
        flex: 1;
      }
      main {
        display: flex;
        flex-direction: column;
        min-height: 0;
      }
      parley-message-list {
        flex: 1;
      }
      .ignored {
        margin: 0;
        padding: 0.25rem 0.75rem;
        font-size: 0.85rem;
      }
      .withheld {
        margin: 0;
        padding: 0.25rem 0.75rem;
        font-size: 0.85rem;
        background: #fef3c7;
      }
      .damaged {
        margin: 0;
        padding: 0.5rem 0.75rem;
        background: #fef3c7;
      }
      aside {
        grid-column: 2;
        border-left: 1px solid #e5e7eb;
        padding: 0.75rem;
        overflow-y: auto;
      }
      parley-composer {
        padding: 0.5rem 0.75rem;
        border-top: 1px solid #e5e7eb;
      }
      input {
        font: inherit;
        padding: 0.25rem 0.4rem;
        width: 10rem;
      }
      /* Its dialog shows in the top layer: no cell in the grid. */
      parley-confirm {
        display: contents;
      }
      @media (max-width: 40rem) {
        :host {
          grid-template-columns: 1fr;
        }
        aside {
          display: none;
        }
      }
    `,
  ]

  @property({ attribute: false }) session!: RoomSession
  @state() private copied = ''
  private readonly subscriptions = new SubscriptionController(this)

  override connectedCallback(): void {
    super.connectedCallback()
    this.addEventListener(CONFIRM_REQUEST, this.onConfirmRequest as EventListener)
  }

  override disconnectedCallback(): void {
    this.removeEventListener(CONFIRM_REQUEST, this.onConfirmRequest as EventListener)
    super.disconnectedCallback()
  }

  /** A row asks before deleting: the one dialog answers, loaded when first needed (first-load
   * JS budget). */
  private readonly onConfirmRequest = (event: CustomEvent<ConfirmRequest>): void => {
    event.preventDefault()
    event.stopPropagation()
    const { answer, ...question } = event.detail
    void import('./confirm-dialog')
      .then(async () => {
        await this.updateComplete
        const dialog = this.renderRoot.querySelector<ParleyConfirm>('parley-confirm')
        answer(dialog ? await dialog.ask(question) : false)
      })
      .catch(() => answer(false))
  }

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('session'))
      this.subscriptions.follow(this.session.changed, this.session.timeline.changed)
  }

  override render() {
    const session = this.session
    const ignored = ignoredChangesText(session)
    const withheld = withheldText(session)
    return html`
      <header>
        <h1>Parley</h1>
        <parley-connection-status .status=${connectionOf(session)}></parley-connection-status>
        <span class="spacer"></span>
        <label>
          Your name
          <input
            aria-label="Display name"
            maxlength=${MAX_NAME_CHARS}
            .value=${session.myName}
            @change=${(e: Event) => this.rename(e)}
          />
        </label>
        <button type="button" @click=${() => this.copyLink()}>Copy link</button>
        <span class="muted" role="status">${this.copied}</span>
        <button type="button" @click=${() => this.leave()}>Leave room</button>
      </header>
      <main>
        ${
          session.damagedLocalUpdates > 0
            ? html`<p class="damaged" role="alert">
                Some of this room's data stored in this browser was damaged and has been skipped
                (${session.damagedLocalUpdates}
                ${session.damagedLocalUpdates === 1 ? 'update' : 'updates'}). Peers fill in what
                they have when they connect.
              </p>`
            : nothing
        }
        <parley-storage-notice .problem=${session.storageProblem}></parley-storage-notice>
        ${ignored ? html`<p class="ignored muted" role="status">${ignored}</p>` : nothing}
        ${withheld ? html`<p class="withheld" role="status">${withheld}</p>` : nothing}
        <parley-message-list
          .entries=${session.timeline.entries()}
          .session=${session}
          @edit-end=${(e: CustomEvent<EditOrigin>) => this.editEnded(e)}
        ></parley-message-list>
        <parley-typing .text=${typingOf(session)}></parley-typing>
        <parley-composer
          .onSend=${(text: string) => this.send(text)}
          .draft=${session.drafts.text}
          .onDraft=${(text: string) => session.drafts.keep(text)}
          .onEditLast=${() => this.editLast()}
          @input=${(e: Event) => this.composing(e)}
        ></parley-composer>
      </main>
      <aside>
        <parley-people .people=${peopleOf(session)}></parley-people>
        <parley-read-receipts .reading=${session.readPosition}></parley-read-receipts>
      </aside>
      <parley-confirm
        .fallbackFocus=${() => this.renderRoot.querySelector('parley-composer')?.focus()}
      ></parley-confirm>
    `
  }

  private async send(text: string): Promise<void> {
    await this.session.send(text)
    this.renderRoot.querySelector('parley-message-list')?.scrollToNewest()
  }

  /** ArrowUp in the empty composer: edit my newest message that still has its text. */
  private editLast(): boolean {
    const entries = this.session.timeline.entries()
    const me = this.session.myKeyId
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]
      if (entry.key.author !== me || entry.state !== 'message' || entry.anomaly) continue
      void this.renderRoot.querySelector('parley-message-list')?.editMessage(entry.id, 'composer')
      return true
    }
    return false
  }

  /** An edit begun from the composer hands the keyboard back to it when it ends. */
  private editEnded(event: CustomEvent<EditOrigin>): void {
    if (event.detail === 'composer') this.renderRoot.querySelector('parley-composer')?.focus()
  }

  /** The composer's text changed (its input event leaves its shadow root): typing while it
   * holds text, not once it is empty. */
  private composing(event: Event): void {
    const box = event.composedPath()[0]
    const text = box instanceof HTMLTextAreaElement ? box.value : ''
    if (text.trim() === '') this.session.stopTyping()
    else this.session.noteTyping()
  }

  private rename(event: Event): void {
    const name = (event.target as HTMLInputElement).value.trim().slice(0, MAX_NAME_CHARS)
    if (!name) return
    this.dispatchEvent(new CustomEvent('rename', { detail: name, bubbles: true, composed: true }))
  }

  private async copyLink(): Promise<void> {
    try {
      await navigator.clipboard.writeText(location.href)
      this.copied = 'Link copied'
    } catch {
      this.copied = 'Copy failed: copy the address bar instead'
    }
  }

  private leave(): void {
    const ok = confirm(
      'Leave this room? Its messages will be deleted from this browser. Others keep their copies.',
    )
    if (ok) this.dispatchEvent(new CustomEvent('leave', { bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-room': ParleyRoom
  }
}
