/**
 * libvirt's daemon configuration (libvirtd.conf, virtqemud.conf, virtlogd.conf, ...): the typed
 * settings, their defaults and checks, on top of the file syntax read by conf-syntax.ts.
 *
 * When a setting appears twice, the first occurrence wins (as in libvirt) and a warning is emitted.
 */

import {readFile} from 'node:fs/promises'

import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {confError, parseConf, type ConfEntry, type ConfValue} from './conf-syntax.js'

export {parseConf, type ConfEntry, type ConfScalar, type ConfValue} from './conf-syntax.js'

/** Typed view of a daemon config. Field names are the setting names. */
export interface DaemonConfig {
  // Network listeners (libvirtd / virtproxyd).
  listen_tls: boolean
  listen_tcp: boolean
  tls_port: string
  tcp_port: string
  listen_addr: string | undefined

  // UNIX sockets.
  unix_sock_group: string | undefined
  unix_sock_ro_perms: string
  unix_sock_rw_perms: string
  unix_sock_admin_perms: string
  unix_sock_dir: string | undefined

  // Authentication: 'none' | 'sasl' | 'polkit'.
  auth_unix_rw: string
  auth_unix_ro: string
  /** undefined when not set in the file: the effective default is 'sasl'. */
  auth_tcp: string | undefined
  auth_tls: string
  access_drivers: string[] | undefined

  // TLS. undefined files mean "use the default PKI locations".
  key_file: string | undefined
  cert_file: string | undefined
  ca_file: string | undefined
  crl_file: string | undefined
  tls_no_verify_certificate: boolean
  tls_no_sanity_certificate: boolean
  /** undefined = no restriction; an empty list allows nobody (libvirt semantics). */
  tls_allowed_dn_list: string[] | undefined
  tls_priority: string | undefined
  /** undefined = no restriction; an empty list allows nobody. */
  sasl_allowed_username_list: string[] | undefined
  tcp_min_ssf: number

  // Limits and worker pools.
  max_clients: number
  max_queued_clients: number
  max_anonymous_clients: number
  max_workers: number
  min_workers: number
  prio_workers: number
  max_client_requests: number
  admin_min_workers: number
  admin_max_workers: number
  admin_max_clients: number
  admin_max_queued_clients: number
  admin_max_client_requests: number

  // Keepalive. An interval of -1 disables keepalive.
  keepalive_interval: number
  keepalive_count: number
  admin_keepalive_interval: number
  admin_keepalive_count: number

  // Logging and auditing. log_level: 1 debug, 2 info, 3 warning, 4 error.
  log_level: number
  log_filters: string | undefined
  log_outputs: string | undefined
  audit_level: number
  audit_logging: boolean

  // Host identity.
  host_uuid: string | undefined
  host_uuid_source: string

  ovs_timeout: number

  // virtlogd.
  max_size: number
  max_backups: number

  /** Every setting name present in the file (known or not). */
  explicit: Set<string>
  /** Settings this parser does not know, as written. */
  extra: Record<string, unknown>
}

type SettingKey = Exclude<keyof DaemonConfig, 'explicit' | 'extra'>

type Kind = 'bool' | 'int' | 'uint' | 'string' | 'stringList'

interface Spec {
  kind: Kind
  /** Returns an error text when the (already type-checked) value is not acceptable. */
  check?: (value: never) => string | undefined
}

const AUTH_TYPES = ['none', 'sasl', 'polkit']

const checkAuth = (v: string) =>
  AUTH_TYPES.includes(v) ? undefined : `unknown authentication type '${v}' (expected one of: ${AUTH_TYPES.join(', ')})`

const checkPerms = (v: string) => (/^[0-7]{1,4}$/.test(v) ? undefined : `'${v}' is not an octal file mode (e.g. "0770")`)

const checkRange = (min: number, max: number) => (v: number) => (v >= min && v <= max ? undefined : `value ${v} is out of range (${min}..${max})`)

const checkNonEmpty = (v: string) => (v === '' ? 'must not be empty' : undefined)

