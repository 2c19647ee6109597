/**
 * The filter flags of virConnectListAll{Domains,Networks,StoragePools}, shared by every driver:
 * within each flag group, a set bit keeps the objects it names; a group with no bit set keeps all.
 */
import {DomainState, ListDomainsFlags as LF, ListObjectFlags as OF} from './types.js'

/** Applies virConnectListAllDomains filter flags; each flag group filters only when one of its bits is set. */
export function matchDomain(
  d: {state: number; persistent: boolean; autostart: boolean; snapshots?: number; managedSave?: boolean},
  flags: number,
  active: boolean,
): boolean {
  if (flags & (LF.ACTIVE | LF.INACTIVE)) {
    if (!((flags & LF.ACTIVE && active) || (flags & LF.INACTIVE && !active))) return false
  }
  if (flags & (LF.PERSISTENT | LF.TRANSIENT)) {
    if (!((flags & LF.PERSISTENT && d.persistent) || (flags & LF.TRANSIENT && !d.persistent))) return false
  }
  if (flags & (LF.RUNNING | LF.PAUSED | LF.SHUTOFF | LF.OTHER)) {
    const s = d.state
    const ok =
      (flags & LF.RUNNING && s === DomainState.RUNNING) ||
      (flags & LF.PAUSED && s === DomainState.PAUSED) ||
      (flags & LF.SHUTOFF && s === DomainState.SHUTOFF) ||
      (flags & LF.OTHER && s !== DomainState.RUNNING && s !== DomainState.PAUSED && s !== DomainState.SHUTOFF)
    if (!ok) return false
  }
  if (flags & (LF.MANAGEDSAVE | LF.NO_MANAGEDSAVE)) {
    const has = d.managedSave ?? false
    if (!((flags & LF.MANAGEDSAVE && has) || (flags & LF.NO_MANAGEDSAVE && !has))) return false
  }
  if (flags & (LF.AUTOSTART | LF.NO_AUTOSTART)) {
    if (!((flags & LF.AUTOSTART && d.autostart) || (flags & LF.NO_AUTOSTART && !d.autostart))) return false
  }
  if (flags & (LF.HAS_SNAPSHOT | LF.NO_SNAPSHOT)) {
    const has = (d.snapshots ?? 0) > 0
    if (!((flags & LF.HAS_SNAPSHOT && has) || (flags & LF.NO_SNAPSHOT && !has))) return false
  }
  return true
}

export function matchObject(o: {active: boolean; persistent: boolean; autostart: boolean}, flags: number): boolean {
  if (flags & (OF.ACTIVE | OF.INACTIVE)) {
    if (!((flags & OF.ACTIVE && o.active) || (flags & OF.INACTIVE && !o.active))) return false
  }
  if (flags & (OF.PERSISTENT | OF.TRANSIENT)) {
    if (!((flags & OF.PERSISTENT && o.persistent) || (flags & OF.TRANSIENT && !o.persistent))) return false
  }
  if (flags & (OF.AUTOSTART | OF.NO_AUTOSTART)) {
    if (!((flags & OF.AUTOSTART && o.autostart) || (flags & OF.NO_AUTOSTART && !o.autostart))) return false
  }
  return true
}
