/**
 * The `fs` pool: a filesystem on a block device (or an image file) mounted on the target directory;
 * its volumes are files, as in a dir pool. build makes the directory and, with --overwrite (or
 * --no-overwrite on a device that holds no filesystem yet), the filesystem.
 */
import * as fsp from 'node:fs/promises'

import type {PoolDef} from '../../conf/pool.js'
import {PoolBuildFlags} from '../storage-vol-types.js'
import {DirBackend, checkBuildFlags, targetOf} from './backend-dir.js'
import {sysErr} from './file-ops.js'
import {isMounted, poolBuilt, probeDevice, requireDevice, runCmd} from './sys.js'

export class FsBackend extends DirBackend {
  override readonly type: string = 'fs'

  private format(def: PoolDef): string {
    return def.sourceFormat ?? 'auto'
  }

  override async build(def: PoolDef, flags: number): Promise<void> {
    checkBuildFlags(flags)
    await super.build(def, 0)
    if (!(flags & (PoolBuildFlags.OVERWRITE | PoolBuildFlags.NO_OVERWRITE))) return
    const device = await requireDevice(def.sourceDevices[0], false)
    const format = this.format(def)
    if (flags & PoolBuildFlags.NO_OVERWRITE) {
      const found = await probeDevice(device, 'TYPE')
      if (found !== undefined) throw poolBuilt(`Device '${device}' already formatted using '${found}'`)
    }
    await runCmd('mkfs', ['-t', format === 'auto' ? 'ext4' : format, ...(format.startsWith('ext') || format === 'auto' ? ['-F', '-q'] : []), device])
  }

  override async start(def: PoolDef): Promise<void> {
    const target = targetOf(def)
    await super.start(def)
    if (await isMounted(target)) return
    const device = await requireDevice(def.sourceDevices[0], false)
    const format = this.format(def)
    await runCmd('mount', [...(format === 'auto' ? [] : ['-t', format]), ...(device.startsWith('/dev/') ? [] : ['-o', 'loop']), device, target])
  }

  override async stop(def: PoolDef): Promise<void> {
    const target = targetOf(def)
    if (await isMounted(target)) await runCmd('umount', [target])
  }

  override async delete(def: PoolDef): Promise<void> {
    const dir = targetOf(def)
    try {
      await fsp.rmdir(dir)
    } catch (err) {
      throw sysErr(`failed to remove pool '${dir}'`, err)
    }
  }
}
