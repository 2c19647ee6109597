/** Host-level facts as people read them. */

/** libvirt encodes versions as major*1e6 + minor*1e3 + micro. */
export function formatVersion(v: bigint | number): string {
  const n = Number(v)
  return `${Math.floor(n / 1e6)}.${Math.floor((n % 1e6) / 1e3)}.${n % 1e3}`
}
