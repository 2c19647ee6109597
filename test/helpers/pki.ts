/** Test certificates made with the real openssl: a CA, and certificates it issues. */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run} from './daemon.js'

export async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await run('sh', ['-c', `cd '${cwd}' && openssl ${args.map((a) => `'${a}'`).join(' ')}`])
  if (r.code !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`)
}

/** Key options: RSA by default, or a fast EC key. */
const KEY: Record<'rsa' | 'ec', string[]> = {rsa: ['-newkey', 'rsa:2048'], ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']}

/** A self-signed CA in dir: cacert.pem, cakey.pem. */
export async function makeCa(dir: string, key: 'rsa' | 'ec' = 'rsa'): Promise<void> {
  mkdirSync(dir, {recursive: true})
  await openssl(
    [
      'req',
      '-x509',
      ...KEY[key],
      '-nodes',
      '-keyout',
      'cakey.pem',
      '-out',
      'cacert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=vctl test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  )
}

/** Issues `${who}cert.pem` / `${who}key.pem` in dir (which holds the CA) for subject `subj` with extensions `ext`. */
export async function issue(dir: string, who: string, subj: string, ext: string, opts: {key?: 'rsa' | 'ec'; reqArgs?: string[]} = {}): Promise<void> {
  writeFileSync(join(dir, `${who}.ext`), ext)
  const req = ['req', ...KEY[opts.key ?? 'rsa'], '-nodes', '-keyout', `${who}key.pem`, '-out', `${who}.csr`, '-subj', subj, ...(opts.reqArgs ?? [])]
  await openssl(req, dir)
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'cacert.pem',
      '-CAkey',
      'cakey.pem',
      '-CAcreateserial',
      '-out',
      `${who}cert.pem`,
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
    ],
    dir,
  )
}

export const CLIENT_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'
export const SERVER_EXT =
  'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n'
