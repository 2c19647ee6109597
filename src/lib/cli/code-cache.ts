/**
 * Loading a CommonJS bundle the build wrapped as a function, compiled with the V8 code cache the
 * build wrote beside it (FILE.cache). Node 20 has no compile cache for ES modules; a script's code
 * cache spares the parse and compile of every function the build's run compiled (the module's
 * top level and what it ran). A cache V8 rejects (another node version, other V8 flags) only costs
 * the compile it would have saved.
 */
import {createRequire} from 'node:module'
import {readFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Script} from 'node:vm'

/** The wrapper the build puts around a bundle: CommonJS's parameters, then its import.meta.url. */
export type WrappedModule = (
  exports: object,
  require: NodeJS.Require,
  module: {exports: object},
  filename: string,
  dirname: string,
  importMetaUrl: string,
) => void

function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file)
  } catch {
    return undefined
  }
}

/** The compiled script of a wrapped bundle (with its code cache when there is one). */
export function compileWrapped(file: string): Script {
  // ASCII (scripts/build.mjs checks): latin1 spares the UTF-8 decoding.
  return new Script(readFileSync(file, 'latin1'), {filename: file, cachedData: readCache(`${file}.cache`)})
}

/** Runs a compiled wrapped bundle as require() would, and returns its exports. */
export function runWrapped(script: Script, file: string): object {
  const wrapped = script.runInThisContext() as WrappedModule
  const mod = {exports: {}}
  wrapped.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file), pathToFileURL(file).href)
  return mod.exports
}

/** Loads a wrapped bundle with its code cache. */
export function loadWrapped(file: string): object {
  return runWrapped(compileWrapped(file), file)
}
