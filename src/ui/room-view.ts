// The room: header (room-header.ts), messages, composer, and the people here — a side panel,
// or at phone width a drawer the header's "People" button opens (Escape or the scrim closes
// it). New messages from others are read out by the announcer (new-message-announcer.ts).
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import type { RoomSession } from '../session/room-session'
import { SubscriptionController } from './subscription-controller'
import { connectionOf, ignoredChangesText, peopleOf, typingOf, withheldText } from './room-state'
import { baseStyles } from './styles'
import type { EditOrigin } from './message-item'
import { CONFIRM_REQUEST, type ConfirmRequest } from './confirm-request'
import type { ParleyConfirm } from './confirm-dialog'
import './composer'
import './message-list'
import './people-list'
import './room-header'
import './new-message-announcer'
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
        /* minmax(0, …): long content scrolls or wraps inside, never widens the page. */
        grid-template-columns: minmax(0, 1fr) 15rem;
        height: 100%;
      }
      parley-room-header {
        grid-column: 1 / -1;
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
        background: var(--notice-bg);
        color: var(--notice-fg);
      }
      .damaged {
        margin: 0;
        padding: 0.5rem 0.75rem;
        background: var(--notice-bg);
        color: var(--notice-fg);
      }
      aside {
        grid-column: 2;
        border-left: 1px solid var(--border);
        padding: 0.75rem;
        overflow-y: auto;
      }
      parley-composer {
        padding: 0.5rem 0.75rem;
        border-top: 1px solid var(--border);
      }
      /* Its dialog shows in the top layer: no cell in the grid. */
      parley-confirm {
        display: contents;
      }
      .drawer-close,
      .scrim {
        display: none;
      }
      /* A phone: the people panel slides in from the side over the room when asked for. */
      @media (max-width: 40rem) {
        :host {
          grid-template-columns: minmax(0, 1fr);
        }
        aside {
          position: fixed;
          inset: 0 0 0 auto;
          z-index: 10;
          width: min(18rem, 85vw);
          background: var(--bg);
          box-shadow: -4px 0 16px var(--shadow);
          transform: translateX(100%);
          visibility: hidden;
          /* Hidden once slid out; shown (so focusable) at once when opened. */
          transition:
            transform 0.2s ease-out,
            visibility 0s 0.2s;
        }
        aside.open {
          transform: none;
          visibility: visible;
          transition: transform 0.2s ease-out;
        }
        .drawer-close {
          display: block;
          margin: 0 0 0.75rem auto;
        }
        .scrim {
          display: block;
          position: fixed;
          inset: 0;
          z-index: 9;
          background: var(--shadow);
        }
      }
    `,
  ]

  @property({ attribute: false }) session!: RoomSession
  /** Phone layout only: the people panel is a drawer, open or not. */
  @state() private peopleOpen = false
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
    const people = peopleOf(session)
    return html`
      <parley-room-header
        .status=${connectionOf(session)}
        .myName=${session.myName}
        .peopleCount=${people.length}
        .peopleOpen=${this.peopleOpen}
        @toggle-people=${() => this.showPeople(!this.peopleOpen)}
      ></parley-room-header>
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
      ${this.peopleOpen ? html`<div class="scrim" @click=${() => this.showPeople(false)}></div>` : nothing}
      <aside
        class=${this.peopleOpen ? 'open' : ''}
        aria-label="People"
        @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && this.showPeople(false)}
      >
        <button type="button" class="drawer-close" @click=${() => this.showPeople(false)}>
          Close people
        </button>
        <parley-people .people=${people}></parley-people>
        <parley-read-receipts .reading=${session.readPosition}></parley-read-receipts>
      </aside>
      <parley-announcer
        .session=${session}
        .entries=${session.timeline.entries()}
      ></parley-announcer>
      <parley-confirm
        .fallbackFocus=${() => this.renderRoot.querySelector('parley-composer')?.focus()}
      ></parley-confirm>
    `
  }

  /** The phone layout's people drawer: focus moves into it, and back to its button. */
  private showPeople(open: boolean): void {
    if (open === this.peopleOpen) return
    this.peopleOpen = open
    void this.updateComplete.then(() => {
      if (open) this.renderRoot.querySelector<HTMLButtonElement>('.drawer-close')?.focus()
      else this.renderRoot.querySelector('parley-room-header')?.focusPeopleToggle()
    })
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
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-room': ParleyRoom
  }
}
