/**
 * vctl's SASL user database: one JSON file (mode 0600, replaced atomically) under the daemon's
 * config dir, `sasl-users.json`, holding per user the SCRAM keys of each mechanism (salt, iteration
 * count, StoredKey, ServerKey) — never the password. Unlike libvirt's passwd.db (a cyrus sasldb,
 * which keeps the password itself so that every mechanism, DIGEST-MD5 included, can use it), this
 * file serves SCRAM only, and a stolen copy does not give the passwords away.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../../fs-atomic.js'
import {scramSecret, SCRAM_MECHS, type ScramSecret} from './scram.js'

export const USERDB_FILE = 'sasl-users.json'

export interface UserDb {
  version: 1
  users: Record<string, Record<string, ScramSecret>>
}

export function userDbPath(configDir: string): string {
  return join(configDir, USERDB_FILE)
}

/** Reads the database; a missing file is an empty one. */
export function readUserDb(path: string): UserDb {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {version: 1, users: {}}
    throw err
  }
  const db = JSON.parse(text) as Partial<UserDb>
  if (db.version !== 1 || typeof db.users !== 'object') throw new Error(`${path}: not a vctl SASL user database`)
  return {version: 1, users: db.users}
}

export async function writeUserDb(path: string, db: UserDb): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(db, null, 2) + '\n', 0o600)
}

/** A valid user name: what SCRAM can carry and sasl_allowed_username_list can match. */
export function checkUserName(user: string): void {
  if (!user || user.length > 255 || Array.from({length: user.length}, (_, i) => user.charCodeAt(i)).some((c) => c < 0x20 || c === 0x7f))
    throw new Error(`invalid user name '${user}'`)
}

export async function setPassword(path: string, user: string, password: string): Promise<void> {
  checkUserName(user)
  if (!password) throw new Error('empty password')
  const db = readUserDb(path)
  db.users[user] = Object.fromEntries(Object.entries(SCRAM_MECHS).map(([mech, h]) => [mech, scramSecret(h, password)]))
  await writeUserDb(path, db)
}

export async function deleteUser(path: string, user: string): Promise<boolean> {
  const db = readUserDb(path)
  if (!(user in db.users)) return false
  const {[user]: _gone, ...rest} = db.users
  db.users = rest
  await writeUserDb(path, db)
  return true
}

/** The secret of one user for one mechanism, read fresh (passwd changes apply to the next login). */
export function lookupSecret(path: string, user: string, mech: string): ScramSecret | undefined {
  return readUserDb(path).users[user]?.[mech]
}
