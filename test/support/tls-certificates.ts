// Self-signed certificates for TLS tests, made by the real openssl (EC P-256: fast), valid for 127.0.0.1 and
// localhost, and written the way the kubelet mounts a kubernetes.io/tls Secret: tls.crt and tls.key are symlinks
// through `..data` to a timestamped folder, and an update swaps `..data` in one rename.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  cert: Buffer;
  key: Buffer;
}

/** A new self-signed certificate and its key; `cn` tells two of them apart in a test's failure message. */
export async function makeCertificate(cn: string): Promise<TestCertificate> {
  const dir = await mkdtemp(path.join(tmpdir(), 'test-cert-'));
  try {
    const [certFile, keyFile] = [path.join(dir, 'tls.crt'), path.join(dir, 'tls.key')];
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyFile, '-out', certFile]); // prettier-ignore
    return { cert: await readFile(certFile), key: await readFile(keyFile) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface SecretMount {
  dir: string;
  certPath: string;
  keyPath: string;
  /** Swaps the mount's content to this pair at once (kubelet style). */
  write(pair: TestCertificate): Promise<void>;
}

export async function secretMount(dir: string, pair: TestCertificate): Promise<SecretMount> {
  await mkdir(dir, { recursive: true });
  let generation = 0;
  const write = async (p: TestCertificate) => {
    const folder = `..${Date.now()}_${generation++}`;
    await mkdir(path.join(dir, folder));
    await writeFile(path.join(dir, folder, 'tls.crt'), p.cert);
    await writeFile(path.join(dir, folder, 'tls.key'), p.key, { mode: 0o600 });
    await symlink(folder, path.join(dir, '..data_tmp'));
    await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  };
  await write(pair);
  await symlink(path.join('..data', 'tls.crt'), path.join(dir, 'tls.crt'));
  await symlink(path.join('..data', 'tls.key'), path.join(dir, 'tls.key'));
  return { dir, certPath: path.join(dir, 'tls.crt'), keyPath: path.join(dir, 'tls.key'), write };
}
