// The EventBridge patterns rootwatch listens to. infra/template.yaml and infra/forwarder.yaml hold
// the same three; infra/tests/test_patterns.py checks that all templates agree and that the
// patterns match exactly the sample events in events/ that should reach the function.
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

export const WATCH_PATTERNS: { id: string; description: string; pattern: events.EventPattern }[] = [
  { id: 'RootActivity', description: 'root user activity', pattern: ROOT_ACTIVITY_PATTERN },
  { id: 'SessionStart', description: 'STS session starts', pattern: SESSION_START_PATTERN },
  {
    id: 'RootOnlyTask',
    description: 'root-only tasks recorded without a Root identity',
    pattern: ROOT_ONLY_TASK_PATTERN,
  },
];

/** Puts a rule in the state that also delivers read-only management events. */
export function receiveReadOnlyManagementEvents(rule: events.Rule): void {
  (rule.node.defaultChild as events.CfnRule).state = RULE_STATE;
}
