// cpu-compare / hypervisor-cpu-compare --validate (VIR_CONNECT_COMPARE_CPU_VALIDATE_XML, issue #12): the CPU
// definition checked against cpu.rng first. The expected lines are what Debian's libvirtd 9.0 (libxml2) reports;
// then the real virsh against vctl's QEMU driver and a private libvirtd 9.0 side by side.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {cpuSchemaErrors, validateCpuXml} from '../src/lib/conf/cpu-validate.js'
import {parseXml} from '../src/lib/conf/xml.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {python, startDaemon, scratchDir, virsh, type TestDaemon} from './helpers/daemon.js'
import {canRunLibvirtd, startRealLibvirtd, type RealLibvirtd} from './helpers/real-libvirtd.js'

const ARCH_TAIL = ['Expecting an element arch, got nothing', 'Invalid sequence in interleave']
const FAILED = 'Element cpu failed to validate content'
const nested = (el: string, ...first: string[]) => [...first, `Extra element ${el} in interleave`, FAILED, ...ARCH_TAIL]

/** [name, document, libxml2's lines as libvirtd 9.0 reports them ([] = valid)] */
const CASES: [string, string, string[]][] = [
  [
    'guest cpu',
    "<cpu mode='custom' match='exact' check='partial'><model fallback='allow'>qemu64</model><topology sockets='1' dies='1' cores='1' threads='1'/><feature policy='require' name='sse2'/></cpu>",
    [],
  ],
  ['empty cpu', '<cpu/>', []],
  ['numa cell', "<cpu><numa><cell id='0' cpus='0-1' memory='1024' unit='KiB'/></numa></cpu>", []],
  [
    'host cpu',
    "<cpu><arch>x86_64</arch><model>Broadwell</model><vendor>Intel</vendor><microcode version='1'/><signature family='6' model='167' stepping='1'/><counter name='tsc' frequency='100' scaling='no'/><topology sockets='1' dies='1' cores='2' threads='1'/><maxphysaddr mode='emulate' bits='48'/><feature name='vme'/><pages unit='KiB' size='4'/></cpu>",
    [],
  ],
  [
    'unknown element',
    "<cpu mode='custom' match='exact'><model>qemu64</model><bogus/></cpu>",
    ['Element cpu has extra content: bogus', ...ARCH_TAIL, FAILED],
  ],
  [
    'unknown attribute',
    "<cpu mode='custom' match='exact' foo='bar'><model>qemu64</model></cpu>",
    ['Invalid attribute foo for element cpu', ...ARCH_TAIL, FAILED],
  ],
  ['bad match', "<cpu mode='custom' match='bogus'><model>qemu64</model></cpu>", ['Invalid attribute match for element cpu', ...ARCH_TAIL, FAILED]],
  ['bad mode', "<cpu mode='foo'/>", ['Invalid attribute mode for element cpu', ...ARCH_TAIL, FAILED]],
  [
    'feature without name',
    "<cpu><model>qemu64</model><feature policy='require'/></cpu>",
    nested('feature', 'Element feature failed to validate attributes'),
  ],
  ['bad policy', "<cpu><feature policy='must' name='sse'/></cpu>", nested('feature', 'Element feature failed to validate attributes')],
  ['feature name pattern', "<cpu><feature policy='require' name='a b'/></cpu>", nested('feature', 'Element feature failed to validate attributes')],
  ['feature text', "<cpu><feature policy='require' name='sse'>x</feature></cpu>", nested('feature', 'Element feature has extra content: text')],
  [
    'feature extra attribute',
    "<cpu><feature policy='require' name='sse' x='1'/></cpu>",
    nested('feature', 'Invalid attribute x for element feature'),
  ],
  ['model fallback', "<cpu><model fallback='x'>qemu64</model></cpu>", nested('model')],
  ['two models', '<cpu><model>a</model><model>b</model></cpu>', nested('model')],
  ['topology without cores', "<cpu><topology sockets='1' threads='1'/></cpu>", nested('topology')],
  ['topology clusters (not in 9.0)', "<cpu><topology sockets='1' clusters='1' cores='1' threads='1'/></cpu>", nested('topology')],
  ['vendor with an element', '<cpu><vendor><x/></vendor></cpu>', nested('vendor')],
  ['cache level', "<cpu><cache level='4' mode='emulate'/></cpu>", nested('cache', 'Invalid attribute level for element cache')],
  ['maxphysaddr mode', "<cpu><maxphysaddr mode='x'/></cpu>", nested('maxphysaddr', 'Element maxphysaddr failed to validate attributes')],
  ['numa without cells', '<cpu><numa/></cpu>', nested('numa', 'Expecting an element cell, got nothing')],
  ['numa cell memory', "<cpu><numa><cell cpus='0' memory='x'/></numa></cpu>", nested('numa', "Type unsignedLong doesn't allow value 'x'")],
  ['namespace', "<cpu xmlns='http://x'/>", ['Expecting no namespace for element cpu']],
  [
    'host: unknown element',
    '<cpu><arch>x86_64</arch><model>Broadwell</model><bogus/></cpu>',
    ['Expecting an element feature, got nothing', 'Element cpu has extra content: bogus'],
  ],
  [
    'host: unknown element after pages',
    "<cpu><arch>x86_64</arch><pages size='4'/><bogus/></cpu>",
    ['Expecting an element pages, got nothing', 'Element cpu has extra content: bogus'],
  ],
  [
    'host: unknown element after arch',
    "<cpu><arch>x86_64</arch><bogus/><feature name='x'/></cpu>",
    ['Element cpu has extra content: arch', 'Element cpu has extra content: bogus'],
  ],
  ['host: element before arch', '<cpu><bogus/><arch>x86_64</arch></cpu>', ['Element cpu has extra content: bogus', ...ARCH_TAIL, FAILED]],
  [
    'host: attribute',
    "<cpu mode='custom'><arch>x86_64</arch></cpu>",
    ['Element cpu has extra content: arch', 'Invalid attribute mode for element cpu'],
  ],
  [
    'host: bad arch',
    '<cpu><arch>x86</arch></cpu>',
    [
      'Element cpu has extra content: arch',
      'Error validating value ',
      'Element arch failed to validate content',
      'Invalid sequence in interleave',
      FAILED,
    ],
  ],
  [
    'host: microcode 0',
    "<cpu><arch>x86_64</arch><microcode version='0'/></cpu>",
    ["Type positiveInteger doesn't allow value '0'", 'Extra element microcode in interleave', FAILED],
  ],
  [
    'host: topology sockets 0',
    "<cpu><arch>x86_64</arch><topology sockets='0' cores='1' threads='1'/></cpu>",
    ["Type positiveInteger doesn't allow value '0'", 'Extra element topology in interleave', FAILED],
  ],
  [
    'host: feature policy',
    "<cpu><arch>x86_64</arch><feature policy='require' name='sse'/></cpu>",
    ['Invalid attribute policy for element feature', 'Extra element feature in interleave', FAILED],
  ],
]

