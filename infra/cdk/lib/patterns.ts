// The EventBridge patterns rootwatch listens to. infra/template.yaml and infra/forwarder.yaml hold
// the same four CloudTrail patterns; infra/tests/test_patterns.py checks that all templates agree
// and that the patterns match exactly the sample (and synthetic) events that should reach the
// function. The log-archive option adds a fifth rule for S3 "Object Created" events
// (logArchivePattern), which is not forwarded.
import * as events from 'aws-cdk-lib/aws-events';

/** Read-only management events (AssumeRole*, root Describe/List/Get calls) reach a rule only in this state. */
export const RULE_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/** Every detail-type CloudTrail records reach EventBridge with; both sign-in spellings occur. */
export const CLOUDTRAIL_DETAIL_TYPES = [
  'AWS API Call via CloudTrail',
  'AWS Console Action via CloudTrail',
  'AWS Console Sign In via CloudTrail',
  'AWS Console Signin via CloudTrail',
  'AWS Service Event via CloudTrail',
];

/** The STS APIs that issue credentials. */
export const SESSION_APIS = [
  'AssumeRole',
  'AssumeRoleWithSAML',
  'AssumeRoleWithWebIdentity',
  'AssumeRoot',
  'GetFederationToken',
  'GetSessionToken',
];

/** (1) Anything the root user does, AssumeRoot sessions included (they act as Root). */
export const ROOT_ACTIVITY_PATTERN: events.EventPattern = {
  detailType: CLOUDTRAIL_DETAIL_TYPES,
  detail: { userIdentity: { type: ['Root'] } },
};

