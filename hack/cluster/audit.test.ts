import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditLogParts, writesBy } from './audit.ts';

const event = (username: string, at: string, name: string) =>
  JSON.stringify({
    verb: 'patch',
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/a/secrets/${name}`,
    user: { username },
    objectRef: { resource: 'secrets', namespace: 'a', name },
    stageTimestamp: at,
  });

describe('audit log', () => {
  let dir = '';
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads the rotated parts, oldest first, and not the policy beside them', async () => {
    dir = await mkdtemp(join(tmpdir(), 'audit-'));
    const log = join(dir, 'audit.log');
    await writeFile(join(dir, 'audit-policy.json'), '{}');
    await writeFile(join(dir, 'audit-2026-12-03T14-25-00.000.log'), `${event('op', '2026-12-03T14:24:00Z', 'b')}\n`);
    await writeFile(join(dir, 'audit-2026-12-03T14-20-00.000.log'), `${event('op', '2026-12-03T14:19:00Z', 'a')}\n`);
    await writeFile(
      log,
      [event('kcm', '2026-12-03T14:26:00Z', 'x'), event('op', '2026-12-03T14:27:00Z', 'c')].join('\n'),
    );
    expect(auditLogParts(log).map((p) => p.slice(dir.length + 1))).toEqual([
      'audit-2026-12-03T14-20-00.000.log',
      'audit-2026-12-03T14-25-00.000.log',
      'audit.log',
    ]);
    expect(writesBy(log, 'op').map((e) => e.objectRef?.name)).toEqual(['a', 'b', 'c']);
    expect(writesBy(log, 'op', Date.parse('2026-12-03T14:20:00Z')).map((e) => e.objectRef?.name)).toEqual(['b', 'c']);
    expect(writesBy(join(dir, 'missing', 'audit.log'), 'op')).toEqual([]);
  });
});
