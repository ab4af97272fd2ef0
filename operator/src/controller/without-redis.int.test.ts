// The operator without Redis (the chart's redis.enabled=false and no external Redis) against a real API server: the
// transcoder pod must be startable, so it references no `<name>-redis` Secret (none is made), and the status comes
// from what the operator observes: Pending while the Deployment is unavailable (this cluster has no kubelet), and
// Publishing from the reports it polls from the pods' own report logs, once there is a pod. (The pod starting is the e2e tier's to show.)
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';

describe('the operator without Redis', () => {
  const cluster = useTestCluster('no-redis');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  const streams = liveStreams(cluster);
  let operator: OperatorProcess;

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
    // No LSO_REDIS_URL: startOperator passes on nothing of this process's environment but PATH.
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: { LSO_TRANSCODER_IMAGE: 'livestream-transcoder:test' },
    });
  });
  afterAll(async () => {
    await operator?.stop();
  });

  it('makes a pod that references no Secret it does not make, and a status from the Deployment', async () => {
    const namespace = cluster.namespace;
    await streams.apply('solo', { ladder: { preset: '480p' } });
    const pending = await streams.until('solo', 'a Pending status', (ls) =>
      ls.status?.state === 'Pending' ? ls : undefined,
    );
    expect(pending.status?.ingest?.url).toBe(`rtmp://solo.${namespace}.svc:1935/live`);

    const deployment = await apps.readNamespacedDeployment({ name: 'solo-transcoder', namespace });
    const pod = deployment.spec!.template.spec!;
    const secrets = (await core.listNamespacedSecret({ namespace })).items.map((s) => s.metadata?.name);
    expect(secrets).not.toContain('solo-redis');
    for (const container of pod.containers) {
      expect(container.env?.map((e) => e.name)).not.toContain('LSO_REDIS_URL');
      for (const env of container.env ?? []) {
        const ref = env.valueFrom?.secretKeyRef;
        if (ref) expect(ref.optional === true || secrets.includes(ref.name)).toBe(true);
      }
    }
    for (const volume of pod.volumes ?? []) {
      const secret = volume.secret;
      if (secret) expect(secret.optional === true || secrets.includes(secret.secretName)).toBe(true);
    }

    // No kubelet here, so the Deployment never becomes available: the status says so, from the Deployment alone, and
    // waits for the first report the operator polls from the pod (report-poller.int.test.ts shows one arriving).
    const conditions = Object.fromEntries((pending.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions.ChildrenReady).toMatchObject({ status: 'False', reason: 'DeploymentUnavailable' });
    expect(conditions.Publishing).toMatchObject({ status: 'Unknown', reason: 'Initializing' });
    expect(operator.output()).toContain('reports are polled from the transcoder pods');
  }, 40_000);
});
