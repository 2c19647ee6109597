/** Writes a changed copy of a QEMU domain's persistent definition atomically, then keeps it. */
import {formatDomainXml, type DomainDef} from '../../conf/domain.js'
import {cloneDef, type QemuContext, type QemuDomain} from './context.js'

export async function updatePersistent(ctx: QemuContext, d: QemuDomain, fn: (def: DomainDef) => void): Promise<void> {
  if (!d.config) return
  const copy = cloneDef(d.config)
  fn(copy)
  await ctx.store.writeConfig(copy.name, formatDomainXml(copy, {secure: true}))
  d.config = copy
}
