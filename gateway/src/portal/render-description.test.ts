import { describe, expect, it } from 'vitest';
import { renderDescription } from './render-description.ts';

// Anything that could run or load in a viewer's browser, as a streamer might write it.
const hostile = [
  '<script>window.pwned = 1</script>',
  '<img src=x onerror="window.pwned = 1">',
  '<iframe src="https://evil.example/"></iframe>',
  '[click](javascript:window.pwned=1)',
  '[jvs](JaVaScRiPt:alert(1))',
  '<a href="javascript&colon;alert(1)">colon</a>',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![img](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)',
  '<div onclick="alert(1)" style="position:fixed;inset:0">cover</div>',
  '<style>body{display:none}</style>',
  '<svg><script>alert(1)</script></svg>',
  '<form action="https://evil.example/"><input name=p></form>',
  '<object data="x.swf"></object><embed src="x.swf">',
  '<a href="//evil.example/">protocol-relative</a>',
  '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
  '<base href="https://evil.example/">',
].join('\n\n');

describe('renderDescription', () => {
  it('renders Markdown: emphasis, lists, code, links marked as user content', () => {
    const html = renderDescription(
      '# Hello\n\n**bold** _it_ `code`\n\n- a\n- b\n\n[site](https://example.com/x?a=1&b=2)',
    );
    expect(html).toContain('<h3>Hello</h3>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<em>it</em>');
    expect(html).toContain('<code>code</code>');
    expect(html).toContain('<li>a</li>');
    expect(html).toContain('<a href="https://example.com/x?a=1&amp;b=2" rel="nofollow noopener ugc">site</a>');
  });

  it('leaves nothing that runs, loads or styles', () => {
    const html = renderDescription(hostile);
    for (const banned of [
      /<script/i,
      /<iframe/i,
      /<img/i,
      /<svg/i,
      /<style/i,
      /<form/i,
      /<input/i,
      /<object/i,
      /<embed/i,
      /<meta/i,
      /<base/i,
      /\son\w+\s*=/i,
      /javascript:/i,
      /data:/i,
      /style=/i,
      /href="\/\//i,
      /pwned/,
      /alert/,
    ]) {
      expect(html, String(banned)).not.toMatch(banned);
    }
    expect(html).toContain('cover'); // unwrapped prose survives
  });

  it('escapes text that looks like markup in code', () => {
    expect(renderDescription('`<script>alert(1)</script>`')).toBe(
      '<p><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>\n',
    );
  });

  it('overrides a rel the streamer wrote and keeps only http(s) and mailto links', () => {
    const html = renderDescription(
      '<a href="https://a.example/" rel="opener">a</a> <a href="mailto:x@y.example">m</a> <a href="ftp://f.example/">f</a>',
    );
    expect(html).toContain('<a href="https://a.example/" rel="nofollow noopener ugc">a</a>');
    expect(html).toContain('<a href="mailto:x@y.example" rel="nofollow noopener ugc">m</a>');
    expect(html).not.toContain('ftp:');
  });

  it('renders nothing for no description', () => {
    expect(renderDescription(undefined)).toBe('');
    expect(renderDescription('  \n')).toBe('');
  });
});
