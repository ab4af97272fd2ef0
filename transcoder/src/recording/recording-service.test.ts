import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateLiveStream } from '../../../contract/src/api/validate.ts';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import type { LadderPlan } from '../ladder/plan-ladder.ts';
import { clearDirectory } from '../session/hls-files.ts';
import { llHlsRecordingUnsupported, recordingTarget, spoolDirName } from './recording-service.ts';

const config = { name: 'show', namespace: 'media', renditions: [{ name: '720p' }, { name: '360p' }] } as ResolvedConfig;
const object = (recording: unknown) => validateLiveStream({ metadata: { name: 'show' }, spec: { recording } });
const plan = {
  videos: [{ name: '720p', mode: 'encode', audio: 'audio' }],
  audioRenditions: [{ name: 'audio', mode: 'encode' }],
} as unknown as LadderPlan;

describe('recordingTarget', () => {
  it('is off without spec.recording, and lists tracks only once the ladder is planned', () => {
    expect(recordingTarget(object(undefined), config, plan).recording).toBeUndefined();
    expect(recordingTarget(object(undefined), config, plan).tracks()).toEqual([]);
    const on = object({ enabled: true, s3: { bucket: 'rec-bucket', credentialsSecretRef: { name: 's3' } } });
    expect(recordingTarget(on, config, undefined).tracks()).toEqual([]);
    expect(recordingTarget(on, config, plan).tracks()).toEqual(['720p', 'audio']);
  });

  it('refuses an LL-HLS session with a message the recording-failed report carries (not supported yet)', () => {
    const on = object({ enabled: true, s3: { bucket: 'rec-bucket', credentialsSecretRef: { name: 's3' } } });
    const ll = { ...plan, lowLatency: { partSeconds: 0.5 } };
    expect(() => recordingTarget(on, config, ll).tracks()).toThrow(llHlsRecordingUnsupported);
    expect(recordingTarget(object(undefined), config, ll).tracks()).toEqual([]); // recording off: nothing to say
  });
});

describe('the spool in the HLS directory', () => {
  it('survives the clearing of the HLS directory at a new session', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lso-hls-'));
    try {
      await mkdir(path.join(dir, spoolDirName, 's1', '720p'), { recursive: true });
      await writeFile(path.join(dir, spoolDirName, 's1', '720p', '0000000001.ts'), 'x');
      await mkdir(path.join(dir, '720p'));
      await writeFile(path.join(dir, 'master.m3u8'), '#EXTM3U');
      await clearDirectory(dir);
      expect(await readdir(dir)).toEqual([spoolDirName]);
      expect(await readdir(path.join(dir, spoolDirName, 's1', '720p'))).toEqual(['0000000001.ts']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
