// Item 8: what a browser downloads, gzip-compressed: the JavaScript and CSS the first page load
// needs (what index.html references, with its static imports) and all of the app's assets.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { gzipSync } from 'node:zlib'
import { BenchReport } from './support/report'
import { builtApp } from './support/built-app'

const KB = 1000
const dist = builtApp()
const gzipped = (file: string): number => gzipSync(readFileSync(file), { level: 9 }).length

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

/** Files index.html loads before the app can run: scripts, stylesheets, module preloads, and
 * the static imports of those scripts (Vite emits them as separate chunks). */
function firstLoad(): Set<string> {
  const html = readFileSync(join(dist, 'index.html'), 'utf8')
  const referenced = [
    ...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\bhref)="\/?([^"]+\.(?:js|css))"/g),
  ].map((m) => join(dist, m[1]))
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    if (!file.endsWith('.js')) return
    const code = readFileSync(file, 'utf8')
    // Static imports only (`import ... from "./x.js"` / `import "./x.js"`), not import().
    for (const m of code.matchAll(/\bimport\s*(?:[\w*${}\s,]+from\s*)?["'](\.\/[^"']+\.js)["']/g))
      visit(join(file, '..', m[1]))
  }
  referenced.forEach(visit)
  return seen
}

const all = filesUnder(dist).filter((f) => /\.(js|css)$/.test(f))
const first = firstLoad()
const sum = (files: string[]) => files.reduce((total, f) => total + gzipped(f), 0)
const isJs = (f: string) => f.endsWith('.js')
const serviceWorker = (f: string) => /(^|\/)(sw|workbox-[^/]*)\.js$/.test(relative(dist, f))

const report = new BenchReport('bundle')
console.log(`Bundle (gzip -9) of ${dist}`)
const firstJs = [...first].filter(isJs)
report.add({
  id: 'bundle-first-load-js',
  name: `First-load JavaScript, gzip (${firstJs.map((f) => relative(dist, f)).join(', ')})`,
  unit: 'kB',
  parley: sum(firstJs) / KB,
  peer: 100,
  peerLabel: 'budget',
  goal: { maxRatio: 1, text: '≤ 100 kB' },
})
report.add({
  id: 'bundle-first-load-css',
  name: 'First-load CSS, gzip',
  unit: 'kB',
  parley: sum([...first].filter((f) => f.endsWith('.css'))) / KB,
})
report.add({
  id: 'bundle-total-js',
  name: 'All app JavaScript, gzip (without the service worker)',
  unit: 'kB',
  parley: sum(all.filter((f) => isJs(f) && !serviceWorker(f))) / KB,
})
report.add({
  id: 'bundle-service-worker',
  name: 'Service worker JavaScript, gzip',
  unit: 'kB',
  parley: sum(all.filter(serviceWorker)) / KB,
})
report.add({
  id: 'bundle-total-css',
  name: 'All CSS, gzip',
  unit: 'kB',
  parley: sum(all.filter((f) => f.endsWith('.css'))) / KB,
})
report.write()
