// `npm test`: everything, on a fresh machine. Installs what the browser and network tests
// need when it is missing (Chromium, iproute2, iptables, redis-server, coturn from apt, as root), builds the app the
// browser tests serve, runs every Vitest project, and ends with the totals line CI reads.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ensureSystemPackages, SYSTEM_PACKAGES } from './system-packages.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts })

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

ensureSystemPackages(Object.keys(SYSTEM_PACKAGES), 'the browser and network tests')
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
