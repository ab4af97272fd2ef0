// Pure: what an informer keeps of each object, applied before the object reaches the cache (client-go's
// SetTransform). At 500 channels the caches held every child whole: managedFields (a second copy of each object's
// shape, per manager), kubectl's last-applied annotation (a third copy, of the spec), the API server's defaults in the
// pod template, and status conditions nobody reads.
//
// What a child keeps is its metadata (without those two) and the fields named by a field set (FieldsV1, the format
// of managedFields): the fields our own manager owns, plus the fields the operator reads (status, assigned node ports).
// The owned fields are exactly what change detection compares (needsApply: the desired object, with its hash, must be
// a subset of the observed one, ADR 0009): every field we apply is ours after the apply, and a field someone else
// changed leaves our set, so it is missing from the cached object and the subset test applies again, as it must.
// Keeping less than the whole object can only make the subset test fail (one apply too many), never pass wrongly.
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject, V1ManagedFieldsEntry, V1ObjectMeta } from '@kubernetes/client-node';

/** A FieldsV1 set: `f:<field>` for a field, `k:<json>` / `v:<json>` / `i:<n>` for a list item, `.` for the node. */
export interface FieldSet {
  readonly [key: string]: FieldSet;
}

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

const children = (set: FieldSet): string[] => Object.keys(set).filter((k) => k !== '.');

/** The object's metadata without managedFields and without kubectl's copy of the last applied object. */
export function trimmedMetadata(metadata: V1ObjectMeta | undefined): V1ObjectMeta | undefined {
  if (!metadata) return metadata;
  const { managedFields: _managedFields, annotations, ...rest } = metadata;
  if (!annotations || !(lastAppliedAnnotation in annotations)) return annotations ? { ...rest, annotations } : rest;
  const { [lastAppliedAnnotation]: _lastApplied, ...kept } = annotations;
  return Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest;
}

/** The union of two field sets; a set with no children (the whole value) absorbs anything below it. */
export function unionFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  if (children(a).length === 0) return a;
  if (children(b).length === 0) return b;
  const out: Record<string, FieldSet> = { ...a };
  for (const [key, sub] of Object.entries(b)) {
    const mine = out[key];
    out[key] = mine === undefined ? sub : unionFieldSets(mine, sub);
  }
  return out;
}

/** Every field set `manager` holds on the object (all its entries, any operation), or undefined when it holds none. */
export function managedFieldSet(obj: KubernetesObject, manager: string): FieldSet | undefined {
  const entries: V1ManagedFieldsEntry[] = obj.metadata?.managedFields ?? [];
  const sets = entries
    .filter((e) => e.manager === manager && e.fieldsV1 !== null && typeof e.fieldsV1 === 'object')
    .map((e) => e.fieldsV1 as FieldSet);
  return sets.length > 0 ? sets.reduce(unionFieldSets) : undefined;
}

function parseKey(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a list item is the one a `k:`, `v:` or `i:` member names. */
function itemMatches(key: string, item: unknown, index: number): boolean {
  if (key.startsWith('i:')) return Number(key.slice(2)) === index;
  if (key.startsWith('v:')) return isDeepStrictEqual(parseKey(key.slice(2)), item);
  if (!key.startsWith('k:') || item === null || typeof item !== 'object') return false;
  const fields = parseKey(key.slice(2));
  if (fields === null || typeof fields !== 'object') return false;
  const record = item as Record<string, unknown>;
  return Object.entries(fields).every(([name, value]) => isDeepStrictEqual(record[name], value));
}

/** `value` trimmed to the fields `set` names (a set without children keeps the whole value: a leaf, an atomic list). */
export function projectFields(value: unknown, set: FieldSet): unknown {
  const keys = children(set);
  if (keys.length === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    value.forEach((item: unknown, i) => {
      const key = keys.find((k) => itemMatches(k, item, i));
      if (key !== undefined) items.push(projectFields(item, set[key] ?? {}));
    });
    return items;
  }
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (!key.startsWith('f:')) continue;
    const name = key.slice(2);
    if (record[name] !== undefined) out[name] = projectFields(record[name], set[key] ?? {});
  }
  return out;
}

export interface ChildProjection {
  /** The field manager whose fields are kept (the one change detection compares); undefined: none of them. */
  manager?: string;
  /** The fields the operator reads besides its own (status, fields the API server assigns). */
  reads?: FieldSet;
}

/**
 * The transform of a child informer: trimmed metadata, and of the rest only the manager's fields and `reads`. An
 * object the manager holds nothing on (made by someone else, or from before managedFields) is kept whole but for
 * its metadata's managedFields and last-applied annotation, so that nothing the subset test needs can go missing.
 * Without a manager only `reads` is kept (at the top, an empty set is nothing, not the whole object).
 */
export function childProjection(projection: ChildProjection): <T extends KubernetesObject>(obj: T) => T {
  const { manager, reads = {} } = projection;
  return <T extends KubernetesObject>(obj: T): T => {
    const owned = manager === undefined ? {} : managedFieldSet(obj, manager);
    const { apiVersion, kind, metadata, ...rest } = obj as KubernetesObject & Record<string, unknown>;
    const head = { apiVersion, kind, metadata: trimmedMetadata(metadata) };
    if (owned === undefined) return { ...head, ...rest } as unknown as T;
    const sets = [owned, reads].filter((s) => children(s).length > 0);
    const kept = sets.length > 0 ? (projectFields(rest, sets.reduce(unionFieldSets)) as object) : {};
    return { ...head, ...kept } as unknown as T;
  };
}

/** The transform that keeps all of an object but its managedFields and last-applied annotation (LiveStreams, Secrets). */
export function withoutBookkeeping<T extends KubernetesObject>(obj: T): T {
  return { ...obj, metadata: trimmedMetadata(obj.metadata) };
}
