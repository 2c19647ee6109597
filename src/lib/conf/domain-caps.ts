/**
 * Domain capabilities XML (virConnectGetDomainCapabilities), laid out like libvirt's
 * virDomainCapsFormat: path, domain, machine, arch, vcpu, iothreads, os, cpu, memoryBacking,
 * devices, features. A section that is not supported is printed as `<name supported='no'/>`
 * with no enums; an enum without values prints as `<enum name='x'/>`. Valid against libvirt's
 * domaincaps.rng.
 */
import {type XmlElement, el, serializeXml, textEl} from './xml.js'

export interface CapsEnum {
  name: string
  values: readonly string[]
}

/** A capability that is supported (with the values it accepts) or not. */
export interface CapsSection {
  supported: boolean
  enums?: readonly CapsEnum[]
}

export interface CapsCpuModel {
  name: string
  usable: 'yes' | 'no' | 'unknown'
  /** The schema requires a vendor; libvirt writes 'unknown' when it does not know. */
  vendor: string
  deprecated?: boolean
}

export interface DomainCaps {
  path: string
  /** The virt type: qemu, kvm, test... */
  domain: string
  machine?: string
  arch: string
  vcpuMax?: number
  iothreads?: boolean
  os?: {supported: boolean; firmware?: readonly string[]; loader?: CapsSection}
  cpu?: {
    hostPassthrough: CapsSection
    maximum: CapsSection
    /** With the host-model CPU libvirt would give a guest (model, vendor, features), when known. */
    hostModel: CapsSection & {cpu?: {model: string; vendor?: string; features: readonly {name: string; policy: string}[]}}
    custom: {supported: boolean; models: readonly CapsCpuModel[]}
  }
  memoryBacking?: CapsSection
  /** In libvirt's order: disk, graphics, video, hostdev, rng, filesystem, tpm, redirdev, channel. */
  devices?: readonly (readonly [string, CapsSection])[]
  /** In libvirt's order: gic, vmcoreinfo, genid, backingStoreInput, backup, s390-pv, sev, sgx, hyperv. */
  features?: readonly (readonly [string, CapsSection])[]
}

/** A capability the driver does not have: `<name supported='no'/>`. */
export const NO: CapsSection = {supported: false}

/** Device classes neither vctl driver builds, in libvirt's order after disk, graphics and video. */
export const UNSUPPORTED_DEVICES: readonly (readonly [string, CapsSection])[] = ['hostdev', 'rng', 'filesystem', 'tpm', 'redirdev', 'channel'].map(
  (name) => [name, NO] as const,
)

/** Guest features neither vctl driver offers, in libvirt's order. */
export const UNSUPPORTED_FEATURES: readonly (readonly [string, CapsSection])[] = [
  'gic',
  'vmcoreinfo',
  'genid',
  'backingStoreInput',
  'backup',
  'sev',
  'sgx',
  'hyperv',
].map((name) => [name, NO] as const)

/** libvirt's default when a caller leaves an enum out: yes/no as strings. */
export const YES_NO = ['yes', 'no'] as const

function enumEl(e: CapsEnum): XmlElement {
  return el(
    'enum',
    {name: e.name},
    e.values.map((v) => textEl('value', v)),
  )
}

function sectionEl(name: string, s: CapsSection, attrs: Record<string, string> = {}): XmlElement {
  return el(name, {...attrs, supported: s.supported}, s.supported ? (s.enums ?? []).map(enumEl) : [])
}

function hostModelEl(h: NonNullable<DomainCaps['cpu']>['hostModel']): XmlElement {
  const c = h.cpu
  if (!h.supported || !c) return sectionEl('mode', h, {name: 'host-model'})
  return el('mode', {name: 'host-model', supported: true}, [
    textEl('model', c.model, {fallback: 'forbid'}),
    c.vendor ? textEl('vendor', c.vendor) : undefined,
    ...c.features.map((f) => el('feature', {policy: f.policy, name: f.name})),
  ])
}

function cpuEl(cpu: NonNullable<DomainCaps['cpu']>): XmlElement {
  return el('cpu', {}, [
    sectionEl('mode', cpu.hostPassthrough, {name: 'host-passthrough'}),
    sectionEl('mode', cpu.maximum, {name: 'maximum'}),
    hostModelEl(cpu.hostModel),
    el(
      'mode',
      {name: 'custom', supported: cpu.custom.supported},
      cpu.custom.supported
        ? cpu.custom.models.map((m) => textEl('model', m.name, {usable: m.usable, deprecated: m.deprecated ? 'yes' : undefined, vendor: m.vendor}))
        : [],
    ),
  ])
}

/** Formats domain capabilities XML (ends with a newline, as libvirt's does). */
export function formatDomainCaps(c: DomainCaps): string {
  const children: (XmlElement | undefined)[] = [
    textEl('path', c.path),
    textEl('domain', c.domain),
    c.machine !== undefined ? textEl('machine', c.machine) : undefined,
    textEl('arch', c.arch),
    c.vcpuMax !== undefined ? el('vcpu', {max: c.vcpuMax}) : undefined,
    c.iothreads !== undefined ? el('iothreads', {supported: c.iothreads}) : undefined,
  ]
  if (c.os) {
    const os = c.os
    children.push(
      el(
        'os',
        {supported: os.supported},
        os.supported ? [enumEl({name: 'firmware', values: os.firmware ?? []}), os.loader ? sectionEl('loader', os.loader) : undefined] : [],
      ),
    )
  }
  if (c.cpu) children.push(cpuEl(c.cpu))
  if (c.memoryBacking) children.push(sectionEl('memoryBacking', c.memoryBacking))
  if (c.devices)
    children.push(
      el(
        'devices',
        {},
        c.devices.map(([name, s]) => sectionEl(name, s)),
      ),
    )
  if (c.features)
    children.push(
      el(
        'features',
        {},
        c.features.map(([name, s]) => sectionEl(name, s)),
      ),
    )
  return serializeXml(el('domainCapabilities', {}, children))
}
