/**
 * The answer to a REMOTE procedure libvirt 9.0 has but vctl's tables do not: what libvirtd answers
 * when its driver lacks the function (after the same gates: authentication, an open connection, the
 * public API's read-only check). Event numbers and numbers libvirt does not have stay "unknown procedure".
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {apiName} from '../../rpc/dispatch.js'
import {knownRemoteProc} from '../../rpc/programs/remote/all-procs.js'
import type {RpcConnection} from '../../rpc/server.js'

const NWFILTER = 33
const STREAMS = 38

/** The error domain of the public API's source file. */
function apiDomain(name: string): number {
  const prefixes: Array<[string, number]> = [
    ['NETWORK_', ErrorDomain.NETWORK],
    ['STORAGE_', ErrorDomain.STORAGE],
    ['NODE_DEVICE_', ErrorDomain.NODEDEV],
    ['SECRET_', ErrorDomain.SECRET],
    ['INTERFACE_', ErrorDomain.INTERFACE],
    ['NWFILTER_', NWFILTER],
    ['STREAM_', STREAMS],
  ]
  for (const [p, d] of prefixes) if (name.startsWith(p)) return d
  return ErrorDomain.DOMAIN
}

/** The error for procedure `num`, or undefined when libvirt 9.0 has no such procedure (the caller answers "unknown procedure"). */
export function unimplementedRemote(conn: RpcConnection, num: number): VirError | undefined {
  const known = knownRemoteProc(num)
  if (!known) return undefined
  if (!conn.authenticated) return new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'authentication required')
  if (!conn.opened) return new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, 'internal error: hypervisor connection not open')
  const api = apiName(known.name)
  const domain = apiDomain(known.name)
  if (conn.readonly && known.roDenied) return errors.operationDenied(domain, `read only access prevents ${api}`)
  return errors.noSupport(domain, api)
}
