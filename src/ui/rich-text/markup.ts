// What a message's text means as formatting (docs/rich-text.md): a small Markdown subset — bold,
// italic, strike, inline code, code blocks, quotes — and links found in plain text, as a tree
// of a few node kinds. Everything else Markdown knows (headings, lists, HTML, images, link
// syntax) stays the characters the person typed. Rendering (render.ts) binds every string
// as text, so no input can become markup.
import * as linkify from 'linkifyjs'
import { Lexer, type Token, type Tokens } from 'marked'

export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'link'; text: string; href: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong' | 'em' | 'del'; children: Inline[] }
  | { kind: 'break' }

export type Block =
  | { kind: 'paragraph'; children: Inline[] }
  | { kind: 'code-block'; text: string }
  | { kind: 'quote'; children: Block[] }

/** Only these open from a chat message; `javascript:`, `data:` and the rest stay text. */
const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:'])

/** GFM for strike-through; `breaks` because in chat one Enter is one new line. */
const LEXER_OPTIONS = { gfm: true, breaks: true } as const

/** Quotes inside quotes: deeper than this is shown as the typed text. Bounds recursion, too. */
const MAX_QUOTE_DEPTH = 3

export function parseMarkup(source: string): Block[] {
  let tokens: Token[]
  try {
    tokens = new Lexer(LEXER_OPTIONS).lex(source)
  } catch {
    // A parser bug must not cost the message: show what was typed.
    return [{ kind: 'paragraph', children: linkified(source) }]
  }
  return blocks(tokens, 0)
}

function blocks(tokens: readonly Token[], depth: number): Block[] {
  const out: Block[] = []
  for (const token of tokens) {
    switch (token.type) {
      case 'space':
        break
      case 'paragraph':
        out.push({ kind: 'paragraph', children: inlines((token as Tokens.Paragraph).tokens) })
        break
      case 'text': {
        // A loose run of text at block level (e.g. inside a quote) carries its inline tokens.
        const text = token as Tokens.Text
        out.push({
          kind: 'paragraph',
          children: text.tokens ? inlines(text.tokens) : linkified(text.text),
        })
        break
      }
      case 'code':
        out.push({ kind: 'code-block', text: (token as Tokens.Code).text })
        break
      case 'blockquote':
        if (depth >= MAX_QUOTE_DEPTH) out.push(literal(token.raw))
        else
          out.push({
            kind: 'quote',
            children: blocks((token as Tokens.Blockquote).tokens, depth + 1),
          })
        break
      default:
        // Headings, lists, rules, tables, HTML, link definitions: not part of chat formatting, shown as typed.
        out.push(literal(token.raw))
    }
  }
  return out
}

function literal(raw: string): Block {
  return { kind: 'paragraph', children: linkified(raw.replace(/\n+$/, '')) }
}

function inlines(tokens: readonly Token[] | undefined): Inline[] {
  const out: Inline[] = []
  for (const token of tokens ?? []) {
    switch (token.type) {
      case 'text': {
        const text = token as Tokens.Text
        // Inline text may nest further tokens (GFM), or be a run of characters.
        if (text.tokens && text.tokens.length > 0) out.push(...inlines(text.tokens))
        else out.push(...linkified(text.text))
        break
      }
      case 'escape':
        out.push({ kind: 'text', text: (token as Tokens.Escape).text })
        break
      case 'strong':
      case 'em':
      case 'del':
        out.push({ kind: token.type, children: inlines((token as Tokens.Strong).tokens) })
        break
      case 'codespan':
        out.push({ kind: 'code', text: (token as Tokens.Codespan).text })
        break
      case 'br':
        out.push({ kind: 'break' })
        break
      default:
        // Link syntax ([text](url), <url>), images, inline HTML: the characters as typed, with
        // any plain address in them made a link. A link whose words differ from its address is
        // how phishing reads, so chat shows addresses, never link text.
        out.push(...linkified(token.raw))
    }
  }
  return merged(out)
}

/** Splits text around the addresses linkify finds; only http, https and mailto become links. */
export function linkified(text: string): Inline[] {
  if (text === '') return []
  let found: ReturnType<typeof linkify.find>
  try {
    found = linkify.find(text, { defaultProtocol: 'https' })
  } catch {
    return [{ kind: 'text', text }]
  }
  const out: Inline[] = []
  let at = 0
  for (const link of found) {
    if (!link.isLink || !allowedHref(link.href)) continue
    if (link.start > at) out.push({ kind: 'text', text: text.slice(at, link.start) })
    out.push({ kind: 'link', text: text.slice(link.start, link.end), href: link.href })
    at = link.end
  }
  if (at < text.length) out.push({ kind: 'text', text: text.slice(at) })
  return out
}

function allowedHref(href: string): boolean {
  try {
    return LINK_PROTOCOLS.has(new URL(href).protocol)
  } catch {
    return false
  }
}

/** Adjacent text nodes as one (fewer template parts per row). */
function merged(nodes: Inline[]): Inline[] {
  const out: Inline[] = []
  for (const node of nodes) {
    const last = out[out.length - 1]
    if (node.kind === 'text' && last?.kind === 'text') {
      out[out.length - 1] = { kind: 'text', text: last.text + node.text }
    } else out.push(node)
  }
  return out
}

/** Graphemes that are emoji (with their modifiers, joiners and flags). */
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator})/u
const MAX_JUMBO_EMOJI = 3

/** One to three emoji and nothing else: shown larger, as people expect. */
export function isJumboEmoji(text: string): boolean {
  const trimmed = text.trim()
  if (trimmed === '' || trimmed.length > 64) return false
  const graphemes = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(trimmed)]
    .map((s) => s.segment)
    .filter((g) => g.trim() !== '')
  return (
    graphemes.length >= 1 &&
    graphemes.length <= MAX_JUMBO_EMOJI &&
    graphemes.every((g) => EMOJI.test(g))
  )
}
