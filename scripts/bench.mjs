// `npm run bench`: runs each benchmark in test/bench in its own process (so one cannot warm or
// pollute another's heap), collects what each reports (test/bench/support/report.ts: a JSON
// file named by PARLEY_BENCH_RESULTS), and writes test/bench/results/latest.json and
// latest.md. Benchmarks that print their own output and report nothing are listed as run.
//
//   npm run bench                      every benchmark, full sizes
//   npm run bench -- --quick           small sizes only (CI's smoke); writes quick.json/.md
//   npm run bench -- send-cost bundle  only these (their results replace those in the files)
//
// Exits non-zero only when a benchmark crashes or times out, never for a missed goal.
import { spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureSystemPackages } from './system-packages.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args.filter((a) => !a.startsWith('--'))
/** A full run of the largest benchmark takes a few minutes here; ten times that is a hang. */
const TIMEOUT_MS = (quick ? 5 : 45) * 60_000

const benches = readdirSync(join(root, 'test/bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((name) => f.startsWith(name)))
  .sort()
if (benches.length === 0) {
  console.error(`no benchmark matches ${only.join(', ')}`)
  process.exit(1)
}

/** What the benchmarks that drive Chromium (and, for message-latency, network namespaces) need
 * besides npm packages; a benchmark not listed needs nothing. Checked before anything runs, so a
 * missing browser is one clear line (or an install) instead of a crash in the middle of a run. */
const SYSTEM_NEEDS = {
  'message-latency.bench.ts': ['chromium', 'iproute2', 'iptables'],
  'newcomer-sync.bench.ts': ['chromium'],
  'open-room.bench.ts': ['chromium'],
}
ensureSystemPackages([...new Set(benches.flatMap((b) => SYSTEM_NEEDS[b] ?? []))], 'the benchmarks')

const scratch = mkdtempSync(join(tmpdir(), 'parley-bench-'))
const dist = join(scratch, 'dist')
console.log('== building the app (vite build) for the benchmarks that need it')
const build = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules/vite/bin/vite.js'),
    'build',
    '--outDir',
    dist,
    '--emptyOutDir',
    '--logLevel',
    'warn',
  ],
  { cwd: root, stdio: 'inherit' },
)
if (build.status !== 0) {
  console.error('vite build failed')
  process.exit(1)
}

function run(bench, resultsFile) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--max-old-space-size=4096',
        '--import',
        'tsx',
        `test/bench/${bench}`,
        ...(quick ? ['--quick'] : []),
      ],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, PARLEY_BENCH_RESULTS: resultsFile, PARLEY_BENCH_DIST: dist },
      },
    )
    const timer = setTimeout(() => {
      console.error(`${bench}: no result after ${TIMEOUT_MS / 60_000} min, stopping it`)
      child.kill('SIGKILL')
    }, TIMEOUT_MS)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(code === 0 ? 'ok' : `failed (${code ?? signal})`)
    })
  })
}

const runs = []
for (const bench of benches) {
  console.log(`\n== ${bench}${quick ? ' --quick' : ''}`)
  const resultsFile = join(scratch, `${bench}.json`)
  const started = Date.now()
  const status = await run(bench, resultsFile)
  const reported = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : null
  runs.push({
    bench: bench.replace(/\.bench\.ts$/, ''),
    status,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    metrics: reported?.metrics ?? [],
    notes: reported?.notes ?? [],
  })
}
rmSync(scratch, { recursive: true, force: true })

const resultsDir = join(root, 'test/bench/results')
mkdirSync(resultsDir, { recursive: true })
const base = quick ? 'quick' : 'latest'
const jsonFile = join(resultsDir, `${base}.json`)
// A run of some benchmarks replaces only their entries.
const previous =
  only.length > 0 && existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, 'utf8')) : null
const merged = [
  ...(previous?.benches ?? []).filter((b) => !runs.some((r) => r.bench === b.bench)),
  ...runs,
].sort((a, b) => a.bench.localeCompare(b.bench))
const gitCommit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
  cwd: root,
  encoding: 'utf8',
}).stdout.trim()
const results = {
  date: new Date().toISOString(),
  quick,
  commit: gitCommit || null,
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  benches: merged,
}
writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(join(resultsDir, `${base}.md`), markdown(results))
console.log(`\nwrote test/bench/results/${base}.json and ${base}.md`)

const crashed = runs.filter((r) => r.status !== 'ok')
if (crashed.length > 0)
  console.error(`crashed: ${crashed.map((r) => `${r.bench} ${r.status}`).join(', ')}`)
process.exit(crashed.length === 0 ? 0 : 1)

function fmt(value) {
  if (value === undefined || value === null) return ''
  const abs = Math.abs(value)
  if (abs >= 1000) return Math.round(value).toLocaleString('en')
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 0.1) return value.toFixed(2)
  return value === 0 ? '0' : value.toPrecision(2)
}

function cell(text) {
  return String(text).replaceAll('|', '\\|')
}

function markdown({ date, quick, commit, machine, benches }) {
  const lines = [
    `# Parley benchmarks${quick ? ' (quick: small sizes only)' : ''}`,
    '',
    `${date} · commit ${commit ?? '?'} · Node ${machine.node} · ${machine.cpus} × ${machine.cpu}. ` +
      'Same-run ratios, medians of repeats; absolute times on this shared machine mean little.',
    '',
    '| metric | Parley | peer / floor | ratio | goal | met? |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  const notes = []
  for (const b of benches) {
    if (b.status !== 'ok') lines.push(`| **${cell(b.bench)}: ${cell(b.status)}** | | | | | |`)
    if (b.metrics.length === 0 && b.status === 'ok')
      lines.push(`| ${cell(b.bench)}: ran (${b.seconds} s), prints its own report | | | | | |`)
    for (const m of b.metrics) {
      const peer = m.peer === undefined ? '' : `${fmt(m.peer)} ${m.unit} (${m.peerLabel ?? 'peer'})`
      const met = m.met === undefined ? '' : m.met ? 'yes' : '**no**'
      const name = m.note ? `${m.name} — ${m.note}` : m.name
      lines.push(
        `| ${cell(name)} | ${fmt(m.parley)} ${cell(m.unit)} | ${cell(peer)} | ${m.ratio === undefined ? '' : `${fmt(m.ratio)}×`} | ${cell(m.goal?.text ?? '')} | ${met} |`,
      )
    }
    for (const note of b.notes) notes.push(`- ${b.bench}: ${note}`)
  }
  if (notes.length > 0) lines.push('', '## Notes', '', ...notes)
  return `${lines.join('\n')}\n`
}
