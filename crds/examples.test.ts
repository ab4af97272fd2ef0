// The YAML examples users copy are the fixtures the tests use (test/support/livestream-examples.ts), which the
// validation test applies to a real API server; the audience examples are checked here by the standalone validator
// (and applied to a real API server by livestream-validation.int.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fullExample, minimalExample } from '../test/support/livestream-examples.ts';
import { validateLiveStream } from '../contract/src/api/validate.ts';

describe('crds/examples', () => {
  it.each([
    ['livestream-minimal.yaml', minimalExample],
    ['livestream-full.yaml', fullExample],
  ])('%s is the example the tests apply', (file, example) => {
    expect(parse(readFileSync(join(import.meta.dirname, 'examples', file), 'utf8'))).toEqual(example.written);
  });
});

/** The audience examples: file, what the API server stores of spec.audience. */
const audienceExamples: Array<[string, Record<string, unknown>]> = [
  [
    'livestream-public.yaml',
    {
      title: 'Product launch',
      description: expect.stringContaining('The **live** product launch'),
      visibility: 'public',
      scheduledStart: '2026-12-24T18:00:00Z',
    },
  ],
  ['livestream-private.yaml', { title: 'All-hands meeting', visibility: 'private', revokedViewers: ['contractor-17'] }],
  [
    'livestream-password.yaml',
    { title: 'Partner webinar', visibility: 'password', password: { secretName: 'webinar-viewers', key: 'password' } },
  ],
];

describe('crds/examples of spec.audience', () => {
  it.each(audienceExamples)('%s is valid and stores the audience shown', (file, audience) => {
    const written: unknown = parse(readFileSync(join(import.meta.dirname, 'examples', file), 'utf8'));
    expect(validateLiveStream(written).spec.audience).toEqual(audience);
  });
});
