// The look every component shares (fonts, colours, buttons, focus rings), adopted as Lit styles
// so each component's shadow root starts from the same base. Colours are the theme's tokens
// (src/app.css), so light and dark both meet WCAG AA.
import { css } from 'lit'

/** Shared look: system fonts, theme colours, visible focus, no motion when asked for none. */
export const baseStyles = css`
  :host {
    font-family:
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      sans-serif;
    color: var(--fg, #111827);
    box-sizing: border-box;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  button {
    font: inherit;
    color: inherit;
    border: 1px solid var(--field-border);
    background: var(--button-bg);
    border-radius: 6px;
    padding: 0.35rem 0.75rem;
    cursor: pointer;
  }
  button:hover {
    background: var(--hover);
  }
  button.primary {
    background: var(--primary-bg);
    color: var(--primary-fg);
    border-color: var(--primary-bg);
  }
  textarea,
  input {
    color: inherit;
    background: var(--bg);
    border: 1px solid var(--field-border);
    border-radius: 4px;
  }
  button:focus-visible,
  textarea:focus-visible,
  input:focus-visible,
  a:focus-visible,
  [tabindex]:focus-visible {
    outline: 2px solid var(--focus);
    outline-offset: 1px;
  }
  .muted {
    color: var(--muted);
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  @media (prefers-reduced-motion: reduce) {
    *,
    *::before,
    *::after {
      transition: none !important;
      animation: none !important;
      scroll-behavior: auto !important;
    }
  }
`
