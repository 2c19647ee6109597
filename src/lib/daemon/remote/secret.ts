/** The REMOTE handlers of secrets. */
import {uuidToString} from '../../uuid.js'
import {P, secretDrv, toSecret, u, then, type On} from './context.js'

export function registerSecrets(on: On): void {
  on(P.CONNECT_LIST_ALL_SECRETS, (conn, {need_results, flags}) => {
    const list = secretDrv(conn).listSecrets(flags)
    return {secrets: need_results ? list.map(toSecret) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_SECRETS, (conn) => ({num: secretDrv(conn).listSecrets(0).length}))
  on(P.SECRET_LOOKUP_BY_UUID, (conn, {uuid}) => ({secret: toSecret(secretDrv(conn).lookupSecretByUuid(uuidToString(uuid)))}))
  on(P.SECRET_LOOKUP_BY_USAGE, (conn, {usageType, usageID}) => ({secret: toSecret(secretDrv(conn).lookupSecretByUsage(usageType, usageID))}))
  on(P.SECRET_DEFINE_XML, (conn, {xml, flags}) => then(secretDrv(conn).secretDefineXML(xml, flags), (r) => ({secret: toSecret(r)})))
  on(P.SECRET_GET_XML_DESC, (conn, {secret, flags}) => ({xml: secretDrv(conn).secretGetXMLDesc(u(secret), flags)}))
  on(P.SECRET_SET_VALUE, (conn, {secret, value, flags}) => secretDrv(conn).secretSetValue(u(secret), value, flags))
  on(P.SECRET_GET_VALUE, (conn, {secret, flags}) => ({value: secretDrv(conn).secretGetValue(u(secret), flags, false)}))
  on(P.SECRET_UNDEFINE, (conn, {secret}) => secretDrv(conn).secretUndefine(u(secret)))
}
