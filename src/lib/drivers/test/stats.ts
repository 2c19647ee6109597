/**
 * Guest statistics and guest control of the test driver, as libvirt's test driver answers them:
 * block and interface counters made up from the time of day, balloon figures from the definition,
 * fixed block sizes, a guest clock that starts at 627319920 s, send-key and inject-nmi that only
 * check their input, a "dump" that writes the test driver's magic, and only the `state` (and the
 * empty `iothread`) group in bulk stats.
 */
import {closeSync, openSync, writeSync} from 'node:fs'
import {currentDef, isActive, type DomainObj} from '../../conf/domain-list.js'
import type {DomainDef} from '../../conf/domain.js'
import {attr, child} from '../../conf/xml.js'
import {ErrorCode, ErrorDomain, VirError, errors, virError} from '../../errors.js'
import type {DomainInterfaceAddrs, InterfaceStats} from '../domain-net-types.js'
import {toLinux} from '../../keycodes.js'
import {
  MemoryStatTag as T,
  StatsFlags,
  StatsGroup,
  type BlockInfo,
  type BlockStats,
  type ControlInfo,
  type GuestStatsDriver,
  type MemoryStat,
} from '../stats-types.js'
import {DomainState, type DomainRef, type DomainStats} from '../types.js'

const D = ErrorDomain.TEST
const DOM = ErrorDomain.DOMAIN
/** The groups libvirt's test driver has: state and iothread. */
const SUPPORTED = StatsGroup.STATE | StatsGroup.IOTHREAD
const LAST_UPDATE = 627319920n
const DUMP_CRASH = 1
const TIME_SYNC = 1
const SAVE_MAGIC = Buffer.from('TestGuestMagic\0')

