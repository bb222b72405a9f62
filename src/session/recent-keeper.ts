// Keeps a room's newest messages for the next first paint (docs/architecture.md, recent-records.ts):
// once the room has loaded, then at most every RECENT_SAVE_MS while its timeline changes, and
// once more on close if it changed since.
import type { RoomDocument } from '../model'
import type { LocalStore } from '../net/local-store'
import { encodeRecentRecords } from './recent-records'
import type { Timeline } from './timeline'

/** Often enough that a reload shows what was just said; rare enough to cost nothing while a
 * sync brings thousands of messages. */
const RECENT_SAVE_MS = 2_000

export class RecentKeeper {
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly unsubscribe: () => void
  private store: LocalStore | undefined

  constructor(
    private readonly room: RoomDocument,
    private readonly timeline: Timeline,
  ) {
    this.unsubscribe = timeline.changed.subscribe(() => this.schedule())
  }

  /** The room has loaded into this store: keep its newest messages now. */
  attach(store: LocalStore): void {
    this.store = store
    this.save()
  }

  /** Stops following the timeline; keeps the newest messages if they changed since last kept
   * (the store writes them before it closes). Never throws: teardown must go on. */
  close(): void {
    this.unsubscribe()
    if (this.timer === undefined) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.save()
    this.store = undefined
  }

  private schedule(): void {
    if (this.timer !== undefined || !this.store) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.save()
    }, RECENT_SAVE_MS)
  }

  private save(): void {
    const store = this.store
    if (!store) return
    let encoded: Uint8Array
    try {
      encoded = encodeRecentRecords(this.room, this.timeline.entries())
    } catch (error) {
      // Only a first-paint cache: the room itself is untouched and loads in full next time.
      console.warn('parley: could not keep the newest messages for the next first paint', error)
      return
    }
    void store.saveRecent(encoded)
  }
}
