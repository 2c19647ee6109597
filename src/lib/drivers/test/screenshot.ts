/**
 * Screenshots on the test driver: like libvirt's, any domain, running or not, any screen, shows
 * the PNG libvirt installs for it (PKGDATADIR/test-screenshot.png).
 */
import {createReadStream, existsSync} from 'node:fs'
import {ErrorDomain, errors} from '../../errors.js'
import {unsupportedFlags, type Screenshot} from '../console-types.js'

export const TEST_SCREENSHOT = '/usr/share/libvirt/test-screenshot.png'

export function testScreenshot(flags: number, file = TEST_SCREENSHOT): Screenshot {
  if (flags !== 0) throw unsupportedFlags(ErrorDomain.TEST, flags, 'testDomainScreenshot')
  if (!existsSync(file)) throw errors.systemError(ErrorDomain.NONE, `Unable to open stream for '${file}': No such file or directory`)
  return {mime: 'image/png', data: createReadStream(file)}
}
