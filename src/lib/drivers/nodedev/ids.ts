/**
 * Vendor and product names from the hardware ID databases (/usr/share/misc/pci.ids, usb.ids),
 * which is where udev's hwdb, and so libvirt, gets them. Parsed once per file, on first use.
 */
import {readFileSync} from 'node:fs'

export interface IdNames {
  vendor(vendor: number): string | undefined
  product(vendor: number, product: number): string | undefined
}

const cache = new Map<string, IdNames>()

/** The names of an ID file (missing or unreadable: no names). */
export function idNames(file: string): IdNames {
  let names = cache.get(file)
  if (!names) {
    names = parse(file)
    cache.set(file, names)
  }
  return names
}

function parse(file: string): IdNames {
  const vendors = new Map<number, string>()
  const products = new Map<string, string>()
  let text = ''
  try {
    text = readFileSync(file, 'latin1')
  } catch {
    // no database: devices show ids only
  }
  let vendor = -1
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue
    // Classes ("C 02  Network controller") close the vendor section.
    if (line.startsWith('C ')) {
      vendor = -1
      continue
    }
    const top = /^([0-9a-f]{4})\s+(.*)$/.exec(line)
    if (top) {
      vendor = parseInt(top[1], 16)
      vendors.set(vendor, top[2])
      continue
    }
    const sub = /^\t([0-9a-f]{4})\s+(.*)$/.exec(line)
    if (sub && vendor >= 0) products.set(`${vendor}:${parseInt(sub[1], 16)}`, sub[2])
  }
  return {
    vendor: (v) => vendors.get(v),
    product: (v, p) => products.get(`${v}:${p}`),
  }
}
