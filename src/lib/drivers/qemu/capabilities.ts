/**
 * What a QEMU binary can do, probed once per binary and cached on disk (keyed by the binary's
 * path, mtime and size, like libvirt's capabilities cache), and the capabilities XML built from
 * it and the host facts (host.ts). Probing runs `EMULATOR -machine none,accel=kvm:tcg -nodefaults -display none
 * -qmp stdio` and asks query-version, query-target, query-machines, query-cpu-definitions,
 * query-kvm and query-command-line-options(sandbox), and QEMU's CPU model data (caps-cpu.ts). Nothing here runs on the request path: the
 * driver probes when it is created.
 */
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {formatCapabilities, type CapsMachine} from '../../conf/capabilities.js'
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {writeFileAtomic} from '../../fs-atomic.js'
import type {HostFacts} from './host.js'
import {probeCpuData, type QemuCpuData} from './caps-cpu.js'
import {withProbeQemu} from './probe-qmp.js'

/** Bumped whenever QemuCaps changes shape, so stale cache files are re-probed. */
export const CAPS_FORMAT_VERSION = 2

export interface QemuMachine {
  name: string
  alias?: string
  isDefault: boolean
  maxCpus: number
  deprecated: boolean
}

export interface QemuCaps {
  formatVersion: number
  emulator: string
  /** Cache key parts: the binary's mtime and size when probed, and whether /dev/kvm existed. */
  mtimeMs: number
  size: number
  kvmDevice: boolean
  version: {major: number; minor: number; micro: number}
  package: string
  /** libvirt's encoding: major * 1,000,000 + minor * 1,000 + micro. */
  versionNumber: number
  arch: string
  machines: QemuMachine[]
  /** CPU model names (aliases included) that this binary knows. */
  cpuModels: string[]
  /** query-kvm with accel=kvm:tcg: present = built with KVM, enabled = KVM initialised. */
  kvm: {present: boolean; enabled: boolean}
  /** Whether `-sandbox` (seccomp) is available. */
  sandbox: boolean
  /** QEMU's CPU model data per accelerator (x86 only; absent in caches of older formats and in fakes). */
  cpuData?: QemuCpuData
  probedAtMs: number
}

export interface ProbeLog {
  debug(m: string): void
  info(m: string): void
  warn(m: string): void
}

function versionNumber(v: {major: number; minor: number; micro: number}): number {
  return v.major * 1_000_000 + v.minor * 1_000 + v.micro
}

/** Runs the probe QEMU (and, when /dev/kvm exists, a TCG-only one beside it for TCG's CPU data) and returns its answers. */
export async function probeQemu(emulator: string, timeoutMs = 30000): Promise<Omit<QemuCaps, 'mtimeMs' | 'size' | 'kvmDevice'>> {
  // libvirt keeps QEMU's CPU data per accelerator; the TCG one needs a QEMU without KVM.
  const tcgProbe = fs.existsSync('/dev/kvm') ? withProbeQemu(emulator, 'tcg', timeoutMs, (exec) => probeCpuData(exec, 'tcg')) : undefined
  tcgProbe?.catch(() => {})
  const main = await withProbeQemu(emulator, 'kvm:tcg', timeoutMs, async (exec, g) => {
    const qver = g.version ?? {qemu: {major: 0, minor: 0, micro: 0}}
    const ver = (await exec('query-version')) as {qemu: {major: number; minor: number; micro: number}; package?: string}
    const target = (await exec('query-target')) as {arch: string}
    const machines = (await exec('query-machines')) as Array<{
      name: string
      alias?: string
      'is-default'?: boolean
      'cpu-max': number
      deprecated?: boolean
    }>
    const cpus = (await exec('query-cpu-definitions')) as Array<{name: string}>
    const kvm = (await exec('query-kvm')) as {present: boolean; enabled: boolean}
    let sandbox: boolean
    try {
      const opts = (await exec('query-command-line-options', {option: 'sandbox'})) as Array<{option: string}>
      sandbox = opts.some((o) => o.option === 'sandbox')
    } catch {
      sandbox = false // "invalid option name: sandbox": built without seccomp
    }
    const x86 = target.arch === 'x86_64' || target.arch === 'i386'
    const accelCpu = x86 ? await probeCpuData(exec, kvm.enabled ? 'kvm' : 'tcg') : undefined
    return {ver, qver, target, machines, cpus, kvm, sandbox, accelCpu}
  })
  const {ver, qver, target, machines, cpus, kvm, sandbox, accelCpu} = main
  const cpuData: QemuCpuData = {}
  if (accelCpu && kvm.enabled) {
    cpuData.kvm = accelCpu
    cpuData.tcg = await tcgProbe
  } else {
    await tcgProbe?.catch(() => undefined)
    if (accelCpu) cpuData.tcg = accelCpu
  }
  const version = ver?.qemu ?? qver.qemu
  const ms: QemuMachine[] = machines
    .filter((m) => m.name !== 'none')
    .map((m) => ({
      name: m.name,
      ...(m.alias ? {alias: m.alias} : {}),
      isDefault: m['is-default'] === true,
      maxCpus: m['cpu-max'],
      deprecated: m.deprecated === true,
    }))
    .sort((a, b) => (a.isDefault === b.isDefault ? a.name.localeCompare(b.name) : a.isDefault ? -1 : 1))
  return {
    formatVersion: CAPS_FORMAT_VERSION,
    emulator,
    version,
    package: ver?.package ?? qver.package ?? '',
    versionNumber: versionNumber(version),
    arch: target.arch,
    machines: ms,
    cpuModels: cpus.map((c) => c.name).sort(),
    kvm: {present: kvm.present, enabled: kvm.enabled},
    sandbox,
    cpuData,
    probedAtMs: Date.now(),
  }
}

