// A newcomer's relay link, newest records first (docs/relay.md, "Newest records first"): reads
// the relay's newest-records message — only when asked for, once per link, bounded and
// structurally checked — hands it to the session to show, and holds the room's state (the sync
// step 2 right behind it) until they are on screen or a short while has passed, so that applying
// the whole room does not occupy the main thread before the newest messages are painted.
import * as decoding from 'lib0/decoding'
import { NEWEST_MESSAGES, NEWEST_RECORDS_MAX_BYTES, NEWEST_RECORDS_MESSAGE } from '../model'
import { refuseUpdate, type InboundLimits, type Refusal } from './inbound-guard'

const NEWEST_LIMITS: InboundLimits = Object.freeze({
  maxUpdateBytes: NEWEST_RECORDS_MAX_BYTES,
  // Each message brings at most four map entries (record, edit, tombstone, member); twice that
  // leaves room for how Yjs splits them, and refuses an update made to be expensive to decode.
  maxUpdateEntries: NEWEST_MESSAGES * 4 * 2,
})

/** Showing 50 messages (verify, decrypt, one frame) takes ~50–150 ms here; whatever happens
 * to the showing, the room must not wait on it longer than this. */
const HOLD_MAX_MS = 1_000

type Stage = 'idle' | 'expecting' | 'showing' | 'done'

export type ApplyHeld = (update: Uint8Array, socket: unknown) => void

export class NewestFirst {
  private stage: Stage = 'idle'
  private held: { update: Uint8Array; socket: unknown; apply: ApplyHeld } | null = null
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly show: (update: Uint8Array) => Promise<void>) {}

  /** The link asked the relay for the newest records. */
  expect(): void {
    if (this.stage === 'idle') this.stage = 'expecting'
  }

  /** Newest records would be read now (asked for, none received yet). */
  get expecting(): boolean {
    return this.stage === 'expecting'
  }

  /** A message of a type the provider does not know: null if it was the newest records we
   * asked for and they are being shown, else why it was refused. */
  receive(type: number, rest: Uint8Array): Refusal | null {
    if (type !== NEWEST_RECORDS_MESSAGE)
      return { limit: 'message type', detail: `unknown message type ${type}` }
    if (this.stage !== 'expecting')
      return { limit: 'message type', detail: 'newest records not asked for' }
    // Once per link, whatever comes of it.
    this.stage = 'done'
    let update: Uint8Array
    try {
      const decoder = decoding.createDecoder(rest)
      update = decoding.readVarUint8Array(decoder)
      if (decoding.hasContent(decoder)) throw new Error('trailing bytes')
    } catch {
      return { limit: 'structure', detail: 'unreadable newest records message' }
    }
    const refusal = refuseUpdate(update, NEWEST_LIMITS)
    if (refusal) return refusal
    this.stage = 'showing'
    let shown: Promise<void>
    try {
      shown = this.show(update)
    } catch (error) {
      shown = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    const waited = new Promise<void>((resolve) => (this.timer = setTimeout(resolve, HOLD_MAX_MS)))
    Promise.race([shown, waited])
      .catch((error: unknown) => console.warn('parley: could not show the newest records', error))
      .finally(() => this.release())
    return null
  }

  /** Keeps the room's state while the newest records are shown; false: apply it now. */
  hold(update: Uint8Array, socket: unknown, apply: ApplyHeld): boolean {
    if (this.stage !== 'showing' || this.held) return false
    this.held = { update, socket, apply }
    return true
  }

  destroy(): void {
    clearTimeout(this.timer)
    this.held = null
    this.stage = 'done'
  }

  private release(): void {
    clearTimeout(this.timer)
    if (this.stage === 'showing') this.stage = 'done'
    const held = this.held
    this.held = null
    held?.apply(held.update, held.socket)
  }
}
