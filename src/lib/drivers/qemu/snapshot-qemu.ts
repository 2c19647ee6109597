/**
 * What snapshots ask of QEMU: internal snapshots of a running guest, taken with `savevm` (what
 * libvirt 9.0 sends, through human-monitor-command; measured faster here than the snapshot-save
 * job, see bench/snapshot.mjs), loaded and deleted as QMP jobs (snapshot-load, snapshot-delete:
 * the job runs, JOB_STATUS_CHANGE says it concluded, query-jobs says how, job-dismiss ends it);
 * and of a shut-off guest with `qemu-img snapshot -c/-a/-d` on each qcow2 image.
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {errors} from '../../errors.js'
import type {DomainDef} from '../../conf/domain.js'
import type {SnapshotDef} from '../../conf/snapshot.js'
import {D} from './context.js'
import type {QmpClient, QmpEvent} from './qmp.js'

/** How long a snapshot job may take (guest RAM is written to the image). */
const JOB_TIMEOUT_MS = 10 * 60 * 1000

/** The disks a snapshot covers internally, with the block node and image of each in `dom`. */
export interface InternalDisk {
  target: string
  node: string
  file: string
  format: string
}

export function internalDisks(snap: SnapshotDef, dom: DomainDef): InternalDisk[] {
  const out: InternalDisk[] = []
  for (const sd of snap.disks) {
    if (sd.snapshot !== 'internal') continue
    const index = dom.devices.disks.findIndex((d) => d.target === sd.name)
    if (index < 0) throw errors.invalidArg(D, `no disk named '${sd.name}'`)
    const disk = dom.devices.disks[index]
    if (disk.source === undefined) continue
    // Format nodes are named as the command line names them (argv.ts): libvirt-N-format.
    out.push({target: disk.target, node: `libvirt-${index + 1}-format`, file: disk.source, format: disk.driverType ?? 'raw'})
  }
  return out
}

/** libvirt's check before an internal snapshot: every disk it covers must be qcow2, external is not done here. */
export function checkInternal(snap: SnapshotDef, dom: DomainDef, active: boolean): InternalDisk[] {
  for (const sd of snap.disks) {
    if (sd.snapshot === 'external' || sd.snapshot === 'manual') {
      throw errors.configUnsupported(D, `${sd.snapshot} snapshot of disk ${sd.name} is not supported by vctl's qemu driver (internal snapshots only)`)
    }
  }
  if (snap.memory === 'external') throw errors.configUnsupported(D, "external memory snapshots are not supported by vctl's qemu driver")
  const disks = internalDisks(snap, dom)
  for (const d of disks) {
    if (d.format !== 'qcow2') throw errors.configUnsupported(D, `internal snapshot for disk ${d.target} unsupported for storage type ${d.format}`)
  }
  if (active && snap.memory === 'no' && disks.length > 0) {
    throw errors.configUnsupported(D, 'internal snapshot of a running VM must include the memory state')
  }
  if (active && disks.length === 0)
    throw errors.configUnsupported(D, 'internal snapshot of a running VM needs at least one qcow2 disk for its memory state')
  return disks
}

let jobSeq = 0

/** Runs one snapshot job to its end; a failed job becomes libvirt's "operation failed". */
export async function runSnapshotJob(
  qmp: QmpClient,
  command: 'snapshot-save' | 'snapshot-load' | 'snapshot-delete',
  args: Record<string, unknown>,
): Promise<void> {
  const id = `vctl-${command}-${process.pid}-${++jobSeq}`
  let onEvent!: (ev: QmpEvent) => void
  let onClose!: () => void
  let timer: NodeJS.Timeout | undefined
  const concluded = new Promise<void>((resolve, reject) => {
    onEvent = (ev) => {
      if (ev.event === 'JOB_STATUS_CHANGE' && ev.data.id === id && ev.data.status === 'concluded') resolve()
    }
    onClose = () => reject(errors.operationFailed(D, `End of file from qemu monitor (while waiting for '${command}')`))
    timer = setTimeout(() => reject(errors.operationFailed(D, `${command} did not complete within ${JOB_TIMEOUT_MS / 1000} s`)), JOB_TIMEOUT_MS)
    qmp.on('event', onEvent)
    qmp.once('close', onClose)
  })
  try {
    await qmp.execute(command, {'job-id': id, ...args})
    await concluded
  } finally {
    clearTimeout(timer)
    qmp.off('event', onEvent)
    qmp.off('close', onClose)
  }
  const jobs = await qmp.execute<Array<{id: string; error?: string}>>('query-jobs')
  await qmp.execute('job-dismiss', {id})
  const error = jobs.find((j) => j.id === id)?.error
  if (error !== undefined) throw errors.operationFailed(D, `${command} failed: ${error}`)
}

/** An HMP string argument: double-quoted, backslash and quote escaped. */
function hmpString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/**
 * Takes an internal snapshot of the running guest (memory into the first disk, every qcow2 disk
 * QEMU can snapshot). HMP answers errors as text: anything printed means it failed.
 */
export async function saveVm(qmp: QmpClient, name: string, disks: InternalDisk[]): Promise<void> {
  if (disks.length === 0) throw errors.configUnsupported(D, 'no qcow2 disk to hold the memory state')
  const out = await qmp.execute<string>('human-monitor-command', {'command-line': `savevm ${hmpString(name)}`})
  if (out.trim()) throw errors.operationFailed(D, `Failed to take snapshot: ${out.trim()}`)
}

/** The qemu-img beside the emulator (as Debian installs them), else from PATH. */
export function qemuImgFor(emulator: string): string {
  const beside = join(dirname(emulator), 'qemu-img')
  return existsSync(beside) ? beside : 'qemu-img'
}

/** `qemu-img snapshot -c|-a|-d NAME FILE`, with libvirt's error when it fails. */
export function qemuImgSnapshot(qemuImg: string, op: '-c' | '-a' | '-d', name: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(qemuImg, ['snapshot', op, name, file], {timeout: JOB_TIMEOUT_MS}, (err, _stdout, stderr) => {
      if (!err) return resolve()
      const why = stderr.trim() || err.message
      reject(errors.internal(D, `Child process (${qemuImg} snapshot ${op} ${name} ${file}) unexpected exit status ${err.code ?? '?'}: ${why}`))
    })
  })
}
