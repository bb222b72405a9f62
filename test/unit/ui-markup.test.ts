// Message formatting (src/ui/rich-text/markup.ts): the Markdown subset chat uses, links only for
// http, https and mailto, everything else kept as the characters typed.
import { describe, expect, test } from 'vitest'
import { isJumboEmoji, parseMarkup, type Block, type Inline } from '../../src/ui/rich-text/markup'

/** The text a person would read, node kinds aside. */
function textOf(nodes: readonly (Block | Inline)[]): string {
  return nodes
    .map((n) => {
      if ('children' in n) return textOf(n.children)
      if (n.kind === 'break') return '\n'
      return n.text
    })
    .join('')
}

function inlinesOf(source: string): Inline[] {
  const [first] = parseMarkup(source)
  if (first?.kind !== 'paragraph') throw new Error(`not a paragraph: ${JSON.stringify(first)}`)
  return first.children
}

describe('formatting', () => {
  test('bold, italic, strike and inline code', () => {
    expect(inlinesOf('a **b** _c_ ~~d~~ `e`')).toEqual([
      { kind: 'text', text: 'a ' },
      { kind: 'strong', children: [{ kind: 'text', text: 'b' }] },
      { kind: 'text', text: ' ' },
      { kind: 'em', children: [{ kind: 'text', text: 'c' }] },
      { kind: 'text', text: ' ' },
      { kind: 'del', children: [{ kind: 'text', text: 'd' }] },
      { kind: 'text', text: ' ' },
      { kind: 'code', text: 'e' },
    ])
  })

  test('code blocks keep their text exactly, markup included', () => {
    expect(parseMarkup('```\n<b>**not bold**</b>\n```')).toEqual([
      { kind: 'code-block', text: '<b>**not bold**</b>' },
    ])
  })

  test('quotes nest a few levels, then show as typed', () => {
    const [quote] = parseMarkup('> said\n\nreply')
    expect(quote).toEqual({
      kind: 'quote',
      children: [{ kind: 'paragraph', children: [{ kind: 'text', text: 'said' }] }],
    })
    let deep: Block | undefined = parseMarkup('>>>>>> deep')[0]
    let levels = 0
    while (deep?.kind === 'quote') {
      levels++
      deep = deep.children[0]
    }
    expect(levels).toBe(3)
    expect(textOf([deep as Block])).toBe('>>> deep')
  })

  test('one Enter is one line break', () => {
    expect(inlinesOf('one\ntwo')).toEqual([
      { kind: 'text', text: 'one' },
      { kind: 'break' },
      { kind: 'text', text: 'two' },
    ])
  })

  test('headings, lists, rules and HTML are shown as typed', () => {
    for (const source of [
      '# not a heading',
      '- not a list',
      '<b>not bold</b>',
      '<script>x()</script>',
    ]) {
      expect(textOf(parseMarkup(source))).toBe(source)
    }
  })

  test('unclosed markers are text', () => {
    expect(textOf(parseMarkup('**half'))).toBe('**half')
  })
})

describe('links', () => {
  test('plain addresses become links; mail addresses get mailto', () => {
    const nodes = inlinesOf(
      'see https://example.com/a?b=1 or www.example.org, write me@example.net',
    )
    expect(nodes.filter((n) => n.kind === 'link')).toEqual([
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'link', text: 'www.example.org', href: 'https://www.example.org' },
      { kind: 'link', text: 'me@example.net', href: 'mailto:me@example.net' },
    ])
  })

  test('only http, https and mailto open', () => {
    for (const source of [
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
    ]) {
      const nodes = parseMarkup(source).flatMap((b) => (b.kind === 'paragraph' ? b.children : []))
      expect(nodes.filter((n) => n.kind === 'link')).toEqual([])
      expect(textOf(parseMarkup(source))).toBe(source)
    }
  })

  test('link syntax shows its characters: words never hide an address', () => {
    const source =
      '[your bank](https://evil.example) [x](javascript:alert(1)) ![i](https://e.example/i.png)'
    const nodes = inlinesOf(source)
    expect(textOf(nodes)).toBe(source)
    expect(nodes.filter((n) => n.kind === 'link').map((n) => (n as { href: string }).href)).toEqual(
      ['https://evil.example', 'https://e.example/i.png'],
    )
  })
})

describe('emoji alone', () => {
  test('one to three emoji and nothing else are shown larger', () => {
    expect(isJumboEmoji('👍')).toBe(true)
    expect(isJumboEmoji(' 🎉 ❤️ 👨‍👩‍👧‍👦 ')).toBe(true)
    expect(isJumboEmoji('🇫🇷👍🏽')).toBe(true)
  })

  test('text, digits, or four emoji are not', () => {
    expect(isJumboEmoji('👍 ok')).toBe(false)
    expect(isJumboEmoji('1')).toBe(false)
    expect(isJumboEmoji('#')).toBe(false)
    expect(isJumboEmoji('👍👍👍👍')).toBe(false)
    expect(isJumboEmoji('')).toBe(false)
  })
})

test('a long hostile text parses in bounded time', () => {
  const source = '*'.repeat(2000) + '_'.repeat(1000) + '> '.repeat(500) + '`'.repeat(500)
  const started = performance.now()
  const blocks = parseMarkup(source)
  expect(performance.now() - started).toBeLessThan(2000)
  expect(textOf(blocks).length).toBeGreaterThan(0)
})
