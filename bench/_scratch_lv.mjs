import {spawn} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {privateLibvirtd} from './private-libvirtd.mjs'
const {base, script} = privateLibvirtd('bench-ls-', {libvirtdConf: 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n'})
const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true}); child.unref()
while (!existsSync(join(base, 'run/libvirt-sock'))) await new Promise((r) => setTimeout(r, 50))
console.log(base)
