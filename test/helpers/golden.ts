/**
 * Golden files: a test's expected output kept beside it. A missing golden fails the test; goldens
 * are written only when asked, with UPDATE_GOLDEN=1 (then review the diff before committing).
 */
import type {ExecutionContext} from 'ava'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1'

/** Compares `actual` with the golden `file`; with UPDATE_GOLDEN=1 writes it first. */
export function checkGolden(t: ExecutionContext, file: string, actual: string): void {
  if (UPDATE_GOLDEN) {
    mkdirSync(dirname(file), {recursive: true})
    writeFileSync(file, actual)
  }
  if (!existsSync(file)) {
    t.fail(`missing golden file ${file}; run with UPDATE_GOLDEN=1 to write it, then review it`)
    return
  }
  t.is(actual, readFileSync(file, 'utf8'), file)
}
