/**
 * The fixture of the side-by-side tests: a vctl daemon and Debian's real libvirtd 9.0 (test/helpers/real-libvirtd.ts)
 * started together for one test file, the same steps run against both by the test, and one tear-down: what the test
 * started of its own (`watch`), every QEMU under the file's temp dir, both daemons, the temp dir.
 */
import test from 'ava'
import {spawn, type ChildProcess} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, tempRoot, type TestDaemon} from './daemon.js'
import {killGuestsUnder} from './guest.js'
import {startRealLibvirtd, type RealLibvirtd, type RealLibvirtdOptions} from './real-libvirtd.js'

export interface SideBySideOptions {
  /** Arguments of `vctl daemon start` (e.g. ['--driver', 'qemu']). */
  daemonArgs?: string[]
  real?: RealLibvirtdOptions
}

export interface Daemons {
  vctl: TestDaemon
  real: RealLibvirtd
}

export interface SideBySide {
  /** The file's temp dir (the vctl daemon's root is its `daemon` folder; the test's files go beside it); removed at tear-down. */
  root: string
  /**
   * Starts both daemons at once; later calls get the same two. Rejects (failing the test) when the real libvirtd
   * cannot run here: setup installs it, so its absence is a defect, not a reason to pass.
   */
  start(): Promise<Daemons>
  /** Spawns a process of the test (an event watcher) that is killed at tear-down; `onLine` gets each whole line of its stdout. */
  watch(cmd: string, args: string[], onLine: (line: string) => void, opts?: {env?: NodeJS.ProcessEnv; stderr?: 'inherit' | 'ignore'}): ChildProcess
}

/** Registers the tear-down (test.after.always) of a side-by-side test file; call it once, at the top of the file. */
export function sideBySide(prefix: string, opts: SideBySideOptions = {}): SideBySide {
  const root = tempRoot(prefix)
  let starts: [Promise<TestDaemon>, Promise<RealLibvirtd>] | undefined
  let started: Promise<Daemons> | undefined
  const watchers: ChildProcess[] = []

  test.after.always(async () => {
    try {
      for (const w of watchers) w.kill()
      // Both daemons' guests log to files under root (the guest XML names them): no guest outlives the file.
      killGuestsUnder(root)
      // Settled, not raced: a daemon still starting when the other failed is stopped too.
      const daemons = starts ? await Promise.allSettled(starts) : []
      const stops = await Promise.allSettled(daemons.map((d) => (d.status === 'fulfilled' ? d.value.stop() : Promise.resolve())))
      killGuestsUnder(root)
      for (const s of stops) if (s.status === 'rejected') throw s.reason
    } finally {
      rmSync(root, {recursive: true, force: true})
    }
  })

  return {
    root,
    start() {
      starts ??= [startDaemon(opts.daemonArgs ?? [], {root: join(root, 'daemon'), keepRoot: true}), startRealLibvirtd(opts.real)]
      started ??= Promise.all(starts).then(([vctl, real]) => ({vctl, real}))
      return started
    },
    watch(cmd, args, onLine, wopts = {}) {
      const w = spawn(cmd, args, {stdio: ['ignore', 'pipe', wopts.stderr ?? 'inherit'], env: wopts.env ?? process.env})
      watchers.push(w)
      let buf = ''
      w.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString()
        const lines = buf.split('\n')
        buf = lines.pop() ?? ''
        for (const line of lines) onLine(line)
      })
      return w
    },
  }
}
