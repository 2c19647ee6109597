/**
 * Runs Debian's ansible-playbook (a real subprocess, JSON stdout callback) and reduces its report to
 * what the fleet tests assert: the recap per host and each task's outcome per host. Ansible's own
 * state (home, temp dirs, config) lives in a temp dir of the caller's, never in /root/.ansible.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT_DIR, type RunResult} from './daemon.js'

export const PLAYBOOKS = join(ROOT_DIR, 'test/fixtures/ansible')

export interface Recap {
  ok: number
  changed: number
  failures: number
  skipped: number
  unreachable: number
}

/** One task's outcome on one host, and what the module returned. */
export interface TaskOutcome {
  task: string
  host: string
  changed: boolean
  failed: boolean
  skipped: boolean
  result: Record<string, unknown>
}

export interface PlaybookRun {
  code: number
  recap: Record<string, Recap>
  tasks: TaskOutcome[]
  /** A short account for assertion messages: failed tasks' messages, stderr. */
  why: string
}

interface JsonReport {
  plays?: Array<{tasks: Array<{task: {name: string}; hosts: Record<string, Record<string, unknown>>}>}>
  stats?: Record<string, Recap>
}

/** One line per host of an INI inventory group `fleet`, with `vars` for all of them. */
export function inventory(hosts: Array<{name: string; vars: Record<string, string>}>, vars: Record<string, string> = {}): string {
  const line = (name: string, v: Record<string, string>) => [name, ...Object.entries(v).map(([k, x]) => `${k}=${x}`)].join(' ')
  const common = {ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', ...vars}
  return ['[fleet]', ...hosts.map((h) => line(h.name, h.vars)), '', '[fleet:vars]', ...Object.entries(common).map(([k, v]) => `${k}=${v}`), ''].join(
    '\n',
  )
}

/** Environment for ansible-playbook: JSON on stdout, state under `dir`. */
function ansibleEnv(dir: string): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'tmp'), {recursive: true})
  const cfg = join(dir, 'ansible.cfg')
  writeFileSync(cfg, '[defaults]\nretry_files_enabled = False\n')
  return {
    ANSIBLE_CONFIG: cfg,
    ANSIBLE_HOME: dir,
    ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
    ANSIBLE_REMOTE_TEMP: join(dir, 'tmp'),
    ANSIBLE_STDOUT_CALLBACK: 'json',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORKS: '5',
  }
}

/**
 * Runs `playbook` (a file name under test/fixtures/ansible) on the inventory file `inv` through `exec`
 * (which decides the namespace the controller runs in); `extra` are more ansible-playbook arguments.
 */
export async function playbook(
  exec: (cmd: string, args: string[], opts: {env: NodeJS.ProcessEnv; timeout: number}) => Promise<RunResult>,
  dir: string,
  name: string,
  inv: string,
  extra: string[] = [],
): Promise<PlaybookRun> {
  const r = await exec('ansible-playbook', ['-i', inv, join(PLAYBOOKS, name), ...extra], {env: ansibleEnv(dir), timeout: 300000})
  let report: JsonReport
  try {
    report = JSON.parse(r.stdout) as JsonReport
  } catch {
    throw new Error(`ansible-playbook ${name} printed no JSON report (exit ${r.code}): ${r.stderr}${r.stdout.slice(0, 2000)}`)
  }
  const tasks: TaskOutcome[] = []
  for (const play of report.plays ?? []) {
    for (const t of play.tasks) {
      for (const [host, result] of Object.entries(t.hosts)) {
        tasks.push({
          task: t.task.name,
          host,
          changed: result.changed === true,
          failed: result.failed === true,
          skipped: result.skipped === true,
          result,
        })
      }
    }
  }
  const failed = tasks.filter((t) => t.failed).map((t) => `${t.host}/${t.task}: ${JSON.stringify(t.result.msg ?? t.result)}`)
  return {code: r.code, recap: report.stats ?? {}, tasks, why: [...failed, r.stderr.trim()].filter(Boolean).join('\n')}
}

/** The outcomes of one host, in task order, as `task: changed|ok|skipped|failed` lines (for comparing two hypervisors' runs). */
export function outcomes(run: PlaybookRun, host: string): string[] {
  return run.tasks
    .filter((t) => t.host === host)
    .map((t) => `${t.task}: ${t.failed ? 'failed' : t.skipped ? 'skipped' : t.changed ? 'changed' : 'ok'}`)
}