for (const [name, xml, lines] of CASES) {
  test(`schema: ${name}`, (t) => {
    t.deepEqual(cpuSchemaErrors(parseXml(xml, 'cpu')), lines)
  })
}

test('validateCpuXml: the error libvirt raises, and a root that is not <cpu>', (t) => {
  const err = t.throws(() => validateCpuXml("<cpu match='bogus'/>", ErrorDomain.QEMU), {instanceOf: VirError})
  t.is(err?.code, ErrorCode.XML_INVALID_SCHEMA)
  t.is(err?.domain, ErrorDomain.XML)
  t.is(
    err?.message,
    'XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/cpu.rng\n' +
      `Invalid attribute match for element cpu\n${ARCH_TAIL.join('\n')}\n${FAILED}\n`,
  )
  t.is(err?.str1, 'XML document failed to validate against schema: %s')
  const root = t.throws(() => validateCpuXml('<domain/>', ErrorDomain.QEMU), {instanceOf: VirError})
  t.is(root?.code, ErrorCode.XML_ERROR)
  t.is(root?.domain, 31)
  t.is(root?.message, "XML error: XML does not contain expected 'cpu' element")
  t.notThrows(() => validateCpuXml('<cpu><model>qemu64</model></cpu>', ErrorDomain.QEMU))
})

// ---- side by side with libvirtd 9.0 ------------------------------------------------------------------

