// How a person is recognised at a glance: display names are self-asserted (docs/architecture.md), so
// each is shown with a colour and short fingerprint derived from the author key id.

export function fingerprint(keyId: string): string {
  return keyId.slice(0, 6)
}

export function colourOf(keyId: string): string {
  let hash = 0
  for (let i = 0; i < keyId.length; i++) hash = (hash * 31 + keyId.charCodeAt(i)) >>> 0
  // OKLCH is even in lightness across hues, so one lightness per theme (src/app.css) keeps
  // every name readable (WCAG AA) on light and on dark backgrounds.
  return `oklch(var(--name-lightness, 0.45) 0.13 ${hash % 360})`
}

export function defaultName(keyId: string): string {
  return `Guest ${keyId.slice(0, 4)}`
}
