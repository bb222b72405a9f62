// The event-loop turn (docs/relay.md, "Structure"): what a room's connections and the other
// instances sent since the last flush, collected as it comes and handed over in one piece at
// the end of the turn (setImmediate), so the room applies, forwards and stores it once.

import type { ReceivedUpdate } from './room-doc'
import type { RoomMember } from './room-members'

/** Everything that happened in the room during one event-loop turn (presence aside). */
export interface Turn {
  /** Client updates that passed every check, in arrival order; applied when the turn ends. */
  readonly received: ReceivedUpdate[]
  /** Structs and delete ranges in `received`, counted against the room's limit meanwhile. */
  receivedEntries: number
  /** Updates other instances stored, applied as they came: forwarded, never appended. */
  readonly remote: Uint8Array[]
  /** Connections that sent live updates: acknowledged after the append. */
  readonly writers: Set<RoomMember>
  /** Connections that answered the relay's opening step 1: acknowledged if durable state moved. */
  readonly askers: Set<RoomMember>
}

export class TurnBatcher {
  private turn: Turn = newTurn()
  private scheduled = false

  constructor(private readonly onEnd: (turn: Turn) => void) {}

  /** The turn being collected. */
  get current(): Turn {
    return this.turn
  }

  /** Whether a turn is collected and its flush not run yet. */
  get pending(): boolean {
    return this.scheduled
  }

  /** Something arrived: end the turn once the current event-loop turn is over. */
  schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  /** Ends the turn now if one is pending (also what the scheduled callback does). */
  flush(): void {
    if (!this.scheduled) return
    this.scheduled = false
    const turn = this.turn
    this.turn = newTurn()
    this.onEnd(turn)
  }
}

function newTurn(): Turn {
  return { received: [], receivedEntries: 0, remote: [], writers: new Set(), askers: new Set() }
}
