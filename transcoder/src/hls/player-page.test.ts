import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { playerHlsConfig, playerLlHlsConfig } from '../../../contract/src/hls-js.ts';
import { renderPlayerPage } from './player-page.ts';

describe('renderPlayerPage', () => {
  const html = renderPlayerPage({ hlsJsPath: '/assets/hls-1.0.0.min.js', title: 'A <b>show</b>' });
  const script = html.split('<script>')[1]?.split('</script>')[0] ?? '';

  it('renders a script that parses (no escape of the TypeScript template turned into a raw newline)', () => {
    expect(script.length).toBeGreaterThan(100);
    expect(() => new Script(script)).not.toThrow(); // compiled, not run
    expect(html).toContain('<title>A &#60;b&#62;show&#60;/b&#62;</title>');
  });

  it('chooses the LL-HLS settings when the first media playlist has parts, without liveSyncDurationCount', () => {
    expect(script).toContain("indexOf('#EXT-X-PART-INF')");
    expect(script).toContain(JSON.stringify(playerLlHlsConfig));
    expect(script).toContain(JSON.stringify(playerHlsConfig));
    expect(playerLlHlsConfig).not.toHaveProperty('liveSyncDurationCount');
    expect(playerLlHlsConfig.lowLatencyMode).toBe(true);
  });
});
