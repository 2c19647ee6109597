import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import test, {type ExecutionContext} from 'ava'

import {defaultDaemonConfig, loadDaemonConfig, parseConf, parseDaemonConfig} from '../src/lib/daemon/config.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'

const FILE = '/etc/libvirt/libvirtd.conf'

/** Asserts parsing throws a CONF_SYNTAX VirError whose message names `FILE:line` and contains `fragment`. */
function syntaxError(t: ExecutionContext, text: string, line: number, fragment: string | RegExp): VirError {
  const err = t.throws<VirError>(() => parseDaemonConfig(text, FILE), {instanceOf: VirError})
  t.is(err.code, ErrorCode.CONF_SYNTAX)
  t.is(err.domain, ErrorDomain.CONF)
  t.true(err.message.includes(`${FILE}:${line}: `), `message should name ${FILE}:${line}: ${err.message}`)
  t.is(err.int1, line)
  if (typeof fragment === 'string') t.true(err.message.includes(fragment), `"${err.message}" should include "${fragment}"`)
  else t.regex(err.message, fragment)
  return err
}

test('defaults match libvirt', (t) => {
  const c = defaultDaemonConfig()
  t.true(c.listen_tls)
  t.false(c.listen_tcp)
  t.is(c.tls_port, '16514')
  t.is(c.tcp_port, '16509')
  t.is(c.listen_addr, undefined)
  t.is(c.unix_sock_group, undefined)
  t.is(c.unix_sock_ro_perms, '0777')
  t.is(c.unix_sock_rw_perms, '0700')
  t.is(c.unix_sock_admin_perms, '0700')
  t.is(c.unix_sock_dir, undefined)
  t.is(c.auth_unix_rw, 'none')
  t.is(c.auth_unix_ro, 'none')
  t.is(c.auth_tcp, undefined)
  t.is(c.auth_tls, 'none')
  t.false(c.tls_no_verify_certificate)
  t.is(c.tls_allowed_dn_list, undefined)
  t.is(c.max_clients, 5000)
  t.is(c.max_anonymous_clients, 20)
  t.is(c.max_workers, 20)
  t.is(c.min_workers, 5)
  t.is(c.prio_workers, 5)
  t.is(c.max_client_requests, 5)
  t.is(c.keepalive_interval, 5)
  t.is(c.keepalive_count, 5)
  t.is(c.admin_keepalive_interval, 5)
  t.is(c.admin_keepalive_count, 5)
  t.is(c.log_level, 3)
  t.is(c.log_filters, undefined)
  t.is(c.log_outputs, undefined)
  t.is(c.host_uuid, undefined)
  t.is(c.max_size, 2097152)
  t.is(c.max_backups, 3)
  t.is(c.explicit.size, 0)
  t.deepEqual(c.extra, {})
  // Fresh objects each time.
  c.explicit.add('x')
  t.is(defaultDaemonConfig().explicit.size, 0)
})

test('empty and comment-only files give defaults', (t) => {
  for (const text of ['', '\n\n', '# only a comment\n   # indented\n\t\n', '\ufeff# BOM\n']) {
    const {config, warnings} = parseDaemonConfig(text, FILE)
    t.deepEqual(warnings, [])
    t.is(config.explicit.size, 0)
    t.deepEqual({...config, explicit: [...config.explicit]}, {...defaultDaemonConfig(), explicit: []})
  }
})

