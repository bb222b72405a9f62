// What a newcomer's page saw first (newcomer-first-paint.test.ts, webrtc-newest-first.test.ts):
// an init script that records, in order, when the newest message was readable on screen (and
// how many messages the room's document held then) and when the document held the whole room.

export interface FirstPaintSeen {
  /** Messages in the document when the newest message was first readable on screen. */
  newestShownWith: number | null
  /** Messages in the timeline at that moment. */
  timelineWith: number | null
  /** Set once the document holds the whole room. */
  roomComplete: boolean
  order: string[]
}

/** Runs in the page before its scripts; must not refer to anything outside its body. */
export function watchFirstPaint([newestId, newestText, total]: [string, string, number]): void {
  const seen: FirstPaintSeen = {
    newestShownWith: null,
    timelineWith: null,
    roomComplete: false,
    order: [],
  }
  ;(window as unknown as { __firstPaint: FirstPaintSeen }).__firstPaint = seen
  type Session = {
    room: { maps: { messages: { size: number } } }
    timeline: { entries(): { id: string }[] }
    content: { resolve(e: unknown): Promise<{ kind: string; text?: string | null }> }
  }
  const check = async (): Promise<void> => {
    const app = document.querySelector('parley-app') as unknown as { session?: Session } | null
    const session = app?.session
    if (session) {
      const inDoc = session.room.maps.messages.size
      const entries = session.timeline.entries()
      const last = entries[entries.length - 1]
      if (seen.newestShownWith === null && last?.id === newestId) {
        // Verified and decrypted: what the message row shows.
        const shown = await session.content.resolve(last)
        if (shown.kind === 'message' && shown.text === newestText) {
          seen.newestShownWith = inDoc
          seen.timelineWith = entries.length
          seen.order.push('newest shown')
        }
      }
      if (!seen.roomComplete && session.room.maps.messages.size >= total) {
        seen.roomComplete = true
        seen.order.push('room complete')
      }
      if (seen.roomComplete && seen.newestShownWith !== null) return
    }
    requestAnimationFrame(() => void check())
  }
  requestAnimationFrame(() => void check())
}
