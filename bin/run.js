#!/usr/bin/env node
// vctl's entry. `daemon start` takes a lean path that does not load oclif (the daemon lives long and
// should start fast and stay small); every other command runs through the bundled oclif in dist/
// (npm run build), which reads oclif.manifest.json instead of importing every command to list them.
const [topic, command, ...rest] = process.argv.slice(2)
if (topic === 'daemon' && command === 'start') {
  const {leanDaemonStart} = await import('../dist/lib/cli/daemon-main.js')
  if (!(await leanDaemonStart(rest))) await runOclif()
} else await runOclif()

async function runOclif() {
  const {execute, settings} = await import('../dist/lib/cli/oclif.js')
  // Tests and users run the compiled dist/, never TypeScript sources through a loader.
  settings.enableAutoTranspile = false
  await execute({dir: import.meta.url})
}