test('parses every value kind, comments and multi-line lists', (t) => {
  const text = [
    '# libvirtd.conf',
    '',
    'listen_tls = 0',
    'listen_tcp=1   # trailing comment',
    'tcp_port = "16600"',
    "tls_port = '16601'",
    'listen_addr = "192.168.0.1"',
    'unix_sock_group = "libvirt"',
    'unix_sock_rw_perms = "0770"',
    'unix_sock_dir = "/tmp/socks" ;',
    'auth_tcp = "sasl"',
    'auth_unix_rw = "polkit"',
    'key_file = "/pki/key#notacomment.pem"',
    'tls_no_verify_certificate = 1',
    'tls_allowed_dn_list = [',
    '  "C=GB,O=Example,CN=alice",  # first',
    '',
    "  'CN=bob',",
    '  # a comment inside the list',
    '  "CN=\\\\carol",',
    ']',
    'max_clients = 10',
    'keepalive_interval = -1',
    'max_size = +4096',
    'log_level = 1',
    'log_outputs = "1:file:/var/log/libvirt/libvirtd.log"',
    'log_filters = \'1:qemu "x"\'',
    'host_uuid = """00000000-0000-0000-0000-000000000001"""',
    'sasl_allowed_username_list = []',
  ].join('\n')
  const {config, warnings} = parseDaemonConfig(text, FILE)
  t.deepEqual(warnings, [])
  t.false(config.listen_tls)
  t.true(config.listen_tcp)
  t.is(config.tcp_port, '16600')
  t.is(config.tls_port, '16601')
  t.is(config.listen_addr, '192.168.0.1')
  t.is(config.unix_sock_group, 'libvirt')
  t.is(config.unix_sock_rw_perms, '0770')
  t.is(config.unix_sock_dir, '/tmp/socks')
  t.is(config.auth_tcp, 'sasl')
  t.is(config.auth_unix_rw, 'polkit')
  t.is(config.key_file, '/pki/key#notacomment.pem')
  t.true(config.tls_no_verify_certificate)
  // No escape processing: backslashes are literal, as in libvirt.
  t.deepEqual(config.tls_allowed_dn_list, ['C=GB,O=Example,CN=alice', 'CN=bob', 'CN=\\\\carol'])
  t.is(config.max_clients, 10)
  t.is(config.keepalive_interval, -1)
  t.is(config.max_size, 4096)
  t.is(config.log_level, 1)
  t.is(config.log_outputs, '1:file:/var/log/libvirt/libvirtd.log')
  t.is(config.log_filters, '1:qemu "x"')
  t.is(config.host_uuid, '00000000-0000-0000-0000-000000000001')
  t.deepEqual(config.sasl_allowed_username_list, [])
  // Untouched keys keep their defaults.
  t.is(config.auth_tls, 'none')
  t.is(config.max_workers, 20)
  t.deepEqual(
    [...config.explicit].sort(),
    [
      'listen_tls',
      'listen_tcp',
      'tcp_port',
      'tls_port',
      'listen_addr',
      'unix_sock_group',
      'unix_sock_rw_perms',
      'unix_sock_dir',
      'auth_tcp',
      'auth_unix_rw',
      'key_file',
      'tls_no_verify_certificate',
      'tls_allowed_dn_list',
      'max_clients',
      'keepalive_interval',
      'max_size',
      'log_level',
      'log_outputs',
      'log_filters',
      'host_uuid',
      'sasl_allowed_username_list',
    ].sort(),
  )
})

test('lists: single line, trailing comma, on one line with the bracket, integers in generic lists', (t) => {
  t.deepEqual(parseDaemonConfig('tls_allowed_dn_list = ["a", "b",]', FILE).config.tls_allowed_dn_list, ['a', 'b'])
  t.deepEqual(parseDaemonConfig('tls_allowed_dn_list = [ "a" ]', FILE).config.tls_allowed_dn_list, ['a'])
  t.deepEqual(parseDaemonConfig('tls_allowed_dn_list = [\n"a"\n,\n"b"\n]\n', FILE).config.tls_allowed_dn_list, ['a', 'b'])
  t.deepEqual(parseConf('x = [1, "two", -3]', 'f'), [{key: 'x', value: [1, 'two', -3], line: 1}])
})

test('parseConf reports line numbers, including after multi-line values', (t) => {
  const entries = parseConf('a = 1\n\nb = [\n "x",\n]\nc = """l1\nl2"""\nd = "z"\r\n', 'f')
  t.deepEqual(
    entries.map((e) => [e.key, e.line]),
    [
      ['a', 1],
      ['b', 3],
      ['c', 6],
      ['d', 8],
    ],
  )
  t.is(entries[2].value, 'l1\nl2')
  t.is(entries[3].value, 'z')
})

