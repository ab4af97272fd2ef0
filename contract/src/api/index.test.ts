import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ConditionReason,
  ConditionType,
  EventReason,
  ladderRenditions,
  presets,
  streamKeySecretName,
} from './index.ts';
import { fullExample, minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';

const crd = readFileSync(join(import.meta.dirname, '..', '..', '..', 'crds', 'livestream.yaml'), 'utf8');

describe('presets', () => {
  it('match the ladder the contract specifies', () => {
    const summary = Object.fromEntries(
      Object.entries(presets).map(([name, rungs]) => [
        name,
        rungs.map((r) => `${r.name}=${r.width}x${r.height}@${r.videoBitrateKbps}k/${r.fps}/${r.audioBitrateKbps}k`),
      ]),
    );
    expect(summary).toEqual({
      '1080p': [
        '1080p=1920x1080@5000k/30/128k',
        '720p=1280x720@2800k/30/128k',
        '480p=854x480@1400k/30/128k',
        '360p=640x360@800k/30/128k',
      ],
      '720p': ['720p=1280x720@2800k/30/128k', '480p=854x480@1400k/30/128k', '360p=640x360@800k/30/128k'],
      '480p': ['480p=854x480@1400k/30/128k', '360p=640x360@800k/30/128k'],
      '360p': ['360p=640x360@800k/30/96k'],
    });
  });

  it('are the ones the CRD enumerates, with the rendition names its CEL rule accepts', () => {
    const doc = parse(crd) as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: SpecSchema } } } }[] };
    };
    type SpecSchema = {
      properties: { ladder: { properties: { preset: { enum: string[] } } } };
      'x-kubernetes-validations': { rule: string; messageExpression?: string }[];
    };
    const spec = doc.spec.versions[0]!.schema.openAPIV3Schema.properties.spec;
    expect(spec.properties.ladder.properties.preset.enum).toEqual(Object.keys(presets));
    const presetRule = spec['x-kubernetes-validations'].find((v) => v.rule.includes("{'1080p'"))!;
    const rule = presetRule.rule.replace(/\s+/g, ' ');
    const message = presetRule.messageExpression!.replace(/\s+/g, ' ');
    for (const [name, rungs] of Object.entries(presets)) {
      expect(rule).toContain(`'${name}': [${rungs.map((r) => `'${r.name}'`).join(', ')}]`);
      expect(message).toContain(`'${name}': '${rungs.map((r) => r.name).join(', ')}'`);
    }
  });
});

describe('ladderRenditions', () => {
  it('expands the preset, the default preset, or fills in an explicit ladder', () => {
    expect(ladderRenditions({ preset: '480p', passthrough: true }).map((r) => r.name)).toEqual(['480p', '360p']);
    expect(ladderRenditions(undefined).map((r) => r.name)).toEqual(['720p', '480p', '360p']);
    expect(ladderRenditions({ passthrough: false }).map((r) => r.name)).toEqual(['720p', '480p', '360p']);
    expect(ladderRenditions({ renditions: [{ name: 'x', width: 320, height: 180, videoBitrateKbps: 300 }] })).toEqual([
      { name: 'x', width: 320, height: 180, videoBitrateKbps: 300, fps: 30, audioBitrateKbps: 128 },
    ]);
  });

  it('returns copies: editing the result does not change the preset table', () => {
    ladderRenditions({ preset: '360p' })[0]!.width = 2;
    expect(presets['360p'][0]!.width).toBe(640);
  });
});

describe('constants', () => {
  it('are single CamelCase words equal to their keys', () => {
    for (const table of [ConditionType, ConditionReason, EventReason]) {
      for (const [key, value] of Object.entries(table)) {
        expect(value).toBe(key);
        expect(value).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      }
    }
  });

  it('name the stream key Secret from the spec or the generated default', () => {
    expect(streamKeySecretName(storedLiveStream(minimalExample))).toBe('minimal-stream-key');
    expect(streamKeySecretName(storedLiveStream(fullExample))).toBe('studio-key');
  });
});
