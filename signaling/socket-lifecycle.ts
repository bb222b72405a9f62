// What both WebSocket endpoints (/signal, /relay) do with their sockets' lives: reap the dead
// with WebSocket pings (a peer that vanished without a FIN would otherwise hold its state
// forever) and close the living within a grace period on shutdown.
import type { WebSocket } from 'ws'
import type { CloseCode } from './close-codes'

/** Per socket: false once pinged, true again on pong; still false at the next sweep = dead. */
export interface Liveness {
  answeredPing: boolean
}

// On shutdown a client gets this long to answer our close frame before its socket is cut, so
// that closing is fast even when a peer is gone or hostile.
const CLOSE_HANDSHAKE_GRACE_MS = 2_000

/** Terminates sockets that did not answer the last ping (after `onDead`), pings the rest. */
export function sweepDeadSockets<T extends Liveness>(
  sockets: ReadonlyMap<WebSocket, T>,
  onDead: (open: T) => void,
): void {
  for (const [ws, open] of sockets) {
    if (!open.answeredPing) {
      onDead(open)
      ws.terminate()
      continue
    }
    open.answeredPing = false
    ws.ping()
  }
}

/** Closes with `code`; cuts the socket if the close handshake does not finish in time. */
export function closeWithin(ws: WebSocket, code: CloseCode, reason: string): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve()
    const cut = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS)
    ws.once('close', () => {
      clearTimeout(cut)
      resolve()
    })
    ws.close(code, reason)
  })
}
