#!/usr/bin/env node
// Runs the ava suite with TAP output, echoes it, and ends with "N passed, N failed[, N skipped]".
import {execFileSync, spawn} from 'node:child_process'

// The tiny test guest follows its build script (a no-op when it is up to date).
execFileSync('bash', ['scripts/build-test-guest.sh'], {stdio: ['ignore', 'ignore', 'inherit']})
// So do the root file systems of the real-systemd tests (test/helpers/systemd-container.ts), built
// here once rather than by parallel test workers.
if (process.getuid?.() === 0) execFileSync('bash', ['scripts/build-systemd-root.sh', 'all'], {stdio: ['ignore', 'ignore', 'inherit']})

const args = ['node_modules/ava/entrypoints/cli.mjs', '--tap', ...process.argv.slice(2)]
const child = spawn(process.execPath, args, {stdio: ['ignore', 'pipe', 'inherit']})
let passed = 0
let failed = 0
let skipped = 0
let buf = ''
child.stdout.on('data', (d) => {
  process.stdout.write(d)
  buf += d
  let i
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i)
    buf = buf.slice(i + 1)
    if (/^not ok \d+/.test(line)) {
      if (/# (SKIP|TODO)/i.test(line)) skipped++
      else failed++
    } else if (/^ok \d+/.test(line)) {
      if (/# (SKIP|TODO)/i.test(line)) skipped++
      else passed++
    }
  }
})
child.on('exit', (code) => {
  if (code !== 0 && failed === 0) failed = 1 // ava itself failed (e.g. uncaught exception, timeout)
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
  process.exit(code === 0 && failed === 0 ? 0 : 1)
})
