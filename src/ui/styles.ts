// The look every component shares (fonts, colours, buttons, focus rings), adopted as Lit styles
// so each component's shadow root starts from the same base.
import { css } from 'lit'

/** Shared look: system fonts, calm colours, visible focus. */
export const baseStyles = css`
  :host {
    font-family:
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      sans-serif;
    color: #111827;
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button {
    font: inherit;
    border: 1px solid #d1d5db;
    background: #fff;
    border-radius: 6px;
    padding: 0.35rem 0.75rem;
    cursor: pointer;
  }
  button.primary {
    background: #1f2937;
    color: #fff;
    border-color: #1f2937;
  }
  button:focus-visible,
  textarea:focus-visible,
  input:focus-visible {
    outline: 2px solid #2563eb;
    outline-offset: 1px;
  }
  .muted {
    color: #6b7280;
  }
`
