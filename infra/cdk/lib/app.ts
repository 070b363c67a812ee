import { App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { PATTERN_SETTINGS, PatternSetting, RootActivityDetectorProps, Severity } from './root-activity-detector';
import { ForwarderStack, RootwatchStack } from './stacks';

function list(value: unknown): string[] | undefined {
  if (value === undefined || value === '') return undefined;
  if (Array.isArray(value)) return value.map(String);
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === true || value === 'true';
}

/** Reads the detector's settings from CDK context (cdk.json or -c key=value). */
export function detectorPropsFromContext(app: App): RootActivityDetectorProps {
  const ctx = (key: string) => app.node.tryGetContext(key);
  // A pattern-rule setting (context key = prop name) as a number, else its default; the
  // construct refuses what is not a whole number in range.
  const pattern = (key: PatternSetting) => (ctx(key) !== undefined ? Number(ctx(key)) : PATTERN_SETTINGS[key].default);
  return {
    alertEmail: ctx('alertEmail') || undefined,
    healthEmail: ctx('healthEmail') || undefined,
    heartbeatSchedule: ctx('heartbeatSchedule') !== undefined ? String(ctx('heartbeatSchedule')) : undefined,
    auditSchedule: ctx('auditSchedule') ?? 'off',
    auditScope: ctx('auditScope') ?? 'account',
    minSeverity: (ctx('minSeverity') as Severity) ?? 'medium',
    alertFormat: ctx('alertFormat') ?? 'standard',
    securityHub: flag(ctx('securityHub'), false),
    sessionTracking: flag(ctx('sessionTracking'), true),
    watchedRoles: list(ctx('watchedRoles')),
    trustedAccounts: list(ctx('trustedAccounts')),
    extraDetectorResources: list(ctx('extraDetectorResources')),
    suppressionsS3Uri: ctx('suppressionsS3Uri') || undefined,
    rootLoginFailures: pattern('rootLoginFailures'),
    rootLoginWindowMinutes: pattern('rootLoginWindowMinutes'),
    sprayAccounts: pattern('sprayAccounts'),
    sprayWindowMinutes: pattern('sprayWindowMinutes'),
    newCallerDays: pattern('newCallerDays'),
    organizationId: ctx('organizationId') || undefined,
    centralBusName: ctx('centralBusName') ?? 'rootwatch',
    invocationMode: ctx('invocationMode') ?? 'queue',
    reservedConcurrency: ctx('reservedConcurrency') !== undefined ? Number(ctx('reservedConcurrency')) : 5,
    logRetention: ctx('logRetentionDays') !== undefined ? (Number(ctx('logRetentionDays')) as logs.RetentionDays) : logs.RetentionDays.ONE_YEAR,
    tracing: flag(ctx('tracing'), false),
  };
}

/**
 * The log-archive path alone (cloudTrailRules false), from the context keys logArchiveBucket,
 * logArchivePrefix, logArchiveKeyArn, logArchiveNotification, cloudTrailTopicArn,
 * logArchiveConcurrency and batchOperationsBucket, plus the detection settings above. Undefined
 * without logArchiveBucket.
 */
export function logArchivePropsFromContext(app: App): RootActivityDetectorProps | undefined {
  const ctx = (key: string) => app.node.tryGetContext(key);
  const bucket = ctx('logArchiveBucket');
  if (!bucket) return undefined;
  return {
    ...detectorPropsFromContext(app),
    cloudTrailRules: false,
    organizationId: undefined,
    logArchiveBucket: String(bucket),
    logArchivePrefix: ctx('logArchivePrefix') ?? 'AWSLogs/',
    logArchiveKeyArn: ctx('logArchiveKeyArn') || undefined,
    logArchiveNotification: ctx('logArchiveNotification') ?? 'eventbridge',
    cloudTrailTopicArn: ctx('cloudTrailTopicArn') || undefined,
    logArchiveConcurrency: ctx('logArchiveConcurrency') !== undefined ? Number(ctx('logArchiveConcurrency')) : 10,
    batchOperationsBucket: ctx('batchOperationsBucket') || undefined,
  };
}

/**
 * The stacks: Rootwatch (main, us-east-1), RootwatchForwarder (any other region/account) and,
 * when the context names a logArchiveBucket, RootwatchLogArchive (the log-archive path alone, in
 * the region of the context key logArchiveRegion, else the CLI's default region).
 */
export function buildApp(app: App): { main: RootwatchStack; forwarder: ForwarderStack; logArchive?: RootwatchStack } {
  const main = new RootwatchStack(app, 'Rootwatch', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'us-east-1' },
    detector: detectorPropsFromContext(app),
  });
  const forwarder = new ForwarderStack(app, 'RootwatchForwarder');
  const logArchiveProps = logArchivePropsFromContext(app);
  const logArchive = logArchiveProps
    ? new RootwatchStack(app, 'RootwatchLogArchive', {
        env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: app.node.tryGetContext('logArchiveRegion') || process.env.CDK_DEFAULT_REGION },
        detector: logArchiveProps,
      })
    : undefined;
  return { main, forwarder, logArchive };
}
