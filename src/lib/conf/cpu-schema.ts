/**
 * The <cpu> grammar of libvirt 9.0's cpu.rng (cputypes.rng + basictypes.rng) as data: a CPU definition is either a
 * guest CPU (mode/match/check/migratable; model, vendor, topology, feature, numa, cache, maxphysaddr in any order)
 * or a host CPU as capabilities report it (arch required; features, model, vendor, microcode, signature, counter,
 * topology, maxphysaddr, feature names, pages). cpu-validate.ts walks a parsed document against it.
 */

/** A value's type: a fixed set of words, or an XML Schema datatype with libvirt's pattern and bounds. */
export type ValueType =
  {kind: 'enum'; values: readonly string[]} | {kind: 'data'; type: string; pattern?: RegExp; min?: bigint; max?: bigint} | {kind: 'text'}

export interface AttrDef {
  name: string
  type: ValueType
  optional?: boolean
}

/** How often a child may appear in its parent's interleave. */
export type Occurs = 'one' | 'optional' | 'many' | 'oneOrMore'

export interface ChildDef {
  el: ElementDef
  occurs: Occurs
}

export interface ElementDef {
  name: string
  attrs: readonly AttrDef[]
  /** 'empty': no content; 'text': any text (or nothing); a ValueType: text of that type; an array: elements interleaved. */
  content: 'empty' | 'text' | ValueType | readonly ChildDef[]
  /** libxml2 reports nothing of what is wrong inside this element, only that its parent's interleave failed on it. */
  terse?: boolean
}

const oneOf = (...values: string[]): ValueType => ({kind: 'enum', values})
const TEXT: ValueType = {kind: 'text'}
const DIGITS = /^[0-9]+$/
const UINT: ValueType = {kind: 'data', type: 'unsignedInt', pattern: DIGITS, min: 0n, max: 4294967295n}
const ULONG: ValueType = {kind: 'data', type: 'unsignedLong', pattern: DIGITS, min: 0n, max: 18446744073709551615n}
const POSITIVE: ValueType = {kind: 'data', type: 'positiveInteger', pattern: DIGITS, min: 1n}
const DISTANCE: ValueType = {kind: 'data', type: 'unsignedInt', min: 10n, max: 255n}
const UNIT: ValueType = {kind: 'data', type: 'string', pattern: /^(?:(?:[bB](?:[yY][tT][eE][sS]?)?)|(?:[kKmMgGtTpPeE](?:[iI]?[bB])?))$/}
const CPUSET: ValueType = {kind: 'data', type: 'string', pattern: /^(?:[0-9]+(?:-[0-9]+)?|\^[0-9]+)(?:,(?:[0-9]+(?:-[0-9]+)?|\^[0-9]+))*$/}
const YES_NO = oneOf('yes', 'no')
const ARCH = oneOf(
  ...['aarch64', 'alpha', 'armv6l', 'armv7l', 'cris', 'i686', 'ia64', 'lm32', 'm68k', 'microblaze', 'microblazeel', 'mips', 'mipsel'],
  ...['mips64', 'mips64el', 'openrisc', 'parisc', 'parisc64', 'ppc', 'ppc64', 'ppc64le', 'ppcemb', 'riscv32', 'riscv64', 's390'],
  ...['s390x', 'sh4', 'sh4eb', 'sparc', 'sparc64', 'unicore32', 'x86_64', 'xtensa', 'xtensaeb'],
)

const attr = (name: string, type: ValueType): AttrDef => ({name, type})
const opt = (name: string, type: ValueType): AttrDef => ({name, type, optional: true})
const el = (name: string, attrs: AttrDef[], content: ElementDef['content'] = 'empty', terse = false): ElementDef => ({name, attrs, content, terse})
const one = (e: ElementDef): ChildDef => ({el: e, occurs: 'one'})
const maybe = (e: ElementDef): ChildDef => ({el: e, occurs: 'optional'})
const many = (e: ElementDef): ChildDef => ({el: e, occurs: 'many'})
const some = (e: ElementDef): ChildDef => ({el: e, occurs: 'oneOrMore'})

