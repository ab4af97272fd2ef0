import { describe, expect, it } from 'vitest';
import type { KubernetesObject, V1Deployment, V1Job, V1Secret, V1Service } from '@kubernetes/client-node';
import { needsApply, withDesiredHash } from '../k8s/semantic.ts';
import { childTransforms } from '../watches.ts';
import {
  childProjection,
  lastAppliedAnnotation,
  managedFieldSet,
  projectFields,
  trimmedMetadata,
  unionFieldSets,
  withoutBookkeeping,
  type FieldSet,
} from './cache-transform.ts';

const ours = 'livestream-operator';

/** A Deployment as built: what the operator applies. */
const desiredDeployment = withDesiredHash({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'a-transcoder', namespace: 'ns', labels: { app: 'a' } },
  spec: {
    replicas: 1,
    template: {
      metadata: { labels: { app: 'a' } },
      spec: {
        containers: [
          {
            name: 'transcoder',
            image: 'transcoder:1',
            args: ['--a', '--b'],
            ports: [{ name: 'rtmp', containerPort: 1935 }],
            resources: { limits: { cpu: '2' } },
          },
        ],
      },
    },
  },
});

/** Our manager's field set for desiredDeployment, as the API server records it. */
const ourFields: FieldSet = {
  'f:metadata': { 'f:annotations': { 'f:streaming.livestream-operator.dev/desired-hash': {} }, 'f:labels': {} },
  'f:spec': {
    'f:replicas': {},
    'f:template': {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:containers': {
          'k:{"name":"transcoder"}': {
            '.': {},
            'f:args': {},
            'f:image': {},
            'f:name': {},
            'f:ports': {
              'k:{"containerPort":1935,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:name': {} },
            },
            'f:resources': { 'f:limits': { 'f:cpu': {} } },
          },
        },
      },
    },
  },
};

/** desiredDeployment as the API server stores it: defaults, a quantity canonicalized, status, bookkeeping. */
function storedDeployment(fields = ourFields): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      ...desiredDeployment.metadata,
      resourceVersion: '42',
      uid: 'u-1',
      generation: 3,
      managedFields: [
        { manager: ours, operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: fields },
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          subresource: 'status',
          fieldsV1: { 'f:status': { 'f:availableReplicas': {}, 'f:conditions': {} } },
        },
      ],
    },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: 'a' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'a' } },
        spec: {
          containers: [
            {
              name: 'transcoder',
              image: 'transcoder:1',
              args: ['--a', '--b'],
              ports: [{ name: 'rtmp', containerPort: 1935, protocol: 'TCP' }],
              resources: { limits: { cpu: '2' } },
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              imagePullPolicy: 'IfNotPresent',
            },
          ],
          restartPolicy: 'Always',
          dnsPolicy: 'ClusterFirst',
          schedulerName: 'default-scheduler',
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
    },
    status: {
      availableReplicas: 1,
      replicas: 1,
      conditions: [{ type: 'Available', status: 'True', message: 'Deployment has minimum availability.' }],
    },
  };
}

describe('projectFields', () => {
  it('keeps named fields, and a leaf or an atomic list whole', () => {
    const value = { a: { x: 1, y: 2 }, b: [1, 2], c: 3 };
    expect(projectFields(value, { 'f:a': { 'f:x': {} }, 'f:b': {} })).toEqual({ a: { x: 1 }, b: [1, 2] });
  });

  it('keeps list items by key, by value and by index, each trimmed to its own fields', () => {
    const list = [
      { name: 'a', port: 1, extra: true },
      { name: 'b', port: 2 },
    ];
    expect(projectFields(list, { 'k:{"name":"b"}': { '.': {}, 'f:port': {} } })).toEqual([{ port: 2 }]);
    expect(projectFields(['x', 'y', 'z'], { 'v:"z"': {}, 'v:"x"': {} })).toEqual(['x', 'z']);
    expect(projectFields(list, { 'i:0': { 'f:extra': {} } })).toEqual([{ extra: true }]);
  });

  it('drops an item no key names (another manager added it), and skips a key it cannot parse', () => {
    const list = [{ name: 'ours' }, { name: 'injected' }];
    expect(projectFields(list, { 'k:{"name":"ours"}': { 'f:name': {} }, 'k:{bad': {} })).toEqual([{ name: 'ours' }]);
  });
});

