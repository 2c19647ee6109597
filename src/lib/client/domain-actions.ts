/** Changing domains: define, start, stop, pause, autostart, as virsh's commands of the same names do. */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import type {Connection} from './connection.js'
import {DomainCreateFlags, DomainDefineFlags, DomainDestroyFlags, RebootModes, ShutdownModes, type RebootMode, type ShutdownMode} from './flags.js'

const P = remote.procs

export async function defineDomain(conn: Connection, xml: string, opts: {validate?: boolean} = {}): Promise<DomainHandle> {
  const r = opts.validate
    ? await conn.call(P.DOMAIN_DEFINE_XML_FLAGS, {xml, flags: DomainDefineFlags.VALIDATE})
    : await conn.call(P.DOMAIN_DEFINE_XML, {xml})
  return r.dom
}

export async function undefineDomain(conn: Connection, dom: DomainHandle): Promise<void> {
  await conn.call(P.DOMAIN_UNDEFINE_FLAGS, {dom, flags: 0})
}

/** Starts an inactive domain; like virsh, refuses one that already runs before asking the daemon. */
export async function startDomain(conn: Connection, dom: DomainHandle, opts: {paused?: boolean} = {}): Promise<DomainHandle> {
  if (dom.id !== -1) throw new VirError(ErrorCode.OPERATION_INVALID, ErrorDomain.DOMAIN, 'Domain is already active')
  return (await conn.call(P.DOMAIN_CREATE_WITH_FLAGS, {dom, flags: opts.paused ? DomainCreateFlags.START_PAUSED : 0})).dom
}

/** Asks the guest to shut down (by `mode`, else the hypervisor's default method). */
export async function shutdownDomain(conn: Connection, dom: DomainHandle, mode?: ShutdownMode): Promise<void> {
  if (mode) await conn.call(P.DOMAIN_SHUTDOWN_FLAGS, {dom, flags: ShutdownModes[mode]})
  else await conn.call(P.DOMAIN_SHUTDOWN, {dom})
}

export async function destroyDomain(conn: Connection, dom: DomainHandle, opts: {graceful?: boolean} = {}): Promise<void> {
  if (opts.graceful) await conn.call(P.DOMAIN_DESTROY_FLAGS, {dom, flags: DomainDestroyFlags.GRACEFUL})
  else await conn.call(P.DOMAIN_DESTROY, {dom})
}

export async function rebootDomain(conn: Connection, dom: DomainHandle, mode: RebootMode = 'default'): Promise<void> {
  if (mode === 'reset') await conn.call(P.DOMAIN_RESET, {dom, flags: 0})
  else await conn.call(P.DOMAIN_REBOOT, {dom, flags: RebootModes[mode]})
}

export async function suspendDomain(conn: Connection, dom: DomainHandle): Promise<void> {
  await conn.call(P.DOMAIN_SUSPEND, {dom})
}

export async function resumeDomain(conn: Connection, dom: DomainHandle): Promise<void> {
  await conn.call(P.DOMAIN_RESUME, {dom})
}

export async function setAutostart(conn: Connection, dom: DomainHandle, autostart: boolean): Promise<void> {
  await conn.call(P.DOMAIN_SET_AUTOSTART, {dom, autostart: autostart ? 1 : 0})
}
