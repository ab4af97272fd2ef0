// An S3 client for AWS or an S3-compatible server, with credentials read from the mounted Secret files (never from
// arguments or the spec), re-read every minute so a rotated Secret is picked up without a restart.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { redact } from '../../../contract/src/redact.ts';
import { s3CredentialFileNames } from '../../../contract/src/pod-contract.ts';
import type { S3Settings } from '../../../contract/src/recording-layout.ts';

export async function readCredentials(dir: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const read = async (file: string): Promise<string> => {
    try {
      const value = (await readFile(path.join(dir, file), 'utf8')).trim();
      if (value === '') throw new Error(`S3 credential file ${file} in ${dir} is empty`);
      return value;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      // The path is not secret; the content never appears in a message.
      throw new Error(`cannot read S3 credential file ${path.join(dir, file)} (${code})`, { cause: err });
    }
  };
  return {
    accessKeyId: await read(s3CredentialFileNames.accessKeyId),
    secretAccessKey: await read(s3CredentialFileNames.secretAccessKey),
  };
}

export function createS3Client(s3: S3Settings, dir: string, requestTimeoutMs = 20_000): S3Client {
  return new S3Client({
    region: s3.region,
    ...(s3.endpoint !== undefined && { endpoint: s3.endpoint }),
    forcePathStyle: s3.forcePathStyle,
    // S3-compatible servers reject or mis-handle the newer default integrity checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The callers retry with their own backoff (the spool keeps what failed); one attempt per call here.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: requestTimeoutMs },
    credentials: async () => ({ ...(await readCredentials(dir)), expiration: new Date(Date.now() + 60_000) }),
  });
}

// A short, credential-free description of an SDK error for logs and reports.
export function describeS3Error(err: unknown): string {
  if (!(err instanceof Error)) return redact(String(err));
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (err as NodeJS.ErrnoException).code;
  const parts = [err.name];
  if (status !== undefined) parts.push(`HTTP ${status}`);
  if (code !== undefined && code !== err.name) parts.push(code);
  // An SDK message may quote the Authorization header or a presigned URL: the one redaction removes their credentials.
  parts.push(redact(err.message).slice(0, 300));
  return parts.join(': ');
}
