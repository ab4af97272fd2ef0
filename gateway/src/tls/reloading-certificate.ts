// The gateway's certificate and key, from two mounted files (a kubernetes.io/tls Secret, often written by
// cert-manager), and every TLS server that presents them. When either file changes (a renewal: the kubelet swaps the
// mount's `..data` symlink) both are read again and, if they make a working pair, handed to each server with
// setSecureContext: new handshakes get the new certificate, open connections keep theirs, nothing restarts. A pair
// that does not work (a key of another certificate, a half-written file) is logged and the previous one kept.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { RequestListener } from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../../contract/src/logger.ts';
import { watchFile, type WatchedFile } from '../../../contract/src/watched-file.ts';

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

/** What the logs say about a certificate: never the key, never the PEM. */
export interface CertificateInfo {
  subject: string;
  subjectAltName: string;
  notAfter: string;
  fingerprint256: string;
}

export class CertificateError extends Error {}

/**
 * Checks that a pair makes a TLS context (OpenSSL refuses a key that is not the certificate's) and describes the
 * certificate (the first of a chain). Throws CertificateError with OpenSSL's reason, which quotes no key material.
 */
export function checkPair(pair: KeyPair): CertificateInfo {
  try {
    tls.createSecureContext({ cert: pair.cert, key: pair.key });
    const x509 = new X509Certificate(pair.cert);
    return {
      subject: x509.subject.replaceAll('\n', ', '),
      subjectAltName: x509.subjectAltName ?? '',
      notAfter: new Date(x509.validTo).toISOString(),
      fingerprint256: x509.fingerprint256,
    };
  } catch (err) {
    throw new CertificateError((err as Error).message);
  }
}

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
}

export interface ReloadOptions {
  /** How often the files are checked (watched-file.ts polls stat, which follows the kubelet's symlinks). */
  intervalMs?: number;
  /** Limit on a client's TLS handshake: a connection that never finishes one is dropped. */
  handshakeTimeoutMs?: number;
}

interface SecureServer {
  setSecureContext(options: tls.SecureContextOptions): void;
}

export class ReloadingCertificate {
  private pair: KeyPair;
  private refused: KeyPair | undefined; // the last bad pair, reported once (both watchers see one bad renewal)
  private current: CertificateInfo;
  private readonly servers = new Set<SecureServer>();
  private readonly watchers: WatchedFile[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly files: CertificateFiles;
  private readonly logger: Logger;
  private readonly handshakeTimeoutMs: number;

  private constructor(files: CertificateFiles, pair: KeyPair, logger: Logger, options: ReloadOptions) {
    this.files = files;
    this.pair = pair;
    this.current = checkPair(pair);
    this.logger = logger;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    const onError = (err: unknown) =>
      logger.warn({ err: (err as Error).message }, 'tls certificate files unreadable; keeping the loaded pair');
    for (const [path, initialContent] of [
      [files.certPath, pair.cert],
      [files.keyPath, pair.key],
    ] as const) {
      const onChange = () => void this.reload();
      this.watchers.push(watchFile(path, onChange, { intervalMs: options.intervalMs, initialContent, onError }));
    }
  }

  /** Loads the pair; a missing file or a bad pair at start is an error naming the files (the pod must not start). */
  static async load(
    files: CertificateFiles,
    logger: Logger,
    options: ReloadOptions = {},
  ): Promise<ReloadingCertificate> {
    let pair: KeyPair;
    try {
      pair = await readPair(files);
      checkPair(pair);
    } catch (err) {
      throw new CertificateError(
        `TLS certificate ${files.certPath} with key ${files.keyPath} cannot be used: ${(err as Error).message}`,
      );
    }
    const certificate = new ReloadingCertificate(files, pair, logger, options);
    logger.info({ ...certificate.info, certFile: files.certPath }, 'tls certificate loaded');
    return certificate;
  }

  get info(): CertificateInfo {
    return this.current;
  }

  /** A TLS server presenting this certificate (and every renewal of it); each decrypted connection goes to `accept`. */
  tlsServer(accept: (socket: net.Socket) => void): tls.Server {
    const server = tls.createServer({ ...this.pair, handshakeTimeout: this.handshakeTimeoutMs }, accept);
    this.servers.add(server);
    return server;
  }

  /** An HTTPS server presenting this certificate, serving `handler`. */
  httpsServer(handler: RequestListener): https.Server {
    const server = https.createServer({ ...this.pair, handshakeTimeout: this.handshakeTimeoutMs }, handler);
    this.servers.add(server);
    return server;
  }

  /**
   * Reads both files again and applies them if they are a new working pair. Serialized: the two watchers may fire
   * for one renewal, and the second finds the pair already applied. Resolves true when a new pair was applied.
   */
  reload(): Promise<boolean> {
    const next = this.queue.then(() => this.reloadNow());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(): Promise<boolean> {
    let pair: KeyPair;
    let info: CertificateInfo;
    try {
      pair = await readPair(this.files);
      if (samePair(pair, this.pair) || (this.refused && samePair(pair, this.refused))) return false;
      this.refused = pair;
      info = checkPair(pair);
      this.refused = undefined;
    } catch (err) {
      this.logger.error(
        { err: (err as Error).message, certFile: this.files.certPath, keyFile: this.files.keyPath },
        'new tls certificate refused; still serving the previous one',
      );
      return false;
    }
    for (const server of this.servers) server.setSecureContext({ ...pair });
    this.pair = pair;
    const previous = this.current.fingerprint256;
    this.current = info;
    this.logger.info({ ...info, previousFingerprint256: previous }, 'tls certificate reloaded');
    return true;
  }

  close(): void {
    for (const w of this.watchers) w.close();
  }
}

const samePair = (x: KeyPair, y: KeyPair): boolean => x.cert.equals(y.cert) && x.key.equals(y.key);

async function readPair(files: CertificateFiles): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(files.certPath), readFile(files.keyPath)]);
  return { cert, key };
}
