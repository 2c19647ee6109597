// scripts/install-ssh-helper.sh decides, in a temp root (never the host's /usr/bin): vctl's
// virt-ssh-helper goes to /usr/bin only where libvirt's own is absent, a file vctl did not install
// is never overwritten nor removed, and --uninstall removes only what it installed.
import test from 'ava'
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT_DIR} from './helpers/daemon.js'

const SCRIPT = join(ROOT_DIR, 'scripts/install-ssh-helper.sh')
const LIBVIRTS = '#!/bin/sh\n# libvirt 9.0 virt-ssh-helper stand-in\n'

function run(root: string, ...args: string[]): {code: number; out: string} {
  const r = spawnSync('bash', [SCRIPT, '--root', root, '--node', process.execPath, ...args], {encoding: 'utf8'})
  return {code: r.status ?? 1, out: r.stdout + r.stderr}
}

function tempRoot(t: {teardown: (fn: () => void) => void}): string {
  const root = mkdtempSync(join(tmpdir(), 'vctl-sshhelper-'))
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  return root
}

function place(root: string, path: string, content = LIBVIRTS): string {
  const f = join(root, path)
  mkdirSync(join(f, '..'), {recursive: true})
  writeFileSync(f, content)
  chmodSync(f, 0o755)
  return f
}

test("absent: installs a marked wrapper as /usr/bin/virt-ssh-helper that runs vctl's helper; again: same; --uninstall removes it", (t) => {
  const root = tempRoot(t)
  const target = join(root, 'usr/bin/virt-ssh-helper')
  const first = run(root)
  t.is(first.code, 0, first.out)
  t.regex(first.out, /installed vctl's virt-ssh-helper/)
  const wrapper = readFileSync(target, 'utf8')
  t.regex(wrapper, /^# vctl-virt-ssh-helper: installed by vctl/m)
  t.true(wrapper.includes(`'${join(ROOT_DIR, 'bin/virt-ssh-helper')}'`))
  // The wrapper runs vctl's helper (its usage, from the built dist/).
  const help = spawnSync(target, ['--help'], {encoding: 'utf8'})
  t.is(help.status, 0, help.stderr)
  t.regex(help.stdout, /virt-ssh-helper \[-r\|--readonly\] URI/)

  const again = run(root)
  t.is(again.code, 0, again.out)
  t.is(readFileSync(target, 'utf8'), wrapper)

  const removed = run(root, '--uninstall')
  t.is(removed.code, 0, removed.out)
  t.regex(removed.out, /removed vctl's/)
  t.false(existsSync(target))
  t.regex(run(root, '--uninstall').out, /not installed/)
})

test("libvirt's own in /usr/bin: left as it is, nothing installed; --uninstall leaves it too", (t) => {
  const root = tempRoot(t)
  const f = place(root, 'usr/bin/virt-ssh-helper')
  const r = run(root)
  t.is(r.code, 0, r.out)
  t.regex(r.out, /libvirt's virt-ssh-helper is installed/)
  t.is(readFileSync(f, 'utf8'), LIBVIRTS)
  const u = run(root, '--uninstall')
  t.regex(u.out, /is not vctl's: left alone/)
  t.is(readFileSync(f, 'utf8'), LIBVIRTS)
})

test('a helper elsewhere in the PATH (/usr/local/bin), or a symlink in /usr/bin: nothing installed, nothing touched', (t) => {
  const root = tempRoot(t)
  place(root, 'usr/local/bin/virt-ssh-helper')
  t.regex(run(root).out, /usr\/local\/bin\/virt-ssh-helper\): vctl's is not installed/)
  t.false(existsSync(join(root, 'usr/bin/virt-ssh-helper')))

  const other = tempRoot(t)
  mkdirSync(join(other, 'usr/bin'), {recursive: true})
  symlinkSync('/nonexistent/virt-ssh-helper', join(other, 'usr/bin/virt-ssh-helper'))
  t.regex(run(other).out, /vctl's is not installed/)
  t.regex(run(other, '--uninstall').out, /left alone/)
  t.is(execFileSync('readlink', [join(other, 'usr/bin/virt-ssh-helper')], {encoding: 'utf8'}).trim(), '/nonexistent/virt-ssh-helper')
})

test('a package owns /usr/bin/virt-ssh-helper (dpkg -S) though the file is missing: nothing installed', (t) => {
  const root = tempRoot(t)
  const info = join(root, 'var/lib/dpkg/info')
  mkdirSync(info, {recursive: true})
  writeFileSync(
    join(root, 'var/lib/dpkg/status'),
    'Package: libvirt-daemon\nStatus: install ok installed\nVersion: 9.0.0-4\nArchitecture: amd64\nMaintainer: x <x@example.org>\nDescription: x\n\n',
  )
  writeFileSync(join(info, 'libvirt-daemon.list'), '/.\n/usr\n/usr/bin\n/usr/bin/virt-ssh-helper\n')
  const r = run(root)
  t.is(r.code, 0, r.out)
  t.regex(r.out, /belongs to libvirt-daemon/)
  t.false(existsSync(join(root, 'usr/bin/virt-ssh-helper')))
})

test('an unknown argument is an error', (t) => {
  const root = tempRoot(t)
  const r = run(root, '--bogus')
  t.is(r.code, 1)
  t.regex(r.out, /unknown argument '--bogus'/)
})
