// The finalize Job's entry point: `node transcoder/src/recording/finalize-main.ts --bucket B --namespace NS --name N
// --session S [--prefix P] [--endpoint URL] [--region R] [--force-path-style]` (each also from LSO_S3_BUCKET,
// LSO_S3_PREFIX, LSO_S3_ENDPOINT, LSO_S3_REGION, LSO_S3_FORCE_PATH_STYLE, LSO_NAMESPACE, LSO_NAME, LSO_SESSION).
// Credentials come from files (LSO_S3_CREDENTIALS_DIR, default the mounted Secret). Prints exactly one JSON line on
// stdout (the FinalizeResult, or {"error": ...}); progress goes to stderr. Exit 0 on success, 1 on failure, 2 on
// bad arguments. Safe to re-run: the same inputs give the same objects.
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/livestream-spec.ts';
import { finalizeSession } from './finalize.ts';
import { parseS3Settings, sessionPrefix } from './recording-config.ts';
import { createS3Client, credentialsDir, describeS3Error } from './s3-client.ts';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const sessionPattern = /^[A-Za-z0-9_-]{1,128}$/;

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
  const env = process.env;
  const namespace = values.namespace ?? env.LSO_NAMESPACE ?? '';
  const name = values.name ?? env.LSO_NAME ?? '';
  const session = values.session ?? env.LSO_SESSION ?? '';
  if (!dnsLabel.test(namespace)) throw new ConfigError('--namespace must be a Kubernetes namespace name');
  if (!/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(name)) throw new ConfigError('--name must be a LiveStream name');
  if (!sessionPattern.test(session)) throw new ConfigError('--session must be a session id ([A-Za-z0-9_-])');
  const fps =
    values['force-path-style'] ?? (env.LSO_S3_FORCE_PATH_STYLE ? env.LSO_S3_FORCE_PATH_STYLE === 'true' : undefined);
  const s3 = parseS3Settings(
    {
      bucket: values.bucket ?? env.LSO_S3_BUCKET,
      ...((values.prefix ?? env.LSO_S3_PREFIX) !== undefined && { prefix: values.prefix ?? env.LSO_S3_PREFIX }),
      ...((values.endpoint ?? env.LSO_S3_ENDPOINT) && { endpoint: values.endpoint ?? env.LSO_S3_ENDPOINT }),
      ...((values.region ?? env.LSO_S3_REGION) && { region: values.region ?? env.LSO_S3_REGION }),
      ...(fps !== undefined && { forcePathStyle: fps }),
    },
    'S3 settings',
  );
  const client = createS3Client(s3, credentialsDir(env), 120_000);
  try {
    const result = await finalizeSession({
      client,
      bucket: s3.bucket,
      sessionPrefix: sessionPrefix(s3, namespace, name, session),
      session,
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
