/**
 * vctl's SASL user database: one JSON file (mode 0600, replaced atomically) under the daemon's
 * config dir, `sasl-users.json`, holding per user the SCRAM keys of each mechanism (salt, iteration
 * count, StoredKey, ServerKey) and, for DIGEST-MD5, H(user:realm:password) per realm — never the
 * password. Unlike libvirt's passwd.db (a cyrus sasldb, which keeps the password itself), a user
 * can log in with DIGEST-MD5 only in the realms their password was set for (the host name by
 * default), and users whose password was set before DIGEST-MD5 existed in vctl have no key for it
 * until the password is set again.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../../fs-atomic.js'
import {hostname} from 'node:os'
import {scramSecret, SCRAM_MECHS, type ScramSecret} from './scram.js'
import {userRealmHash, type DigestSecret} from './digest-md5.js'

export const USERDB_FILE = 'sasl-users.json'

export interface UserDb {
  version: 1
  users: Record<string, Record<string, ScramSecret | DigestSecret>>
}

export const DIGEST_MECH = 'DIGEST-MD5'

/** The realm vctl's daemons announce in DIGEST-MD5 (cyrus' default: the host name). */
export const defaultRealm = (): string => hostname()

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

/** Sets the SCRAM keys and the DIGEST-MD5 key of each realm (the host name unless given). */
export async function setPassword(path: string, user: string, password: string, realms: string[] = [defaultRealm()]): Promise<void> {
  checkUserName(user)
  if (!password) throw new Error('empty password')
  const db = readUserDb(path)
  const digest: DigestSecret = {realms: Object.fromEntries(realms.map((r) => [r, userRealmHash(user, r, password)]))}
  db.users[user] = {...Object.fromEntries(Object.entries(SCRAM_MECHS).map(([mech, h]) => [mech, scramSecret(h, password)])), [DIGEST_MECH]: digest}
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
  const s = readUserDb(path).users[user]?.[mech]
  return s && 'storedKey' in s ? s : undefined
}

/** What DIGEST-MD5 finds for a user: no such user, no DIGEST-MD5 key (set before), or the key of a realm. */
export type DigestLookup = {found: 'no-user'} | {found: 'no-digest'} | {found: 'no-realm'} | {found: 'key'; key: string}

export function lookupDigest(path: string, user: string, realm: string): DigestLookup {
  const u = readUserDb(path).users[user]
  if (!u) return {found: 'no-user'}
  const s = u[DIGEST_MECH]
  if (!s || !('realms' in s)) return {found: 'no-digest'}
  const key = s.realms[realm]
  return key ? {found: 'key', key} : {found: 'no-realm'}
}
