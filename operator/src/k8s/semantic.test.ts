import { describe, expect, it } from 'vitest';
import { isSubset, parseQuantity } from './semantic.ts';

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