/** (2) Session starts: the six STS APIs, nothing else of aws.sts. */
export const SESSION_START_PATTERN: events.EventPattern = {
  source: ['aws.sts'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: { eventSource: ['sts.amazonaws.com'], eventName: SESSION_APIS },
};

/**
 * (3) Root-only tasks that only root can cause, recorded with another or no userIdentity.type
 * (README catalog rows "any record (only root can cause it)"). Root records already match (1),
 * so this takes only the others: no event is delivered twice.
 */
export const ROOT_ONLY_TASK_PATTERN: events.EventPattern = {
  source: ['aws.signin', 'aws.billingconsole'],
  detailType: CLOUDTRAIL_DETAIL_TYPES,
  detail: {
    eventSource: ['signin.amazonaws.com', 'billingconsole.amazonaws.com'],
    eventName: ['PasswordRecoveryRequested', 'PasswordRecoveryCompleted', 'CloseAccount', 'SetIAMAccessPreference'],
    $or: [
      { userIdentity: { type: [{ exists: false }] } },
      { userIdentity: { type: [{ 'anything-but': ['Root'] }] } },
    ],
  },
};

/**
 * The management events that stop, delete or re-point a part of a detector (issue 7, rule
 * detector-tamper), by event source. Any resource: the function decides, with DETECTOR_RESOURCES,
 * whether the resource is the detector's own. CloudTrail records Lambda API calls with versioned
 * names (DeleteFunction20150331, UpdateFunctionConfiguration20150331v2,
 * PutFunctionConcurrency20171031), so Lambda names are prefix-matched; the prefixes also match
 * DeleteFunctionConcurrency, DeleteFunctionEventInvokeConfig, DeleteFunctionUrlConfig and
 * DeleteFunctionCodeSigningConfig (https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html;
 * prefix and $or: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 */
export const TAMPER_APIS: { eventSource: string; prefix: boolean; names: string[] }[] = [
  { eventSource: 'cloudtrail.amazonaws.com', prefix: false, names: ['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'] },
  {
    eventSource: 'events.amazonaws.com',
    prefix: false,
    names: ['DisableRule', 'DeleteRule', 'RemoveTargets', 'PutRule', 'PutTargets', 'DeleteEventBus', 'RemovePermission'],
  },
  {
    eventSource: 'lambda.amazonaws.com',
    prefix: true,
    names: [
      'DeleteFunction',
      'PutFunctionConcurrency',
      'DeleteEventSourceMapping',
      'UpdateEventSourceMapping',
      'UpdateFunctionConfiguration',
      'UpdateFunctionCode',
      'RemovePermission',
    ],
  },
  { eventSource: 'sqs.amazonaws.com', prefix: false, names: ['DeleteQueue', 'SetQueueAttributes', 'PurgeQueue', 'RemovePermission'] },
  {
    eventSource: 'sns.amazonaws.com',
    prefix: false,
    names: ['DeleteTopic', 'Unsubscribe', 'SetTopicAttributes', 'SetSubscriptionAttributes', 'RemovePermission'],
  },
  { eventSource: 'kms.amazonaws.com', prefix: false, names: ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy'] },
  { eventSource: 'dynamodb.amazonaws.com', prefix: false, names: ['DeleteTable'] },
  {
    eventSource: 'iam.amazonaws.com',
    prefix: false,
    names: ['DeleteRole', 'DeleteRolePolicy', 'DetachRolePolicy', 'PutRolePolicy', 'PutRolePermissionsBoundary', 'UpdateAssumeRolePolicy'],
  },
];

/**
 * (4) Detector tampering: the API calls of TAMPER_APIS, each with its own event source ($or, so
 * no cross product of sources and names), made by anything but Root: Root records already match
 * (1), so no event is delivered twice. A record without userIdentity.type matches too (the
 * userIdentity $or), like (3).
 */
export const DETECTOR_TAMPER_PATTERN: events.EventPattern = {
  source: TAMPER_APIS.map((a) => `aws.${a.eventSource.split('.')[0]}`),
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    $or: TAMPER_APIS.map((a) => ({
      eventSource: [a.eventSource],
      eventName: a.prefix ? a.names.map((n) => ({ prefix: n })) : a.names,
    })),
    userIdentity: {
      $or: [{ type: [{ exists: false }] }, { type: [{ 'anything-but': ['Root'] }] }],
    },
  },
};

export const WATCH_PATTERNS: { id: string; description: string; pattern: events.EventPattern }[] = [
  { id: 'RootActivity', description: 'root user activity', pattern: ROOT_ACTIVITY_PATTERN },
  { id: 'SessionStart', description: 'STS session starts', pattern: SESSION_START_PATTERN },
  {
    id: 'RootOnlyTask',
    description: 'root-only tasks recorded without a Root identity',
    pattern: ROOT_ONLY_TASK_PATTERN,
  },
  { id: 'DetectorTamper', description: 'detector tampering', pattern: DETECTOR_TAMPER_PATTERN },
];

/**
 * Wildcard for the keys of CloudTrail log files under a prefix: PREFIX[o-ID/]ACCOUNT/CloudTrail/
 * REGION/YYYY/MM/DD/..._CloudTrail_...json.gz. It leaves out the digest files
 * (CloudTrail-Digest/) and Insights files (CloudTrail-Insight/), which end in .json.gz too
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html).
 * EventBridge's `*` matches any characters, `/` included
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 */
export function logFileWildcard(prefix: string): string {
  return `${prefix}*/CloudTrail/*.json.gz`;
}

/**
 * (5, log-archive option) S3 "Object Created" events of CloudTrail log files in one bucket under
 * one prefix. S3 sends them to the default bus of the bucket's account and region once the
 * bucket has "Send notifications to Amazon EventBridge" on
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html).
 */
export function logArchivePattern(bucket: string, prefix: string): events.EventPattern {
  return {
    source: ['aws.s3'],
    detailType: ['Object Created'],
    detail: {
      bucket: { name: [bucket] },
      object: { key: [{ wildcard: logFileWildcard(prefix) }] },
    },
  };
}

/** Puts a rule in the state that also delivers read-only management events. */
export function receiveReadOnlyManagementEvents(rule: events.Rule): void {
  (rule.node.defaultChild as events.CfnRule).state = RULE_STATE;
}
