/** Where the GUI tests keep their screenshots: one directory a test file, made at the first one and kept after the run. */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

let dir: string | undefined

/** The path for screenshot `name` (the directory is created on first use). */
export function shotPath(name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'vctl-ui-shots-'))
  return join(dir, name)
}
