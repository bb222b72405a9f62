// `npm test`: everything, on a fresh machine. Installs what the browser and network tests
// need when it is missing (Chromium, iproute2, iptables, redis-server, coturn from apt, as root), builds the app the
// browser tests serve, runs every Vitest project, and ends with the totals line CI reads.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

/** apt package → how we know it is there. */
const SYSTEM_NEEDS = [
  ['chromium', () => existsSync('/usr/bin/chromium')],
  ['iproute2', () => has('ip')],
  ['iptables', () => has('iptables')],
  ['redis-server', () => has('redis-server')],
  // An independent STUN client (turnutils_stunclient) that checks our STUN answers.
  ['coturn', () => existsSync('/usr/bin/turnutils_stunclient')],
]

function ensureSystemPackages() {
  const missing = SYSTEM_NEEDS.filter(([, present]) => !present()).map(([name]) => name)
  if (missing.length === 0) return
  const isRoot = process.getuid?.() === 0
  if (!isRoot) {
    console.error(
      `parley: the browser and network tests need ${missing.join(', ')}.\n` +
        `Install them as root: apt-get update && apt-get install -y ${missing.join(' ')}\n` +
        'They also need root to create network namespaces (see test/e2e).',
    )
    process.exit(1)
  }
  console.log(`Installing ${missing.join(', ')} from apt…`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if (run('apt-get', ['update', '-qq'], { env }).status !== 0) process.exit(1)
  if (run('apt-get', ['install', '-y', '-qq', ...missing], { env }).status !== 0) process.exit(1)
}

function build() {
  const result = run(process.execPath, [
    'node_modules/vite/bin/vite.js',
    'build',
    '--logLevel',
    'warn',
  ])
  if (result.status !== 0) {
    console.error('parley: building the app failed')
    process.exit(result.status ?? 1)
  }
}

ensureSystemPackages()
build()
mkdirSync(`${root}/test-results`, { recursive: true })
const report = `${root}/test-results/vitest.json`
const vitest = run(process.execPath, [
  'node_modules/vitest/vitest.mjs',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
])

let passed = 0
let failed = 0
try {
  const results = JSON.parse(readFileSync(report, 'utf8'))
  passed = results.numPassedTests
  failed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0)
  if (results.numTotalTests === 0) failed += 1
} catch {
  failed += 1
}
if (vitest.status !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed`)
process.exit(vitest.status === 0 && failed === 0 ? 0 : 1)
