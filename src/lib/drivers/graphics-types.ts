/** Driver methods that connect a client to a running guest's display (VNC, SPICE) through a socket. */

/** virDomainOpenGraphicsFlags. */
export const OpenGraphicsFlags = {SKIPAUTH: 1} as const

export interface GraphicsDriver {
  /**
   * virDomainOpenGraphicsFD: a new socket connected to graphics device `idx` of a running guest,
   * already a client of its display server. The caller owns the returned descriptor.
   */
  openGraphicsFd?(uuid: string, idx: number, flags: number): Promise<number>
  /**
   * virDomainOpenGraphics: makes the caller's connected socket `fd` a client of graphics device
   * `idx`. The driver only borrows `fd` (it hands QEMU a copy); the caller closes it.
   */
  openGraphics?(uuid: string, idx: number, fd: number, flags: number): Promise<void>
}
