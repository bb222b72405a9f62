// A message's text as Lit templates (docs/rich-text.md): the parsed markup (markup.ts) with
// every string bound as text and links that open in a new tab without giving it this page.
// Loaded lazily by <parley-message-text>: the parser is not needed before the first paint.
import { html, nothing, type TemplateResult } from 'lit'
import { isJumboEmoji, parseMarkup, type Block, type Inline } from './markup'

/** Rows are re-rendered as the list scrolls: parsing each text once is enough. */
const CACHE_ENTRIES = 500
const cache = new Map<string, Block[]>()

function parsed(text: string): Block[] {
  const hit = cache.get(text)
  if (hit) {
    cache.delete(text)
    cache.set(text, hit)
    return hit
  }
  const blocks = parseMarkup(text)
  cache.set(text, blocks)
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string)
  return blocks
}

export interface FormattedText {
  readonly template: TemplateResult
  /** One to three emoji alone: the row shows them larger. */
  readonly jumbo: boolean
}

export function formatText(text: string): FormattedText {
  return { template: html`${parsed(text).map(block)}`, jumbo: isJumboEmoji(text) }
}

function block(node: Block): TemplateResult {
  switch (node.kind) {
    case 'paragraph':
      return html`<p>${node.children.map(inline)}</p>`
    case 'code-block':
      return html`<pre><code>${node.text}</code></pre>`
    case 'quote':
      return html`<blockquote>${node.children.map(block)}</blockquote>`
  }
}

function inline(node: Inline): TemplateResult | string | typeof nothing {
  switch (node.kind) {
    case 'text':
      return node.text
    case 'link':
      // markup.ts lets only http, https and mailto through.
      return html`<a href=${node.href} target="_blank" rel="noopener noreferrer nofollow"
        >${node.text}</a
      >`
    case 'code':
      return html`<code>${node.text}</code>`
    case 'strong':
      return html`<strong>${node.children.map(inline)}</strong>`
    case 'em':
      return html`<em>${node.children.map(inline)}</em>`
    case 'del':
      return html`<del>${node.children.map(inline)}</del>`
    case 'break':
      return html`<br />`
  }
}
