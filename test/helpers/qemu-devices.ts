/**
 * Compares two QEMU command lines device by device, whatever their syntax: libvirt 9.0 writes
 * `-device`, `-object`, `-blockdev` and `-audiodev` as JSON, vctl as key=value. Each device-like
 * option becomes a map of its properties (values as strings, booleans as on/off) keyed by its id,
 * and so do -rtc, each -global and -no-hpet; the rest of the machine's options (-machine, -cpu,
 * -smp, -accel, ...) are not part of it.
 *
 * Normalised on purpose (differences vctl keeps, or host-specific values):
 *  - block node names: libvirt numbers them from the last disk down (libvirt-2-format is the first
 *    disk of two), vctl from the first up; both are renamed by order of appearance;
 *  - the path of a unix channel (each daemon owns its own directory): only its last part is kept;
 *  - the TCP port of VNC and SPICE (chosen at start from 5900 up);
 *  - -netdev, and the monitor chardev (vctl's network back-ends are another part of vctl, and
 *    domxml-to-native turns every interface into a tap fd).
 */

const DEVICE_OPTIONS = new Set(['-device', '-object', '-blockdev', '-audiodev', '-chardev', '-spice', '-vnc', '-watchdog-action', '-rtc', '-global'])
/** Options without a value that are compared too. */
const FLAGS = new Set(['-no-hpet'])

export type Props = Record<string, string>

function str(v: unknown): string {
  if (v === true) return 'on'
  if (v === false) return 'off'
  if (typeof v === 'number') return String(v)
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** QEMU's key=value syntax: ",," is a comma; a first part without '=' is the implied key. */
export function parseKeyValue(s: string, firstKey: string): Props {
  const parts: string[] = []
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ',') {
      if (s[i + 1] === ',') {
        cur += ','
        i++
        continue
      }
      parts.push(cur)
      cur = ''
      continue
    }
    cur += s[i]
  }
  parts.push(cur)
  const out: Props = {}
  parts.forEach((p, n) => {
    const eq = p.indexOf('=')
    if (eq < 0 && n === 0) out[firstKey] = p
    else if (eq < 0) out[p] = 'on'
    else out[p.slice(0, eq)] = p.slice(eq + 1)
  })
  return out
}

function parseOption(opt: string, value: string): Props {
  if (value.startsWith('{')) {
    const o = JSON.parse(value) as Record<string, unknown>
    const out: Props = {}
    for (const [k, v] of Object.entries(o)) out[k] = str(v)
    return out
  }
  switch (opt) {
    case '-device':
      return parseKeyValue(value, 'driver')
    case '-object':
      return parseKeyValue(value, 'qom-type')
    case '-chardev':
      return parseKeyValue(value, 'backend')
    case '-vnc':
      return parseKeyValue(value, 'display')
    case '-watchdog-action':
      return {action: value}
    default:
      return parseKeyValue(value, 'value')
  }
}

/** The device-like options of an argv, keyed `option id` (or option and position when there is no id). */
export function deviceGroups(argv: readonly string[]): Map<string, Props> {
  const out = new Map<string, Props>()
  const nodes = new Map<string, string>()
  const node = (n: string) => {
    const m = /^libvirt-(\d+)-(.*)$/.exec(n)
    if (!m) return n
    if (!nodes.has(m[1])) nodes.set(m[1], `disk${nodes.size}`)
    return `${nodes.get(m[1])!}-${m[2]}`
  }
  let anon = 0
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i]
    if (FLAGS.has(opt)) out.set(opt, {})
    if (!DEVICE_OPTIONS.has(opt) || i === argv.length - 1) continue
    if (opt === '-global' || opt === '-rtc') {
      const v = argv[++i]
      const key = opt === '-global' ? `-global ${v.slice(0, v.indexOf('='))}` : '-rtc'
      out.set(key, parseKeyValue(opt === '-global' ? v.slice(v.indexOf('=') + 1) : v, 'value'))
      continue
    }
    const p = parseOption(opt, argv[++i])
    if (opt === '-chardev' && p.id === 'charmonitor') continue
    if (opt === '-object' && (p.id === 'masterKey0' || p.id === 'pc.ram')) continue
    for (const k of ['node-name', 'file', 'drive']) if (p[k] !== undefined) p[k] = node(p[k])
    if (opt === '-chardev' && p.backend === 'socket' && p.id.startsWith('charchannel')) p.path = p.path.slice(p.path.lastIndexOf('/') + 1)
    if (opt === '-spice') delete p.port
    if (opt === '-vnc') p.display = p.display.replace(/:\d+$/, ':N')
    const id = p.id ?? p['node-name'] ?? `#${anon++}`
    out.set(`${opt} ${id}`, p)
  }
  return out
}

/** Human-readable differences between two argvs' device groups (empty when they match). */
export function diffDevices(expected: readonly string[], actual: readonly string[]): string[] {
  const e = deviceGroups(expected)
  const a = deviceGroups(actual)
  const out: string[] = []
  for (const [k, p] of e) {
    const q = a.get(k)
    if (!q) {
      out.push(`missing ${k}: ${JSON.stringify(p)}`)
      continue
    }
    for (const key of new Set([...Object.keys(p), ...Object.keys(q)])) {
      if (p[key] !== q[key]) out.push(`${k}: ${key} is ${JSON.stringify(q[key])}, libvirt has ${JSON.stringify(p[key])}`)
    }
  }
  for (const k of a.keys()) if (!e.has(k)) out.push(`extra ${k}: ${JSON.stringify(a.get(k))}`)
  return out
}

/**
 * A domain XML as compared with libvirt's: libvirt writes `<metadata>` content with libxml2's
 * double quotes, vctl with single quotes like the rest of the document (a difference kept,
 * outside the devices); trailing blank lines do not count.
 */
export function normalised(xml: string): string {
  return xml.replace(/<metadata>[\s\S]*?<\/metadata>/, (m) => m.replaceAll('"', "'")).trimEnd()
}
