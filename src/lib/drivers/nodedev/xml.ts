/** Node-device XML exactly as libvirt 9.0's virNodeDeviceDefFormat writes it. */
import type {NodeCap, NodeDev, PciCap, PciLink} from './device.js'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;')
const hex = (n: number, width: number) => `0x${n.toString(16).padStart(width, '0')}`
const named = (tag: string, id: number, name?: string) => (name ? `<${tag} id='${hex(id, 4)}'>${esc(name)}</${tag}>` : `<${tag} id='${hex(id, 4)}'/>`)
const opt = (tag: string, v: string | undefined) => (v === undefined ? [] : [`<${tag}>${esc(v)}</${tag}>`])

export function formatNodeDevice(dev: NodeDev): string {
  const lines = ['<device>', `  <name>${esc(dev.name)}</name>`]
  if (dev.sysfsPath) lines.push(`  <path>${esc(dev.sysfsPath)}</path>`)
  if (dev.devnode) lines.push(`  <devnode type='dev'>${esc(dev.devnode)}</devnode>`)
  if (dev.parent) lines.push(`  <parent>${esc(dev.parent)}</parent>`)
  if (dev.driver) lines.push('  <driver>', `    <name>${esc(dev.driver)}</name>`, '  </driver>')
  lines.push(`  <capability type='${dev.cap.type}'>`, ...capBody(dev.cap).map((l) => `    ${l}`), '  </capability>', '</device>')
  return lines.join('\n') + '\n'
}

function capBody(cap: NodeCap): string[] {
  switch (cap.type) {
    case 'system':
      return [
        ...opt('product', cap.product),
        '<hardware>',
        ...[...opt('vendor', cap.hardware.vendor), ...opt('version', cap.hardware.version), ...opt('serial', cap.hardware.serial)].map(
          (l) => `  ${l}`,
        ),
        `  <uuid>${cap.hardware.uuid}</uuid>`,
        '</hardware>',
        '<firmware>',
        ...[...opt('vendor', cap.firmware.vendor), ...opt('version', cap.firmware.version), ...opt('release_date', cap.firmware.releaseDate)].map(
          (l) => `  ${l}`,
        ),
        '</firmware>',
      ]
    case 'pci':
      return pciBody(cap)
    case 'usb_device':
      return [
        `<bus>${cap.bus}</bus>`,
        `<device>${cap.device}</device>`,
        named('product', cap.product.id, cap.product.name),
        named('vendor', cap.vendor.id, cap.vendor.name),
      ]
    case 'usb':
      return [
        `<number>${cap.number}</number>`,
        `<class>${cap.cls}</class>`,
        `<subclass>${cap.subclass}</subclass>`,
        `<protocol>${cap.protocol}</protocol>`,
      ]
    case 'net':
      return [
        `<interface>${esc(cap.ifname)}</interface>`,
        `<address>${esc(cap.address)}</address>`,
        cap.speed ? `<link speed='${cap.speed}' state='${cap.state}'/>` : `<link state='${cap.state}'/>`,
        ...cap.features.map((f) => `<feature name='${f}'/>`),
        `<capability type='${cap.subtype}'/>`,
      ]
    case 'storage':
      return [
        `<block>${esc(cap.block)}</block>`,
        `<drive_type>${esc(cap.driveType)}</drive_type>`,
        ...opt('model', cap.model),
        ...opt('vendor', cap.vendor),
        `<size>${cap.size}</size>`,
        `<logical_block_size>${cap.logicalBlockSize}</logical_block_size>`,
        `<num_blocks>${cap.numBlocks}</num_blocks>`,
      ]
  }
}

function pciBody(cap: PciCap): string[] {
  const out = [
    `<class>${hex(cap.cls, 6)}</class>`,
    `<domain>${cap.domain}</domain>`,
    `<bus>${cap.bus}</bus>`,
    `<slot>${cap.slot}</slot>`,
    `<function>${cap.func}</function>`,
    named('product', cap.product.id, cap.product.name),
    named('vendor', cap.vendor.id, cap.vendor.name),
  ]
  if (cap.iommuGroup) {
    out.push(`<iommuGroup number='${cap.iommuGroup.number}'>`)
    for (const a of cap.iommuGroup.addresses)
      out.push(`  <address domain='${hex(a.domain, 4)}' bus='${hex(a.bus, 2)}' slot='${hex(a.slot, 2)}' function='${hex(a.func, 1)}'/>`)
    out.push('</iommuGroup>')
  }
  if (cap.numaNode !== undefined) out.push(`<numa node='${cap.numaNode}'/>`)
  if (cap.pciExpress) {
    const links = [link('cap', cap.pciExpress.cap), link('sta', cap.pciExpress.sta)].filter((l): l is string => l !== undefined)
    if (links.length) out.push('<pci-express>', ...links.map((l) => `  ${l}`), '</pci-express>')
    else out.push('<pci-express/>')
  }
  return out
}

function link(validity: string, l: PciLink | undefined): string | undefined {
  if (!l) return undefined
  const port = l.port === undefined ? '' : ` port='${l.port}'`
  const speed = l.speed === undefined ? '' : ` speed='${l.speed}'`
  return `<link validity='${validity}'${port}${speed} width='${l.width}'/>`
}
