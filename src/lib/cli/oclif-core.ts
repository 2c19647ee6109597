/**
 * @oclif/core as the built CLI loads it (the build points every `from '@oclif/core'` here): one
 * CommonJS bundle, dist/lib/vendor/oclif-wrapped.js, compiled with the V8 code cache the build wrote
 * beside it, which halves what loading oclif costs at every start. A cache V8 rejects (another node
 * version) only costs the compile it would have saved. The file is the module wrapped as a
 * function whose last parameter stands in for import(), which code compiled from a cache cannot run.
 */
import {createRequire} from 'node:module'
import {readFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Script} from 'node:vm'
import type * as Oclif from '@oclif/core'

type Wrapped = (
  exports: object,
  require: NodeJS.Require,
  module: {exports: object},
  filename: string,
  dirname: string,
  importModule: (specifier: string) => Promise<unknown>,
) => void

/** dist/lib/vendor, from wherever in dist/ the bundler put this module. */
function vendorDir(): string {
  const here = fileURLToPath(import.meta.url)
  return `${here.slice(0, here.lastIndexOf('/dist/'))}/dist/lib/vendor`
}

function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file)
  } catch {
    return undefined
  }
}

/** Runs the wrapped CommonJS module as require() would, compiled with its code cache. */
function loadWithCodeCache(file: string): object {
  const script = new Script(readFileSync(file, 'utf8'), {filename: file, cachedData: readCache(`${file}.cache`)})
  const wrapped = script.runInThisContext() as Wrapped
  const mod = {exports: {}}
  wrapped.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file), (specifier) => import(specifier))
  return mod.exports
}

const oclif = loadWithCodeCache(`${vendorDir()}/oclif-wrapped.js`) as typeof Oclif

export const {Args, Command, Errors, Flags, execute, settings} = oclif
