// The results protocol between one benchmark process and `scripts/bench.mjs`: each benchmark
// records metrics (Parley's value, the peer's or floor's value, their ratio and the goal) and
// writes them as JSON to the file named by PARLEY_BENCH_RESULTS, or prints them when run alone.
// Ratios, not absolute times, are what a noisy shared machine can compare (TESTING.md).
import { writeFileSync } from 'node:fs'

export interface Goal {
  /** The ratio must not exceed this (e.g. 1.5 for "≤ 1.5× the floor"). */
  readonly maxRatio: number
  /** How the goal reads in the table, e.g. "≤ 1.5× floor". */
  readonly text: string
}

export interface Metric {
  readonly id: string
  /** What is measured, in words. */
  readonly name: string
  readonly unit: string
  readonly parley: number
  /** The peer's or floor's value for the same thing in the same run, when there is one. */
  readonly peer?: number
  readonly peerLabel?: string
  /** parley / peer (or as given when the comparison is another Parley measurement). */
  readonly ratio?: number
  readonly goal?: Goal
  /** Undefined when there is no goal. */
  readonly met?: boolean
  readonly note?: string
}

export interface BenchResults {
  readonly bench: string
  readonly quick: boolean
  readonly metrics: Metric[]
  readonly notes: string[]
}

export const quick = process.argv.includes('--quick')

export class BenchReport {
  private readonly metrics: Metric[] = []
  private readonly notes: string[] = []

  constructor(readonly bench: string) {}

  add(metric: Omit<Metric, 'ratio' | 'met'> & { ratio?: number }): Metric {
    const ratio =
      metric.ratio ??
      (metric.peer !== undefined && metric.peer !== 0 ? metric.parley / metric.peer : undefined)
    const met = metric.goal && ratio !== undefined ? ratio <= metric.goal.maxRatio : undefined
    const full: Metric = { ...metric, ratio, met }
    this.metrics.push(full)
    const peer =
      full.peer === undefined ? '' : ` vs ${format(full.peer)} (${full.peerLabel ?? 'peer'})`
    const ratioText = ratio === undefined ? '' : ` = ${ratio.toFixed(2)}×`
    const goalText = full.goal ? ` goal ${full.goal.text}: ${met ? 'met' : 'MISSED'}` : ''
    console.log(`  ${full.name}: ${format(full.parley)} ${full.unit}${peer}${ratioText}${goalText}`)
    return full
  }

  note(text: string): void {
    this.notes.push(text)
    console.log(`  note: ${text}`)
  }

  write(): void {
    const results: BenchResults = {
      bench: this.bench,
      quick,
      metrics: this.metrics,
      notes: this.notes,
    }
    const file = process.env.PARLEY_BENCH_RESULTS
    if (file) writeFileSync(file, JSON.stringify(results, null, 2))
  }
}

export function format(value: number): string {
  if (value === 0) return '0'
  const abs = Math.abs(value)
  if (abs >= 1000) return Math.round(value).toLocaleString('en')
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 0.1) return value.toFixed(2)
  return value.toPrecision(2)
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export const sizeLabel = (n: number): string =>
  n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n)
