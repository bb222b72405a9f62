// Labels for the times records carry. A stamp's wall time is whatever a peer wrote (up to
// 2^53), and Intl and Date throw RangeError outside ±8.64e15 ms: these never throw, so one
// stamp cannot stop the message list from rendering (docs/document-model.md "Stamps").

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' })
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' })

/** A Date for the wall time, or undefined when it names no instant a Date can hold. */
function dateOf(wall: number): Date | undefined {
  const date = new Date(wall)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** Hours and minutes, or '' for a time no Date can hold. */
export function timeLabel(wall: number): string {
  const date = dateOf(wall)
  return date ? timeFormat.format(date) : ''
}

/** Date and time in full, for a time's tooltip; '' for a time no Date can hold. */
export function fullTimeLabel(wall: number): string {
  const date = dateOf(wall)
  return date ? fullFormat.format(date) : ''
}

/** The ISO form for a `<time datetime>` attribute, or '' for a time no Date can hold. */
export function isoTime(wall: number): string {
  return dateOf(wall)?.toISOString() ?? ''
}

/** The local calendar day as a key for grouping rows; one shared key for impossible times. */
export function dayKey(wall: number): string {
  const date = dateOf(wall)
  return date ? `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}` : 'no-date'
}

/** The day separator's text. */
export function dayLabel(wall: number): string {
  const date = dateOf(wall)
  return date ? dayFormat.format(date) : 'Unknown date'
}
