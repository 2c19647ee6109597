/** The part of @oclif/core bin/run.js needs, from the same bundled copy the commands use. */
export {execute, settings} from '@oclif/core'
