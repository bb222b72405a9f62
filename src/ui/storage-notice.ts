// Tells the person when this browser cannot store the room (a full quota, storage the browser
// closed or evicted): what still works and what to do. Shows nothing while storage works.
// Mounted by the room view with the session's `storageProblem` (docs/local-storage.md).
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { RoomSession } from '../session/room-session'
import { baseStyles } from './styles'

type Problem = RoomSession['storageProblem']

export function describeStorageProblem(problem: NonNullable<Problem>): string {
  const stillWorks =
    'What you write is still sent to the room and kept while this tab stays open; it is saved here as soon as storage works again.'
  return problem === 'quota'
    ? `This browser has no space left for Parley, so new messages are not saved on this device. ${stillWorks} Free some space to fix it.`
    : `Parley cannot save to this browser's storage right now. ${stillWorks}`
}

@customElement('parley-storage-notice')
export class ParleyStorageNotice extends LitElement {
  static override styles = [
    baseStyles,
    css`
      p {
        margin: 0.5rem 0;
        padding: 0.5rem 0.75rem;
        border-radius: 0.5rem;
        background: var(--error-bg);
        color: var(--error-fg);
      }
    `,
  ]

  @property({ attribute: false }) problem: Problem = null

  override render() {
    if (!this.problem) return nothing
    return html`<p role="alert" data-problem=${this.problem}>
      ${describeStorageProblem(this.problem)}
    </p>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-storage-notice': ParleyStorageNotice
  }
}
