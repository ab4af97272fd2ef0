import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { makeCertificate, secretMount, type TestCertificate } from '../../../test/support/tls-certificates.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { CertificateError, ReloadingCertificate, checkPair } from './reloading-certificate.ts';

let dir = '';
let a: TestCertificate, b: TestCertificate, c: TestCertificate;
const lines: string[] = [];
const logger = createLogger('tls-test', 'info', { write: (line: string) => void lines.push(line) });
const logged = (msg: string) => lines.filter((l) => l.includes(`"msg":"${msg}"`));

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tls-reload-'));
  [a, b, c] = await Promise.all([makeCertificate('cert-a'), makeCertificate('cert-b'), makeCertificate('cert-c')]);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The certificate a new TLS handshake with the server presents, and the open socket. */
async function handshake(port: number, ca: Buffer[]): Promise<{ fingerprint: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () =>
      resolve({ fingerprint: socket.getPeerCertificate().fingerprint256, socket }),
    );
    socket.once('error', reject);
  });
}

describe('checkPair', () => {
  it('describes a working pair and refuses a key of another certificate or a file that is no PEM', () => {
    const info = checkPair(a);
    expect(info.subject).toBe('CN=cert-a');
    expect(info.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(Date.parse(info.notAfter)).toBeGreaterThan(Date.now());
    expect(info.fingerprint256).not.toBe(checkPair(b).fingerprint256);
    expect(() => checkPair({ cert: a.cert, key: b.key })).toThrow(CertificateError);
    expect(() => checkPair({ cert: a.cert, key: b.key })).toThrow(/key values mismatch/);
    expect(() => checkPair({ cert: Buffer.from('not a certificate'), key: a.key })).toThrow(CertificateError);
  });

  it('never quotes the key in its error', () => {
    const keyBody = b.key.toString().split('\n')[1]!;
    for (const pair of [
      { cert: a.cert, key: b.key },
      { cert: b.key, key: b.key },
    ]) {
      try {
        checkPair(pair);
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).not.toContain(keyBody);
      }
    }
  });
});

describe('ReloadingCertificate', () => {
  it('refuses to start with a missing file or a bad pair, naming the files', async () => {
    const mount = await secretMount(path.join(dir, 'bad'), { cert: a.cert, key: b.key });
    await expect(ReloadingCertificate.load(mount, logger)).rejects.toThrow(
      `TLS certificate ${mount.certPath} with key ${mount.keyPath} cannot be used: `,
    );
    const missing = { certPath: path.join(dir, 'none.crt'), keyPath: mount.keyPath };
    await expect(ReloadingCertificate.load(missing, logger)).rejects.toThrow(/none\.crt.*ENOENT/);
  });

  it('presents a renewed pair to new handshakes, keeps open connections, and keeps the old pair over a bad one', async () => {
    const mount = await secretMount(path.join(dir, 'mount'), a);
    const certificate = await ReloadingCertificate.load(mount, logger, { intervalMs: 20 });
    const server = certificate.tlsServer((s) => s.pipe(s)); // an echo: the open connection's liveness
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const ca = [a.cert, b.cert, c.cert];
    try {
      const first = await handshake(port, ca);
      expect(first.fingerprint).toBe(checkPair(a).fingerprint256);

      await mount.write(b); // the kubelet's ..data swap
      await waitFor('the renewed certificate', () => certificate.info.subject === 'CN=cert-b', { timeoutMs: 5_000 });
      expect(logged('tls certificate reloaded')).toHaveLength(1);
      const second = await handshake(port, ca);
      expect(second.fingerprint).toBe(checkPair(b).fingerprint256);
      // The connection made before the renewal is still served (by the certificate it was made with).
      const echoed = new Promise<string>((resolve) => first.socket.once('data', (d: Buffer) => resolve(d.toString())));
      first.socket.write('still here');
      expect(await echoed).toBe('still here');
      expect(first.socket.getPeerCertificate().fingerprint256).toBe(checkPair(a).fingerprint256);

      await mount.write({ cert: c.cert, key: a.key }); // a key that is not the certificate's
      await waitFor('the bad pair to be refused', () => logged('new tls certificate refused; still serving the previous one').length === 1, { timeoutMs: 5_000 }); // prettier-ignore
      expect((await handshake(port, ca)).fingerprint).toBe(checkPair(b).fingerprint256);
      expect(certificate.info.subject).toBe('CN=cert-b');
      await new Promise((resolve) => setTimeout(resolve, 100)); // both watchers have seen it: still one report
      expect(logged('new tls certificate refused; still serving the previous one')).toHaveLength(1);

      await mount.write(c); // and the next good one is taken
      await waitFor('the next certificate', () => certificate.info.subject === 'CN=cert-c', { timeoutMs: 5_000 });
      expect((await handshake(port, ca)).fingerprint).toBe(checkPair(c).fingerprint256);
      for (const s of [first, second]) s.socket.destroy();
      // Nothing logged carries key material.
      for (const pem of [a.key, b.key, c.key]) expect(lines.join('\n')).not.toContain(pem.toString().split('\n')[1]);
    } finally {
      certificate.close();
      server.close();
    }
  }, 20_000);

  it('applies one renewal once, however many watchers ask', async () => {
    const mount = await secretMount(path.join(dir, 'once'), a);
    const certificate = await ReloadingCertificate.load(mount, logger, { intervalMs: 60_000 });
    try {
      await mount.write(b);
      expect(await Promise.all([certificate.reload(), certificate.reload(), certificate.reload()])).toEqual([
        true,
        false,
        false,
      ]);
      expect(certificate.info.subject).toBe('CN=cert-b');
    } finally {
      certificate.close();
    }
  });
});
