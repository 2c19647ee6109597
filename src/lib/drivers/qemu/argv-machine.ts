/**
 * What virt-install's default XML asks of the machine besides devices, on QEMU's command line as
 * libvirt 9.0 writes it: `<features><vmport state=.../>` (a -machine property), the clock's
 * offset and its rtc/pit/hpet timers (-rtc driftfix, kvm-pit's lost tick policy, -no-hpet) and
 * `<pm>` suspend states (the chipset's disable_s3/disable_s4). Values vctl cannot honour are
 * refused by checkMachineOptions, never dropped.
 */
import type {DomainDef} from '../../conf/domain.js'
import {type XmlElement, attr, child, childrenNamed} from '../../conf/xml.js'
import {isQ35, unsupported} from './argv.js'

type Push = (...xs: string[]) => void

const PIT_POLICY: Record<string, string> = {delay: 'delay', catchup: 'slew', discard: 'discard'}

function timers(def: DomainDef): XmlElement[] {
  return childrenNamed(child(def.root, 'clock'), 'timer')
}

/** Refuses clock and PM settings the command line below cannot express. */
export function checkMachineOptions(def: DomainDef): void {
  const offset = attr(child(def.root, 'clock'), 'offset') ?? 'utc'
  if (offset !== 'utc' && offset !== 'localtime') throw unsupported(`clock offset '${offset}' is not supported by vctl's qemu driver`)
  for (const t of timers(def)) {
    const name = attr(t, 'name') ?? ''
    const policy = attr(t, 'tickpolicy')
    const present = attr(t, 'present')
    if (name === 'rtc' && policy !== undefined && policy !== 'catchup' && policy !== 'delay') {
      throw unsupported(`unsupported rtc timer tickpolicy '${policy}'`)
    } else if (name === 'pit' && policy !== undefined && !(policy in PIT_POLICY)) {
      throw unsupported(`unsupported pit tickpolicy '${policy}'`)
    } else if (name === 'hpet' && policy !== undefined) {
      throw unsupported('unsupported hpet timer tickpolicy')
    } else if (!['rtc', 'pit', 'hpet'].includes(name)) {
      throw unsupported(`timer '${name}' is not supported by vctl's qemu driver`)
    }
    if (present !== undefined && present !== 'yes' && present !== 'no') throw unsupported(`timer present='${present}'`)
    if ((name === 'rtc' || name === 'pit') && present === 'no') throw unsupported(`timer '${name}' cannot be removed`)
  }
}

/** `,vmport=on|off` for -machine when the features say so. */
export function machineProps(def: DomainDef): string {
  const vmport = attr(child(child(def.root, 'features'), 'vmport'), 'state')
  return vmport === 'on' || vmport === 'off' ? `,vmport=${vmport}` : ''
}

/** -rtc with the clock offset and the rtc timer's drift fix, then the pit and hpet options. */
export function pushClock(def: DomainDef, push: Push): void {
  const offset = attr(child(def.root, 'clock'), 'offset') === 'localtime' ? 'localtime' : 'utc'
  const rtc = timers(def).find((t) => attr(t, 'name') === 'rtc')
  push('-rtc', `base=${offset}${attr(rtc, 'tickpolicy') === 'catchup' ? ',driftfix=slew' : ''}`)
  const pit = timers(def).find((t) => attr(t, 'name') === 'pit')
  const policy = PIT_POLICY[attr(pit, 'tickpolicy') ?? '']
  if (policy !== undefined) push('-global', `kvm-pit.lost_tick_policy=${policy}`)
  if (timers(def).some((t) => attr(t, 'name') === 'hpet' && attr(t, 'present') === 'no')) push('-no-hpet')
}

/** The chipset's S3/S4 switches from `<pm>`. */
export function pushPm(def: DomainDef, push: Push): void {
  const pm = child(def.root, 'pm')
  const dev = isQ35(def.os.machine) ? 'ICH9-LPC' : 'PIIX4_PM'
  for (const [el, prop] of [
    ['suspend-to-mem', 'disable_s3'],
    ['suspend-to-disk', 'disable_s4'],
  ] as const) {
    const enabled = attr(child(pm, el), 'enabled')
    if (enabled === 'no' || enabled === 'yes') push('-global', `${dev}.${prop}=${enabled === 'no' ? 1 : 0}`)
  }
}
