// The EventBridge patterns rootwatch listens to, read from infra/patterns.json: the one source of
// the patterns for SAM and CDK. infra/template.yaml and infra/forwarder.yaml repeat them in YAML;
// infra/tests/test_pattern_source.py fails when either template, or a synthesised CDK template in
// cdk.out, differs from the file, and infra/tests/test_patterns.py checks that the patterns match
// exactly the sample (and synthetic) events that should reach the function. What each pattern is
// for: the comments above the rules in infra/template.yaml.
import * as events from 'aws-cdk-lib/aws-events';
import source from '../../patterns.json';

/** A pattern in CloudFormation form (`detail-type`), as infra/patterns.json holds it. */
export type CfnEventPattern = { [key: string]: unknown };

/** One entry of infra/patterns.json (see its "comment"). */
export interface PatternEntry {
  readonly description: string;
  readonly state: string;
  readonly buses: ('default' | 'central')[];
  readonly forwarded: boolean;
  readonly parameters: string[];
  readonly pattern: CfnEventPattern;
}

/** Every entry of infra/patterns.json, by name. */
export const PATTERNS: Readonly<Record<string, PatternEntry>> = source.patterns as unknown as Record<string, PatternEntry>;

/** Read-only management events (AssumeRole*, root Describe/List/Get calls) reach a rule only in this state. */
export const RULE_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

const PLACEHOLDER = /\$\{([A-Za-z0-9]+)\}/g;

/** The ${Name} placeholders of a pattern (see infra/patterns.json). */
export function placeholders(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(PLACEHOLDER)].map((m) => m[1]);
  if (Array.isArray(value)) return value.flatMap(placeholders);
  if (value && typeof value === 'object') return Object.values(value).flatMap(placeholders);
  return [];
}

/** The pattern with each ${Name} replaced by values[Name]; every placeholder needs a value. */
export function fill(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_, name: string) => {
      if (!(name in values)) throw new Error(`infra/patterns.json: no value for \${${name}}`);
      return values[name];
    });
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, values)]));
  return value;
}

/** CloudFormation field names of a pattern -> events.EventPattern's (only detail-type differs). */
const EVENT_PATTERN_FIELDS: Record<string, keyof events.EventPattern> = {
  version: 'version',
  id: 'id',
  'detail-type': 'detailType',
  source: 'source',
  account: 'account',
  time: 'time',
  region: 'region',
  resources: 'resources',
  detail: 'detail',
};

/** A pattern of infra/patterns.json as an events.EventPattern (CDK renders it back unchanged). */
export function toEventPattern(pattern: CfnEventPattern): events.EventPattern {
  const out: { [key: string]: unknown } = {};
  for (const [key, value] of Object.entries(pattern)) {
    const field = EVENT_PATTERN_FIELDS[key];
    if (!field) throw new Error(`infra/patterns.json: ${key} is not a field of an EventBridge pattern`);
    out[field] = value;
  }
  return out as events.EventPattern;
}

// The file is checked once, when it is loaded: each entry declares exactly the placeholders it
// uses, and a forwarded pattern has none (the forwarder stack has no such parameters).
for (const [name, entry] of Object.entries(PATTERNS)) {
  const used = [...new Set(placeholders(entry.pattern))].sort();
  if (JSON.stringify(used) !== JSON.stringify([...entry.parameters].sort())) {
    throw new Error(`infra/patterns.json ${name}: parameters ${JSON.stringify(entry.parameters)}, placeholders ${JSON.stringify(used)}`);
  }
  if (entry.forwarded && used.length) throw new Error(`infra/patterns.json ${name}: a forwarded pattern cannot hold parameters`);
  toEventPattern(entry.pattern);
}

/** A CloudTrail pattern of the event path: on the buses of its entry, and forwarded by the forwarder stack. */
export interface WatchPattern {
  readonly id: string;
  readonly description: string;
  readonly state: string;
  readonly buses: ('default' | 'central')[];
  readonly pattern: events.EventPattern;
}

/** The forwarded patterns, in the order of infra/patterns.json. */
export const WATCH_PATTERNS: WatchPattern[] = Object.entries(PATTERNS)
  .filter(([, e]) => e.forwarded)
  .map(([id, e]) => ({ id, description: e.description, state: e.state, buses: e.buses, pattern: toEventPattern(e.pattern) }));

export const ROOT_ACTIVITY_PATTERN = toEventPattern(PATTERNS.RootActivity.pattern);
export const SESSION_START_PATTERN = toEventPattern(PATTERNS.SessionStart.pattern);
export const ROOT_ONLY_TASK_PATTERN = toEventPattern(PATTERNS.RootOnlyTask.pattern);
export const DETECTOR_TAMPER_PATTERN = toEventPattern(PATTERNS.DetectorTamper.pattern);

/** Every detail-type CloudTrail records reach EventBridge with; both sign-in spellings occur. */
export const CLOUDTRAIL_DETAIL_TYPES = ROOT_ACTIVITY_PATTERN.detailType as string[];

/** The STS APIs that issue credentials. */
export const SESSION_APIS = (SESSION_START_PATTERN.detail as { eventName: string[] }).eventName;

/**
 * The calls of the detector-tamper pattern, by event source: names, and whether they are
 * prefix-matched (Lambda: CloudTrail records versioned names such as
 * UpdateFunctionConfiguration20150331v2).
 */
export const TAMPER_APIS: { eventSource: string; prefix: boolean; names: string[] }[] = (
  DETECTOR_TAMPER_PATTERN.detail as { $or: { eventSource: string[]; eventName: (string | { prefix: string })[] }[] }
).$or.map((branch) => ({
  eventSource: branch.eventSource[0],
  prefix: branch.eventName.every((n) => typeof n !== 'string'),
  names: branch.eventName.map((n) => (typeof n === 'string' ? n : n.prefix)),
}));

/** The log-archive entry: S3 "Object Created" events of CloudTrail log files in one bucket under one prefix. */
export const LOG_ARCHIVE = PATTERNS.LogArchive;

/** The log-archive pattern for a bucket and key prefix (the placeholders of its entry filled in). */
export function logArchivePattern(bucket: string, prefix: string): events.EventPattern {
  return toEventPattern(fill(LOG_ARCHIVE.pattern, { LogArchiveBucket: bucket, LogArchivePrefix: prefix }) as CfnEventPattern);
}

/** Puts a rule in the state its entry names (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS also delivers read-only management events). */
export function setRuleState(rule: events.Rule, state: string): void {
  (rule.node.defaultChild as events.CfnRule).state = state;
}
