// The "Send read receipts" switch (issue 12 §8): whether the other members may see how far I
// have read ("Seen by" on their messages). One setting for every room of this browser, kept by
// the session's ReadPosition; turning it off stops sharing at the next presence update.
import { LitElement, css, html } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { ReadPosition } from '../session/read-position'
import { baseStyles } from './styles'
import { SubscriptionController } from './subscription-controller'

@customElement('parley-read-receipts')
export class ParleyReadReceipts extends LitElement {
  static override styles = [
    baseStyles,
    css`
      label {
        display: flex;
        gap: 0.4rem;
        align-items: center;
        font-size: 0.85rem;
      }
    `,
  ]

  @property({ attribute: false }) reading!: ReadPosition
  private readonly subscriptions = new SubscriptionController(this)

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('reading')) this.subscriptions.follow(this.reading.changed)
  }

  override render() {
    return html`<label>
      <input
        type="checkbox"
        .checked=${this.reading.shared}
        @change=${(e: Event) => this.reading.setShared((e.target as HTMLInputElement).checked)}
      />
      Send read receipts
    </label>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-read-receipts': ParleyReadReceipts
  }
}
