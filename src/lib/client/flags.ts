/**
 * Flag values of libvirt's public API that vctl's client passes, named as in libvirt's headers
 * (virConnectListAllDomainsFlags, virDomainXMLFlags, ...). The values are part of the wire protocol.
 */

/** virConnectListAllDomainsFlags */
export const ListDomainsFlags = {ACTIVE: 1, INACTIVE: 2} as const

/** virDomainXMLFlags */
export const DomainXmlFlags = {SECURE: 1, INACTIVE: 2} as const

/** virDomainDefineFlags */
export const DomainDefineFlags = {VALIDATE: 1} as const

/** virDomainCreateFlags */
export const DomainCreateFlags = {START_PAUSED: 1} as const

/** virDomainDestroyFlagsValues */
export const DomainDestroyFlags = {GRACEFUL: 1} as const

/** virDomainShutdownFlagValues, by the names virsh's --mode takes. */
export const ShutdownModes = {acpi: 1, agent: 2, initctl: 4, signal: 8, paravirt: 16} as const
export type ShutdownMode = keyof typeof ShutdownModes

/** virDomainRebootFlagValues (reset is a separate call, virDomainReset). */
export const RebootModes = {default: 0, acpi: 1} as const
export type RebootMode = keyof typeof RebootModes | 'reset'

/** virConnectFlags for CONNECT_OPEN. */
export const ConnectFlags = {RO: 1} as const

/** Authentication schemes of AUTH_LIST (remote_auth_type). */
export const AuthType = {NONE: 0, SASL: 1, POLKIT: 2} as const

/** virDomainState */
export const DomainState = {NOSTATE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, SHUTDOWN: 4, SHUTOFF: 5, CRASHED: 6, PMSUSPENDED: 7} as const
