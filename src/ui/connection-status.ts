// One line that says plainly whether this room is connected, and to how many peers.
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { ConnectionStatus } from './room-state'
import { baseStyles } from './styles'

/** From the connections that exist (room-state.ts); the browser's offline flag only chooses
 * between two ways of saying that nothing is connected. */
export function describeConnection(status: ConnectionStatus): { tone: string; text: string } {
  const refused =
    status.relay === 'refused'
      ? ` · the relay refused this room (${status.relayRefusal?.reason || 'no reason given'})`
      : ''
  const { directPeers: direct, relayPeers: relayed } = status
  if (direct > 0 && relayed > 0)
    return {
      tone: 'ok',
      text: `Connected to ${direct} directly and ${relayed} via relay${refused}`,
    }
  if (direct > 0) return { tone: 'ok', text: `Connected to ${peers(direct)}${refused}` }
  if (relayed > 0) return { tone: 'ok', text: `Connected to ${peers(relayed)} via relay` }
  if (!status.signaling && status.relay !== 'connected')
    return status.browserOffline
      ? { tone: 'offline', text: 'Offline — messages are kept and sent when you reconnect' }
      : { tone: 'offline', text: `Cannot reach the server — working offline${refused}` }
  return { tone: 'waiting', text: `Online — waiting for others to join${refused}` }
}

function peers(n: number): string {
  return `${n} ${n === 1 ? 'peer' : 'peers'}`
}

@customElement('parley-connection-status')
export class ParleyConnectionStatus extends LitElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: block;
      }
      /* One line: a narrow header shortens it rather than wrapping (the full text is its title
         and its accessible text). */
      span {
        display: block;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
        font-size: 0.85rem;
        padding: 0.2rem 0.5rem;
        border-radius: 999px;
      }
      .ok {
        background: var(--ok-bg);
        color: var(--ok-fg);
      }
      .waiting {
        background: var(--waiting-bg);
        color: var(--waiting-fg);
      }
      .offline {
        background: var(--error-bg);
        color: var(--error-fg);
      }
    `,
  ]

  @property({ attribute: false }) status!: ConnectionStatus

  override render() {
    const { tone, text } = describeConnection(this.status)
    return html`<span class=${tone} role="status" data-tone=${tone} title=${text}>${text}</span>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-connection-status': ParleyConnectionStatus
  }
}