const FILES: Record<string, string> = {
  dom: "<cpu mode='custom' match='exact' check='partial'>\n  <model fallback='allow'>qemu64</model>\n  <feature policy='require' name='sse2'/>\n</cpu>",
  unkel: "<cpu mode='custom' match='exact'><model>qemu64</model><bogus/></cpu>",
  unkattr: "<cpu mode='custom' match='exact' foo='bar'><model>qemu64</model></cpu>",
  badmatch: "<cpu mode='custom' match='bogus'><model>qemu64</model></cpu>",
  noname: "<cpu mode='custom' match='exact'><model>qemu64</model><feature policy='require'/></cpu>",
}

let vctl: TestDaemon | undefined
let real: RealLibvirtd | undefined
let dir = ''
test.before(async () => {
  if (!canRunLibvirtd) return
  dir = scratchDir('vctl-cpuvalidate-')
  for (const [name, xml] of Object.entries(FILES)) writeFileSync(join(dir, `${name}.xml`), xml + '\n')
  ;[vctl, real] = await Promise.all([startDaemon(), startRealLibvirtd({hideKvm: true})])
  const caps = (await virsh(real.uri, ['capabilities'], {timeout: 120000})).stdout
  writeFileSync(join(dir, 'host.xml'), /<cpu>[\s\S]*?<\/cpu>/.exec(caps)?.[0] ?? '')
})
test.after.always(async () => {
  await Promise.all([vctl?.stop(), real?.stop()])
})

const SCHEMA_PREFIX = 'error: XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/cpu.rng\n'

for (const cmd of ['cpu-compare', 'hypervisor-cpu-compare']) {
  test.serial(`virsh ${cmd} --validate: same status and error as libvirtd 9.0`, async (t) => {
    if (!vctl || !real) return t.pass('needs root and libvirtd')
    for (const name of ['host', 'dom', 'unkel', 'unkattr', 'badmatch', 'noname']) {
      const args = [cmd, '--validate', join(dir, `${name}.xml`)]
      const [a, b] = await Promise.all([virsh(vctl.uri('qemu'), args), virsh(real.uri, args, {timeout: 120000})])
      if (name === 'host' || name === 'dom') {
        // Valid documents are compared as without --validate (the verdicts themselves are cpu-hypervisor.test.ts's).
        t.false(a.stderr.includes('validate'), `${cmd} ${name}: ${a.stderr}`)
        t.false(b.stderr.includes('validate'), `${cmd} ${name}: ${b.stderr}`)
        const plain = await virsh(vctl.uri('qemu'), [cmd, join(dir, `${name}.xml`)])
        t.is(a.code, plain.code, `${cmd} ${name}`)
        t.is(a.stdout, plain.stdout, `${cmd} ${name}`)
        continue
      }
      t.is(a.code, 1, `${cmd} ${name}`)
      t.is(a.code, b.code, `${cmd} ${name}`)
      t.true(b.stderr.includes(SCHEMA_PREFIX), b.stderr)
      t.is(a.stderr, b.stderr, `${cmd} ${name}`)
    }
  })
}

test.serial('libvirt-python: error code and domain of a refused document, both calls', async (t) => {
  if (!vctl || !real) return t.pass('needs root and libvirtd')
  const code = (uri: string) =>
    [
      'import libvirt',
      'libvirt.registerErrorHandler(lambda a, b: None, None)',
      `c = libvirt.open(${JSON.stringify(uri)})`,
      `x = ${JSON.stringify(FILES.noname)}`,
      'for f in (lambda: c.compareCPU(x, 2), lambda: c.compareHypervisorCPU(None, None, None, None, x, 2), lambda: c.compareCPU(x, 0)):',
      '    try:',
      '        print("ok", f())',
      '    except libvirt.libvirtError as e:',
      '        print(e.get_error_code(), e.get_error_domain(), repr(e.get_error_message()))',
    ].join('\n')
  const [a, b] = await Promise.all([python(code(vctl.uri('qemu'))), python(code(real.uri))])
  t.is(a.stderr, '')
  const lines = a.stdout.trim().split('\n')
  t.regex(lines[0], /^92 5 'XML document failed to validate against schema: /)
  t.deepEqual(lines.slice(0, 2), b.stdout.trim().split('\n').slice(0, 2))
  // Without the flag the document is not validated (the feature without a name is another error, or none).
  t.notRegex(lines[2], /^92 /)
})
