// The room's header: connection status, the theme switch, my display name, Copy link and Leave
// room; at phone width (issue 12 §9) two tidy rows and a "People" button that opens the people
// drawer (room-view.ts), instead of one line wrapping where it can.
import { LitElement, html, css } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { MAX_NAME_CHARS } from '../model'
import type { ConnectionStatus } from './room-state'
import { baseStyles } from './styles'
import './connection-status'
import './theme-switch'

@customElement('parley-room-header')
export class ParleyRoomHeader extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        border-bottom: 1px solid var(--border);
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
        padding: 0.5rem 0.75rem;
      }
      .title,
      .actions {
        display: flex;
        align-items: center;
        gap: 0.5rem 0.75rem;
        min-width: 0;
      }
      .title {
        flex: 1 1 auto;
      }
      h1 {
        font-size: 1.1rem;
        margin: 0;
      }
      parley-connection-status {
        flex: 0 1 auto;
        min-width: 0;
      }
      .spacer {
        flex: 1;
      }
      input {
        font: inherit;
        padding: 0.25rem 0.4rem;
        width: 10rem;
        min-width: 0;
      }
      .copied {
        min-width: 0;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .people-toggle {
        display: none;
      }
      @media (max-width: 40rem) {
        .title,
        .actions {
          flex-basis: 100%;
        }
        label {
          display: flex;
          flex: 1;
          min-width: 0;
        }
        .label-text {
          position: absolute;
          width: 1px;
          height: 1px;
          overflow: hidden;
          clip-path: inset(50%);
          white-space: nowrap;
        }
        input {
          width: 100%;
        }
        .actions button,
        .people-toggle {
          padding: 0.35rem 0.5rem;
          white-space: nowrap;
        }
        .people-toggle {
          display: inline-block;
        }
      }
    `,
  ]

  @property({ attribute: false }) status!: ConnectionStatus
  @property({ attribute: false }) myName = ''
  @property({ type: Number }) peopleCount = 0
  /** The phone layout's people drawer is open. */
  @property({ type: Boolean }) peopleOpen = false
  @state() private copied = ''

  override render() {
    return html`<header>
      <div class="title">
        <h1>Parley</h1>
        <parley-connection-status .status=${this.status}></parley-connection-status>
        <span class="spacer"></span>
        <parley-theme-switch></parley-theme-switch>
        <button
          type="button"
          class="people-toggle"
          aria-expanded=${this.peopleOpen ? 'true' : 'false'}
          @click=${() => this.emit('toggle-people')}
        >
          People (${this.peopleCount})
        </button>
      </div>
      <div class="actions">
        <label>
          <span class="label-text">Your name</span>
          <input
            aria-label="Display name"
            maxlength=${MAX_NAME_CHARS}
            .value=${this.myName}
            @change=${(e: Event) => this.rename(e)}
          />
        </label>
        <button type="button" @click=${() => this.copyLink()}>Copy link</button>
        <span class="muted copied" role="status">${this.copied}</span>
        <button type="button" @click=${() => this.leave()}>Leave room</button>
      </div>
    </header>`
  }

  /** Where focus goes back to when the people drawer closes. */
  focusPeopleToggle(): void {
    this.renderRoot.querySelector<HTMLButtonElement>('.people-toggle')?.focus()
  }

  private emit(name: string, detail?: string): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }))
  }

  private rename(event: Event): void {
    const name = (event.target as HTMLInputElement).value.trim().slice(0, MAX_NAME_CHARS)
    if (name) this.emit('rename', name)
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
    if (ok) this.emit('leave')
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-room-header': ParleyRoomHeader
  }
}
