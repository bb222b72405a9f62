// Asking the person to confirm an action that cannot be taken back (deleting a message for
// everyone): a component asks with an event, and the room view answers it with its one
// accessible dialog (confirm-dialog.ts, loaded when first needed). Never window.confirm.

export interface ConfirmQuestion {
  /** The dialog's title, e.g. "Delete this message?". */
  readonly title: string
  /** What will happen, in a sentence. */
  readonly body: string
  /** The name of the button that goes ahead, e.g. "Delete". */
  readonly action: string
}

export interface ConfirmRequest extends ConfirmQuestion {
  readonly answer: (confirmed: boolean) => void
}

export const CONFIRM_REQUEST = 'confirm-request'

/** Resolves true when the person went ahead; false when they cancelled, or when nothing on the
 * page can ask (then nothing irreversible happens). */
export function askToConfirm(from: HTMLElement, question: ConfirmQuestion): Promise<boolean> {
  return new Promise((resolve) => {
    const event = new CustomEvent<ConfirmRequest>(CONFIRM_REQUEST, {
      detail: { ...question, answer: resolve },
      bubbles: true,
      composed: true,
      cancelable: true,
    })
    // A handler calls preventDefault() to say it will answer.
    if (from.dispatchEvent(event)) resolve(false)
  })
}

/** The element that has focus, looking into shadow roots: where focus goes back to. */
export function deepActiveElement(): HTMLElement | null {
  let active = document.activeElement
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement
  return active instanceof HTMLElement ? active : null
}
