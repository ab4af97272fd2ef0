import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../contract/src/api/index.ts';
import { minimalExample, storedLiveStream } from '../../test/support/livestream-examples.ts';
import { SecretReferences } from './watches.ts';

/** A stored LiveStream `namespace/name` whose stream key is in `streamKeySecret` (its own Secret when undefined). */
function liveStream(namespace: string, name: string, streamKeySecret?: string, deleting = false): LiveStream {
  const ls = storedLiveStream(minimalExample, { namespace });
  ls.metadata.name = name;
  if (deleting) ls.metadata.deletionTimestamp = new Date();
  if (streamKeySecret)
    ls.spec.streamKey = { secretRef: { name: streamKeySecret, key: 'streamKey' }, rotationGracePeriod: '5m' };
  return ls;
}

const secret = (namespace: string, name: string) => ({ metadata: { namespace, name } });

describe('SecretReferences', () => {
  it('maps a Secret to the LiveStreams naming it, per namespace, and follows spec changes and deletions', () => {
    const refs = new SecretReferences();
    const shared = 'studio';
    refs.note(liveStream('a', 'two', shared));
    refs.note(liveStream('a', 'one', shared));
    refs.note(liveStream('b', 'one', shared));
    refs.note(liveStream('a', 'own'));
    expect(refs.keysFor(secret('a', 'studio'))).toEqual(['a/one', 'a/two']);
    expect(refs.keysFor(secret('b', 'studio'))).toEqual(['b/one']);
    expect(refs.keysFor(secret('a', 'own-stream-key'))).toEqual(['a/own']);
    expect(refs.keysFor(secret('a', 'unknown'))).toEqual([]);

    // The spec moves to another Secret: the old one no longer maps to it.
    refs.note(liveStream('a', 'one', 'other'));
    expect(refs.keysFor(secret('a', 'studio'))).toEqual(['a/two']);
    expect(refs.keysFor(secret('a', 'other'))).toEqual(['a/one']);

    refs.note(liveStream('a', 'two', shared, true));
    expect(refs.keysFor(secret('a', 'studio'))).toEqual([]);
  });
});