const SCHEMA: Record<SettingKey, Spec> = {
  listen_tls: {kind: 'bool'},
  listen_tcp: {kind: 'bool'},
  tls_port: {kind: 'string', check: checkNonEmpty},
  tcp_port: {kind: 'string', check: checkNonEmpty},
  listen_addr: {kind: 'string'},
  unix_sock_group: {kind: 'string'},
  unix_sock_ro_perms: {kind: 'string', check: checkPerms},
  unix_sock_rw_perms: {kind: 'string', check: checkPerms},
  unix_sock_admin_perms: {kind: 'string', check: checkPerms},
  unix_sock_dir: {kind: 'string', check: checkNonEmpty},
  auth_unix_rw: {kind: 'string', check: checkAuth},
  auth_unix_ro: {kind: 'string', check: checkAuth},
  auth_tcp: {kind: 'string', check: checkAuth},
  auth_tls: {kind: 'string', check: checkAuth},
  access_drivers: {kind: 'stringList'},
  key_file: {kind: 'string'},
  cert_file: {kind: 'string'},
  ca_file: {kind: 'string'},
  crl_file: {kind: 'string'},
  tls_no_verify_certificate: {kind: 'bool'},
  tls_no_sanity_certificate: {kind: 'bool'},
  tls_allowed_dn_list: {kind: 'stringList'},
  tls_priority: {kind: 'string'},
  sasl_allowed_username_list: {kind: 'stringList'},
  tcp_min_ssf: {kind: 'uint'},
  max_clients: {kind: 'uint'},
  max_queued_clients: {kind: 'uint'},
  max_anonymous_clients: {kind: 'uint'},
  max_workers: {kind: 'uint'},
  min_workers: {kind: 'uint'},
  prio_workers: {kind: 'uint'},
  max_client_requests: {kind: 'uint'},
  admin_min_workers: {kind: 'uint'},
  admin_max_workers: {kind: 'uint'},
  admin_max_clients: {kind: 'uint'},
  admin_max_queued_clients: {kind: 'uint'},
  admin_max_client_requests: {kind: 'uint'},
  keepalive_interval: {kind: 'int'},
  keepalive_count: {kind: 'uint'},
  admin_keepalive_interval: {kind: 'int'},
  admin_keepalive_count: {kind: 'uint'},
  log_level: {kind: 'uint', check: checkRange(1, 4)},
  log_filters: {kind: 'string'},
  log_outputs: {kind: 'string'},
  audit_level: {kind: 'uint', check: checkRange(0, 2)},
  audit_logging: {kind: 'bool'},
  host_uuid: {kind: 'string'},
  host_uuid_source: {kind: 'string'},
  ovs_timeout: {kind: 'int'},
  max_size: {kind: 'uint'},
  max_backups: {kind: 'uint'},
}

/** The setting names this parser understands. */
export const KNOWN_SETTINGS: readonly string[] = Object.freeze(Object.keys(SCHEMA))

/** A fresh config holding libvirt's defaults, with nothing marked explicit. */
export function defaultDaemonConfig(): DaemonConfig {
  return {
    listen_tls: true,
    listen_tcp: false,
    tls_port: '16514',
    tcp_port: '16509',
    listen_addr: undefined,
    unix_sock_group: undefined,
    unix_sock_ro_perms: '0777',
    unix_sock_rw_perms: '0700',
    unix_sock_admin_perms: '0700',
    unix_sock_dir: undefined,
    auth_unix_rw: 'none',
    auth_unix_ro: 'none',
    auth_tcp: undefined,
    auth_tls: 'none',
    access_drivers: undefined,
    key_file: undefined,
    cert_file: undefined,
    ca_file: undefined,
    crl_file: undefined,
    tls_no_verify_certificate: false,
    tls_no_sanity_certificate: false,
    tls_allowed_dn_list: undefined,
    tls_priority: undefined,
    sasl_allowed_username_list: undefined,
    tcp_min_ssf: 56,
    max_clients: 5000,
    max_queued_clients: 1000,
    max_anonymous_clients: 20,
    max_workers: 20,
    min_workers: 5,
    prio_workers: 5,
    max_client_requests: 5,
    admin_min_workers: 1,
    admin_max_workers: 5,
    admin_max_clients: 5000,
    admin_max_queued_clients: 20,
    admin_max_client_requests: 5,
    keepalive_interval: 5,
    keepalive_count: 5,
    admin_keepalive_interval: 5,
    admin_keepalive_count: 5,
    log_level: 3,
    log_filters: undefined,
    log_outputs: undefined,
    audit_level: 1,
    audit_logging: false,
    host_uuid: undefined,
    host_uuid_source: 'smbios',
    ovs_timeout: 5,
    max_size: 2097152,
    max_backups: 3,
    explicit: new Set(),
    extra: {},
  }
}

// ---------------------------------------------------------------------------------------------
// Typed layer

function describeValue(v: ConfValue): string {
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'number') return `the integer ${v}`
  return `the string "${v}"`
}

const KIND_TEXT: Record<Kind, string> = {
  bool: 'a boolean (0 or 1)',
  int: 'an integer',
  uint: 'a non-negative integer',
  string: 'a quoted string',
  stringList: 'a list of quoted strings',
}

