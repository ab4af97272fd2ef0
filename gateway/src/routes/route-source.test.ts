import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { routeKeyHash, serializeRouteTable } from '../../../contract/src/route-table.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { RouteSource, parseRoutingSecret } from './route-source.ts';

let dir = '';
let source: RouteSource | undefined;
afterEach(async () => {
  source?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const secret = 's'.repeat(40);
const table = (key: string, port: number) =>
  serializeRouteTable({
    version: 1,
    entries: [
      {
        keyHash: routeKeyHash(secret, key),
        namespace: 'ns',
        name: 'ch',
        app: 'live',
        rtmp: `h:${port}`,
        http: `h:${port + 1}`,
      },
    ],
  });

describe('RouteSource', () => {
  it('is ready once both files load, follows a rewrite, and keeps the last good table over a bad one', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'routes-'));
    const tablePath = path.join(dir, 'routes.json');
    const secretPath = path.join(dir, 'secret');
    await writeFile(tablePath, table('k1', 1000));
    source = new RouteSource({ tablePath, secretPath, logger: createLogger('t', 'silent'), pollMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    expect(source.ready()).toBe(false);
    expect(source.lookup('k1')).toBeUndefined();
    await writeFile(secretPath, secret + '\n');
    await waitFor('ready', () => source!.ready(), { timeoutMs: 5_000 });
    expect(source.lookup('k1')?.rtmp).toBe('h:1000');
    await writeFile(`${tablePath}.new`, table('k2', 2000));
    await rename(`${tablePath}.new`, tablePath);
    await waitFor('the new table', () => source!.lookup('k2')?.rtmp === 'h:2000', { timeoutMs: 5_000 });
    expect(source.lookup('k1')).toBeUndefined();
    await writeFile(tablePath, '{"version":1,"entries":[{"keyHash":"nope"}]}');
    await new Promise((r) => setTimeout(r, 200));
    expect(source.lookup('k2')?.rtmp).toBe('h:2000');
    expect(source.channel('ns', 'ch')?.http).toBe('h:2001');
  });

  it('refuses a short routing secret', () => {
    expect(() => parseRoutingSecret(Buffer.from('short\n'))).toThrow(/32/);
    expect(parseRoutingSecret(Buffer.from(`  ${secret}\n`)).toString()).toBe(secret);
  });
});
