// Headers sent on every HTTP response. The room secret lives in the URL fragment, which browsers
// never send, but a Referer header or an injected script could still leak the page URL: no
// referrer, no inline or foreign scripts.

import type { ServerResponse } from 'node:http'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  // Vite emits module scripts as files; nothing inline, nothing from elsewhere.
  "script-src 'self'",
  // Inline *styles* are allowed: Lit binds `style` attributes, which a strict policy would
  // silently drop in production only. Bound text never becomes markup, so this opens no
  // script path.
  "style-src 'self' 'unsafe-inline'",
  // Decrypted attachments are shown from blob: URLs.
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  // Signaling and relay may live on another host (ws:/wss:); 'self' covers /config.json.
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
})

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
}
