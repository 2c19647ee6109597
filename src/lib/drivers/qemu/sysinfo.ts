/**
 * The host's SMBIOS data as libvirt's sysinfo XML shows it (virConnectGetSysinfo), read from the
 * kernel's DMI attributes (/sys/class/dmi/id) instead of running dmidecode. A host without DMI gets
 * libvirt's error.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {ErrorDomain, errors} from '../../errors.js'
import {el, serializeXml, textEl, type XmlElement} from '../../conf/xml.js'
import {checkFlags} from '../host-types.js'

const SECTIONS: Array<[string, Array<[string, string]>]> = [
  [
    'bios',
    [
      ['vendor', 'bios_vendor'],
      ['version', 'bios_version'],
      ['date', 'bios_date'],
      ['release', 'bios_release'],
    ],
  ],
  [
    'system',
    [
      ['manufacturer', 'sys_vendor'],
      ['product', 'product_name'],
      ['version', 'product_version'],
      ['serial', 'product_serial'],
      ['uuid', 'product_uuid'],
      ['sku', 'product_sku'],
      ['family', 'product_family'],
    ],
  ],
  [
    'baseBoard',
    [
      ['manufacturer', 'board_vendor'],
      ['product', 'board_name'],
      ['version', 'board_version'],
      ['serial', 'board_serial'],
      ['asset', 'board_asset_tag'],
    ],
  ],
  [
    'chassis',
    [
      ['manufacturer', 'chassis_vendor'],
      ['version', 'chassis_version'],
      ['serial', 'chassis_serial'],
      ['asset', 'chassis_asset_tag'],
    ],
  ],
]

/** The sysinfo XML from a DMI directory. */
export function readSysinfo(dir = '/sys/class/dmi/id'): string {
  const sections: XmlElement[] = []
  let any = false
  for (const [name, fields] of SECTIONS) {
    const entries: XmlElement[] = []
    for (const [entry, file] of fields) {
      let v: string
      try {
        v = readFileSync(join(dir, file), 'utf8').trim()
      } catch {
        continue
      }
      if (!v) continue
      entries.push(textEl('entry', v, {name: entry}))
    }
    if (entries.length === 0) continue
    any = true
    sections.push(name === 'baseBoard' ? el('baseBoard', {}, entries) : el(name, {}, entries))
  }
  if (!any) throw errors.configUnsupported(ErrorDomain.QEMU, 'Host SMBIOS information is not available')
  return serializeXml(el('sysinfo', {type: 'smbios'}, sections))
}

/** libvirt's check that a call got no flags it does not know. */
export function noFlags(flags: number, fn: string, domain: number): void {
  checkFlags(flags, 0, fn, domain)
}
