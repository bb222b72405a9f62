// The room's confirmation dialog (confirm-request.ts): a modal <dialog>, so the page behind it
// is inert and focus stays inside; it opens on Cancel (the safe choice), Escape cancels, and
// focus goes back to what had it on cancel, or to the fallback the room view names (the
// composer) once the action went ahead and removed what asked.
import { LitElement, html, css } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { baseStyles } from './styles'
import { deepActiveElement, type ConfirmQuestion } from './confirm-request'

@customElement('parley-confirm')
export class ParleyConfirm extends LitElement {
  static override styles = [
    baseStyles,
    css`
      dialog {
        max-width: min(26rem, calc(100vw - 2rem));
        padding: 1rem 1.25rem;
        border: 1px solid var(--border);
        border-radius: 10px;
        background: var(--bg);
        color: inherit;
        box-shadow: 0 8px 24px var(--shadow);
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 40%);
      }
      h2 {
        font-size: 1.05rem;
        margin: 0 0 0.5rem;
      }
      p {
        margin: 0 0 1rem;
      }
      .buttons {
        display: flex;
        justify-content: flex-end;
        gap: 0.5rem;
      }
      button.danger {
        /* White on this red is 6.5:1 in both themes. */
        background: #b91c1c;
        border-color: #b91c1c;
        color: #fff;
      }
    `,
  ]

  /** Where focus goes when what had it before the dialog is gone. */
  @property({ attribute: false }) fallbackFocus: () => void = () => undefined
  @state() private question: ConfirmQuestion | undefined
  private settle: ((confirmed: boolean) => void) | undefined
  private returnTo: HTMLElement | null = null

  override render() {
    const q = this.question
    return html`<dialog
      aria-labelledby="confirm-title"
      aria-describedby="confirm-body"
      @close=${() => this.finish(false)}
      @keydown=${(e: KeyboardEvent) => this.keepFocusInside(e)}
    >
      <h2 id="confirm-title">${q?.title}</h2>
      <p id="confirm-body">${q?.body}</p>
      <div class="buttons">
        <button type="button" class="cancel" @click=${() => this.finish(false)}>Cancel</button>
        <button type="button" class="danger" @click=${() => this.finish(true)}>${q?.action}</button>
      </div>
    </dialog>`
  }

  /** Shows the question; resolves with the answer. A question asked while one is open
   * cancels the first. */
  async ask(question: ConfirmQuestion): Promise<boolean> {
    this.settle?.(false)
    this.returnTo ??= deepActiveElement()
    this.question = question
    await this.updateComplete
    const dialog = this.dialog()
    if (!dialog.open) dialog.showModal()
    this.renderRoot.querySelector<HTMLButtonElement>('button.cancel')?.focus()
    return new Promise((resolve) => (this.settle = resolve))
  }

  /** A modal dialog makes the page inert, but Tab past its last button leaves the document
   * (to the browser's own controls): wrap around instead, as a dialog should. */
  private keepFocusInside(event: KeyboardEvent): void {
    if (event.key !== 'Tab') return
    const buttons = [...this.renderRoot.querySelectorAll('button')]
    const at = buttons.indexOf(this.shadowRoot?.activeElement as HTMLButtonElement)
    const next = (at + (event.shiftKey ? -1 : 1) + buttons.length) % buttons.length
    event.preventDefault()
    buttons[at < 0 ? 0 : next].focus()
  }

  private finish(confirmed: boolean): void {
    const settle = this.settle
    if (!settle) return
    this.settle = undefined
    const dialog = this.dialog()
    if (dialog.open) dialog.close()
    settle(confirmed)
    // Going ahead usually removes what asked (a deleted message loses its buttons): then focus
    // goes to the fallback; a cancel goes back to where it was. (After the dialog's own focus
    // restoring, which would undo ours.)
    const returnTo = confirmed ? null : this.returnTo
    this.returnTo = null
    setTimeout(() => {
      if (returnTo?.isConnected) returnTo.focus()
      else this.fallbackFocus()
    }, 0)
  }

  private dialog(): HTMLDialogElement {
    return this.renderRoot.querySelector('dialog')!
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-confirm': ParleyConfirm
  }
}