test('triple-quoted strings keep line counting right for later errors', (t) => {
  syntaxError(t, 'host_uuid = """a\nb\nc"""\nlisten_tls = ', 4, "expected a value after '='")
})

test('unknown keys are kept in extra with a warning', (t) => {
  const {config, warnings} = parseDaemonConfig('listen_tls = 0\nfrobnicate = [ "x", 2 ]\nmystery = "m"\n', FILE)
  t.deepEqual(config.extra, {frobnicate: ['x', 2], mystery: 'm'})
  t.true(config.explicit.has('frobnicate'))
  t.true(config.explicit.has('mystery'))
  t.is(warnings.length, 2)
  t.true(warnings[0].startsWith(`${FILE}:2: `))
  t.true(warnings[0].includes("unknown setting 'frobnicate'"))
  t.true(warnings[1].startsWith(`${FILE}:3: `))
})

test('duplicate settings: the first wins, with a warning', (t) => {
  const {config, warnings} = parseDaemonConfig('max_workers = 7\nmax_workers = 9\n', FILE)
  t.is(config.max_workers, 7)
  t.is(warnings.length, 1)
  t.true(warnings[0].startsWith(`${FILE}:2: `))
  t.true(warnings[0].includes('line 1'))
})

test('syntax error: missing value after =', (t) => {
  const err = syntaxError(t, '\n\nlisten_tcp = 1\nlisten_tls =\n', 4, "expected a value after '='")
  t.true(err.message.startsWith('configuration file syntax error: '))
  syntaxError(t, 'listen_tls =   # nothing\n', 1, "expected a value after '='")
  syntaxError(t, 'listen_tls =', 1, "expected a value after '='")
})

test('syntax error: missing =', (t) => {
  syntaxError(t, 'listen_tls 1\n', 1, "expected '=' after 'listen_tls', found '1'")
  syntaxError(t, 'a = 1\nlisten_tls\n', 2, "expected '=' after 'listen_tls'")
})

test('syntax error: bad setting names', (t) => {
  syntaxError(t, 'listen-tls = 1\n', 1, "invalid character '-' in setting name")
  syntaxError(t, '= 1\n', 1, "expected a setting name, found '='")
  syntaxError(t, '1abc = 1\n', 1, 'expected a setting name')
})

test('syntax error: unterminated strings name the line they start on', (t) => {
  syntaxError(t, 'a = 1\nlog_outputs = "1:file:/x\nb = 2\n', 2, 'unterminated string')
  syntaxError(t, "log_outputs = 'abc", 1, 'unterminated string')
  syntaxError(t, 'a = 1\nhost_uuid = """abc\n\n', 2, 'unterminated string')
})

test('syntax error: unterminated list names the line of its [', (t) => {
  syntaxError(t, '# x\ntls_allowed_dn_list = [\n  "a",\n  "b"\n', 2, "unterminated list for 'tls_allowed_dn_list'")
  syntaxError(t, 'tls_allowed_dn_list = [', 1, 'unterminated list')
})

test('syntax error: malformed lists', (t) => {
  syntaxError(t, 'tls_allowed_dn_list = [\n "a"\n "b"\n]\n', 3, "expected ',' or ']'")
  syntaxError(t, 'tls_allowed_dn_list = [ , "a" ]', 1, "missing value before ','")
  syntaxError(t, 'x = [ [1] ]', 1, 'nested lists are not allowed')
})

test('syntax error: unquoted strings and bad numbers', (t) => {
  syntaxError(t, 'auth_tcp = sasl\n', 1, 'strings must be quoted, e.g. "sasl"')
  syntaxError(t, 'max_clients = 12abc\n', 1, "invalid number '12abc'")
  syntaxError(t, 'max_clients = 0x10\n', 1, "invalid number '0x10'")
  syntaxError(t, 'max_clients = 1.5\n', 1, "invalid number '1.5'")
  syntaxError(t, 'max_clients = 99999999999999999999\n', 1, 'out of range')
})

