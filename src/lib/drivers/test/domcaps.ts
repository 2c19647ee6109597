/**
 * Domain capabilities of the test driver (test:///default). libvirt 9.0's test driver has no
 * virConnectGetDomainCapabilities (newer libvirt's does): this answers like the newer one, for the
 * driver's one emulator (/usr/bin/test-hv, i686, virt type 'test'), and lists the disk, graphics
 * and video values the test driver accepts in a definition (libvirt's parser values: it runs
 * nothing, so any of them can be defined). The other arguments are not checked, as there.
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {NO, UNSUPPORTED_DEVICES, UNSUPPORTED_FEATURES, formatDomainCaps} from '../../conf/domain-caps.js'
import type {DomainCapsArgs} from '../types.js'

export const TEST_EMULATOR = '/usr/bin/test-hv'

export function testDomainCapabilities(args: DomainCapsArgs): string {
  if (args.flags !== 0) {
    const msg = `unsupported flags (0x${args.flags.toString(16)}) in function testConnectGetDomainCapabilities`
    throw new VirError(ErrorCode.INVALID_ARG, ErrorDomain.TEST, msg, {str1: '%s', str2: msg})
  }
  return formatDomainCaps({
    path: TEST_EMULATOR,
    domain: 'test',
    arch: 'i686',
    iothreads: false,
    os: {supported: true, firmware: [], loader: NO},
    cpu: {hostPassthrough: NO, maximum: NO, hostModel: NO, custom: {supported: false, models: []}},
    memoryBacking: NO,
    devices: [
      [
        'disk',
        {
          supported: true,
          enums: [
            {name: 'diskDevice', values: ['disk', 'cdrom', 'floppy', 'lun']},
            {name: 'bus', values: ['ide', 'fdc', 'scsi', 'virtio', 'xen', 'usb', 'sata', 'sd']},
            {name: 'model', values: []},
          ],
        },
      ],
      ['graphics', {supported: true, enums: [{name: 'type', values: ['sdl', 'vnc', 'rdp', 'desktop', 'spice', 'egl-headless', 'dbus']}]}],
      [
        'video',
        {
          supported: true,
          enums: [
            {name: 'modelType', values: ['vga', 'cirrus', 'vmvga', 'xen', 'vbox', 'qxl', 'parallels', 'virtio', 'gop', 'none', 'bochs', 'ramfb']},
          ],
        },
      ],
      ...UNSUPPORTED_DEVICES,
    ],
    features: UNSUPPORTED_FEATURES,
  })
}
