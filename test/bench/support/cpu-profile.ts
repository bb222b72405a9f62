// Where a Chromium CPU profile (CDP `Profiler.stop`) spent its time, named by the original
// source of the built app: its source maps turn minified positions back into files and lines.
// Self time per source file, and the functions with the most self and total time, so a
// benchmark that misses a goal can say why without a person opening DevTools.
import { existsSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { join } from 'node:path'

/** The parts of a CDP `Profiler.Profile` read here. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly endTime: number
  readonly samples?: readonly number[]
  readonly timeDeltas?: readonly number[]
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
  readonly children?: readonly number[]
}

export interface TimeRow {
  readonly label: string
  readonly ms: number
}

export interface ProfileSummary {
  /** Sampled time, idle included. */
  readonly totalMs: number
  /** Sampled time the renderer's main thread was not idle. */
  readonly busyMs: number
  readonly selfByFile: TimeRow[]
  readonly selfByFunction: TimeRow[]
  /** Time in a file's functions and everything they called (counted at the outermost call). */
  readonly totalByFile: TimeRow[]
  /** Time in a function and everything it called (recursion counted once). */
  readonly totalByFunction: TimeRow[]
}

interface Location {
  /** `yjs/dist/yjs.mjs`, `src/session/timeline.ts`, or V8's name for native work. */
  readonly file: string
  /** The file, the original line of the function, and the start of its text. */
  readonly fn: string
}

/** V8's pseudo-frames that are not work done by the page. */
const NOT_WORK = new Set(['(root)', '(idle)'])

/** Maps positions in the built app's scripts back to their original source. */
export class BuildSourceMaps {
  private readonly maps = new Map<string, { map: SourceMap; sources: Map<string, string[]> }>()

  constructor(private readonly dist: string) {}

  locate(frame: ProfileNode['callFrame']): Location {
    const name = frame.functionName || '(anonymous)'
    // V8's pseudo-frames, native functions (TextEncoder.encodeInto, send) and scripts without a
    // URL (a benchmark's init scripts).
    if (!frame.url)
      return { file: name.startsWith('(') ? name : '(native or init script)', fn: name }
    const script = this.load(frame.url)
    const entry = script?.map.findEntry(frame.lineNumber, frame.columnNumber)
    // An empty entry when the position maps to nothing.
    if (!script || !entry || !('originalSource' in entry) || !entry.originalSource) {
      const file = script ? '(app, unmapped)' : shortPath(frame.url)
      return { file, fn: `${file} ${name}` }
    }
    const file = shortPath(entry.originalSource)
    const text = script.sources.get(entry.originalSource)?.[entry.originalLine]?.trim() ?? name
    return { file, fn: `${file}:${entry.originalLine + 1} ${text.slice(0, 80)}` }
  }

  private load(url: string) {
    const path = new URL(url).pathname
    const known = this.maps.get(path)
    if (known) return known
    const file = join(this.dist, `${path}.map`)
    if (!existsSync(file)) return undefined
    const payload = JSON.parse(readFileSync(file, 'utf8')) as {
      sources: string[]
      sourcesContent?: (string | null)[]
    }
    const map = new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0])
    // findEntry names sources as the map resolves them; key the texts the same way.
    const sources = new Map<string, string[]>()
    payload.sources.forEach((source, i) => {
      const resolved = map.payload.sources[i] ?? source
      sources.set(resolved, (payload.sourcesContent?.[i] ?? '').split('\n'))
    })
    const loaded = { map, sources }
    this.maps.set(path, loaded)
    return loaded
  }
}

/** `node_modules/yjs/dist/yjs.mjs` → `yjs/dist/yjs.mjs`; `…/src/x.ts` → `src/x.ts`. */
function shortPath(path: string): string {
  const modules = path.lastIndexOf('node_modules/')
  if (modules !== -1) return path.slice(modules + 'node_modules/'.length)
  const src = path.lastIndexOf('/src/')
  if (src !== -1) return path.slice(src + 1)
  return path.replace(/^https?:\/\/[^/]+/, '')
}

/** Self ms per node id: each sample's time is the gap to the next sample (as DevTools does). */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const us = deltas[i + 1] ?? 0
    self.set(samples[i], (self.get(samples[i]) ?? 0) + us / 1000)
  }
  return self
}

function rows(totals: Map<string, number>, limit: number): TimeRow[] {
  return [...totals]
    .map(([label, ms]) => ({ label, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit)
}

export function summarizeProfile(
  profile: CpuProfile,
  sourceMaps: BuildSourceMaps,
  limit = 15,
): ProfileSummary {
  const self = selfTimes(profile)
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const where = new Map(profile.nodes.map((node) => [node.id, sourceMaps.locate(node.callFrame)]))
  const byFile = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let totalMs = 0
  let idleMs = 0
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0
    totalMs += ms
    if (node.callFrame.functionName === '(idle)') idleMs += ms
    if (NOT_WORK.has(node.callFrame.functionName)) continue
    const { file, fn } = where.get(node.id)!
    byFile.set(file, (byFile.get(file) ?? 0) + ms)
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms)
  }

  // Total time: a node's subtree, counted only where its file (function) is not already on
  // the stack above it, or recursion would count the same time twice.
  const totalByFile = new Map<string, number>()
  const totalByFunction = new Map<string, number>()
  const onStack = new Map<string, number>()
  const push = (key: string, by: number) => onStack.set(key, (onStack.get(key) ?? 0) + by)
  const visit = (id: number): number => {
    const node = byId.get(id)!
    const { file, fn } = where.get(id)!
    const keys = [`file ${file}`, `fn ${fn}`]
    keys.forEach((key) => push(key, 1))
    let ms = self.get(id) ?? 0
    for (const child of node.children ?? []) ms += visit(child)
    keys.forEach((key) => push(key, -1))
    if (!NOT_WORK.has(node.callFrame.functionName)) {
      if (onStack.get(keys[0]) === 0) totalByFile.set(file, (totalByFile.get(file) ?? 0) + ms)
      if (onStack.get(keys[1]) === 0) totalByFunction.set(fn, (totalByFunction.get(fn) ?? 0) + ms)
    }
    return ms
  }
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []))
  for (const node of profile.nodes) if (!childIds.has(node.id)) visit(node.id)

  return {
    totalMs,
    busyMs: totalMs - idleMs,
    selfByFile: rows(byFile, limit),
    selfByFunction: rows(byFunction, limit),
    totalByFile: rows(totalByFile, limit),
    totalByFunction: rows(totalByFunction, limit),
  }
}

/** The summary as indented text lines, for the console. */
export function describeProfile(summary: ProfileSummary): string[] {
  const ms = (value: number) => `${Math.round(value).toLocaleString('en').padStart(7)} ms`
  const block = (title: string, list: TimeRow[]) => [
    `  ${title}`,
    ...list.map((row) => `    ${ms(row.ms)}  ${row.label}`),
  ]
  return [
    `  sampled ${ms(summary.totalMs).trim()}, main thread busy ${ms(summary.busyMs).trim()}`,
    ...block('self time by source file', summary.selfByFile),
    ...block('self time by function', summary.selfByFunction),
    ...block('total time by source file (its functions + their callees)', summary.totalByFile),
    ...block('total time by function (self + callees)', summary.totalByFunction),
  ]
}
