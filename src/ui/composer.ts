// The composer: Enter sends, Shift+Enter is a newline, Enter while an IME is composing does
// not send. The length limit is stated up front and enforced with a visible message. Its text
// is the room's draft: handed in as `draft`, every change reported to `onDraft`, so the session
// keeps it across reloads and reopenings (session/drafts.ts). ArrowUp in an empty composer
// edits my last message (issue 12 §7), as in other chat apps.
import { LitElement, html, css, type PropertyValues } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { MAX_MESSAGE_CHARS, checkMessageText } from '../model'
import { baseStyles } from './styles'

export type SendHandler = (text: string) => Promise<void>

@customElement('parley-composer')
export class ParleyComposer extends LitElement {
  static override styles = [
    baseStyles,
    css`
      form {
        display: flex;
        gap: 0.5rem;
        align-items: flex-end;
      }
      textarea {
        flex: 1;
        resize: none;
        font: inherit;
        padding: 0.5rem;
        border: 1px solid var(--field-border);
        border-radius: 6px;
        min-height: 2.5rem;
        max-height: 10rem;
      }
      .meta {
        display: flex;
        justify-content: space-between;
        font-size: 0.8rem;
        margin-top: 0.25rem;
      }
      .error {
        color: var(--danger);
      }
    `,
  ]

  @property({ attribute: false }) onSend: SendHandler = () => Promise.resolve()
  /** The kept draft; shown whenever it changes (e.g. restored after the room loaded). */
  @property({ attribute: false }) draft = ''
  @property({ attribute: false }) onDraft: (text: string) => void = () => undefined
  /** Starts editing my last message; false when there is none (ArrowUp then does nothing). */
  @property({ attribute: false }) onEditLast: () => boolean = () => false
  @state() private text = ''
  @state() private error = ''

  override render() {
    const over = this.text.length > MAX_MESSAGE_CHARS
    return html`
      <form @submit=${(e: Event) => this.submit(e)}>
        <textarea
          aria-label="Message"
          placeholder="Write a message"
          rows="1"
          .value=${this.text}
          @input=${(e: Event) => this.onInput(e)}
          @keydown=${(e: KeyboardEvent) => this.onKeydown(e)}
        ></textarea>
        <button class="primary" type="submit">Send</button>
      </form>
      <div class="meta">
        <span class="error" role="alert">${this.error}</span>
        <span class=${over ? 'error' : 'muted'}>${this.text.length} / ${MAX_MESSAGE_CHARS}</span>
      </div>
    `
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('draft') && this.draft !== this.text) this.setText(this.draft)
  }

  override focus(): void {
    this.renderRoot.querySelector('textarea')?.focus()
  }

  private onInput(event: Event): void {
    this.setText((event.target as HTMLTextAreaElement).value)
    this.onDraft(this.text)
  }

  private setText(text: string): void {
    this.text = text
    if (this.error && this.text.length <= MAX_MESSAGE_CHARS) this.error = ''
    if (this.text.length > MAX_MESSAGE_CHARS)
      this.error = `Too long: a message can be at most ${MAX_MESSAGE_CHARS} characters.`
  }

  private onKeydown(event: KeyboardEvent): void {
    // keyCode 229 is how some browsers report keys that belong to an IME composition.
    if (event.isComposing || event.keyCode === 229) return
    const modified = event.shiftKey || event.altKey || event.ctrlKey || event.metaKey
    if (event.key === 'ArrowUp' && !modified && this.text === '') {
      if (this.onEditLast()) event.preventDefault()
      return
    }
    if (event.key !== 'Enter' || event.shiftKey) return
    event.preventDefault()
    void this.send()
  }

  private submit(event: Event): void {
    event.preventDefault()
    void this.send()
  }

  private async send(): Promise<void> {
    const text = this.text
    const problem = checkMessageText(text)
    if (problem) {
      if (text.trim().length > 0) this.error = problem
      return
    }
    // Clear first so the next message can be typed at once; restore the text if sending fails.
    this.text = ''
    this.error = ''
    try {
      await this.onSend(text)
    } catch (error) {
      this.text = text
      this.onDraft(text)
      this.error = error instanceof Error ? error.message : 'Could not send the message.'
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-composer': ParleyComposer
  }
}
