/**
 * Switching between the monolithic layout (libvirtd serves every driver) and the modular one (one
 * daemon per driver, virtproxyd on the monolithic sockets), the way libvirt's documentation has
 * administrators do it by hand: stop and disable one set of units, enable and start the other.
 *
 * The switch is a plan: a list of steps (systemctl verb + units), each with the inverse actions that
 * restore the state the units had before (computed from a snapshot taken when planning). Executing
 * runs the steps in order; offline steps (enable/disable/mask/unmask) always run, through
 * `systemctl --root` with a root; online steps (start/stop) are skipped, with the reason, when there
 * is no running systemd to ask. When a step fails, the steps already done are undone in reverse
 * order and the error names the step that broke.
 */
export * from './mode-plan.js'
export * from './mode-execute.js'
export * from './mode-guests.js'
export * from './mode-status.js'
