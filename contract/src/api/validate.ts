// A LiveStream checked as the API server checks it, against the CRD's own schema (livestream.schema.json, generated
// from crds/livestream.yaml), with the schema's defaults applied: a hand-written YAML run by the standalone
// transcoder gets the same rules, the same defaults and errors worded like the API server's (`<field>: <what>`).
//
// - The OpenAPI part (types, required, enum, pattern, min/max, lengths, defaults) is ajv's, on the schema as it is.
//   zod's fromJSONSchema was tried first: it does not apply nested defaults (`ingest: {}` stays empty) and ignores a
//   pattern beside anyOf (int-or-string quantities).
// - Unknown fields are refused, as kubectl's strict field validation refuses them (a typo must not pass silently).
// - status is dropped, as the API server drops it on create (the status subresource owns it).
// - x-kubernetes-list-type: map lists must have unique keys, set lists unique items (read from the schema).
// - x-kubernetes-validations (CEL): see celRules below.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import schemaJson from './livestream.schema.json' with { type: 'json' };
import { apiVersion, defaultPreset, kind, presets } from './index.ts';
import { maxRotationGraceMs, parseDuration } from '../ingest-keys.ts';
import { scheduledStartIgnored, scheduledStartWarning } from './audience.ts';
import type {
  AudienceSpec,
  HlsSpec,
  LadderPreset,
  LiveStream,
  LiveStreamSpec,
  S3Destination,
  Toleration,
} from './livestream.generated.ts';

interface CelRule {
  rule: string;
  message?: string;
  fieldPath?: string;
  reason?: string;
}

interface Schema {
  [keyword: string]: unknown;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

/** The openAPIV3Schema of the CRD, as generated. */
const crd: Schema = schemaJson;

/** The API server's refusal, one entry per field, e.g. `spec.hls.segmentSeconds: Invalid value: 99: ...`. */
export class SchemaValidationError extends Error {
  override name = 'SchemaValidationError';
  readonly causes: readonly string[];
  constructor(causes: readonly string[]) {
    super(causes.join('; '));
    this.causes = causes;
  }
}

// --- CEL rules ----------------------------------------------------------------------------------------------------
// Kubernetes evaluates x-kubernetes-validations with CEL plus its own libraries (quantity(), RE2 regular expressions
// with inline flags such as (?i)); no kept JavaScript CEL library implements those, so the rules that matter outside
// a cluster are written again here, keyed by their exact text. A rule whose text changes in the CRD stops matching,
// and the unit test that every rule of the schema is evaluated or left to the cluster fails until this list follows.
// Rules of the form `self.matches('RE')` need no copy: their regular expression is read from the rule itself.
// The checks run on a value that passed the OpenAPI schema, so the types below hold.

interface RecordingSelf {
  recording?: { rendition?: string };
  ladder?: { preset?: LadderPreset; renditions?: { name: string }[] };
}

const celRules: Record<string, (self: never) => boolean> = {
  "size(self.metadata.name) <= 48 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')": (self: LiveStream) =>
    (self.metadata.name ?? '').length <= 48 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(self.metadata.name ?? ''),
  '!has(self.recording) || !has(self.recording.rendition) || !has(self.ladder) || !has(self.ladder.renditions) || self.ladder.renditions.exists(r, r.name == self.recording.rendition)':
    ({ recording, ladder }: RecordingSelf) =>
      recording?.rendition === undefined ||
      ladder?.renditions === undefined ||
      ladder.renditions.some((r) => r.name === recording.rendition),
  "!has(self.recording) || !has(self.recording.rendition) || !has(self.ladder) || has(self.ladder.renditions) || self.recording.rendition in {'1080p': ['1080p', '720p', '480p', '360p'], '720p': ['720p', '480p', '360p'], '480p': ['480p', '360p'], '360p': ['360p']}[has(self.ladder.preset) ? self.ladder.preset : '720p']":
    ({ recording, ladder }: RecordingSelf) =>
      recording?.rendition === undefined ||
      ladder === undefined ||
      ladder.renditions !== undefined ||
      presets[ladder.preset ?? defaultPreset].some((r) => r.name === recording.rendition),
  '!(has(self.preset) && has(self.renditions))': (self: { preset?: unknown; renditions?: unknown }) =>
    self.preset === undefined || self.renditions === undefined,
  // spec.hls: an LL-HLS segment holds at least two parts.
  '!has(self.lowLatency) || !self.lowLatency.enabled || 2.0 * self.lowLatency.partSeconds <= double(self.segmentSeconds)':
    (self: HlsSpec) => !self.lowLatency?.enabled || 2 * self.lowLatency.partSeconds <= self.segmentSeconds,
  "!(self in ['source', 'audio'])": (self: string) => !['source', 'audio'].includes(self),
  'self % 2 == 0': (self: number) => self % 2 === 0,
  '!self.enabled || has(self.s3)': (self: { enabled: boolean; s3?: unknown }) => !self.enabled || self.s3 !== undefined,
  '!self.enabled || !has(self.s3) || has(self.s3.credentialsSecretRef)': (self: {
    enabled: boolean;
    s3?: { credentialsSecretRef?: unknown };
  }) => !self.enabled || self.s3 === undefined || self.s3.credentialsSecretRef !== undefined,
  "!has(self.via) || self.via != 'Gateway' || self.serviceType == 'ClusterIP'": (self: {
    via?: string;
    serviceType: string;
  }) => self.via !== 'Gateway' || self.serviceType === 'ClusterIP',
  "duration(self) <= duration('24h')": (self: string) => parseDuration(self) <= maxRotationGraceMs,
  // spec.audience: a password Secret exactly when the visibility is password.
  "!has(self.visibility) || self.visibility != 'password' || has(self.password)": (self: AudienceSpec) =>
    self.visibility !== 'password' || self.password !== undefined,
  "(has(self.visibility) && self.visibility == 'password') || !has(self.password)": (self: AudienceSpec) =>
    self.visibility === 'password' || self.password === undefined,
  // spec.placement.tolerations[] (a placement default of the chart is checked with these too).
  "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''": (self: Toleration) =>
    self.operator !== 'Exists' || !self.value,
  "has(self.key) || (has(self.operator) && self.operator == 'Exists')": (self: Toleration) =>
    self.key !== undefined || self.operator === 'Exists',
  "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')": (self: Toleration) =>
    self.tolerationSeconds === undefined || self.effect === 'NoExecute',
};

/** Where the rules are left to the API server: spec.resources matters only to a Pod, and quantity() is Kubernetes'. */
const clusterOnly = ['spec.resources'];

/** `self.matches('RE')` or `!self.matches('RE')`, with RE2's leading (?i) turned into JavaScript's i flag. */
function matchesRule(rule: string): ((self: string) => boolean) | undefined {
  const m = /^(!?)self\.matches\('([^'\\]*)'\)$/.exec(rule);
  if (!m) return undefined;
  const [, negated, source = ''] = m;
  const insensitive = source.startsWith('(?i)');
  const re = new RegExp(insensitive ? source.slice(4) : source, insensitive ? 'i' : '');
  return (self) => re.test(self) !== (negated === '!');
}

