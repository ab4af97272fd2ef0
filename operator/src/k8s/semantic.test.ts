import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  desiredHash,
  desiredHashAnnotation,
  isSubset,
  needsApply,
  parseQuantity,
  withDesiredHash,
} from './semantic.ts';

describe('parseQuantity', () => {
  it('reads decimal and binary suffixes', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('2k')).toBe(2000);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('web')).toBeUndefined();
  });
});

describe('isSubset', () => {
  const desired = {
    metadata: { name: 'a', labels: { x: '1' } },
    spec: { replicas: 1, containers: [{ name: 'c', resources: { requests: { cpu: '0.5', memory: '1024Mi' } } }] },
  };
  const observed = {
    metadata: { name: 'a', labels: { x: '1', extra: 'y' }, uid: 'u', resourceVersion: '9' },
    spec: {
      replicas: 1,
      containers: [
        { name: 'c', resources: { requests: { cpu: '500m', memory: '1Gi' } }, terminationMessagePath: '/dev/x' },
      ],
    },
  };

  it('accepts server defaults, foreign fields and canonicalized quantities', () => {
    expect(isSubset(desired, observed)).toBe(true);
  });

  it('sees a changed, missing or reordered field', () => {
    expect(isSubset(desired, { ...observed, spec: { ...observed.spec, replicas: 0 } })).toBe(false);
    expect(isSubset(desired, { ...observed, metadata: { name: 'a', labels: {} } })).toBe(false);
    expect(isSubset({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(isSubset({ a: [1] }, { a: [1, 2] })).toBe(false);
    expect(isSubset({ a: 'web' }, { a: 'Web' })).toBe(false);
  });
});

describe('needsApply (desired-hash annotation, ADR 0009)', () => {
  const desired: KubernetesObject & { data: Record<string, string> } = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a', labels: { x: '1', team: 't' } },
    data: { k: 'v' },
  };
  const applied = (d: typeof desired) => ({
    ...withDesiredHash(d),
    metadata: { ...withDesiredHash(d).metadata, uid: 'u' },
  });

  it('hashes the canonical object: key order does not matter, any value does', () => {
    expect(desiredHash({ a: 1, b: { c: 2, d: 3 } })).toBe(desiredHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(desiredHash({ a: 1 })).not.toBe(desiredHash({ a: 2 }));
    expect(withDesiredHash(desired).metadata?.annotations?.[desiredHashAnnotation]).toBe(desiredHash(desired));
  });

  it('sees a missing object, a removed label or data key, and drift; not server-added fields', () => {
    const observed = applied(desired);
    expect(needsApply(withDesiredHash(desired), undefined)).toBe(true);
    expect(needsApply(withDesiredHash(desired), observed)).toBe(false);
    const fewer = { ...desired, metadata: { name: 'a', labels: { x: '1' } } };
    expect(isSubset(fewer, observed)).toBe(true);
    expect(needsApply(withDesiredHash(fewer), observed)).toBe(true);
    const noData = { ...desired, data: {} };
    expect(needsApply(withDesiredHash(noData), observed)).toBe(true);
    const edited: KubernetesObject = { ...observed, data: { k: 'edited' } } as KubernetesObject;
    expect(needsApply(withDesiredHash(desired), edited)).toBe(true);
  });
});
