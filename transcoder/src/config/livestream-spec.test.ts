import { describe, expect, it } from 'vitest';
import { ConfigError, resolveLiveStream, resolveSpec } from './livestream-spec.ts';
import { parseAndResolve } from './load-livestream.ts';

describe('resolveSpec', () => {
  it('applies the defaults of the API: 720p preset, passthrough, 2 s segments, 6 in the list, 30 s window', () => {
    const c = resolveSpec({}, 'demo', 'media');
    expect(c).toMatchObject({
      name: 'demo',
      namespace: 'media',
      app: 'live',
      httpFlv: false,
      passthrough: true,
      segmentSeconds: 2,
      playlistLength: 6,
      reconnectWindowSeconds: 30,
      paused: false,
    });
    expect(c.renditions.map((r) => `${r.name}:${r.width}x${r.height}@${r.videoBitrateKbps}`)).toEqual([
      '720p:1280x720@2800',
      '480p:854x480@1400',
      '360p:640x360@800',
    ]);
  });

  it('uses 96k audio for the 360p preset only', () => {
    expect(resolveSpec({ ladder: { preset: '360p' } }, 'a', 'b').renditions[0]?.audioBitrateKbps).toBe(96);
    expect(resolveSpec({ ladder: { preset: '480p' } }, 'a', 'b').renditions[1]?.audioBitrateKbps).toBe(128);
  });

  it('sorts explicit renditions largest first and fills fps/audio defaults', () => {
    const c = resolveSpec(
      {
        ladder: {
          renditions: [
            { name: 'low', width: 426, height: 240, videoBitrateKbps: 400 },
            { name: 'mid', width: 640, height: 360, videoBitrateKbps: 800, fps: 25, audioBitrateKbps: 64 },
          ],
        },
      },
      'a',
      'b',
    );
    expect(c.renditions).toEqual([
      { name: 'mid', width: 640, height: 360, videoBitrateKbps: 800, fps: 25, audioBitrateKbps: 64 },
      { name: 'low', width: 426, height: 240, videoBitrateKbps: 400, fps: 30, audioBitrateKbps: 128 },
    ]);
  });

  it.each([
    [{ ingest: { app: 'li/ve' } }, /spec.ingest.app/],
    [{ ladder: { preset: '720p' as const, renditions: [] } }, /mutually exclusive/],
    [{ ladder: { preset: '4k' as never } }, /spec.ladder.preset/],
    [{ ladder: { renditions: [] } }, /1 to 8/],
    [
      {
        ladder: {
          renditions: [
            { name: 'a', width: 640, height: 360, videoBitrateKbps: 800 },
            { name: 'a', width: 320, height: 180, videoBitrateKbps: 300 },
          ],
        },
      },
      /not unique/,
    ],
    [{ ladder: { renditions: [{ name: 'source', width: 640, height: 360, videoBitrateKbps: 800 }] } }, /reserved/],
    [{ ladder: { renditions: [{ name: 'x', width: 640, height: 360 } as never] } }, /videoBitrateKbps is required/],
    [{ hls: { segmentSeconds: 0 } }, /segmentSeconds must be an integer from 1 to 10/],
    [
      { ladder: { renditions: [{ name: 'odd', width: 641, height: 360, videoBitrateKbps: 800 }] } },
      /width must be even/,
    ],
    [{ ladder: { renditions: [{ name: 'Big_1', width: 640, height: 360, videoBitrateKbps: 800 }] } }, /DNS label/],
    [{ hls: { playlistLength: 100 } }, /playlistLength/],
    [{ reconnectWindowSeconds: -1 }, /reconnectWindowSeconds/],
    [{ ingest: { httpFlv: 'yes' as never } }, /httpFlv must be true or false/],
  ])('rejects bad input with a clear error (%#)', (spec, message) => {
    expect(() => resolveSpec(spec, 'a', 'b')).toThrow(ConfigError);
    expect(() => resolveSpec(spec, 'a', 'b')).toThrow(message);
  });

  it('requires metadata.name', () => {
    expect(() => resolveLiveStream({ spec: {} })).toThrow(/metadata.name/);
  });
});

describe('parseAndResolve', () => {
  it('reads the first LiveStream of a multi-document YAML and the pod JSON alike', () => {
    const yaml = `apiVersion: v1\nkind: Secret\nmetadata: {name: k}\n---\napiVersion: streaming.livestream-operator.dev/v1alpha1\nkind: LiveStream\nmetadata: {name: demo, namespace: tv}\nspec:\n  reconnectWindowSeconds: 5\n`;
    expect(parseAndResolve(yaml, 'x.yaml').config).toMatchObject({
      name: 'demo',
      namespace: 'tv',
      reconnectWindowSeconds: 5,
    });
    const json = JSON.stringify({ kind: 'LiveStream', metadata: { name: 'j' }, spec: { hls: { segmentSeconds: 4 } } });
    expect(parseAndResolve(json, 'x.json').config).toMatchObject({
      name: 'j',
      namespace: 'default',
      segmentSeconds: 4,
    });
  });

  it('names the file in errors', () => {
    expect(() =>
      parseAndResolve('kind: LiveStream\nmetadata: {name: a}\nspec: {hls: {segmentSeconds: 99}}', 'f.yaml'),
    ).toThrow(/^f\.yaml: spec\.hls\.segmentSeconds/);
    expect(() => parseAndResolve('{', 'g.json')).toThrow(/g\.json: cannot parse/);
  });
});
