// A message's text, formatted (docs/rich-text.md): bold, italic, strike, code, quotes and
// links, and one to three emoji alone shown larger. The formatter (rich-text/format.ts, with
// its Markdown and link parsers) loads after the first paint; until then the text shows as
// typed, so a room never waits on it.
import { LitElement, css, html } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import type { formatText } from './rich-text/format'

let formatter: typeof formatText | undefined
let loading: Promise<typeof formatText> | undefined

function loadFormatter(): Promise<typeof formatText> {
  loading ??= import('./rich-text/format').then((m) => (formatter = m.formatText))
  return loading
}

@customElement('parley-message-text')
export class ParleyMessageText extends LitElement {
  static override styles = css`
    :host {
      display: block;
      white-space: pre-wrap;
      overflow-wrap: anywhere;
      margin: 0.15rem 0;
    }
    :host([jumbo]) {
      font-size: 2.25rem;
      line-height: 1.2;
    }
    p {
      margin: 0;
    }
    p + p,
    pre,
    blockquote {
      margin: 0.35rem 0 0;
    }
    code {
      font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
      font-size: 0.9em;
      background: var(--code-bg);
      border-radius: 4px;
      padding: 0 0.2em;
    }
    pre {
      background: var(--code-bg);
      border-radius: 6px;
      padding: 0.4rem 0.6rem;
      overflow-x: auto;
      white-space: pre;
    }
    pre code {
      background: none;
      padding: 0;
    }
    blockquote {
      border-inline-start: 3px solid currentColor;
      opacity: 0.85;
      padding-inline-start: 0.6rem;
      margin-inline: 0;
    }
    a {
      color: inherit;
      text-decoration: underline;
    }
  `

  @property() text = ''
  @property({ type: Boolean, reflect: true }) jumbo = false
  @state() private ready = formatter !== undefined

  override connectedCallback(): void {
    super.connectedCallback()
    if (!this.ready) {
      void loadFormatter()
        .then(() => (this.ready = true))
        .catch(() => {
          // Offline with an evicted cache, or a failed chunk: plain text is still the message.
        })
    }
  }

  override willUpdate(): void {
    this.jumbo = formatter ? formatter(this.text).jumbo : false
  }

  override render() {
    if (!formatter) return html`${this.text}`
    return formatter(this.text).template
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'parley-message-text': ParleyMessageText
  }
}
