// "NAME is typing…" under the messages (issue 12 §3): words from room-state.ts typingOf, read
// out politely by screen readers. It keeps its height when empty so the list does not jump.
import { LitElement, css, html } from 'lit'
import { customElement, property } from 'lit/decorators.js'

@customElement('parley-typing')
export class ParleyTyping extends LitElement {
  static override styles = css`
    :host {
      display: block;
      min-height: 1.25rem;
      padding: 0 0.75rem;
      font-size: 0.8rem;
      font-style: italic;
      color: var(--muted);
    }
  `

  @property() text = ''

  override render() {
    return html`<span role="status" aria-live="polite">${this.text}</span>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-typing': ParleyTyping
  }
}