const TOPOLOGY = [attr('sockets', POSITIVE), opt('dies', POSITIVE), attr('cores', POSITIVE), attr('threads', POSITIVE)]
const maxphysaddr = el('maxphysaddr', [attr('mode', oneOf('emulate', 'passthrough')), opt('bits', UINT)])

const unitValue = (name: string): ElementDef => el(name, [attr('value', UINT), attr('unit', UNIT)])
const numaCache = el(
  'cache',
  [attr('level', UINT), attr('associativity', oneOf('none', 'direct', 'full')), attr('policy', oneOf('none', 'writeback', 'writethrough'))],
  [one(unitValue('size')), one(unitValue('line'))],
)
const cell = el(
  'cell',
  [
    opt('id', UINT),
    opt('cpus', CPUSET),
    attr('memory', ULONG),
    opt('unit', UNIT),
    opt('memAccess', oneOf('shared', 'private')),
    opt('discard', YES_NO),
  ],
  [maybe(el('distances', [], [some(el('sibling', [attr('id', UINT), attr('value', DISTANCE)]))])), many(numaCache)],
)
const LINK_TYPE = oneOf('access', 'read', 'write')
const link = (name: string, unit: boolean): ElementDef =>
  el(name, [
    attr('initiator', UINT),
    attr('target', UINT),
    opt('cache', UINT),
    attr('type', LINK_TYPE),
    attr('value', UINT),
    ...(unit ? [attr('unit', UNIT)] : []),
  ])
const numa = el('numa', [], [some(cell), maybe(el('interconnects', [], [many(link('latency', false)), many(link('bandwidth', true))]))])

/** The guestcpu pattern: what a domain's <cpu> and cpu-compare's usual input are. */
export const GUEST_CPU: ElementDef = el(
  'cpu',
  [
    opt('mode', oneOf('custom', 'host-model', 'host-passthrough', 'maximum')),
    opt('match', oneOf('minimum', 'exact', 'strict')),
    opt('check', oneOf('none', 'partial', 'full')),
    opt('migratable', oneOf('on', 'off')),
  ],
  [
    maybe(
      el('model', [opt('fallback', oneOf('allow', 'forbid')), opt('vendor_id', {kind: 'data', type: 'string', pattern: /^[^,]{12}$/})], 'text', true),
    ),
    maybe(el('vendor', [], 'text', true)),
    maybe(el('topology', TOPOLOGY, 'empty', true)),
    many(
      el('feature', [
        attr('policy', oneOf('force', 'require', 'optional', 'disable', 'forbid')),
        attr('name', {kind: 'data', type: 'string', pattern: /^[a-zA-Z0-9\-_.]+$/}),
      ]),
    ),
    maybe(numa),
    maybe(el('cache', [opt('level', oneOf('1', '2', '3')), attr('mode', oneOf('emulate', 'passthrough', 'disable'))])),
    maybe(maxphysaddr),
  ],
)

/** The hostcpu pattern: the <cpu> of the host's capabilities. */
export const HOST_CPU: ElementDef = el(
  'cpu',
  [],
  [
    one(el('arch', [], ARCH)),
    maybe(
      el(
        'features',
        [],
        ['pae', 'nonpae', 'vmx', 'svm'].map((n) => maybe(el(n, []))),
      ),
    ),
    maybe(el('model', [], 'text')),
    maybe(el('vendor', [], 'text')),
    maybe(el('microcode', [attr('version', POSITIVE)])),
    maybe(el('signature', [attr('family', POSITIVE), attr('model', UINT), attr('stepping', UINT)])),
    maybe(el('counter', [attr('name', TEXT), attr('frequency', POSITIVE), attr('scaling', YES_NO)])),
    maybe(el('topology', TOPOLOGY)),
    maybe(maxphysaddr),
    many(el('feature', [attr('name', {kind: 'data', type: 'string', pattern: /^[a-zA-Z0-9\-_]+$/})])),
    many(el('pages', [opt('unit', UNIT), attr('size', UINT)])),
  ],
)

export const CPU_SCHEMA_FILE = '/usr/share/libvirt/schemas/cpu.rng'