const checks = new Map<string, ((self: unknown) => boolean) | undefined>();

function celCheck(rule: string): ((self: unknown) => boolean) | undefined {
  if (!checks.has(rule)) {
    // Each check is typed for the value its rule sits on, which the OpenAPI schema has already checked.
    checks.set(rule, (celRules[rule] ?? matchesRule(rule)) as ((self: unknown) => boolean) | undefined);
  }
  return checks.get(rule);
}

export interface RuleCoverage {
  at: string;
  rule: string;
  standalone: 'evaluated' | 'cluster-only' | 'missing';
}

/** Every CEL rule of the schema and whether this validator evaluates it (for the test that keeps celRules whole). */
export function celRuleCoverage(): RuleCoverage[] {
  const out: RuleCoverage[] = [];
  const walk = (schema: Schema, at: string): void => {
    for (const { rule } of schema['x-kubernetes-validations'] ?? []) {
      const skipped = clusterOnly.some((p) => at === p || at.startsWith(`${p}.`));
      out.push({ at, rule, standalone: skipped ? 'cluster-only' : celCheck(rule) ? 'evaluated' : 'missing' });
    }
    for (const [name, sub] of Object.entries(schema.properties ?? {})) walk(sub, at ? `${at}.${name}` : name);
    if (schema.items) walk(schema.items, `${at}[]`);
  };
  walk(crd, '');
  return out;
}

/** RFC 3339 date-time (kube-openapi's strfmt: a date, 'T' or 't' or a space, a time, Z or an offset). */
function isRfc3339(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour < 24 && minute < 60 && second < 61;
}

// --- The schema as the validator compiles it ------------------------------------------------------------------------