/**
 * The cache file of `emulator`: its path escaped into one file name (a hash of it only when that
 * would be too long), so that a starting daemon reads its capabilities without loading node:crypto.
 */
function cacheFile(cacheDir: string, emulator: string): string {
  const name = encodeURIComponent(emulator)
  return join(cacheDir, `${name.length <= 200 ? name : createHash('sha256').update(emulator).digest('hex')}.json`)
}

/**
 * The capabilities of `emulator`: from the on-disk cache when the binary (path, mtime, size) and
 * the presence of /dev/kvm are unchanged, else probed and cached (atomically).
 */
export async function loadQemuCaps(emulator: string, cacheDir: string, log: ProbeLog): Promise<QemuCaps> {
  let st: fs.Stats
  try {
    st = await fsp.stat(emulator)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, `Cannot find QEMU binary ${emulator}: ${errnoText(e)}`)
  }
  const kvmDevice = fs.existsSync('/dev/kvm')
  const file = cacheFile(cacheDir, emulator)
  try {
    const cached = JSON.parse(await fsp.readFile(file, 'utf8')) as QemuCaps
    if (
      cached.formatVersion === CAPS_FORMAT_VERSION &&
      cached.emulator === emulator &&
      cached.mtimeMs === st.mtimeMs &&
      cached.size === st.size &&
      cached.kvmDevice === kvmDevice
    ) {
      log.debug(`qemu: capabilities of ${emulator} from cache ${file}`)
      return cached
    }
  } catch {
    // missing or unreadable cache: probe
  }
  const t0 = performance.now()
  const probed = await probeQemu(emulator)
  const caps: QemuCaps = {...probed, mtimeMs: st.mtimeMs, size: st.size, kvmDevice}
  log.info(
    `qemu: probed ${emulator} (QEMU ${caps.version.major}.${caps.version.minor}.${caps.version.micro}, ${caps.machines.length} machine types) in ${(performance.now() - t0).toFixed(0)} ms`,
  )
  try {
    await writeFileAtomic(file, JSON.stringify(caps, null, 1) + '\n')
  } catch (err) {
    log.warn(`qemu: cannot cache capabilities in ${file}: ${(err as Error).message}`)
  }
  await dropHashNamedCache(cacheDir, emulator, file)
  return caps
}

/** Earlier versions named every cache file by a hash of the emulator's path: once probed again, that file is stale. */
async function dropHashNamedCache(cacheDir: string, emulator: string, current: string): Promise<void> {
  const old = join(cacheDir, `${createHash('sha256').update(emulator).digest('hex')}.json`)
  if (old !== current) await fsp.rm(old, {force: true}).catch(() => undefined)
}

export function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'No such file or directory'
    case 'EACCES':
      return 'Permission denied'
    case 'ENOTDIR':
      return 'Not a directory'
    case 'EISDIR':
      return 'Is a directory'
    case 'EPERM':
      return 'Operation not permitted'
    case 'EROFS':
      return 'Read-only file system'
    default:
      return e.message
  }
}

// ---- KVM usability --------------------------------------------------------------------------

/** Whether the host CPU advertises hardware virtualisation (what virt-host-validate checks). */
export function hostHasVirtExtensions(cpuinfo?: string): boolean {
  let text = cpuinfo
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/cpuinfo', 'utf8')
    } catch {
      return false
    }
  }
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(text)
}

/** Whether /dev/kvm can be opened read-write. */
export function kvmDeviceUsable(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', fs.constants.O_RDWR))
    return true
  } catch {
    return false
  }
}

/**
 * KVM is usable when /dev/kvm opens read-write, the CPU advertises vmx/svm, and the probe QEMU
 * managed to enable KVM. (Some sandboxes expose a /dev/kvm that initialises but cannot run a
 * guest, and do not advertise vmx/svm: those count as "no KVM".)
 */
