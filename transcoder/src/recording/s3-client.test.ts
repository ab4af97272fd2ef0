import { describe, expect, it } from 'vitest';
import { describeS3Error } from './s3-client.ts';

describe('describeS3Error', () => {
  const secretParts = ['AKIAEXAMPLE', 'deadbeef0123', 'c0ffee9876', 'FwoGZXIvYXdzE'];

  it('names the error, the HTTP status and the code, without the credentials a message may quote', () => {
    const err = Object.assign(
      new Error(
        'request failed: Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261201/us-east-1/s3/aws4_request, ' +
          'SignedHeaders=host, Signature=deadbeef0123 for https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAEXAMPLE' +
          '%2F20261201&X-Amz-Signature=c0ffee9876&X-Amz-Security-Token=FwoGZXIvYXdzE',
      ),
      { name: 'AccessDenied', code: 'ECONNRESET', $metadata: { httpStatusCode: 403 } },
    );
    const text = describeS3Error(err);
    expect(text).toMatch(/^AccessDenied: HTTP 403: ECONNRESET: request failed: /);
    expect(text).toContain('b.s3.amazonaws.com');
    for (const secret of secretParts) expect(text).not.toContain(secret);
  });

  it('redacts what is thrown that is not an Error, and bounds the message', () => {
    expect(describeS3Error('signature=deadbeef0123')).not.toContain('deadbeef0123');
    expect(describeS3Error(new Error('x'.repeat(1_000))).length).toBeLessThan(320);
  });
});
