// A password channel's viewer password as the route table carries it: an scrypt hash, so a table that leaks does not
// hand out the password, and each guess against it costs tens of milliseconds. The operator hashes (with a salt of
// its choosing: deterministic per channel and password, so an unchanged password keeps the table's bytes unchanged);
// the gateway verifies what a viewer types. Format: `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>`.
import { scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const defaults = { log2N: 14, r: 8, p: 1 };
const hashBytes = 32;
/** The longest password a channel may set (and a viewer may send): scrypt's cost grows with it. */
export const viewerPasswordMaxLength = 256;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, hashBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** The hash of `password` with `salt` (at least 16 bytes). */
export async function hashViewerPassword(password: string, salt: Buffer): Promise<string> {
  if (salt.length < 16) throw new Error('a password salt must have at least 16 bytes');
  if (password.length === 0 || password.length > viewerPasswordMaxLength) {
    throw new Error(`a viewer password must have 1..${viewerPasswordMaxLength} characters`);
  }
  const { log2N, r, p } = defaults;
  const key = await derive(password, salt, { N: 2 ** log2N, r, p });
  return ['scrypt', log2N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` is the one `hash` was made from; false for any malformed hash or over-long password. */
export async function verifyViewerPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  // Bounds keep a hostile table from making every attempt cost seconds or gigabytes.
  const sane = log2N >= 10 && log2N <= 17 && r >= 1 && r <= 16 && p >= 1 && p <= 4 && salt.length >= 16;
  if (!sane || expected.length !== hashBytes) return false;
  if (password.length === 0 || password.length > viewerPasswordMaxLength) return false;
  const key = await derive(password, salt, { N: 2 ** log2N, r, p, maxmem: 64 * 1024 * 1024 });
  return timingSafeEqual(key, expected);
}
