import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { fullExample, minimalExample } from '../../../test/support/livestream-examples.ts';
import { ConfigError, resolveLiveStream, resolveSpec } from './livestream-spec.ts';
import { parseAndResolve } from './load-livestream.ts';

// A spec as written, resolved as the transcoder runs it (the schema's defaults first, as the API server applies them).
const resolve = (spec: object) => resolveSpec(validateSpec(spec), 'demo', 'media');

describe('resolveSpec', () => {
  it('resolves the stored minimal spec: 720p preset, passthrough, 2 s segments, 6 in the list, 30 s window', () => {
    const c = resolveSpec(minimalExample.storedSpec, 'demo', 'media');
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

  it('uses 96k audio for the 360p preset only, and the 720p preset for a ladder without one', () => {
    expect(resolve({ ladder: { preset: '360p' } }).renditions[0]?.audioBitrateKbps).toBe(96);
    expect(resolve({ ladder: { preset: '480p' } }).renditions[1]?.audioBitrateKbps).toBe(128);
    expect(resolve({ ladder: { passthrough: false } }).renditions.map((r) => r.name)).toEqual(['720p', '480p', '360p']);
  });

  it('sorts explicit renditions largest first, with the fps and audio the schema defaults', () => {
    const c = resolve({
      ladder: {
        renditions: [
          { name: 'low', width: 426, height: 240, videoBitrateKbps: 400 },
          { name: 'mid', width: 640, height: 360, videoBitrateKbps: 800, fps: 25, audioBitrateKbps: 64 },
        ],
      },
    });
    expect(c.renditions).toEqual([
      { name: 'mid', width: 640, height: 360, videoBitrateKbps: 800, fps: 25, audioBitrateKbps: 64 },
      { name: 'low', width: 426, height: 240, videoBitrateKbps: 400, fps: 30, audioBitrateKbps: 128 },
    ]);
    expect(resolveSpec(fullExample.storedSpec, 'full', 'media').renditions.map((r) => r.name)).toEqual(['hd', 'sd']);
  });
});

describe('resolveLiveStream', () => {
  // What the transcoder refuses is what the CRD's schema refuses (contract/src/api/validate.test.ts has every rule):
  // a sample of each kind, with the field named as the API server names it.
  it.each<[object, RegExp]>([
    [{ ingest: { app: 'li/ve' } }, /^spec\.ingest\.app: Invalid value: "string": .*should match/],
    [{ ladder: { preset: '720p', renditions: [] } }, /^spec\.ladder\.renditions: .*at least 1 items/],
    [{ ladder: { preset: '4k' } }, /^spec\.ladder\.preset: Unsupported value/],
    [
      { ladder: { renditions: [{ name: 'source', width: 640, height: 360, videoBitrateKbps: 800 }] } },
      /^spec\.ladder\.renditions\[0\]\.name: Forbidden: source and audio are reserved/,
    ],
    [
      { ladder: { renditions: [{ name: 'x', width: 640, height: 360 }] } },
      /^spec\.ladder\.renditions\[0\]\.videoBitrateKbps: Required value/,
    ],
    [{ hls: { segmentSeconds: 0 } }, /^spec\.hls\.segmentSeconds: Invalid value: 0: .*greater than or equal to 1/],
    [
      { ladder: { renditions: [{ name: 'odd', width: 641, height: 360, videoBitrateKbps: 800 }] } },
      /^spec\.ladder\.renditions\[0\]\.width: Invalid value: "integer": width must be even/,
    ],
    [{ ingest: { httpFlv: 'yes' } }, /^spec\.ingest\.httpFlv: .*must be of type boolean/],
    [{ hls: { segmentSecond: 4 } }, /^unknown field "spec\.hls\.segmentSecond"/],
  ])('refuses bad input with the field named (%#)', (spec, message) => {
    const document = { metadata: { name: 'a' }, spec };
    expect(() => resolveLiveStream(document)).toThrow(ConfigError);
    expect(() => resolveLiveStream(document)).toThrow(message);
  });

  it('requires metadata.name and defaults the namespace', () => {
    expect(() => resolveLiveStream({ spec: {} })).toThrow(/metadata: Required value/);
    expect(resolveLiveStream({ metadata: { name: 'a' } }).config.namespace).toBe('default');
  });

  it('returns the stored object beside the configuration', () => {
    const { object } = resolveLiveStream(fullExample.written);
    expect(object.spec).toEqual(fullExample.storedSpec);
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

  it('names the file and the field in errors', () => {
    expect(() =>
      parseAndResolve('kind: LiveStream\nmetadata: {name: a}\nspec: {hls: {segmentSeconds: 99}}', 'f.yaml'),
    ).toThrow(/^f\.yaml: spec\.hls\.segmentSeconds: Invalid value: 99: .*less than or equal to 10$/);
    expect(() => parseAndResolve('{', 'g.json')).toThrow(/g\.json: cannot parse/);
    expect(() => parseAndResolve('kind: Secret\n', 'h.yaml')).toThrow(/h\.yaml: no LiveStream document found/);
  });
});
