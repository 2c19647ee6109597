#!/usr/bin/env node
// vctl's entry: the bundled oclif from dist/ (npm run build), which reads oclif.manifest.json
// instead of importing every command to list them.
import {execute, settings} from '../dist/lib/cli/oclif.js'

// Tests and users run the compiled dist/, never TypeScript sources through a loader.
settings.enableAutoTranspile = false
await execute({dir: import.meta.url})
