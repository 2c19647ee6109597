/**
 * The REMOTE program (0x20008086 v1): handle types and the procedures vctl serves, written from
 * the protocol's published facts (numbers, layouts). Anything absent here is answered with
 * libvirt's "unknown procedure" error, which clients treat as "not supported".
 */
import * as t from '../codec.js'
import {defineProgram, proc, event} from '../program.js'
import {ErrorDomain} from '../../errors.js'

/** API families, whose error domain a read-only denial carries (default: domains). */
const {NETWORK, STORAGE, SECRET} = ErrorDomain

export const REMOTE_PROGRAM = 0x20008086
export const REMOTE_VERSION = 1

const LIST_MAX = 16384

export const domainHandle = t.struct({name: t.nonnullString, uuid: t.uuid, id: t.int})
export type DomainHandle = t.TypeOf<typeof domainHandle>
export const networkHandle = t.struct({name: t.nonnullString, uuid: t.uuid})
export type NetworkHandle = t.TypeOf<typeof networkHandle>
export const poolHandle = t.struct({name: t.nonnullString, uuid: t.uuid})
export type PoolHandle = t.TypeOf<typeof poolHandle>
export const volHandle = t.struct({pool: t.nonnullString, name: t.nonnullString, key: t.nonnullString})
export type VolHandle = t.TypeOf<typeof volHandle>
export const secretHandle = t.struct({uuid: t.uuid, usageType: t.int, usageID: t.nonnullString})
export type SecretHandle = t.TypeOf<typeof secretHandle>

const s = t.nonnullString
const dom = t.struct({dom: domainHandle})
const domFlags = t.struct({dom: domainHandle, flags: t.uint})
const net = t.struct({net: networkHandle})
const pool = t.struct({pool: poolHandle})
const poolFlags = t.struct({pool: poolHandle, flags: t.uint})
const secret = t.struct({secret: secretHandle})
const xmlArg = t.struct({xml: s})
const xmlFlags = t.struct({xml: s, flags: t.uint})
const num = t.struct({num: t.int})
const names = t.struct({maxnames: t.int})
const nameList = t.struct({names: t.array(s, LIST_MAX)})
const xmlRet = t.struct({xml: s})
const autostart = t.struct({autostart: t.int})
const intRet = (field: string) => t.struct({[field]: t.int})
const retDom = t.struct({dom: domainHandle})
const retNet = t.struct({net: networkHandle})
const retPool = t.struct({pool: poolHandle})
const retSecret = t.struct({secret: secretHandle})
const listAll = t.struct({need_results: t.int, flags: t.uint})
const registerAny = <H>(h: t.Codec<H>) => t.struct({eventID: t.int, handle: t.optional(h)})
const callbackId = t.struct({callbackID: t.int})

/**
 * In procedure-number order. Access rules: `ro` = allowed on a read-only connection; `preOpen` =
 * allowed before CONNECT_OPEN; `errDomain` = the API family a read-only denial names.
 */
