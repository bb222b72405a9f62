// The start page: what Parley is, and the one action that matters — a new room.
import { LitElement, html, css } from 'lit'
import { customElement } from 'lit/decorators.js'
import { baseStyles } from './styles'
import './theme-switch'

@customElement('parley-landing')
export class ParleyLanding extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
        max-width: 36rem;
        margin: 4rem auto;
        padding: 0 1rem;
      }
      h1 {
        font-size: 2rem;
      }
      parley-theme-switch {
        position: fixed;
        top: 0.75rem;
        right: 0.75rem;
      }
    `,
  ]

  override render() {
    return html`
      <parley-theme-switch></parley-theme-switch>
      <main>
        <h1>Parley</h1>
        <p>
          Chat directly, browser to browser. A room is a link: whoever has it can read and write;
          the servers in between only ever see ciphertext.
        </p>
        <button class="primary" type="button" @click=${() => this.newRoom()}>New room</button>
      </main>
    `
  }

  private newRoom(): void {
    this.dispatchEvent(new CustomEvent('new-room', { bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-landing': ParleyLanding
  }
}
