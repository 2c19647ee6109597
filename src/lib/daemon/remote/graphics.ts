/**
 * The REMOTE handlers that connect a client to a guest's display through a socket:
 * DOMAIN_OPEN_GRAPHICS_FD returns a new socket beside its reply (REPLY_WITH_FDS), and
 * DOMAIN_OPEN_GRAPHICS takes the client's socket from beside the call (CALL_WITH_FDS).
 */
import {fstatSync} from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {closeFds} from '../../os/fdpass.js'
import {WithFds} from '../../rpc/fd-writer.js'
import {P, hv, u, type On} from './context.js'

export function registerGraphics(on: On): void {
  on(P.DOMAIN_OPEN_GRAPHICS_FD, async (conn, {dom, idx, flags}) => {
    const h = hv(conn)
    if (!h.openGraphicsFd) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainOpenGraphicsFD')
    const fd = await h.openGraphicsFd(u(dom), idx, flags)
    // void reply plus the descriptor; server.ts sends it as REPLY_WITH_FDS and closes our copy.
    return new WithFds(undefined, [fd])
  })
  on(P.DOMAIN_OPEN_GRAPHICS, async (conn, {dom, idx, flags}) => {
    const fds = conn.takeFds()
    try {
      const fd = fds[0]
      if (fd === undefined) throw errors.internal(ErrorDomain.RPC, 'No FD available at slot 0')
      // What libvirt's public API checks of the descriptor before the driver sees it.
      let isSocket: boolean
      try {
        isSocket = fstatSync(fd).isSocket()
      } catch (err) {
        throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.DOMAIN, `Unable to access file descriptor ${fd}: ${(err as Error).message}`)
      }
      if (!isSocket)
        throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.DOMAIN, `fd ${fd} must be a socket`, {str1: '%s', str2: `fd ${fd} must be a socket`})
      const h = hv(conn)
      if (!h.openGraphics) throw errors.noSupport(ErrorDomain.DOMAIN, 'virDomainOpenGraphics')
      await h.openGraphics(u(dom), idx, fd, flags)
    } finally {
      closeFds(fds)
    }
  })
}