/** kubectl's strict field validation: an object knows only the fields it lists (unless it preserves unknown fields). */
function closed(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, closed(v)]));
    if (schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
      out.additionalProperties = false;
    }
  }
  if (schema.items) out.items = closed(schema.items);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = closed(schema.additionalProperties);
  return out;
}

// ObjectMeta is validated by the API server itself, not by the CRD: the fields the pods use are checked here.
const dns1123Label = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const metadataSchema: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: { type: 'string', maxLength: 63, pattern: dns1123Label },
  },
};

function documentSchema(): Schema {
  const { status: _status, ...properties } = crd.properties ?? {};
  const root = closed({ ...crd, properties });
  root.required = ['metadata'];
  root.properties = {
    ...root.properties,
    apiVersion: { type: 'string', enum: [apiVersion], default: apiVersion },
    kind: { type: 'string', enum: [kind], default: kind },
    metadata: metadataSchema,
  };
  return root;
}

interface Compiled {
  at: string;
  schema: Schema;
  validate: ValidateFunction;
}

type Validators = Record<'document' | 'spec' | 's3', Compiled>;
let compiled: Validators | undefined;

/** Compiled on first use: a process that never validates pays nothing. */
function validators(): Validators {
  if (compiled) return compiled;
  const ajv = new Ajv({
    useDefaults: true,
    allErrors: true,
    verbose: true,
    strictTypes: false, // int-or-string puts maxLength and pattern beside anyOf, as Kubernetes allows
    // date-time as the API server checks it (RFC 3339 with a zone); the other formats only carry the integer size.
    formats: { int32: true, int64: true, 'date-time': isRfc3339 },
  });
  ajv.addVocabulary([
    'x-kubernetes-validations',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-int-or-string',
    'x-kubernetes-preserve-unknown-fields',
  ]);
  const document = documentSchema();
  const spec = document.properties?.spec as Schema;
  const s3 = spec.properties?.recording?.properties?.s3 as Schema;
  // A default at the root of what is compiled has nothing to fill (ajv refuses it): the parent's property does that.
  const entry = (at: string, { default: _default, ...schema }: Schema): Compiled => ({
    at,
    schema,
    validate: ajv.compile(schema),
  });
  compiled = { document: entry('', document), spec: entry('spec', spec), s3: entry('spec.recording.s3', s3) };
  return compiled;
}

// --- Errors, worded as the API server words them --------------------------------------------------------------------

const join = (at: string, name: string): string => (at === '' ? name : `${at}.${name}`);

function fieldOf(at: string, instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, p) => (/^\d+$/.test(p) ? `${path}[${p}]` : join(path, p)), at);
}

const typeName = (value: unknown): string =>
  Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : value === null ? 'null' : typeof value;

/** Strings are never repeated back: a URL or a prefix may carry what should have been in a Secret. */
const shown = (value: unknown): string =>
  typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(typeName(value));

