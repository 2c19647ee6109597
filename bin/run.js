#!/usr/bin/env node
import {execute, settings} from '@oclif/core'

// Tests and users run the compiled dist/, never TypeScript sources through a loader.
settings.enableAutoTranspile = false
await execute({dir: import.meta.url})
