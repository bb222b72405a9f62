// `npm run bench`: runs each benchmark in test/bench in its own process (so one cannot warm
// or pollute another's heap). `-- --quick` runs the small sizes only, as CI does.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const benches = readdirSync(`${root}/test/bench`).filter((f) => f.endsWith('.bench.ts'))
let failed = 0
for (const bench of benches) {
  console.log(`\n== ${bench}`)
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', `test/bench/${bench}`, ...args],
    { cwd: root, stdio: 'inherit' },
  )
  if (result.status !== 0) failed++
}
process.exit(failed === 0 ? 0 : 1)
