// `kubectl livestream key NAME [--rotate [--grace D]]`: the stream key from its Secret (the one spec.streamKey names,
// else the generated "<name>-stream-key"), or a new random one written into that Secret. The operator turns the
// Secret's change into a rotation (docs/adr/0012-stream-key-rotation.md): the new key works at once, the old one for
// spec.streamKey.rotationGracePeriod, and status.ingest.previousKeyExpiresAt says until when.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Secret } from '@kubernetes/client-node';
import { streamKeySecretKey, streamKeySecretName, type LiveStream } from '../../../contract/src/api/index.ts';
import { defaultRotationGracePeriod } from '../../../contract/src/ingest-keys.ts';
import { UsageError, durationSeconds, nameArg, one } from '../args.ts';
import { globalFlags, type Command, type Context } from '../command.ts';
import { serialized, table, time } from '../format.ts';
import { CommandError, apiErrorMessage, isNotFound, type Cluster } from '../kube.ts';
import { getLiveStream, mergePatchLiveStream } from '../livestream.ts';

const maxGraceSeconds = 24 * 3600;

/** A new stream key: 32 characters of [A-Za-z0-9_-] (what the operator generates; RTMP stream names allow it). */
export const newStreamKey = (): string => randomBytes(24).toString('base64url');

export interface KeyView {
  namespace: string;
  name: string;
  secret: string;
  secretKey: string;
  streamKey: string;
  /** RFC 3339 while a previous key is still accepted */
  previousKeyExpiresAt?: string;
  /** after a rotation the operator has not confirmed yet: when the old key should stop working */
  previousKeyExpectedToExpireAt?: string;
}

export function keyTable(v: KeyView): string {
  const expires = v.previousKeyExpiresAt
    ? time(v.previousKeyExpiresAt)
    : v.previousKeyExpectedToExpireAt
      ? `~${time(v.previousKeyExpectedToExpireAt)} (not yet in status)`
      : '<none>';
  return table(
    ['SECRET', 'STREAM-KEY', 'PREVIOUS-KEY-EXPIRES'],
    [[`${v.secret}/${v.secretKey}`, v.streamKey, expires]],
  );
}

/** Where the key lives: status names the Secret the operator uses; the spec says which data key. */
const secretOf = (ls: LiveStream) => ({
  secret: ls.status?.ingest?.streamKeySecret ?? streamKeySecretName(ls),
  secretKey: streamKeySecretKey(ls),
});

async function readSecret(cluster: Cluster, name: string): Promise<V1Secret> {
  try {
    return await cluster.core().readNamespacedSecret({ name, namespace: cluster.namespace });
  } catch (err) {
    if (isNotFound(err)) {
      throw new CommandError(`the stream key Secret ${cluster.namespace}/${name} does not exist (yet?)`);
    }
    throw new CommandError(`cannot read Secret ${cluster.namespace}/${name}: ${apiErrorMessage(err)}`);
  }
}

function keyIn(secret: V1Secret, key: string): string {
  const data = secret.data?.[key];
  if (data === undefined) throw new CommandError(`Secret ${secret.metadata?.name} has no key "${key}"`);
  return Buffer.from(data, 'base64').toString('utf8');
}

/** Sets spec.streamKey.rotationGracePeriod when --grace differs, and waits (bounded) for the operator to take it. */
async function applyGrace(ctx: Context, ls: LiveStream, grace: string, waitMs: number): Promise<LiveStream> {
  const current = ls.spec.streamKey?.rotationGracePeriod ?? defaultRotationGracePeriod;
  if (durationSeconds(current, 'grace') === durationSeconds(grace, 'grace')) return ls;
  const name = ls.metadata.name!;
  const patched = await mergePatchLiveStream(ctx.cluster(), name, {
    spec: { streamKey: { rotationGracePeriod: grace } },
  });
  ctx.note(`spec.streamKey.rotationGracePeriod set to ${grace} (was ${current})`);
  const generation = patched.metadata.generation ?? 0;
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const seen = await getLiveStream(ctx.cluster(), name);
    if ((seen.status?.observedGeneration ?? 0) >= generation) return seen;
    await sleep(250);
  }
  ctx.note('the operator has not observed the new grace period yet; rotating anyway');
  return patched;
}

