import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as contract from '../../../contract/src/pod-contract.ts';
import { ConfigError } from './livestream-spec.ts';
import { defaultRelayBackoff, finalizeSettings, relaySettings, transcoderSettings } from './settings.ts';

// The pod's own env is covered by test/contract/pod-contract.test.ts; these are the other paths.
describe('transcoderSettings', () => {
  it('defaults to the pod contract without any env', () => {
    expect(transcoderSettings({}, {})).toEqual({
      standalone: false,
      configPath: contract.configPath,
      rtmpPort: contract.ports.rtmp,
      httpPort: contract.ports.http,
      streamKeyPath: contract.ingestKeysPath,
      hlsDir: contract.hlsDir,
      thumbnailSeconds: 5,
    });
  });

  it('takes the thumbnail interval from LSO_THUMBNAIL_SECONDS, 0 for none, refusing what is not one', () => {
    expect(transcoderSettings({}, { LSO_THUMBNAIL_SECONDS: '10' }).thumbnailSeconds).toBe(10);
    expect(transcoderSettings({}, { LSO_THUMBNAIL_SECONDS: '0' }).thumbnailSeconds).toBe(0);
    expect(() => transcoderSettings({}, { LSO_THUMBNAIL_SECONDS: '301' })).toThrow(/LSO_THUMBNAIL_SECONDS must be/);
  });

  it('leaves the key and the HLS directory to the data directory in standalone mode, unless given', () => {
    expect(transcoderSettings({ livestream: 'show.yaml', 'rtmp-port': '0' }, { LSO_RTMP_PORT: '1' })).toEqual({
      standalone: true,
      configPath: path.resolve('show.yaml'),
      rtmpPort: 0,
      httpPort: contract.ports.http,
      thumbnailSeconds: 5,
    });
    const given = transcoderSettings(
      { livestream: 'show.yaml', 'stream-key-file': 'k', 'data-dir': 'd' },
      { LSO_HLS_DIR: '/srv/hls', LSO_FFMPEG: '/opt/ffmpeg', LSO_REDIS_URL: '' },
    );
    expect(given).toMatchObject({ streamKeyPath: path.resolve('k'), hlsDir: '/srv/hls', dataDir: path.resolve('d') });
    expect(given).toMatchObject({ ffmpegPath: '/opt/ffmpeg' });
    expect(given).not.toHaveProperty('redisUrl'); // empty means unset
  });

  it('refuses a port that is not one, naming it', () => {
    expect(() => transcoderSettings({}, { LSO_HTTP_PORT: '80a' })).toThrow(ConfigError);
    expect(() => transcoderSettings({}, { LSO_HTTP_PORT: '70000' })).toThrow(/the HTTP port must be an integer/);
  });
});

describe('relaySettings', () => {
  it('defaults to the pod contract, TMPDIR for its run directory', () => {
    expect(relaySettings({}, { TMPDIR: '/scratch' })).toMatchObject({
      configPath: contract.configPath,
      rtmpPort: contract.ports.rtmp,
      metricsPort: contract.ports.relayMetrics,
      keysDir: contract.relayKeysDir,
      runDir: '/scratch',
    });
    expect(relaySettings({}, {}).runDir).toBe(contract.tmpDir);
    expect(() => relaySettings({}, { LSO_RELAY_HEARTBEAT_MS: '10' })).toThrow(/LSO_RELAY_HEARTBEAT_MS must be/);
  });

  it('caps the reconnect backoff with LSO_RELAY_BACKOFF_CAP_MS, keeping its base and jitter', () => {
    expect(relaySettings({}, {}).backoff).toEqual(defaultRelayBackoff);
    expect(relaySettings({}, { LSO_RELAY_BACKOFF_CAP_MS: '4000' }).backoff).toEqual({
      ...defaultRelayBackoff,
      maxMs: 4_000,
    });
    expect(() => relaySettings({}, { LSO_RELAY_BACKOFF_CAP_MS: '10' })).toThrow(/LSO_RELAY_BACKOFF_CAP_MS must be/);
  });
});

describe('finalizeSettings', () => {
  const env = { LSO_NAMESPACE: 'media', LSO_NAME: 'show', LSO_SESSION: 's1', LSO_S3_BUCKET: 'recordings' };

  it('takes flags before the env, and the defaults of spec.recording.s3', () => {
    expect(finalizeSettings({ bucket: 'other', 'force-path-style': true }, { ...env, LSO_S3_PREFIX: '' })).toEqual({
      namespace: 'media',
      name: 'show',
      session: 's1',
      s3: { bucket: 'other', prefix: '', region: 'us-east-1', forcePathStyle: true },
      credentialsDir: contract.s3CredentialsDir,
      receiptWaitMs: 300_000,
    });
    expect(finalizeSettings({}, { ...env, LSO_FINALIZE_RECEIPT_WAIT_SECONDS: '0' }).receiptWaitMs).toBe(0);
  });

  it('refuses what the schema refuses, and a path style that is not a boolean', () => {
    expect(() => finalizeSettings({}, { ...env, LSO_S3_BUCKET: 'Bad_Bucket' })).toThrow(
      /^S3 settings\.bucket: Invalid value: "string"/,
    );
    expect(() => finalizeSettings({}, { ...env, LSO_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(
      /LSO_S3_FORCE_PATH_STYLE must be true or false/,
    );
    expect(() => finalizeSettings({}, { ...env, LSO_SESSION: '../x' })).toThrow(/--session must be a session id/);
    expect(() => finalizeSettings({}, { ...env, LSO_FINALIZE_RECEIPT_WAIT_SECONDS: '-1' })).toThrow(
      /LSO_FINALIZE_RECEIPT_WAIT_SECONDS must be an integer from 0 to 3000/,
    );
  });
});
