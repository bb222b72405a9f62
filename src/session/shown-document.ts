// Which document a room's timeline and people show while it opens: a stand-in first — the
// newest messages this browser kept (recent-keeper.ts) or, for a newcomer, the newest records
// the relay or a peer sent first (docs/relay.md, docs/webrtc.md "Newest records first") — then
// the room itself once it has loaded or synced. A stand-in is only ever shown, never merged into the room.
import { decodeNewestRecords, RoomDocument } from '../model'
import { newestForNewcomer } from './recent-records'
import type { TimelineEntry } from './timeline'

/** A view that can switch to another document (Timeline, MemberDirectory). */
export interface Rebasable {
  rebase(next: RoomDocument): void
}

/** Waiting for a frame that a hidden tab never draws must not hold the room's loading up. */
const FRAME_WAIT_MS = 50

/** After the browser has drawn what is on screen now (or a short while, if it draws nothing). */
export function afterPaint(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FRAME_WAIT_MS)
    if (typeof requestAnimationFrame !== 'function') return
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        clearTimeout(timer)
        resolve()
      }),
    )
  })
}

/** Which link's newest records are the stand-in. */
export type NewestSource = 'relay' | 'webrtc'

export class ShownDocument {
  private views: readonly Rebasable[] = []
  /** Set while the stand-in is newest records a link sent. */
  private source: NewestSource | undefined

  /** `standIn`: the kept newest messages, shown until `showRoom()`. */
  constructor(
    private readonly room: RoomDocument,
    private standIn: RoomDocument | undefined,
  ) {}

  /** What the views are built on first. */
  get initial(): RoomDocument {
    return this.standIn ?? this.room
  }

  /** Whether a stand-in is on screen instead of the room. */
  get showingStandIn(): boolean {
    return this.standIn !== undefined
  }

  /** The views that follow the shown document (built on `initial`). */
  follow(views: readonly Rebasable[]): void {
    this.views = views
  }

  /** A newcomer's relay or peer sent its newest records: shown if nothing else is yet. Returns
   * whether they are on screen now (the caller decrypts them before the room arrives). */
  showNewestRecords(update: Uint8Array, source: NewestSource): boolean {
    if (this.standIn || !isEmpty(this.room)) return false
    const newest = decodeNewestRecords(update)
    if (!newest) return false
    this.standIn = newest
    this.source = source
    for (const view of this.views) view.rebase(newest)
    return true
  }

  /** What a newcomer peer is sent first (docs/webrtc.md), from these entries of the room;
   * nothing while a stand-in is shown: this browser does not hold the room yet. */
  newestForNewcomer(entries: readonly TimelineEntry[]): Uint8Array | null {
    return this.standIn ? null : newestForNewcomer(this.room, entries)
  }

  /** A link's state changed: the room replaces the stand-in once a link has synced it, or
   * once the link whose newest records are shown is gone (it will not bring the room). */
  linkChanged(source: NewestSource, synced: boolean, connected: boolean): void {
    if (synced || (this.source === source && !connected)) this.showRoom()
  }

  /** The room itself from now on. */
  showRoom(): void {
    const standIn = this.standIn
    if (!standIn) return
    this.standIn = undefined
    this.source = undefined
    for (const view of this.views) view.rebase(this.room)
    standIn.doc.destroy()
  }

  destroy(): void {
    this.standIn?.doc.destroy()
    this.standIn = undefined
  }
}

/** Nothing of the room is here yet (no message, no tombstone). */
export function isEmpty(room: RoomDocument): boolean {
  const { messages, tombstones } = room.maps
  return messages.size === 0 && tombstones.size === 0
}
