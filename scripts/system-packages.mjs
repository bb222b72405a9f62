// The Debian packages the browser and network tests and benchmarks run on, and the one place
// that installs them: `npm test` and `npm run bench` both call ensureSystemPackages before they
// start anything that needs one, so a fresh machine either gets them or stops with one line.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

/** apt package → how we know it is there. */
export const SYSTEM_PACKAGES = {
  chromium: () => existsSync('/usr/bin/chromium'),
  iproute2: () => has('ip'),
  iptables: () => has('iptables'),
  'redis-server': () => has('redis-server'),
  // An independent STUN client (turnutils_stunclient) that checks our STUN answers.
  coturn: () => existsSync('/usr/bin/turnutils_stunclient'),
}

/**
 * Installs the missing ones of `names` from apt when running as root; otherwise, or when apt
 * fails, prints one line saying what to install and exits. `purpose` names who needs them.
 */
export function ensureSystemPackages(names, purpose) {
  const missing = names.filter((name) => !SYSTEM_PACKAGES[name]())
  if (missing.length === 0) return
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`
  if (process.getuid?.() !== 0) {
    console.error(
      `parley: ${purpose} need ${missing.join(', ')} (and root): as root, run ${command}`,
    )
    process.exit(1)
  }
  console.log(`Installing ${missing.join(', ')} from apt…`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0
  if (!apt(['update', '-qq']) || !apt(['install', '-y', '-qq', ...missing])) {
    console.error(
      `parley: ${purpose} need ${missing.join(', ')}, and installing them failed: ${command}`,
    )
    process.exit(1)
  }
}
