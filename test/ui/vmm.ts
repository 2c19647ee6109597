/** virt-manager 4.1 in a test: started in the system namespace on a private desktop, read through dogtail. */
import {closeSync, openSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {run} from '../helpers/daemon.js'
import {stopChild, type SystemNamespace} from '../helpers/system-ns.js'
import type {Desktop} from '../helpers/xvfb.js'

const SCRIPT = resolve(import.meta.dirname, '../ui-scripts/vmm.py')

export interface Vmm {
  child: ChildProcess
  log: string
  stop: () => Promise<void>
}

let launches = 0

/**
 * Starts `virt-manager --connect qemu:///system --no-fork` (fresh settings: `--test-options=first-run`)
 * with `extra` arguments such as `--show-domain-console NAME`.
 */
export function startVmm(ns: SystemNamespace, desk: Desktop, extra: string[] = []): Vmm {
  const log = join(ns.root, `virt-manager-${++launches}.log`)
  const fd = openSync(log, 'a')
  const child = ns.spawn(
    '/usr/bin/python3',
    ['/usr/bin/virt-manager', '--connect', 'qemu:///system', '--no-fork', '--test-options=first-run', ...extra],
    {
      env: desk.env,
      stdio: ['ignore', fd, fd],
    },
  )
  closeSync(fd)
  return {child, log, stop: () => stopChild(child)}
}

/** What a dogtail command reported (see test/ui-scripts/vmm.py); `error` when it did not see what it waited for. */
export interface VmmReport {
  error?: string
  errors?: string[]
  connection?: string | null
  vms?: Record<string, string>
  text?: string
  terminal?: boolean
  rect?: {x: number; y: number; width: number; height: number}
  listed?: string[]
  after_create?: string[]
  reverted?: string
  os?: string
  networks?: string[]
  network?: string
  warning?: string[]
  created?: string
}

/** Runs one command of vmm.py against the virt-manager of `desk`; `timeout` in seconds. */
export async function vmm(desk: Desktop, args: string[], timeout = 60): Promise<VmmReport> {
  const r = await run('/usr/bin/python3', [SCRIPT, ...args, '--timeout', String(timeout)], {env: desk.env, timeout: (timeout + 30) * 1000})
  const line = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as VmmReport
  } catch {
    return {error: `vmm.py ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}${r.stdout.slice(-500)}`}
  }
}

/** The tail of a virt-manager log, for failure messages. */
export function logTail(v: Vmm, chars = 1500): string {
  try {
    return readFileSync(v.log, 'utf8').slice(-chars)
  } catch {
    return ''
  }
}
