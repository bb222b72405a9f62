// Who is in the room right now and how each person is reached.
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { Person } from './room-state'
import { baseStyles } from './styles'
import { colourOf, fingerprint } from './identity-look'

const reachLabel: Record<Person['reach'], string> = {
  me: 'you',
  direct: 'connected directly',
  relay: 'via relay',
  'this-browser': 'in another tab of this browser',
  connecting: 'connecting…',
}

@customElement('parley-people')
export class ParleyPeople extends LitElement {
  static override styles = [
    baseStyles,
    css`
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        padding: 0.3rem 0;
        display: flex;
        flex-direction: column;
      }
      .name {
        font-weight: 600;
      }
      small {
        font-size: 0.75rem;
      }
    `,
  ]

  @property({ attribute: false }) people: readonly Person[] = []

  override render() {
    return html`
      <h2 style="font-size: 0.9rem; margin: 0 0 0.5rem">People here (${this.people.length})</h2>
      <ul aria-label="People here">
        ${this.people.map(
          (person) =>
            html`<li data-reach=${person.reach}>
              <span class="name" style="color: ${colourOf(person.keyId)}">${person.name}</span>
              <small class="muted"
                >${fingerprint(person.keyId)} · ${reachLabel[person.reach]}</small
              >
            </li>`,
        )}
      </ul>
    `
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-people': ParleyPeople
  }
}