export function kvmUsable(caps: QemuCaps): boolean {
  return caps.kvm.enabled && kvmDeviceUsable() && hostHasVirtExtensions()
}

/** Resolves a machine type name or alias to its canonical name, or undefined when unknown. */
export function canonicalMachine(caps: QemuCaps, name: string): string | undefined {
  for (const m of caps.machines) if (m.name === name) return m.name
  for (const m of caps.machines) if (m.alias === name) return m.name
  return undefined
}

export function defaultMachine(caps: QemuCaps): QemuMachine | undefined {
  return caps.machines.find((m) => m.isDefault) ?? caps.machines.find((m) => m.alias === 'pc') ?? caps.machines[0]
}

/** The host CPU architecture's 32-bit sibling QEMU libvirt also lists as a guest (i686 beside x86_64). */
export const COMPAT_EMULATORS: Record<string, string> = {x86_64: 'qemu-system-i386'}

function guestOf(caps: QemuCaps, kvm: boolean) {
  const machines: CapsMachine[] = []
  for (const m of caps.machines) {
    machines.push({name: m.name, maxCpus: m.maxCpus, deprecated: m.deprecated})
    if (m.alias) machines.push({name: m.alias, canonical: m.name, maxCpus: m.maxCpus, deprecated: m.deprecated})
  }
  const domains: {type: string; emulator?: string; machines?: CapsMachine[]}[] = [{type: 'qemu'}]
  if (kvm) domains.push({type: 'kvm'})
  // QEMU says i386 where libvirt says i686.
  const arch = caps.arch === 'i386' ? 'i686' : caps.arch
  const x86 = arch === 'x86_64' || arch === 'i686'
  const features: string[] = []
  if (arch === 'i686') features.push('pae', 'nonpae')
  if (x86) features.push('acpi', 'apic')
  features.push('cpuselection', 'deviceboot', 'disksnapshot')
  return {
    osType: 'hvm',
    arch,
    wordsize: arch === 'x86_64' || arch === 'aarch64' ? 64 : 32,
    emulator: caps.emulator,
    machines,
    domains,
    features,
  }
}

/** The capabilities XML for one QEMU binary on this host (and the binaries of other guest architectures, `extra`). */
export function buildCapabilitiesXml(caps: QemuCaps, host: HostFacts, kvm: boolean, extra: QemuCaps[] = []): string {
  // libvirt lists the guests by architecture: i686 before x86_64.
  const guests = [...extra, caps].map((c) => guestOf(c, kvm)).sort((a, b) => (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0))
  const n = host.node
  const {cpu, topology} = host
  return formatCapabilities({
    hostUuid: host.hostUuid,
    arch: n.model,
    cpuModel: cpu.model,
    cpuVendor: cpu.vendor ?? host.vendor,
    microcode: cpu.microcode,
    signature: cpu.signature,
    counter: cpu.counter,
    topology: {sockets: n.sockets, cores: n.cores, threads: n.threads},
    physBits: cpu.physBits,
    cpuFeatures: cpu.features,
    pageSizesKiB: topology.pageSizesKiB,
    iommu: false,
    migrationTransports: ['tcp', 'rdma'],
    cells: topology.cells.map((c) => ({
      id: c.id,
      memoryKiB: c.memoryKiB,
      pages: c.pages,
      distances: c.distances,
      cpus: c.cpus.map((x) => ({id: x.id, socketId: x.socketId, dieId: x.dieId, coreId: x.coreId, siblings: x.siblings})),
    })),
    caches: topology.caches,
    secModels: [
      {model: 'none', doi: '0'},
      {
        model: 'dac',
        doi: '0',
        baseLabels: [
          ['kvm', `+${process.getuid?.() ?? 0}:+${process.getgid?.() ?? 0}`],
          ['qemu', `+${process.getuid?.() ?? 0}:+${process.getgid?.() ?? 0}`],
        ],
      },
    ],
    guests,
  })
}

/**
 * The capabilities of the 32-bit sibling QEMU beside `emulator` (qemu-system-i386 beside qemu-system-x86_64),
 * when installed; probed alongside the main binary (it needs only the binary's name). Failures only log.
 */
export async function loadCompatCaps(emulator: string, cacheDir: string, log: ProbeLog): Promise<QemuCaps[]> {
  const arch = /^qemu-system-(\w+)$/.exec(basename(emulator))?.[1]
  const name = arch === undefined ? undefined : COMPAT_EMULATORS[arch]
  if (!name) return []
  const bin = join(dirname(emulator), name)
  if (!fs.existsSync(bin)) return []
  try {
    return [await loadQemuCaps(bin, cacheDir, log)]
  } catch (err) {
    log.warn(`qemu: ${bin}: ${(err as Error).message}`)
    return []
  }
}
