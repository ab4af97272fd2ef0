// The YAML examples users copy are the fixtures the tests use (test/support/livestream-examples.ts), which the
// validation test applies to a real API server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fullExample, minimalExample } from '../test/support/livestream-examples.ts';

describe('crds/examples', () => {
  it.each([
    ['livestream-minimal.yaml', minimalExample],
    ['livestream-full.yaml', fullExample],
  ])('%s is the example the tests apply', (file, example) => {
    expect(parse(readFileSync(join(import.meta.dirname, 'examples', file), 'utf8'))).toEqual(example.written);
  });
});