describe('field sets', () => {
  it('unites two sets, a whole value absorbing a partial one', () => {
    expect(unionFieldSets({ 'f:a': { 'f:x': {} } }, { 'f:a': { 'f:y': {} }, 'f:b': {} })).toEqual({
      'f:a': { 'f:x': {}, 'f:y': {} },
      'f:b': {},
    });
    expect(unionFieldSets({ 'f:a': {} }, { 'f:a': { 'f:y': {} } })).toEqual({ 'f:a': {} });
  });

  it("collects every entry of one manager, and nothing of the others'", () => {
    const obj = storedDeployment();
    expect(managedFieldSet(obj, ours)).toEqual(ourFields);
    expect(managedFieldSet(obj, 'someone-else')).toBeUndefined();
  });
});

describe('trimmedMetadata', () => {
  it('drops managedFields and the last-applied copy, keeping every other annotation', () => {
    const metadata = {
      name: 'n',
      annotations: { [lastAppliedAnnotation]: '{"spec":{}}', keep: 'me' },
      managedFields: [{ manager: 'kubectl' }],
    };
    expect(trimmedMetadata(metadata)).toEqual({ name: 'n', annotations: { keep: 'me' } });
    expect(trimmedMetadata({ name: 'n', annotations: { [lastAppliedAnnotation]: '{}' } })).toEqual({ name: 'n' });
  });
});

describe('childProjection', () => {
  const deployments = childProjection({ manager: ours, reads: { 'f:status': { 'f:availableReplicas': {} } } });

  it('keeps what change detection compares: an unchanged Deployment needs no apply, from a much smaller cache', () => {
    const stored = storedDeployment();
    const cached = deployments(stored);
    expect(needsApply(desiredDeployment, stored)).toBe(false);
    expect(needsApply(desiredDeployment, cached)).toBe(false);
    expect(cached.metadata?.managedFields).toBeUndefined();
    expect(cached.metadata?.resourceVersion).toBe('42');
    expect(cached.status).toEqual({ availableReplicas: 1 });
    const container = cached.spec?.template.spec?.containers[0];
    expect(container).not.toHaveProperty('terminationMessagePath');
    expect(cached.spec).not.toHaveProperty('strategy');
    expect(JSON.stringify(cached).length).toBeLessThan(JSON.stringify(stored).length / 2);
  });

  it('shows drift: a field another manager changed has left our set, so the cached object lacks it', () => {
    const { 'f:image': _image, ...container } = ourFields['f:spec']?.['f:template']?.['f:spec']?.['f:containers']?.[
      'k:{"name":"transcoder"}'
    ] as FieldSet;
    const fields = {
      ...ourFields,
      'f:spec': {
        ...ourFields['f:spec'],
        'f:template': {
          ...ourFields['f:spec']?.['f:template'],
          'f:spec': { 'f:containers': { 'k:{"name":"transcoder"}': container } },
        },
      },
    };
    const stored = storedDeployment(fields);
    const drifted = { ...stored.spec?.template.spec?.containers[0], image: 'edited:by-hand' };
    stored.spec?.template.spec?.containers.splice(0, 1, drifted as never);
    expect(needsApply(desiredDeployment, deployments(stored))).toBe(true);
  });

  it('keeps an object our manager holds nothing on whole, but for the bookkeeping', () => {
    const stored = storedDeployment();
    stored.metadata = { ...stored.metadata, managedFields: [] };
    const cached = deployments(stored);
    expect(cached.spec).toEqual(stored.spec);
    expect(cached.status).toEqual(stored.status);
    expect(cached.metadata).not.toHaveProperty('managedFields');
  });

  it('without a manager keeps only what is read', () => {
    const cached = childProjection({ reads: { 'f:status': { 'f:availableReplicas': {} } } })(storedDeployment());
    expect(Object.keys(cached).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'status']);
    expect(cached.status).toEqual({ availableReplicas: 1 });
  });
});