test('syntax error: trailing garbage after a value', (t) => {
  syntaxError(t, 'listen_tls = 1 2\n', 1, "unexpected '2' after the value of 'listen_tls'")
  syntaxError(t, 'tcp_port = "1" "2"\n', 1, 'unexpected')
  syntaxError(t, 'a = 1; b = 2\n', 1, "unexpected 'b'")
})

test('type errors name the key and the expected type', (t) => {
  syntaxError(t, 'a = 1\ntcp_port = [1]\n', 2, "'tcp_port' expects a quoted string, got a list")
  syntaxError(t, 'tcp_port = 16509\n', 1, `'tcp_port' expects a quoted string, got the integer 16509 (write "16509")`)
  syntaxError(t, 'listen_tls = "1"\n', 1, '\'listen_tls\' expects a boolean (0 or 1), got the string "1" (write 1 without quotes)')
  syntaxError(t, 'listen_tls = 2\n', 1, "'listen_tls' expects a boolean (0 or 1), got 2")
  syntaxError(t, 'max_clients = "10"\n', 1, "'max_clients' expects a non-negative integer")
  syntaxError(t, 'max_clients = -1\n', 1, "'max_clients' expects a non-negative integer, got -1")
  syntaxError(t, 'tls_allowed_dn_list = "CN=a"\n', 1, "'tls_allowed_dn_list' expects a list of quoted strings, got the string")
  syntaxError(t, 'tls_allowed_dn_list = ["a", 1]\n', 1, 'contains the integer 1')
  syntaxError(t, 'keepalive_interval = [5]\n', 1, "'keepalive_interval' expects an integer, got a list")
})

test('value checks: auth types, permissions, log level', (t) => {
  syntaxError(t, 'auth_tcp = "kerberos"\n', 1, "invalid value for 'auth_tcp': unknown authentication type 'kerberos'")
  syntaxError(t, 'unix_sock_rw_perms = "0789"\n', 1, "invalid value for 'unix_sock_rw_perms'")
  syntaxError(t, 'log_level = 7\n', 1, "invalid value for 'log_level'")
  t.is(parseDaemonConfig('auth_tls = "none"\n', FILE).config.auth_tls, 'none')
})

test('loadDaemonConfig: missing default file gives defaults; missing required file is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vctl-conf-'))
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  const missing = join(dir, 'nope.conf')

  const r = await loadDaemonConfig(missing, {required: false})
  t.false(r.loaded)
  t.is(r.config.max_clients, 5000)
  t.deepEqual(r.warnings, [])

  const none = await loadDaemonConfig(undefined, {required: false})
  t.false(none.loaded)

  const err = await t.throwsAsync(loadDaemonConfig(missing, {required: true}), {instanceOf: VirError})
  t.true(err.message.includes(missing))
  t.true(err.message.includes('No such file or directory'))

  await t.throwsAsync(loadDaemonConfig(undefined, {required: true}), {instanceOf: VirError})

  // A directory is an error even when not required.
  const sub = join(dir, 'sub.conf')
  await mkdir(sub)
  const dirErr = await t.throwsAsync(loadDaemonConfig(sub, {required: false}), {instanceOf: VirError})
  t.true(dirErr.message.includes(sub))
})

test('loadDaemonConfig: reads and parses, errors name the real path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vctl-conf-'))
  t.teardown(() => rm(dir, {recursive: true, force: true}))
  const good = join(dir, 'virtqemud.conf')
  await writeFile(good, 'max_workers = 3\nunknown_thing = 1\n')
  const r = await loadDaemonConfig(good, {required: true})
  t.true(r.loaded)
  t.is(r.config.max_workers, 3)
  t.true(r.config.explicit.has('max_workers'))
  t.is(r.warnings.length, 1)
  t.true(r.warnings[0].startsWith(`${good}:2: `))

  const bad = join(dir, 'bad.conf')
  await writeFile(bad, '\nlisten_tls = \n')
  const err = await t.throwsAsync(loadDaemonConfig(bad, {required: false}), {instanceOf: VirError})
  t.true(err.message.includes(`${bad}:2: `))
  t.is(err.code, ErrorCode.CONF_SYNTAX)
})
