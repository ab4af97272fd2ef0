import { describe, expect, it } from 'vitest';
import { parseStudioPath, renderStudioPage, studioPageHeaders } from './studio-page.ts';

describe('parseStudioPath', () => {
  it('takes /<namespace>/<name>/studio with Kubernetes names and nothing else', () => {
    expect(parseStudioPath('/tenant-a/my.channel/studio')).toEqual({ namespace: 'tenant-a', name: 'my.channel' });
    for (const p of [
      '/a/b/studio/',
      '/a/studio',
      '/A/b/studio',
      '/a/b/c/studio',
      '/_studio/b/studio',
      '/a/-b/studio',
    ]) {
      expect(parseStudioPath(p), p).toBeUndefined();
    }
  });
});

describe('renderStudioPage', () => {
  const html = renderStudioPage({ namespace: 'ns', name: 'ch' });

  it('loads only the gateway’s own script and styles (no inline script or style)', () => {
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([
      '<script type="module" src="/_studio/studio.js">',
    ]);
    expect(html).not.toMatch(/<style|\son\w+=|style=/);
    expect(studioPageHeaders['content-security-policy']).toContain("script-src 'self'");
    expect(studioPageHeaders['permissions-policy']).toContain('camera=(self)');
  });

  it('has a password field for the key that a form submission could never put in a URL', () => {
    const key = /<input id="key"[^>]*>/.exec(html)?.[0] ?? '';
    expect(key).toContain('type="password"');
    expect(key).not.toMatch(/\sname=/);
    expect(key).toContain('autocomplete="off"');
    expect(html).toContain('data-namespace="ns" data-name="ch"');
  });

  it('labels every control (keyboard and screen readers)', () => {
    for (const id of ['key', 'camera', 'microphone']) expect(html).toContain(`<label for="${id}">`);
    expect(html).toContain('role="status"');
    expect(html).toContain('role="alert"');
  });
});
