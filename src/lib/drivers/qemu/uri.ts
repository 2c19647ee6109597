/** The QEMU driver's URI paths: a daemon serves qemu:///system or qemu:///session, never both. */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'

/** libvirt's "no connection driver available" for a path this daemon's mode does not serve. */
export function checkQemuUriPath(mode: string, path: string): void {
  if (path !== `/${mode}`) {
    throw new VirError(
      ErrorCode.NO_CONNECT,
      ErrorDomain.QEMU,
      `no connection driver available for qemu://${path}: this daemon serves qemu:///${mode} only`,
      {
        str1: 'no connection driver available for %s',
        str2: `qemu://${path}`,
      },
    )
  }
}
