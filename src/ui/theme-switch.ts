// Light or dark (issue 12 §9): the system's choice unless the person flips the "Dark theme"
// switch, which is kept in this browser (localStorage) and applied as data-theme on <html>
// before the first paint (main.ts); the colours themselves are tokens in src/app.css.
import { LitElement, html, css } from 'lit'
import { customElement, state } from 'lit/decorators.js'
import { baseStyles } from './styles'

export type Theme = 'light' | 'dark'

const THEME_KEY = 'parley:theme'
/** One query for the page: a listener must be removed from the object it was added to (a new
 * MediaQueryList per call would keep every switch ever shown, and its room, alive). */
const systemDarkQuery = matchMedia('(prefers-color-scheme: dark)')
const systemDark = () => systemDarkQuery

/** The person's own choice, or undefined when following the system. Storage may be refused
 * (private modes) or hold anything: only the two names count. */
function chosenTheme(): Theme | undefined {
  try {
    const kept = localStorage.getItem(THEME_KEY)
    return kept === 'light' || kept === 'dark' ? kept : undefined
  } catch {
    return undefined
  }
}

export function currentTheme(): Theme {
  return chosenTheme() ?? (systemDark().matches ? 'dark' : 'light')
}

/** Applies the kept choice to the page; with none, the stylesheet follows the system. */
export function applyChosenTheme(): void {
  const chosen = chosenTheme()
  if (chosen) document.documentElement.dataset.theme = chosen
  else delete document.documentElement.dataset.theme
}

/** Choosing what the system already shows forgets the choice, so the page follows the
 * system again from then on. */
export function chooseTheme(theme: Theme): void {
  const system: Theme = systemDark().matches ? 'dark' : 'light'
  try {
    if (theme === system) localStorage.removeItem(THEME_KEY)
    else localStorage.setItem(THEME_KEY, theme)
    applyChosenTheme()
  } catch {
    // Not kept: still shown on this page.
    document.documentElement.dataset.theme = theme
  }
  window.dispatchEvent(new Event(THEME_CHANGED))
}

const THEME_CHANGED = 'parley-theme-changed'

@customElement('parley-theme-switch')
export class ParleyThemeSwitch extends LitElement {
  static override styles = [
    baseStyles,
    css`
      button {
        white-space: nowrap;
      }
      /* A phone's header has room for the symbol only; the name stays "Dark theme". */
      @media (max-width: 40rem) {
        .label {
          position: absolute;
          width: 1px;
          height: 1px;
          overflow: hidden;
          clip-path: inset(50%);
        }
      }
    `,
  ]

  @state() private theme: Theme = currentTheme()
  private readonly refresh = (): void => void (this.theme = currentTheme())

  override connectedCallback(): void {
    super.connectedCallback()
    systemDark().addEventListener('change', this.refresh)
    window.addEventListener(THEME_CHANGED, this.refresh)
    this.refresh()
  }

  override disconnectedCallback(): void {
    systemDark().removeEventListener('change', this.refresh)
    window.removeEventListener(THEME_CHANGED, this.refresh)
    super.disconnectedCallback()
  }

  override render() {
    const dark = this.theme === 'dark'
    return html`<button
      type="button"
      aria-pressed=${dark ? 'true' : 'false'}
      title=${dark ? 'Switch to the light theme' : 'Switch to the dark theme'}
      @click=${() => chooseTheme(dark ? 'light' : 'dark')}
    >
      <span aria-hidden="true">${dark ? '☾' : '☀'}</span> <span class="label">Dark theme</span>
    </button>`
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-theme-switch': ParleyThemeSwitch
  }
}