function describeError(e: ErrorObject, at: string): string {
  const field = fieldOf(at, e.instancePath);
  const params = e.params as Record<string, unknown>;
  const value = shown(e.data);
  switch (e.keyword) {
    case 'required':
      return `${join(field, String(params.missingProperty))}: Required value`;
    case 'additionalProperties':
      return `unknown field "${join(field, String(params.additionalProperty))}"`;
    case 'enum':
      return `${field}: Unsupported value: ${value}: supported values: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `${field}: Invalid value: ${value}: ${field} in body must be of type ${String(params.type)}: ${JSON.stringify(typeName(e.data))}`;
    case 'minimum':
      return `${field}: Invalid value: ${value}: ${field} in body should be greater than or equal to ${String(params.limit)}`;
    case 'maximum':
      return `${field}: Invalid value: ${value}: ${field} in body should be less than or equal to ${String(params.limit)}`;
    case 'minLength':
      return `${field}: Invalid value: ${value}: ${field} in body should be at least ${String(params.limit)} chars long`;
    case 'maxLength':
      return `${field}: Too long: may not be more than ${String(params.limit)} bytes`;
    case 'pattern':
      return `${field}: Invalid value: ${value}: ${field} in body should match '${String(params.pattern)}'`;
    case 'minItems':
      return `${field}: Invalid value: ${(e.data as unknown[]).length}: ${field} in body should have at least ${String(params.limit)} items`;
    case 'maxItems':
      return `${field}: Too many: ${(e.data as unknown[]).length}: must have at most ${String(params.limit)} items`;
    case 'maxProperties':
      return `${field}: Too many: ${Object.keys(e.data as object).length}: must have at most ${String(params.limit)} items`;
    case 'anyOf':
      return `${field}: Invalid value: ${value}: ${field} in body must be an integer or a string`;
    default:
      return `${field}: Invalid value: ${value}: ${e.message ?? e.keyword}`;
  }
}

function schemaErrors(errors: readonly ErrorObject[], at: string): string[] {
  // The branches of an anyOf (int-or-string) each fail on their own; the anyOf error says it once.
  const kept = errors.filter((e) => !/\/anyOf\/\d+\//.test(e.schemaPath));
  return [...new Set(kept.map((e) => describeError(e, at)))];
}

function celError(rule: CelRule, self: unknown, at: string): string {
  // A rule on the root without fieldPath names its field in its message (the API server prints "<nil>" there).
  const field = rule.fieldPath ? `${at}${rule.fieldPath}` : at || '<nil>';
  const message = rule.message ?? `failed rule: ${rule.rule}`;
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return `${field}: Forbidden: ${message}`;
    case 'FieldValueRequired':
      return `${field}: Required value: ${message}`;
    default:
      return `${field}: Invalid value: ${JSON.stringify(typeName(self))}: ${message}`;
  }
}

function duplicateKeys(schema: Schema, list: unknown[], at: string): string[] {
  if (schema['x-kubernetes-list-type'] === 'set') {
    return list.flatMap((item, i) => (list.indexOf(item) < i ? [`${at}[${i}]: Duplicate value: ${shown(item)}`] : []));
  }
  const keys = schema['x-kubernetes-list-map-keys'];
  if (schema['x-kubernetes-list-type'] !== 'map' || !keys) return [];
  const seen = new Set<string>();
  return list.flatMap((item, i) => {
    const key = JSON.stringify(Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown>)[k]])));
    if (!seen.has(key)) return (seen.add(key), []);
    return [`${at}[${i}]: Duplicate value: ${key}`];
  });
}

/** The CEL rules and list-map keys, walked along the schema; values absent from the object are not checked. */
function ruleErrors(schema: Schema, value: unknown, at: string): string[] {
  if (value === undefined || clusterOnly.includes(at)) return [];
  const errors = (schema['x-kubernetes-validations'] ?? []).flatMap((rule) => {
    const check = celCheck(rule.rule);
    return check && !check(value) ? [celError(rule, value, at)] : [];
  });
  if (Array.isArray(value) && schema.items) {
    const items = schema.items;
    errors.push(...duplicateKeys(schema, value, at));
    value.forEach((item, i) => errors.push(...ruleErrors(items, item, `${at}[${i}]`)));
  } else if (typeof value === 'object' && value !== null && schema.properties) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      errors.push(...ruleErrors(sub, (value as Record<string, unknown>)[name], join(at, name)));
    }
  }
  return errors;
}

function check(which: keyof Validators, value: unknown, at?: string): unknown {
  const compiled = validators()[which];
  const base = at ?? compiled.at;
  const data: unknown = structuredClone(value); // ajv writes the defaults into what it validates
  if (which === 'document' && typeof data === 'object' && data !== null) delete (data as { status?: unknown }).status;
  if (!compiled.validate(data)) throw new SchemaValidationError(schemaErrors(compiled.validate.errors ?? [], base));
  const errors = ruleErrors(compiled.schema, data, base);
  if (errors.length > 0) throw new SchemaValidationError(errors);
  return data;
}

/** A LiveStream document (YAML or JSON, as written or as stored) checked and defaulted; throws SchemaValidationError. */
export function validateLiveStream(document: unknown): LiveStream {
  return check('document', document) as LiveStream;
}

/** spec alone, as written, checked and defaulted: what the API server would store. */
export function validateSpec(spec: unknown): LiveStreamSpec {
  return check('spec', spec) as LiveStreamSpec;
}

/** An S3 destination checked and defaulted by spec.recording.s3's schema; `at` names where it came from in errors. */
export function validateS3Destination(value: unknown, at?: string): S3Destination {
  return check('s3', value, at) as S3Destination;
}

/**
 * What a valid spec asks for that cannot take effect at `nowMs`, as kubectl prints an API server's warnings: the
 * CRD cannot compare with the clock (CEL has none), so these are checked here and by the operator (ADR 0015).
 */
export function specWarnings(spec: Pick<LiveStreamSpec, 'audience'>, nowMs: number): string[] {
  const start = spec.audience?.scheduledStart;
  return start !== undefined && scheduledStartIgnored(start, nowMs) ? [scheduledStartWarning] : [];
}
