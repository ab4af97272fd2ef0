// The finalize Job's entry point: `node transcoder/src/recording/finalize-main.ts --bucket B --namespace NS --name N
// --session S [--prefix P] [--endpoint URL] [--region R] [--force-path-style]`, each also from the env the operator
// sets (the pod contract's LSO_S3_*, LSO_NAMESPACE, LSO_NAME, LSO_SESSION; resolved by finalizeSettings). Credentials
// come from files (LSO_S3_CREDENTIALS_DIR, default the mounted Secret). Prints exactly one JSON line on stdout (the
// FinalizeResult, or {"error": ...}); progress goes to stderr. Exit 0 on success, 1 on failure, 2 on bad arguments.
// Safe to re-run: the same inputs give the same objects.
import { parseArgs } from 'node:util';
import { sessionPrefix } from '../../../contract/src/recording-layout.ts';
import { ConfigError } from '../config/livestream-spec.ts';
import { finalizeSettings } from '../config/settings.ts';
import { finalizeSession } from './finalize.ts';
import { createS3Client, describeS3Error } from './s3-client.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'force-path-style': { type: 'boolean' },
      namespace: { type: 'string' },
      name: { type: 'string' },
      session: { type: 'string' },
    },
    strict: true,
  });
  const { namespace, name, session, s3, credentialsDir, receiptWaitMs } = finalizeSettings(values, process.env);
  const client = createS3Client(s3, credentialsDir, 120_000);
  try {
    const result = await finalizeSession({
      client,
      bucket: s3.bucket,
      sessionPrefix: sessionPrefix(s3, namespace, name, session),
      session,
      receiptWaitMs,
      log: (message) => process.stderr.write(`finalize ${namespace}/${name} ${session}: ${message}\n`),
    });
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    client.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Node's own errors carry string codes; a child process's error carries its numeric exit code.
    const code = (err as { code?: unknown } | undefined)?.code;
    const bad = err instanceof ConfigError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    const message =
      err instanceof Error && !(err as { $metadata?: unknown }).$metadata ? err.message : describeS3Error(err);
    process.stderr.write(`finalize: ${message}\n`);
    process.stdout.write(JSON.stringify({ error: message }) + '\n');
    process.exit(bad ? 2 : 1);
  },
);
