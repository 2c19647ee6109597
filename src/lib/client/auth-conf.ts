/**
 * Client credentials as libvirt's virauthconfig reads them: an INI-style auth.conf found through
 * LIBVIRT_AUTH_FILE, then the URI's `authfile=`, then $XDG_CONFIG_HOME/libvirt/auth.conf, then
 * /etc/libvirt/auth.conf. The group `[auth-libvirt-HOST]` (else `[auth-libvirt-default]`) names
 * a `credentials=NAME`, whose `[credentials-NAME]` group holds `authname=` and `password=`.
 * Without a file or an entry, a prompt on a TTY (inquirer) asks for them.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import type {ParsedUri} from '../uri.js'

export interface Credentials {
  authname: string
  password: string
}

/** The auth.conf libvirt's client would read, or undefined when there is none. */
export function authConfPath(uri: ParsedUri | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.LIBVIRT_AUTH_FILE) return env.LIBVIRT_AUTH_FILE
  const fromUri = uri?.params.get('authfile')
  if (fromUri) return fromUri
  const user = join(env.XDG_CONFIG_HOME || join(env.HOME ?? '/root', '.config'), 'libvirt/auth.conf')
  if (existsSync(user)) return user
  return existsSync('/etc/libvirt/auth.conf') ? '/etc/libvirt/auth.conf' : undefined
}

/** Parses a keyfile: groups of key=value lines; `#` comments. */
export function parseKeyFile(text: string): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>()
  let current: Map<string, string> | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#') || line.startsWith(';')) continue
    const g = /^\[([^\]]+)\]$/.exec(line)
    if (g) {
      current = groups.get(g[1]) ?? new Map<string, string>()
      groups.set(g[1], current)
      continue
    }
    const eq = line.indexOf('=')
    if (eq < 0 || !current) throw new Error(`cannot parse auth.conf line '${line}'`)
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return groups
}

/** One credential (`authname`, `password`) for service "libvirt" on `host`. */
export function lookupCredential(text: string, host: string, key: 'authname' | 'password'): string | undefined {
  const groups = parseKeyFile(text)
  const auth = groups.get(`auth-libvirt-${host}`) ?? groups.get('auth-libvirt-default')
  const name = auth?.get('credentials')
  if (!name) return undefined
  return groups.get(`credentials-${name}`)?.get(key)
}

/** Credentials from auth.conf, else (on a TTY) prompted for; undefined when neither is possible. */
export async function saslCredentials(uri: ParsedUri | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const host = uri?.host || 'localhost'
  const path = authConfPath(uri, env)
  let authname: string | undefined
  let password: string | undefined
  if (path) {
    const text = readFileSync(path, 'utf8')
    authname = lookupCredential(text, host, 'authname')
    password = lookupCredential(text, host, 'password')
  }
  if (authname === undefined && uri?.user) authname = uri.user
  if (authname !== undefined && password !== undefined) return {authname, password}
  if (!process.stdin.isTTY) return undefined
  const {input, password: secret} = await import('@inquirer/prompts')
  authname ??= await input({message: `Please enter your authentication name [${env.USER ?? ''}]:`, default: env.USER})
  password ??= await secret({message: `Please enter your password:`, mask: false})
  return {authname, password}
}