function convert(file: string, entry: ConfEntry, spec: Spec): unknown {
  const {key, value, line} = entry
  // A declaration (not an arrow in a const) so that calls narrow `value` like a throw does.
  function wrong(): never {
    let hint = ''
    if (spec.kind === 'string' && typeof value === 'number') hint = ` (write "${value}")`
    if ((spec.kind === 'bool' || spec.kind === 'int' || spec.kind === 'uint') && typeof value === 'string' && /^-?\d+$/.test(value)) {
      hint = ` (write ${value} without quotes)`
    }
    if (spec.kind === 'stringList' && typeof value === 'string') hint = ` (write [ "${value}" ])`
    throw confError(file, line, `'${key}' expects ${KIND_TEXT[spec.kind]}, got ${describeValue(value)}${hint}`)
  }
  let out: unknown
  switch (spec.kind) {
    case 'bool':
      if (typeof value !== 'number') wrong()
      if (value !== 0 && value !== 1) throw confError(file, line, `'${key}' expects a boolean (0 or 1), got ${value}`)
      out = value === 1
      break
    case 'int':
      if (typeof value !== 'number') wrong()
      out = value
      break
    case 'uint':
      if (typeof value !== 'number') wrong()
      if (value < 0) throw confError(file, line, `'${key}' expects a non-negative integer, got ${value}`)
      out = value
      break
    case 'string':
      if (typeof value !== 'string') wrong()
      out = value
      break
    case 'stringList':
      if (!Array.isArray(value)) wrong()
      for (const item of value) {
        if (typeof item !== 'string') {
          throw confError(file, line, `'${key}' expects a list of quoted strings, but the list contains the integer ${item}`)
        }
      }
      out = [...value]
      break
  }
  if (spec.check) {
    const problem = (spec.check as (v: unknown) => string | undefined)(out)
    if (problem) throw confError(file, line, `invalid value for '${key}': ${problem}`)
  }
  return out
}

function setSetting<K extends SettingKey>(config: DaemonConfig, key: K, value: DaemonConfig[K]): void {
  config[key] = value
}

/**
 * Parses a daemon config file's text. `file` is used in messages only.
 * Throws VirError(CONF_SYNTAX, CONF) naming `file:line` for syntax and type errors;
 * unknown settings and duplicates produce warnings (also `file:line: ...`).
 */
export function parseDaemonConfig(text: string, file: string): {config: DaemonConfig; warnings: string[]} {
  const config = defaultDaemonConfig()
  const warnings: string[] = []
  const firstLine = new Map<string, number>()

  for (const entry of parseConf(text, file)) {
    const {key, line} = entry
    const seen = firstLine.get(key)
    if (seen !== undefined) {
      warnings.push(`${file}:${line}: '${key}' is already set on line ${seen}; this later setting is ignored`)
      continue
    }
    firstLine.set(key, line)
    config.explicit.add(key)
    if (Object.hasOwn(SCHEMA, key)) {
      // convert() checked the value against the setting's kind.
      setSetting(config, key as SettingKey, convert(file, entry, SCHEMA[key as SettingKey]) as DaemonConfig[SettingKey])
    } else {
      config.extra[key] = Array.isArray(entry.value) ? [...entry.value] : entry.value
      warnings.push(`${file}:${line}: unknown setting '${key}' (ignored)`)
    }
  }
  return {config, warnings}
}

/**
 * Reads and parses a config file.
 *
 * - `file` undefined: defaults (an error when `required`, since there is nothing to read).
 * - the file does not exist: defaults when not `required` (the daemon's default path), otherwise an
 *   error naming the path (an explicit `-f FILE` / `--config FILE`).
 * - any other read failure (permissions, a directory, ...) is always an error.
 *
 * `loaded` tells whether a file was actually read.
 */
export async function loadDaemonConfig(
  file: string | undefined,
  {required}: {required: boolean},
): Promise<{config: DaemonConfig; warnings: string[]; loaded: boolean}> {
  if (file === undefined) {
    if (required) {
      throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.CONF, 'invalid argument: no configuration file given', {
        str1: 'invalid argument: %s',
        str2: 'no configuration file given',
      })
    }
    return {config: defaultDaemonConfig(), warnings: [], loaded: false}
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT' && !required) return {config: defaultDaemonConfig(), warnings: [], loaded: false}
    const reason =
      e.code === 'ENOENT'
        ? 'No such file or directory'
        : e.code === 'EACCES'
          ? 'Permission denied'
          : e.code === 'EISDIR'
            ? 'Is a directory'
            : e.message
    const detail = `cannot read configuration file '${file}': ${reason}`
    throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.CONF, detail, {str1: '%s', str2: detail, str3: file})
  }
  return {...parseDaemonConfig(text, file), loaded: true}
}
