/**
 * libvirt's error model: every failure that crosses the wire is a (code, domain, message) triple,
 * plus optional detail strings. Numbers are libvirt's virErrorNumber / virErrorDomain values.
 */

export const ErrorCode = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_MEMORY: 2,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  OS_TYPE: 16,
  NO_NAME: 21,
  NO_OS: 22,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  OPEN_FAILED: 30,
  READ_FAILED: 31,
  PARSE_FAILED: 32,
  CONF_SYNTAX: 33,
  WRITE_FAILED: 34,
  XML_DETAIL: 35,
  INVALID_NETWORK: 36,
  NETWORK_EXIST: 37,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  INVALID_MAC: 44,
  AUTH_FAILED: 45,
  INVALID_STORAGE_POOL: 46,
  INVALID_STORAGE_VOL: 47,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  NO_NODE_DEVICE: 53,
  OPERATION_INVALID: 55,
  INVALID_NWFILTER: 61,
  NO_NWFILTER: 62,
  BUILD_FIREWALL: 63,
  INVALID_SECRET: 65,
  NO_SECRET: 66,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  ARGUMENT_UNSUPPORTED: 74,
  NO_DOMAIN_METADATA: 80,
  OPERATION_UNSUPPORTED: 84,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  STORAGE_VOL_EXIST: 90,
  XML_INVALID_SCHEMA: 92,
  NO_SERVER: 95,
  NO_CLIENT: 96,
  INVALID_NWFILTER_BINDING: 100,
  NO_NWFILTER_BINDING: 101,
  MULTIPLE_DOMAINS: 110,
} as const

export const ErrorDomain = {
  NONE: 0,
  XML: 5,
  DOM: 6,
  RPC: 7,
  CONF: 9,
  QEMU: 10,
  TEST: 12,
  REMOTE: 13,
  STORAGE: 18,
  NETWORK: 19,
  DOMAIN: 20,
  NODEDEV: 22,
  SECURITY: 24,
  SECRET: 30,
  NWFILTER: 33,
  INTERFACE: 26,
  CAPABILITIES: 44,
  URI: 45,
  LOCKING: 42,
  POLKIT: 60,
  ADMIN: 62,
  LOGGING: 63,
} as const

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode]

/** A libvirt-style error. `message` is the full text clients print; str1/str2 are libvirt's format/detail parts. */
export class VirError extends Error {
  readonly code: number
  readonly domain: number
  readonly str1?: string
  readonly str2?: string
  readonly str3?: string
  readonly int1: number
  readonly int2: number

  constructor(
    code: number,
    domain: number,
    message: string,
    detail: {str1?: string; str2?: string; str3?: string; int1?: number; int2?: number} = {},
  ) {
    super(message)
    this.name = 'VirError'
    this.code = code
    this.domain = domain
    this.str1 = detail.str1
    this.str2 = detail.str2
    this.str3 = detail.str3
    this.int1 = detail.int1 ?? -1
    this.int2 = detail.int2 ?? -1
  }
}

/** Builds an error whose text is libvirt's "<prefix>: <detail>" form, keeping both parts. */
export function virError(code: number, domain: number, prefix: string, detail?: string): VirError {
  const message = detail === undefined ? prefix : `${prefix}: ${detail}`
  return new VirError(code, domain, message, {str1: detail === undefined ? prefix : `${prefix}: %s`, str2: detail})
}

export const errors = {
  internal: (domain: number, detail: string) => virError(ErrorCode.INTERNAL_ERROR, domain, 'internal error', detail),
  noDomain: (domain: number, detail: string) => virError(ErrorCode.NO_DOMAIN, domain, 'Domain not found', detail),
  noNetwork: (detail: string) => virError(ErrorCode.NO_NETWORK, ErrorDomain.NETWORK, 'Network not found', detail),
  noPool: (detail: string) => virError(ErrorCode.NO_STORAGE_POOL, ErrorDomain.STORAGE, 'Storage pool not found', detail),
  noSecret: (detail: string) => virError(ErrorCode.NO_SECRET, ErrorDomain.SECRET, 'Secret not found', detail),
  operationInvalid: (domain: number, detail: string) => virError(ErrorCode.OPERATION_INVALID, domain, 'Requested operation is not valid', detail),
  operationFailed: (domain: number, detail: string) => virError(ErrorCode.OPERATION_FAILED, domain, 'operation failed', detail),
  invalidArg: (domain: number, detail: string) => virError(ErrorCode.INVALID_ARG, domain, 'invalid argument', detail),
  configUnsupported: (domain: number, detail: string) => virError(ErrorCode.CONFIG_UNSUPPORTED, domain, 'unsupported configuration', detail),
  xmlError: (domain: number, detail: string) => virError(ErrorCode.XML_ERROR, domain, 'XML error', detail),
  xmlDetail: (domain: number, detail: string) => new VirError(ErrorCode.XML_DETAIL, domain, detail, {str1: '%s', str2: detail}),
  operationDenied: (domain: number, detail: string) => virError(ErrorCode.OPERATION_DENIED, domain, 'operation forbidden', detail),
  systemError: (domain: number, detail: string) => new VirError(ErrorCode.SYSTEM_ERROR, domain, detail, {str1: '%s', str2: detail}),
  noSupport: (domain: number, detail: string) =>
    virError(ErrorCode.NO_SUPPORT, domain, 'this function is not supported by the connection driver', detail),
}

/** Formats any thrown value for people: libvirt errors print as virsh does. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