async function rotate(ctx: Context, name: string): Promise<KeyView> {
  const cluster = ctx.cluster();
  const graceText = one(ctx.args, 'grace');
  const waitMs = durationSeconds(one(ctx.args, 'wait') ?? '30s', 'wait') * 1000;
  if (graceText !== undefined && durationSeconds(graceText, 'grace') > maxGraceSeconds) {
    throw new UsageError('--grace must be at most 24h');
  }
  let ls = await getLiveStream(cluster, name);
  if (graceText !== undefined) ls = await applyGrace(ctx, ls, graceText, waitMs);
  const { secret, secretKey } = secretOf(ls);
  const before = ls.status?.ingest?.previousKeyExpiresAt;
  const current = await readSecret(cluster, secret);
  const streamKey = newStreamKey();
  const body: V1Secret = {
    ...current,
    data: { ...current.data, [secretKey]: Buffer.from(streamKey).toString('base64') },
  };
  const rotatedAt = Date.now();
  try {
    // resourceVersion-checked: a concurrent change of the Secret fails this rather than being overwritten.
    await cluster.core().replaceNamespacedSecret({ name: secret, namespace: cluster.namespace, body });
  } catch (err) {
    throw new CommandError(`cannot write Secret ${cluster.namespace}/${secret}: ${apiErrorMessage(err)}`);
  }
  const graceMs =
    durationSeconds(graceText ?? ls.spec.streamKey?.rotationGracePeriod ?? defaultRotationGracePeriod, 'grace') * 1000;
  const view: KeyView = { namespace: cluster.namespace, name, secret, secretKey, streamKey };
  if (graceMs === 0) return view;
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const expires = (await getLiveStream(cluster, name)).status?.ingest?.previousKeyExpiresAt;
    if (expires !== undefined && expires !== before) return { ...view, previousKeyExpiresAt: expires };
    await sleep(250);
  }
  return { ...view, previousKeyExpectedToExpireAt: new Date(rotatedAt + graceMs).toISOString() };
}

async function show(ctx: Context, name: string): Promise<KeyView> {
  const cluster = ctx.cluster();
  const ls = await getLiveStream(cluster, name);
  const { secret, secretKey } = secretOf(ls);
  const streamKey = keyIn(await readSecret(cluster, secret), secretKey);
  const expires = ls.status?.ingest?.previousKeyExpiresAt;
  return {
    namespace: cluster.namespace,
    name,
    secret,
    secretKey,
    streamKey,
    ...(expires && { previousKeyExpiresAt: expires }),
  };
}

export const keyCommand: Command = {
  name: 'key',
  usage: 'kubectl livestream key NAME [--rotate [--grace 10m] [--wait 30s]]',
  summary: 'show or rotate the stream key',
  about:
    "The channel's stream key (encoders send it as the RTMP stream name). --rotate writes a new random key into its " +
    'Secret: the new key works at once and the old one for the grace period (spec.streamKey.rotationGracePeriod; ' +
    '--grace sets that field first), then the new key and when the old one stops working are printed.',
  flags: [
    { name: 'rotate', help: 'write a new random key into the Secret' },
    { name: 'grace', value: 'DURATION', help: 'with --rotate: set spec.streamKey.rotationGracePeriod (0s..24h) first' },
    {
      name: 'wait',
      value: 'DURATION',
      help: "with --rotate: how long to wait for the operator's status (default 30s)",
    },
    ...globalFlags,
  ],
  async run(ctx) {
    const name = nameArg(ctx.args, 'key');
    const rotating = ctx.args.switches.has('rotate');
    if (!rotating && (one(ctx.args, 'grace') !== undefined || one(ctx.args, 'wait') !== undefined)) {
      throw new UsageError('--grace and --wait go with --rotate');
    }
    const view = rotating ? await rotate(ctx, name) : await show(ctx, name);
    ctx.out(serialized(view, ctx.output) ?? keyTable(view));
  },
};