describe('the child caches (watches.ts)', () => {
  const bookkeeping = {
    annotations: { [lastAppliedAnnotation]: '{"data":{"k":"c2VjcmV0"}}' },
    managedFields: [{ manager: 'kubectl-client-side-apply', fieldsV1: { 'f:data': { 'f:k': {} } } }],
  };
  const transform = <T extends KubernetesObject>(resource: string, obj: T): T => {
    const t = childTransforms[resource];
    if (!t) throw new Error(`no transform for ${resource}`);
    return t(obj) as T;
  };

  it('Secrets: all data kept (keys, tokens, credentials are read), no last-applied copy of it', () => {
    const secret: V1Secret = {
      metadata: { name: 's', namespace: 'ns', ...bookkeeping },
      type: 'Opaque',
      data: { k: 'c2VjcmV0' },
    };
    const cached = transform('secrets', secret);
    expect(cached.data).toEqual({ k: 'c2VjcmV0' });
    expect(cached.type).toBe('Opaque');
    expect(cached.metadata).toEqual({ name: 's', namespace: 'ns' });
  });

  it('Services: the assigned node ports and the load balancer ingress are kept beside our fields', () => {
    const service: V1Service = {
      metadata: {
        name: 'a',
        namespace: 'ns',
        managedFields: [{ manager: ours, fieldsV1: { 'f:spec': { 'f:type': {}, 'f:selector': {} } } }],
      },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'a' },
        clusterIP: '10.96.0.9',
        ports: [{ name: 'rtmp', port: 1935, nodePort: 31935, protocol: 'TCP', targetPort: 'rtmp' }],
        sessionAffinity: 'None',
      },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    };
    const cached = transform('services', service);
    expect(cached.spec).toEqual({ type: 'LoadBalancer', selector: { app: 'a' }, ports: service.spec?.ports });
    expect(cached.status).toEqual(service.status);
  });

  it('Deployments: our fields and availableReplicas, no conditions', () => {
    const cached = transform('deployments', storedDeployment());
    expect(cached.status).toEqual({ availableReplicas: 1 });
    expect(needsApply(desiredDeployment, cached)).toBe(false);
  });

  it('Jobs: only the outcome (created once, never compared), not the pod template', () => {
    const job: V1Job = {
      metadata: { name: 'j', namespace: 'ns', annotations: { session: 's1' }, managedFields: [{ manager: ours }] },
      spec: { template: { spec: { containers: [{ name: 'finalize', image: 'x' }] } } },
      status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }], startTime: new Date(0) },
    };
    const cached = transform('jobs', job);
    expect(cached).toEqual({
      metadata: { name: 'j', namespace: 'ns', annotations: { session: 's1' } },
      status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
    });
  });

  it('LiveStreams and ConfigMaps lose their bookkeeping only', () => {
    const ls = { apiVersion: 'x/v1', kind: 'LiveStream', metadata: { name: 'l', ...bookkeeping }, spec: { a: 1 } };
    expect(withoutBookkeeping(ls)).toEqual({
      apiVersion: 'x/v1',
      kind: 'LiveStream',
      metadata: { name: 'l' },
      spec: { a: 1 },
    });
    const cm = {
      metadata: { name: 'c', managedFields: [{ manager: ours, fieldsV1: { 'f:data': { 'f:config.json': {} } } }] },
      data: { 'config.json': '{}' },
    };
    expect(transform('configmaps', cm)).toEqual({ metadata: { name: 'c' }, data: { 'config.json': '{}' } });
  });
});
