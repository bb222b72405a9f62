// One line that says plainly whether this room is connected, and to how many peers.
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { ConnectionStatus } from '../session/room-session'
import { baseStyles } from './styles'

export function describeConnection(status: ConnectionStatus): { tone: string; text: string } {
  if (!status.online)
    return { tone: 'offline', text: 'Offline — messages are kept and sent when you reconnect' }
  const peers = status.directPeers
  if (peers > 0)
    return { tone: 'ok', text: `Connected to ${peers} ${peers === 1 ? 'peer' : 'peers'}` }
  if (!status.signaling)
    return { tone: 'offline', text: 'Cannot reach the server — working offline' }
  return { tone: 'waiting', text: 'Online — waiting for others to join' }
}

@customElement('parley-connection-status')
export class ParleyConnectionStatus extends LitElement {
  static override styles = [
    baseStyles,
    css`
      span {
        font-size: 0.85rem;
        padding: 0.2rem 0.5rem;
        border-radius: 999px;
      }
      .ok {
        background: #dcfce7;
        color: #166534;
      }
      .waiting {
        background: #fef9c3;
        color: #854d0e;
      }
      .offline {
        background: #fee2e2;
        color: #991b1b;
      }
    `,
  ]

  @property({ attribute: false }) status!: ConnectionStatus

  override render() {
    const { tone, text } = describeConnection(this.status)
    return html`<span class=${tone} role="status" data-tone=${tone}>${text}</span>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-connection-status': ParleyConnectionStatus
  }
}
