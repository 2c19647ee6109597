/** The parts of @oclif/core that bin/run.js and the daemon's fast path need, from the bundled copy the commands use. */
export {Errors, execute, settings} from '@oclif/core'
