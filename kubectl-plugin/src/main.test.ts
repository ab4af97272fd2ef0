import { describe, expect, it } from 'vitest';
import { commands, run } from './main.ts';

const invoke = async (argv: string[]) => {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (t) => (out += t), err: (t) => (err += t), env: {} });
  return { code, out, err };
};

describe('kubectl livestream', () => {
  it.each(commands.map((c) => c.name))(
    '%s --help prints its usage and flags, exit 0, no cluster needed',
    async (name) => {
      const r = await invoke([name, '--help', '--kubeconfig', '/nonexistent']);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out).toContain(`Usage:\n  kubectl livestream ${name}`);
      expect(r.out).toContain('-n, --namespace NS');
    },
  );
  it('lists the commands with --help, and exits 1 without a command', async () => {
    expect((await invoke(['--help'])).out).toMatch(/stats {5}sessions, live time/);
    expect((await invoke([])).code).toBe(1);
  });
  it.each([
    [['frobnicate'], 'error: unknown command "frobnicate" (one of stats, sessions, url, key, token)\n'],
    [['url'], 'error: url takes one LiveStream NAME (got 0 arguments)\n'],
    [['stats', 'a', '--all'], 'error: stats takes one LiveStream NAME, or --all (and no NAME)\n'],
    [['token', 'a'], 'error: token needs --ttl (e.g. --ttl 1h)\n'],
    [['token', 'a', '--ttl', '0s'], 'error: --ttl must be more than 0s\n'],
    [['url', 'a', '-o', 'xml'], 'error: --output must be json or yaml (got "xml")\n'],
    [['sessions', 'a', '--limit', '0'], 'error: --limit must be a whole number from 1 to 10000\n'],
    [['key', 'a', '--grace=1m'], 'error: --grace and --wait go with --rotate\n'],
  ])('%j fails in one line, exit 1, before any request', async (argv, message) => {
    expect(await invoke(argv)).toEqual({ code: 1, out: '', err: message });
  });
});
