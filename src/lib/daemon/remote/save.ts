/** The REMOTE handlers of save/restore and managed save: procedure -> the hypervisor's SaveDriver. */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {TypedParamType, type TypedParam} from '../../rpc/codec.js'
import type {RpcConnection} from '../../rpc/server.js'
import {SaveImageXmlFlags, type SaveDriver} from '../../drivers/save-types.js'
import {P, hv, u, type On} from './context.js'

function saveDrv(conn: RpcConnection, fn: string): SaveDriver {
  const s = hv(conn).saves
  if (!s) {
    throw new VirError(ErrorCode.NO_SUPPORT, ErrorDomain.DOMAIN, `this function is not supported by the connection driver: ${fn}`, {
      str1: 'this function is not supported by the connection driver: %s',
      str2: fn,
    })
  }
  return s
}

/** VIR_DOMAIN_SAVE_PARAM_FILE / _DXML out of virDomainSaveParams' typed parameters. */
function saveParams(params: TypedParam[]): {file: string | null; dxml: string | null} {
  let file: string | null = null
  let dxml: string | null = null
  for (const p of params) {
    if ((p.field !== 'file' && p.field !== 'dxml') || p.type !== TypedParamType.STRING) {
      const detail = `parameter '${p.field}' not supported`
      throw new VirError(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.NONE, `argument unsupported: ${detail}`, {
        str1: 'argument unsupported: %s',
        str2: detail,
      })
    }
    if (p.field === 'file') file = p.value
    else dxml = p.value
  }
  return {file, dxml}
}

export function registerSaves(on: On): void {
  on(P.DOMAIN_SAVE, (conn, {dom, to}) => saveDrv(conn, 'virDomainSave').save(u(dom), to, null, 0))
  on(P.DOMAIN_SAVE_FLAGS, (conn, {dom, to, dxml, flags}) => saveDrv(conn, 'virDomainSaveFlags').save(u(dom), to, dxml, flags))
  on(P.DOMAIN_SAVE_PARAMS, (conn, {dom, params, flags}) => {
    const p = saveParams(params)
    if (p.file === null) {
      throw new VirError(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, 'Operation not supported: saving to a file needs a file name')
    }
    return saveDrv(conn, 'virDomainSaveParams').save(u(dom), p.file, p.dxml, flags)
  })
  on(P.DOMAIN_RESTORE, (conn, {from}) => saveDrv(conn, 'virDomainRestore').restore(from, null, 0))
  on(P.DOMAIN_RESTORE_FLAGS, (conn, {from, dxml, flags}) => saveDrv(conn, 'virDomainRestoreFlags').restore(from, dxml, flags))
  on(P.DOMAIN_RESTORE_PARAMS, (conn, {params, flags}) => {
    const p = saveParams(params)
    if (p.file === null) {
      throw new VirError(ErrorCode.OPERATION_UNSUPPORTED, ErrorDomain.QEMU, 'Operation not supported: restoring needs a file name')
    }
    return saveDrv(conn, 'virDomainRestoreParams').restore(p.file, p.dxml, flags)
  })
  on(P.DOMAIN_SAVE_IMAGE_GET_XML_DESC, async (conn, {file, flags}) => ({
    xml: await saveDrv(conn, 'virDomainSaveImageGetXMLDesc').saveImageGetXMLDesc(file, flags),
  }))
  on(P.DOMAIN_SAVE_IMAGE_DEFINE_XML, (conn, {file, dxml, flags}) =>
    saveDrv(conn, 'virDomainSaveImageDefineXML').saveImageDefineXML(file, dxml, flags),
  )
  on(P.DOMAIN_MANAGED_SAVE, (conn, {dom, flags}) => saveDrv(conn, 'virDomainManagedSave').managedSave(u(dom), flags))
  on(P.DOMAIN_MANAGED_SAVE_REMOVE, (conn, {dom, flags}) => saveDrv(conn, 'virDomainManagedSaveRemove').managedSaveRemove(u(dom), flags))
  on(P.DOMAIN_MANAGED_SAVE_GET_XML_DESC, async (conn, {dom, flags}) => {
    if (conn.readonly && flags & SaveImageXmlFlags.SECURE) {
      const detail = 'virDomainManagedSaveGetXMLDesc with secure flag'
      throw new VirError(ErrorCode.OPERATION_DENIED, ErrorDomain.DOMAIN, `operation forbidden: ${detail}`, {
        str1: 'operation forbidden: %s',
        str2: detail,
      })
    }
    return {xml: await saveDrv(conn, 'virDomainManagedSaveGetXMLDesc').managedSaveGetXMLDesc(u(dom), flags)}
  })
  on(P.DOMAIN_MANAGED_SAVE_DEFINE_XML, (conn, {dom, dxml, flags}) =>
    saveDrv(conn, 'virDomainManagedSaveDefineXML').managedSaveDefineXML(u(dom), dxml, flags),
  )
}