export interface TestGuestHost {
  get(uuid: string): DomainObj
  /** Domains the bulk-stats filter flags select. */
  list(flags: number): DomainObj[]
  ref(d: DomainObj): DomainRef
  /** Stops a domain as crashed (virDomainCoreDump with VIR_DUMP_CRASH). */
  crash(uuid: string): void
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = flags & ~allowed
  if (extra) throw new VirError(ErrorCode.INVALID_ARG, D, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`, {str1: fn})
}

function requireActive(d: DomainObj): DomainDef {
  if (!isActive(d)) throw errors.operationInvalid(DOM, 'domain is not running')
  return currentDef(d)
}

/** Seconds and microseconds of now, as gettimeofday gives them. */
function now(): {sec: bigint; base: bigint} {
  const us = BigInt(Date.now()) * 1000n + ((process.hrtime.bigint() / 1000n) % 1000n)
  return {sec: us / 1_000_000n, base: us}
}

function findDisk(def: DomainDef, path: string) {
  return def.devices.disks.find((x) => x.target === path || (x.source !== undefined && x.source === path))
}

/** The interface names libvirt's test driver gives (testnetN when the definition has none). */
function ifaceName(def: DomainDef, i: number): string {
  return attr(child(def.devices.interfaces[i].xml, 'target'), 'dev') ?? `testnet${i}`
}

export class TestGuest implements GuestStatsDriver {
  private readonly clocks = new Map<string, {seconds: bigint; nseconds: number}>()

  constructor(private readonly host: TestGuestHost) {}

  blockStats(uuid: string, path: string): BlockStats {
    if (path === '') throw virError(ErrorCode.OPERATION_UNSUPPORTED, D, 'Operation not supported', 'summary statistics are not supported yet')
    const def = requireActive(this.host.get(uuid))
    if (!findDisk(def, path)) throw errors.invalidArg(D, `invalid path: ${path}`)
    const {sec, base} = now()
    return {rd_req: base / 10n, rd_bytes: base / 20n, wr_req: base / 30n, wr_bytes: base / 40n, errs: sec / 2n}
  }

  interfaceStats(uuid: string, device: string): InterfaceStats {
    const def = requireActive(this.host.get(uuid))
    const want = device.toLowerCase()
    const found = def.devices.interfaces.some((x, i) => ifaceName(def, i) === device || x.mac === want)
    if (!found) throw errors.invalidArg(DOM, `'${device}' is not a known interface`)
    const {sec, base} = now()
    return {
      rx_bytes: base / 10n,
      rx_packets: base / 100n,
      rx_errs: sec,
      rx_drop: sec / 2n,
      tx_bytes: base / 20n,
      tx_packets: base / 110n,
      tx_errs: sec / 3n,
      tx_drop: sec / 4n,
    }
  }

  interfaceAddresses(uuid: string, source: number): DomainInterfaceAddrs[] {
    const d = this.host.get(uuid)
    const def = requireActive(d)
    if (source > 2) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported', `Unknown IP address data source ${source}`)
    return def.devices.interfaces.map((x, i) => ({
      name: ifaceName(def, i),
      hwaddr: x.mac ?? null,
      addrs: [{type: 0, addr: x.type === 'network' ? `192.168.122.${20 * (d.id - 1) + 3 + i}` : `192.168.0.${1 + i}`, prefix: 24}],
    }))
  }

  memoryStats(uuid: string): MemoryStat[] {
    const def = requireActive(this.host.get(uuid))
    if (attr(child(child(def.root, 'devices'), 'memballoon'), 'model') !== 'virtio') return []
    const cur = BigInt(def.currentMemoryKiB)
    const list: Array<[number, bigint]> = [
      [T.ACTUAL_BALLOON, cur],
      [T.SWAP_IN, 0n],
      [T.SWAP_OUT, 0n],
      [T.MAJOR_FAULT, 0n],
      [T.MINOR_FAULT, 0n],
      [T.UNUSED, cur / 2n],
      [T.AVAILABLE, cur],
      [T.USABLE, cur / 2n],
      [T.LAST_UPDATE, LAST_UPDATE],
      [T.DISK_CACHES, cur / 8n],
      [T.HUGETLB_PGALLOC, 0n],
      [T.HUGETLB_PGFAIL, 0n],
      [T.RSS, cur / 2n],
    ]
    return list.map(([tag, val]) => ({tag, val}))
  }

  blockInfo(uuid: string, path: string): BlockInfo {
    const def = currentDef(this.host.get(uuid))
    const disk = findDisk(def, path)
    if (!disk) throw errors.invalidArg(D, `invalid path ${path} not assigned to domain`)
    if (disk.source === undefined) throw errors.invalidArg(D, `disk '${path}' does not currently have a source assigned`)
    return {capacity: 1099506450432n, allocation: 1099511627776n, physical: 1099511627776n}
  }

  controlInfo(uuid: string): ControlInfo {
    requireActive(this.host.get(uuid))
    return {state: 0, details: 0, stateTime: 0n}
  }

  sendKey(uuid: string, codeset: number, _holdtime: number, keycodes: number[], flags: number): void {
    checkFlags(flags, 0, 'testDomainSendKey')
    const names = ['linux', 'xt', 'atset1', 'atset2', 'atset3', 'os_x', 'xt_kbd', 'usb', 'win32', 'qnum']
    for (const k of keycodes) {
      if (toLinux(codeset, k) < 0) throw errors.internal(D, `invalid keycode ${k} of ${names[codeset] ?? String(codeset)} codeset`)
    }
    requireActive(this.host.get(uuid))
  }

  injectNmi(uuid: string, flags: number): void {
    checkFlags(flags, 0, 'testDomainInjectNMI')
    requireActive(this.host.get(uuid))
  }

  coreDump(uuid: string, to: string, format: number, flags: number): void {
    checkFlags(flags, DUMP_CRASH, 'testDomainCoreDumpWithFormat')
    const d = this.host.get(uuid)
    requireActive(d)
    if (format !== 0) throw virError(ErrorCode.OPERATION_UNSUPPORTED, D, 'Operation not supported', 'kdump-compressed format is not supported here')
    let fd: number
    try {
      fd = openSync(to, 'w', 0o600)
    } catch (err) {
      throw errors.systemError(D, `domain '${d.name}' coredump: failed to open ${to}: ${sysMessage(err)}`)
    }
    try {
      writeSync(fd, SAVE_MAGIC)
    } catch (err) {
      throw errors.systemError(D, `domain '${d.name}' coredump: failed to write header to ${to}: ${sysMessage(err)}`)
    } finally {
      closeSync(fd)
    }
    if (flags & DUMP_CRASH) this.host.crash(uuid)
  }

  getHostname(uuid: string, flags: number): string {
    checkFlags(flags, 0, 'testDomainGetHostname')
    const d = this.host.get(uuid)
    requireActive(d)
    return `${d.name}host`
  }

  getTime(uuid: string, flags: number): {seconds: bigint; nseconds: number} {
    checkFlags(flags, 0, 'testDomainGetTime')
    const d = this.host.get(uuid)
    if (d.state !== DomainState.RUNNING) throw errors.operationInvalid(D, 'domain is not running')
    return this.clocks.get(d.uuid) ?? {seconds: LAST_UPDATE, nseconds: 0}
  }

  setTime(uuid: string, seconds: bigint, nseconds: number, flags: number): void {
    checkFlags(flags, TIME_SYNC, 'testDomainSetTime')
    const d = this.host.get(uuid)
    requireActive(d)
    if (!(flags & TIME_SYNC)) this.clocks.set(d.uuid, {seconds, nseconds})
  }

  allDomainStats(refs: DomainRef[] | null, stats: number, flags: number): DomainStats[] {
    if (flags & StatsFlags.ENFORCE_STATS && stats & ~SUPPORTED) {
      throw virError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        D,
        'argument unsupported',
        `Stats types bits 0x${(stats & ~SUPPORTED).toString(16)} are not supported by this daemon`,
      )
    }
    const want = stats === 0 ? SUPPORTED : stats & SUPPORTED
    const list = refs ? refs.map((r) => this.host.get(r.uuid)) : this.host.list(flags & 0xff)
    return list.map((d) => ({
      ref: this.host.ref(d),
      params:
        want & StatsGroup.STATE
          ? [
              {field: 'state.state', type: 'int', value: d.state},
              {field: 'state.reason', type: 'int', value: d.reason},
            ]
          : [],
    }))
  }
}

function sysMessage(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'No such file or directory'
  if (code === 'EACCES') return 'Permission denied'
  if (code === 'EISDIR') return 'Is a directory'
  return (err as Error).message
}
