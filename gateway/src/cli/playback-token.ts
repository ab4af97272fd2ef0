// A platform backend's tool for playback tokens (docs/playback-tokens.md):
//   node gateway/src/cli/playback-token.ts mint --key <file> --kid <kid> --channel <ns>/<name> --ttl 3600
//                                               [--viewer <id>] [--origin https://x]...
//   node gateway/src/cli/playback-token.ts keygen --kid <kid>      (prints a new PKCS#8 PEM P-256 key)
//   node gateway/src/cli/playback-token.ts jwks --dir <dir>        (prints the JWKS of the dir's <kid>.key files)
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  mintPlaybackToken,
  playbackJwks,
  playbackKeyFromPem,
  playbackKeyStore,
  playbackKidPattern,
} from '../../../contract/src/playback-token.ts';

const usage = `usage:
  playback-token mint --key <file> --kid <kid> --channel <namespace>/<name> --ttl <seconds> [--viewer <id>] [--origin <url>]...
  playback-token keygen --kid <kid>
  playback-token jwks --dir <dir>`;

async function mint(values: Record<string, string | string[] | undefined>): Promise<string> {
  const { key, kid, channel, ttl } = values as Record<string, string | undefined>;
  const [namespace, name, extra] = (channel ?? '').split('/');
  if (!key || !kid || !namespace || !name || extra !== undefined) throw new Error(usage);
  const ttlSeconds = Number(ttl ?? '3600');
  const viewer = values.viewer as string | undefined;
  const origins = values.origin as string[] | undefined;
  return mintPlaybackToken({
    privateKeyPem: await readFile(key, 'utf8'),
    kid,
    namespace,
    name,
    ttlSeconds,
    ...(viewer !== undefined && { viewerId: viewer }),
    ...(origins !== undefined && origins.length > 0 && { origins }),
  });
}

async function jwks(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => /^[A-Za-z0-9_-]{1,64}\.key$/.test(n)).sort();
  const keys = await Promise.all(
    names.map(async (n) => playbackKeyFromPem(n.slice(0, -4), await readFile(path.join(dir, n), 'utf8'))),
  );
  return JSON.stringify(await playbackJwks(playbackKeyStore(keys)), null, 2);
}

export async function main(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      kid: { type: 'string' },
      channel: { type: 'string' },
      ttl: { type: 'string' },
      viewer: { type: 'string' },
      origin: { type: 'string', multiple: true },
      dir: { type: 'string' },
    },
  });
  const command = positionals[0];
  if (command === 'mint') return mint(values);
  if (command === 'keygen') {
    if (values.kid !== undefined && !playbackKidPattern.test(values.kid)) throw new Error('--kid: [A-Za-z0-9_-]{1,64}');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).trimEnd();
  }
  if (command === 'jwks' && values.dir !== undefined) return jwks(values.dir);
  throw new Error(usage);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (out) => process.stdout.write(out + '\n'),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = 2;
    },
  );
}