export const remote = defineProgram(
  'REMOTE',
  REMOTE_PROGRAM,
  REMOTE_VERSION,
  {
    CONNECT_OPEN: proc(1, t.struct({name: t.optString, flags: t.uint}), t.voidType, {ro: true, preOpen: true}),
    CONNECT_CLOSE: proc(2, t.voidType, t.voidType, {ro: true, preOpen: true}),
    CONNECT_GET_TYPE: proc(3, t.voidType, t.struct({type: s}), {ro: true}),
    CONNECT_GET_VERSION: proc(4, t.voidType, t.struct({hv_ver: t.uhyper}), {ro: true}),
    CONNECT_GET_MAX_VCPUS: proc(5, t.struct({type: t.optString}), t.struct({max_vcpus: t.int}), {ro: true}),
    NODE_GET_INFO: proc(
      6,
      t.voidType,
      t.struct({
        model: t.charFixed(32),
        memory: t.uhyper,
        cpus: t.int,
        mhz: t.int,
        nodes: t.int,
        sockets: t.int,
        cores: t.int,
        threads: t.int,
      }),
      {ro: true},
    ),
    CONNECT_GET_CAPABILITIES: proc(7, t.voidType, t.struct({capabilities: s}), {ro: true}),
    DOMAIN_CREATE: proc(9, dom, t.voidType),
    DOMAIN_CREATE_XML: proc(10, t.struct({xml_desc: s, flags: t.uint}), retDom),
    DOMAIN_DEFINE_XML: proc(11, xmlArg, retDom),
    DOMAIN_DESTROY: proc(12, dom, t.voidType),
    DOMAIN_GET_XML_DESC: proc(14, domFlags, xmlRet, {ro: true}),
    DOMAIN_GET_AUTOSTART: proc(15, dom, autostart, {ro: true}),
    DOMAIN_GET_INFO: proc(16, dom, t.struct({state: t.uint, maxMem: t.uhyper, memory: t.uhyper, nrVirtCpu: t.uint, cpuTime: t.uhyper}), {ro: true}),
    DOMAIN_GET_MAX_MEMORY: proc(17, dom, t.struct({memory: t.uhyper}), {ro: true}),
    DOMAIN_GET_MAX_VCPUS: proc(18, dom, num, {ro: true}),
    DOMAIN_GET_OS_TYPE: proc(19, dom, t.struct({type: s}), {ro: true}),
    CONNECT_LIST_DEFINED_DOMAINS: proc(21, names, nameList, {ro: true}),
    DOMAIN_LOOKUP_BY_ID: proc(22, t.struct({id: t.int}), retDom, {ro: true}),
    DOMAIN_LOOKUP_BY_NAME: proc(23, t.struct({name: s}), retDom, {ro: true}),
    DOMAIN_LOOKUP_BY_UUID: proc(24, t.struct({uuid: t.uuid}), retDom, {ro: true}),
    CONNECT_NUM_OF_DEFINED_DOMAINS: proc(25, t.voidType, num, {ro: true}),
    DOMAIN_REBOOT: proc(27, domFlags, t.voidType),
    DOMAIN_RESUME: proc(28, dom, t.voidType),
    DOMAIN_SET_AUTOSTART: proc(29, t.struct({dom: domainHandle, autostart: t.int}), t.voidType),
    DOMAIN_SHUTDOWN: proc(33, dom, t.voidType),
    DOMAIN_SUSPEND: proc(34, dom, t.voidType),
    DOMAIN_UNDEFINE: proc(35, dom, t.voidType),
    CONNECT_LIST_DEFINED_NETWORKS: proc(36, names, nameList, {ro: true, errDomain: NETWORK}),
    CONNECT_LIST_DOMAINS: proc(37, t.struct({maxids: t.int}), t.struct({ids: t.array(t.int, LIST_MAX)}), {ro: true}),
    CONNECT_LIST_NETWORKS: proc(38, names, nameList, {ro: true, errDomain: NETWORK}),
    NETWORK_CREATE: proc(39, net, t.voidType, {errDomain: NETWORK}),
    NETWORK_CREATE_XML: proc(40, xmlArg, retNet, {errDomain: NETWORK}),
    NETWORK_DEFINE_XML: proc(41, xmlArg, retNet, {errDomain: NETWORK}),
    NETWORK_DESTROY: proc(42, net, t.voidType, {errDomain: NETWORK}),
    NETWORK_GET_XML_DESC: proc(43, t.struct({net: networkHandle, flags: t.uint}), xmlRet, {ro: true, errDomain: NETWORK}),
    NETWORK_GET_AUTOSTART: proc(44, net, autostart, {ro: true, errDomain: NETWORK}),
    NETWORK_GET_BRIDGE_NAME: proc(45, net, t.struct({name: s}), {ro: true, errDomain: NETWORK}),
    NETWORK_LOOKUP_BY_NAME: proc(46, t.struct({name: s}), retNet, {ro: true, errDomain: NETWORK}),
    NETWORK_LOOKUP_BY_UUID: proc(47, t.struct({uuid: t.uuid}), retNet, {ro: true, errDomain: NETWORK}),
    NETWORK_SET_AUTOSTART: proc(48, t.struct({net: networkHandle, autostart: t.int}), t.voidType, {errDomain: NETWORK}),
    NETWORK_UNDEFINE: proc(49, net, t.voidType, {errDomain: NETWORK}),
    CONNECT_NUM_OF_DEFINED_NETWORKS: proc(50, t.voidType, num, {ro: true, errDomain: NETWORK}),
    CONNECT_NUM_OF_DOMAINS: proc(51, t.voidType, num, {ro: true}),
    CONNECT_NUM_OF_NETWORKS: proc(52, t.voidType, num, {ro: true, errDomain: NETWORK}),
    CONNECT_GET_HOSTNAME: proc(59, t.voidType, t.struct({hostname: s}), {ro: true}),
    CONNECT_SUPPORTS_FEATURE: proc(60, t.struct({feature: t.int}), t.struct({supported: t.int}), {ro: true, preOpen: true}),
    AUTH_LIST: proc(66, t.voidType, t.struct({types: t.array(t.int, 20)}), {ro: true, preOpen: true, preAuth: true}),
    AUTH_POLKIT: proc(70, t.voidType, t.struct({complete: t.int}), {ro: true, preOpen: true, preAuth: true}),
    CONNECT_NUM_OF_STORAGE_POOLS: proc(71, t.voidType, num, {ro: true, errDomain: STORAGE}),
    CONNECT_LIST_STORAGE_POOLS: proc(72, names, nameList, {ro: true, errDomain: STORAGE}),
    CONNECT_NUM_OF_DEFINED_STORAGE_POOLS: proc(73, t.voidType, num, {ro: true, errDomain: STORAGE}),
    CONNECT_LIST_DEFINED_STORAGE_POOLS: proc(74, names, nameList, {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_CREATE_XML: proc(76, xmlFlags, retPool, {errDomain: STORAGE}),
    STORAGE_POOL_DEFINE_XML: proc(77, xmlFlags, retPool, {errDomain: STORAGE}),
    STORAGE_POOL_CREATE: proc(78, poolFlags, t.voidType, {errDomain: STORAGE}),
    STORAGE_POOL_BUILD: proc(79, poolFlags, t.voidType, {errDomain: STORAGE}),
    STORAGE_POOL_DESTROY: proc(80, pool, t.voidType, {errDomain: STORAGE}),
    STORAGE_POOL_UNDEFINE: proc(82, pool, t.voidType, {errDomain: STORAGE}),
    STORAGE_POOL_REFRESH: proc(83, poolFlags, t.voidType, {errDomain: STORAGE}),
    STORAGE_POOL_LOOKUP_BY_NAME: proc(84, t.struct({name: s}), retPool, {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_LOOKUP_BY_UUID: proc(85, t.struct({uuid: t.uuid}), retPool, {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_GET_INFO: proc(87, pool, t.struct({state: t.uint, capacity: t.uhyper, allocation: t.uhyper, available: t.uhyper}), {
      ro: true,
      errDomain: STORAGE,
    }),
    STORAGE_POOL_GET_XML_DESC: proc(88, poolFlags, xmlRet, {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_GET_AUTOSTART: proc(89, pool, autostart, {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_SET_AUTOSTART: proc(90, t.struct({pool: poolHandle, autostart: t.int}), t.voidType, {errDomain: STORAGE}),
    STORAGE_POOL_NUM_OF_VOLUMES: proc(91, pool, num, {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_LIST_VOLUMES: proc(92, t.struct({pool: poolHandle, maxnames: t.int}), nameList, {ro: true, errDomain: STORAGE}),
    NODE_GET_FREE_MEMORY: proc(102, t.voidType, t.struct({freeMem: t.uhyper}), {ro: true}),
    CONNECT_GET_URI: proc(110, t.voidType, t.struct({uri: s}), {ro: true}),
    DOMAIN_GET_SECURITY_LABEL: proc(121, dom, t.struct({label: t.charString(4097), enforcing: t.int}), {ro: true}),
    NODE_GET_SECURITY_MODEL: proc(122, t.voidType, t.struct({model: t.charString(257), doi: t.charString(257)}), {ro: true}),
    CONNECT_NUM_OF_SECRETS: proc(139, t.voidType, num, {ro: true, errDomain: SECRET}),
    SECRET_LOOKUP_BY_UUID: proc(141, t.struct({uuid: t.uuid}), retSecret, {ro: true, errDomain: SECRET}),
    SECRET_DEFINE_XML: proc(142, xmlFlags, retSecret, {errDomain: SECRET}),
    SECRET_GET_XML_DESC: proc(143, t.struct({secret: secretHandle, flags: t.uint}), xmlRet, {ro: true, errDomain: SECRET}),
    SECRET_SET_VALUE: proc(144, t.struct({secret: secretHandle, value: t.opaque(65536), flags: t.uint}), t.voidType, {errDomain: SECRET}),
    SECRET_GET_VALUE: proc(145, t.struct({secret: secretHandle, flags: t.uint}), t.struct({value: t.opaque(65536)}), {errDomain: SECRET}),
    SECRET_UNDEFINE: proc(146, secret, t.voidType, {errDomain: SECRET}),
    SECRET_LOOKUP_BY_USAGE: proc(147, t.struct({usageType: t.int, usageID: s}), retSecret, {ro: true, errDomain: SECRET}),
    CONNECT_IS_SECURE: proc(149, t.voidType, t.struct({secure: t.int}), {ro: true}),
    DOMAIN_IS_ACTIVE: proc(150, dom, intRet('active'), {ro: true}),
    DOMAIN_IS_PERSISTENT: proc(151, dom, intRet('persistent'), {ro: true}),
    NETWORK_IS_ACTIVE: proc(152, net, intRet('active'), {ro: true, errDomain: NETWORK}),
    NETWORK_IS_PERSISTENT: proc(153, net, intRet('persistent'), {ro: true, errDomain: NETWORK}),
    STORAGE_POOL_IS_ACTIVE: proc(154, pool, intRet('active'), {ro: true, errDomain: STORAGE}),
    STORAGE_POOL_IS_PERSISTENT: proc(155, pool, intRet('persistent'), {ro: true, errDomain: STORAGE}),
    CONNECT_GET_LIB_VERSION: proc(157, t.voidType, t.struct({lib_ver: t.uhyper}), {ro: true}),
    DOMAIN_HAS_MANAGED_SAVE_IMAGE: proc(183, domFlags, intRet('result'), {ro: true}),
    DOMAIN_SNAPSHOT_NUM: proc(187, domFlags, num, {ro: true}),
    DOMAIN_CREATE_WITH_FLAGS: proc(196, domFlags, retDom),
    DOMAIN_IS_UPDATED: proc(202, dom, intRet('updated'), {ro: true}),
    DOMAIN_GET_STATE: proc(212, domFlags, t.struct({state: t.int, reason: t.int}), {ro: true}),
    DOMAIN_UNDEFINE_FLAGS: proc(231, domFlags, t.voidType),
    DOMAIN_DESTROY_FLAGS: proc(234, domFlags, t.voidType),
    DOMAIN_RESET: proc(245, domFlags, t.voidType),
    DOMAIN_SHUTDOWN_FLAGS: proc(258, domFlags, t.voidType),
    CONNECT_LIST_ALL_DOMAINS: proc(273, listAll, t.struct({domains: t.array(domainHandle, LIST_MAX), ret: t.uint}), {ro: true}),
    CONNECT_LIST_ALL_STORAGE_POOLS: proc(281, listAll, t.struct({pools: t.array(poolHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: STORAGE}),
    CONNECT_LIST_ALL_NETWORKS: proc(283, listAll, t.struct({nets: t.array(networkHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: NETWORK}),
    CONNECT_LIST_ALL_SECRETS: proc(287, listAll, t.struct({secrets: t.array(secretHandle, LIST_MAX), ret: t.uint}), {ro: true, errDomain: SECRET}),
    CONNECT_NETWORK_EVENT_REGISTER_ANY: proc(313, registerAny(networkHandle), callbackId, {ro: true, errDomain: NETWORK}),
    CONNECT_NETWORK_EVENT_DEREGISTER_ANY: proc(314, callbackId, t.voidType, {ro: true, errDomain: NETWORK}),
    CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: proc(316, registerAny(domainHandle), callbackId, {ro: true}),
    CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: proc(317, callbackId, t.voidType, {ro: true}),
    CONNECT_GET_DOMAIN_CAPABILITIES: proc(
      342,
      t.struct({emulatorbin: t.optString, arch: t.optString, machine: t.optString, virttype: t.optString, flags: t.uint}),
      t.struct({capabilities: s}),
    ),
    CONNECT_GET_ALL_DOMAIN_STATS: proc(
      344,
      t.struct({doms: t.array(domainHandle, LIST_MAX), stats: t.uint, flags: t.uint}),
      t.struct({retStats: t.array(t.struct({dom: domainHandle, params: t.typedParams(262144)}), LIST_MAX)}),
      {ro: true},
    ),
    DOMAIN_DEFINE_XML_FLAGS: proc(350, xmlFlags, retDom),
    CONNECT_REGISTER_CLOSE_CALLBACK: proc(360, t.voidType, t.voidType, {ro: true}),
    CONNECT_UNREGISTER_CLOSE_CALLBACK: proc(361, t.voidType, t.voidType, {ro: true}),
    CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY: proc(368, registerAny(poolHandle), callbackId, {ro: true, errDomain: STORAGE}),
    CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY: proc(369, callbackId, t.voidType, {ro: true, errDomain: STORAGE}),
    CONNECT_SECRET_EVENT_REGISTER_ANY: proc(380, registerAny(secretHandle), callbackId, {ro: true, errDomain: SECRET}),
    CONNECT_SECRET_EVENT_DEREGISTER_ANY: proc(381, callbackId, t.voidType, {ro: true, errDomain: SECRET}),
    DOMAIN_GET_MESSAGES: proc(426, domFlags, t.struct({msgs: t.array(s, 2048)}), {ro: true}),
    NETWORK_DEFINE_XML_FLAGS: proc(432, xmlFlags, retNet, {errDomain: NETWORK}),
    NETWORK_CREATE_XML_FLAGS: proc(437, xmlFlags, retNet, {errDomain: NETWORK}),
  },
  {
    NETWORK_EVENT_LIFECYCLE: event(315, t.struct({callbackID: t.int, net: networkHandle, event: t.int, detail: t.int})),
    DOMAIN_EVENT_CALLBACK_LIFECYCLE: event(318, t.struct({callbackID: t.int, dom: domainHandle, event: t.int, detail: t.int})),
    DOMAIN_EVENT_CALLBACK_REBOOT: event(319, t.struct({callbackID: t.int, dom: domainHandle})),
    CONNECT_EVENT_CONNECTION_CLOSED: event(362, t.struct({reason: t.int})),
    STORAGE_POOL_EVENT_LIFECYCLE: event(370, t.struct({callbackID: t.int, pool: poolHandle, event: t.int, detail: t.int})),
    SECRET_EVENT_LIFECYCLE: event(382, t.struct({callbackID: t.int, secret: secretHandle, event: t.int, detail: t.int})),
    SECRET_EVENT_VALUE_CHANGED: event(383, t.struct({callbackID: t.int, secret: secretHandle})),
  },
)

/** Domain event IDs (virDomainEventID) and the MESSAGE procedure each is delivered with. */
export const DomainEventId = {LIFECYCLE: 0, REBOOT: 1} as const
export const DOMAIN_EVENT_ID_MAX = 27

/** Connection features (virDrvFeature) clients query with CONNECT_SUPPORTS_FEATURE. */
export const Feature = {
  FD_PASSING: 8,
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
  NETWORK_UPDATE_HAS_CORRECT_ORDER: 16,
} as const
