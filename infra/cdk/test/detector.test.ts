// Assertions on the synthesised templates (node:test + aws-cdk-lib/assertions). Bundling is
// skipped (context aws:cdk:bundling-stacks = []): no cargo lambda build in unit tests.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bundling, BundlingProps } from 'cargo-lambda-cdk/lib/bundling';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp, detectorPropsFromContext, logArchivePropsFromContext } from '../lib/app';
import {
  CLOUDTRAIL_DETAIL_TYPES,
  DETECTOR_TAMPER_PATTERN,
  ROOT_ACTIVITY_PATTERN,
  ROOT_ONLY_TASK_PATTERN,
  RULE_STATE,
  SESSION_APIS,
  SESSION_START_PATTERN,
  TAMPER_APIS,
} from '../lib/patterns';
import {
  FUNCTION_TIMEOUT,
  LOG_ARCHIVE_TIMEOUT,
  NO_HEARTBEATS,
  PATTERN_SETTINGS,
  PatternSetting,
  RootActivityDetectorProps,
  RUST_BUNDLING,
} from '../lib/root-activity-detector';
import { ForwarderStack, RootwatchStack } from '../lib/stacks';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
}

function mainStack(detector: RootActivityDetectorProps = {}, region = 'us-east-1'): { app: App; stack: RootwatchStack; t: Template } {
  const app = newApp();
  const stack = new RootwatchStack(app, 'Rootwatch', { env: { account: '111122223333', region }, detector });
  return { app, stack, t: Template.fromStack(stack) };
}

function forwarder(): { app: App; stack: ForwarderStack; t: Template } {
  const app = newApp();
  const stack = new ForwarderStack(app, 'RootwatchForwarder');
  return { app, stack, t: Template.fromStack(stack) };
}

const ofType = (t: Template, type: string): [string, Json][] => Object.entries(t.findResources(type));
/** The event-pattern rules (not the scheduled heartbeat rule). */
const patternRules = (t: Template): [string, Json][] => ofType(t, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
/** The operational alarms (not the heartbeat alarm). */
const opsAlarms = (t: Template): [string, Json][] => ofType(t, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName !== 'Heartbeat');
/** Logical ids of the alert topic and the health topic (by display name). */
function topics(t: Template): { alert: string; health: string } {
  const byName = (name: string) => ofType(t, 'AWS::SNS::Topic').filter(([, r]) => r.Properties.DisplayName === name).map(([id]) => id);
  const [alert] = byName('rootwatch');
  const [health] = byName('rootwatch health');
  return { alert, health };
}

/** The CloudFormation form of an events.EventPattern (detailType -> detail-type). */
function cfnPattern(p: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(p)) out[k === 'detailType' ? 'detail-type' : k] = v;
  return out;
}

/** Every statement of every IAM policy attached to a role (by logical id). */
function roleStatements(t: Template, roleId: string): Json[] {
  const out: Json[] = [];
  for (const [, p] of ofType(t, 'AWS::IAM::Policy')) {
    if (p.Properties.Roles.some((r: Json) => r.Ref === roleId)) out.push(...p.Properties.PolicyDocument.Statement);
  }
  const role = t.toJSON().Resources[roleId];
  for (const inline of role.Properties.Policies ?? []) out.push(...inline.PolicyDocument.Statement);
  return out;
}

/** The role of the (first) function: the event function, or the log-archive function when alone. */
function functionRoleId(t: Template): string {
  const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
  return fn.Properties.Role['Fn::GetAtt'][0];
}

const actions = (s: Json): string[] => [s.Action].flat().sort();

const LOG_ARCHIVE: RootActivityDetectorProps = {
  logArchiveBucket: 'example-org-trail-logs',
  logArchiveKeyArn: 'arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  logArchiveNotification: 'both',
  cloudTrailTopicArn: 'arn:aws:sns:eu-west-1:444455556666:org-trail-notifications',
  batchOperationsBucket: 'example-rootwatch-batch',
};

/** The functions of a template, by logical id. */
const functions = (t: Template): [string, Json][] => ofType(t, 'AWS::Lambda::Function');
const fnByTimeout = (t: Template, seconds: number): [string, Json] => {
  const found = functions(t).filter(([, f]) => f.Properties.Timeout === seconds);
  assert.equal(found.length, 1, `one function with a ${seconds} s timeout`);
  return found[0];
};

describe('rule patterns and state', () => {
  const { t } = mainStack();
  const rules = patternRules(t);

  it('has the four patterns on the default bus and on the central bus', () => {
    assert.equal(rules.length, 8);
    for (const p of [ROOT_ACTIVITY_PATTERN, SESSION_START_PATTERN, ROOT_ONLY_TASK_PATTERN, DETECTOR_TAMPER_PATTERN]) {
      const same = rules.filter(([, r]) => JSON.stringify(r.Properties.EventPattern) === JSON.stringify(cfnPattern(p)));
      assert.equal(same.length, 2, JSON.stringify(p));
      assert.deepEqual(same.map(([, r]) => r.Properties.EventBusName === undefined).sort(), [false, true]);
    }
  });

  it('uses ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS on every rule (AssumeRole* are read-only)', () => {
    for (const [id, r] of rules) assert.equal(r.Properties.State, RULE_STATE, id);
  });

  it('root activity: userIdentity.type Root, API calls and both console sign-in spellings', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'detail-type': Match.arrayWith([
          'AWS API Call via CloudTrail',
          'AWS Console Sign In via CloudTrail',
          'AWS Console Signin via CloudTrail',
        ]),
        detail: { userIdentity: { type: ['Root'] } },
      },
    });
  });

  it('session starts: aws.sts and exactly the six credential-issuing APIs', () => {
    assert.deepEqual([...SESSION_APIS].sort(), [
      'AssumeRole',
      'AssumeRoleWithSAML',
      'AssumeRoleWithWebIdentity',
      'AssumeRoot',
      'GetFederationToken',
      'GetSessionToken',
    ]);
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sts'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['sts.amazonaws.com'], eventName: SESSION_APIS },
      },
    });
  });

  it('root-only tasks without a Root identity do not overlap the root rule', () => {
    const p = t.findResources('AWS::Events::Rule', { Properties: { EventPattern: { source: ['aws.signin', 'aws.billingconsole'] } } });
    for (const r of Object.values(p) as Json[]) {
      assert.deepEqual(r.Properties.EventPattern['detail-type'], CLOUDTRAIL_DETAIL_TYPES);
      assert.deepEqual(r.Properties.EventPattern.detail.$or, [
        { userIdentity: { type: [{ exists: false }] } },
        { userIdentity: { type: [{ 'anything-but': ['Root'] }] } },
      ]);
    }
    assert.equal(Object.keys(p).length, 2);
  });

  it('targets the buffer queue with the dead-letter queue and retries', () => {
    const [[queueId]] = ofType(t, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);
    const [[dlqId]] = ofType(t, 'AWS::SQS::Queue').filter(([, q]) => !q.Properties.RedrivePolicy);
    for (const [id, r] of rules) {
      assert.equal(r.Properties.Targets.length, 1, id);
      const target = r.Properties.Targets[0];
      assert.deepEqual(target.Arn, { 'Fn::GetAtt': [queueId, 'Arn'] });
      assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
      assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    }
  });
});

describe('function', () => {
  const { t } = mainStack({ watchedRoles: ['arn:aws:iam::*:role/BreakGlass*'], trustedAccounts: ['444455556666'] });

  it('is the arm64 provided.al2023 bootstrap with memory, timeout and reserved concurrency', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Handler: 'bootstrap',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 30,
      ReservedConcurrentExecutions: 5,
      LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
    });
  });

  it('gets its configuration from the environment', () => {
    const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
    const env = fn.Properties.Environment.Variables;
    assert.deepEqual(Object.keys(env).sort(), [
      'ALERT_FORMAT',
      'DETECTOR_RESOURCES',
      'MIN_SEVERITY',
      'NEW_CALLER_DAYS',
      'ROOT_LOGIN_FAILURES',
      'ROOT_LOGIN_WINDOW_MINUTES',
      'SECURITY_HUB',
      'SESSIONS_TABLE',
      'SNS_TOPIC_ARN',
      'SPRAY_ACCOUNTS',
      'SPRAY_WINDOW_MINUTES',
      'TRUSTED_ACCOUNTS',
      'WATCHED_ROLES',
    ]);
    assert.equal(env.MIN_SEVERITY, 'medium');
    assert.equal(env.WATCHED_ROLES, 'arn:aws:iam::*:role/BreakGlass*');
    assert.equal(env.TRUSTED_ACCOUNTS, '444455556666');
    assert.ok(env.SNS_TOPIC_ARN.Ref);
  });

  it('reads the queue with partial batch responses, concurrency capped at the reserved concurrency', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('has a log group with retention and the key', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: Match.anyValue() });
  });

  it('imports into Security Hub only when asked: SECURITY_HUB and BatchImportFindings on the default product', () => {
    const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.Environment.Variables.SECURITY_HUB, 'false');
    assert.ok(!JSON.stringify(t.toJSON()).includes('securityhub:'));
    const hub = mainStack({ securityHub: true }).t;
    hub.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ SECURITY_HUB: 'true' }) } });
    const statements = Object.values(hub.findResources('AWS::IAM::Policy')).flatMap((p: Json) => p.Properties.PolicyDocument.Statement);
    const imports = statements.filter((s: Json) => s.Sid === 'ImportFindings');
    assert.equal(imports.length, 1);
    assert.equal(imports[0].Action, 'securityhub:BatchImportFindings');
    assert.equal(
      JSON.stringify(imports[0].Resource),
      JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':securityhub:us-east-1:111122223333:product/111122223333/default']] }),
    );
  });

  it('has no X-Ray unless asked', () => {
    const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.TracingConfig, undefined);
    const traced = mainStack({ tracing: true }).t;
    traced.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
  });
});

describe('pattern rules (docs/rules.md#pattern-rules)', () => {
  const DEFAULTS = {
    ROOT_LOGIN_FAILURES: '5',
    ROOT_LOGIN_WINDOW_MINUTES: '15',
    SPRAY_ACCOUNTS: '3',
    SPRAY_WINDOW_MINUTES: '60',
    NEW_CALLER_DAYS: '90',
  };
  const settings = (fn: Json) => Object.fromEntries(Object.keys(DEFAULTS).map((v) => [v, fn.Properties.Environment.Variables[v]]));
  const props = Object.keys(PATTERN_SETTINGS) as PatternSetting[];

  it('the settings are the five of the function, with its defaults and ranges', () => {
    assert.deepEqual(
      Object.fromEntries(props.map((p) => [PATTERN_SETTINGS[p].variable, [String(PATTERN_SETTINGS[p].default), PATTERN_SETTINGS[p].max]])),
      {
        ROOT_LOGIN_FAILURES: ['5', 1000],
        ROOT_LOGIN_WINDOW_MINUTES: ['15', 1440],
        SPRAY_ACCOUNTS: ['3', 1000],
        SPRAY_WINDOW_MINUTES: ['60', 1440],
        NEW_CALLER_DAYS: ['90', 3650],
      },
    );
  });

  it('both functions get every setting with its default', () => {
    const { t } = mainStack(LOG_ARCHIVE);
    assert.equal(functions(t).length, 2);
    for (const [id, fn] of functions(t)) assert.deepEqual(settings(fn), DEFAULTS, id);
    const [[, alone]] = functions(mainStack({ ...LOG_ARCHIVE, cloudTrailRules: false }, 'eu-west-1').t);
    assert.deepEqual(settings(alone), DEFAULTS);
    // Without the sessions table too (the function then keeps the windows in memory).
    const [[, noTable]] = functions(mainStack({ sessionTracking: false }).t);
    assert.deepEqual(settings(noTable), DEFAULTS);
  });

  it('the props set them, for both functions', () => {
    const { t } = mainStack({ ...LOG_ARCHIVE, rootLoginFailures: 10, rootLoginWindowMinutes: 30, sprayAccounts: 1000, sprayWindowMinutes: 1440, newCallerDays: 1 });
    for (const [id, fn] of functions(t)) {
      assert.deepEqual(
        settings(fn),
        { ROOT_LOGIN_FAILURES: '10', ROOT_LOGIN_WINDOW_MINUTES: '30', SPRAY_ACCOUNTS: '1000', SPRAY_WINDOW_MINUTES: '1440', NEW_CALLER_DAYS: '1' },
        id,
      );
    }
  });

  it('refuses a value that is not a whole number from 1 to the maximum', () => {
    for (const p of props) {
      const max = PATTERN_SETTINGS[p].max;
      for (const bad of [0, -1, max + 1, 2.5, Number.NaN]) {
        assert.throws(() => mainStack({ [p]: bad }), new RegExp(`${p} must be a whole number from 1 to ${max}`), `${p}=${bad}`);
      }
      for (const ok of [1, max]) assert.doesNotThrow(() => mainStack({ [p]: ok }), `${p}=${ok}`);
    }
  });

  it('the app reads them from context (keys = prop names), for the main and the log-archive stack', () => {
    const app = newApp({ rootLoginFailures: '7', sprayWindowMinutes: '120', logArchiveBucket: 'example-org-trail-logs' });
    for (const p of [detectorPropsFromContext(app), logArchivePropsFromContext(app)!]) {
      assert.deepEqual(Object.fromEntries(props.map((k) => [k, p[k]])), {
        rootLoginFailures: 7,
        rootLoginWindowMinutes: 15,
        sprayAccounts: 3,
        sprayWindowMinutes: 120,
        newCallerDays: 90,
      });
    }
    const defaults = detectorPropsFromContext(newApp());
    for (const k of props) assert.equal(defaults[k], PATTERN_SETTINGS[k].default, k);
    assert.throws(() => buildApp(newApp({ newCallerDays: 'ninety' })), /newCallerDays must be a whole number/);
  });
});

describe('no alert is lost', () => {
  const { t } = mainStack();

  it('queue visibility timeout is at least 6x the function timeout; redrive to the DLQ after 5 receives', () => {
    const [[, q]] = ofType(t, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);
    assert.ok(q.Properties.VisibilityTimeout >= 6 * FUNCTION_TIMEOUT.toSeconds());
    assert.equal(q.Properties.RedrivePolicy.maxReceiveCount, 5);
    assert.equal(q.Properties.MessageRetentionPeriod, 1209600);
  });

  it('alarms on errors, throttles, a non-empty DLQ and the age of the oldest message, to the alert and health topics', () => {
    const alarms = opsAlarms(t).map(([, a]) => a.Properties);
    assert.deepEqual(alarms.map((a) => a.MetricName).sort(), ['ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesVisible', 'Errors', 'Throttles']);
    const { alert, health } = topics(t);
    for (const a of alarms) assert.deepEqual(a.AlarmActions, [{ Ref: alert }, { Ref: health }]);
  });

  it('direct mode: rules invoke the function, failures go to the DLQ', () => {
    const d = mainStack({ invocationMode: 'direct' }).t;
    assert.equal(ofType(d, 'AWS::SQS::Queue').length, 1);
    d.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    const [[dlqId]] = ofType(d, 'AWS::SQS::Queue');
    d.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
    });
    const [[fnId]] = ofType(d, 'AWS::Lambda::Function');
    const rules = ofType(d, 'AWS::Events::Rule'); // the pattern rules and the heartbeat
    const perms = ofType(d, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    assert.equal(perms.length, rules.length);
    for (const [ruleId, r] of rules) {
      assert.deepEqual(r.Properties.Targets[0].Arn, { 'Fn::GetAtt': [fnId, 'Arn'] });
      assert.ok(perms.some((p) => p.Principal === 'events.amazonaws.com' && p.SourceArn['Fn::GetAtt'][0] === ruleId));
    }
  });
});

describe("dead man's switch", () => {
  const heartbeat = (t: Template): [string, Json][] => ofType(t, 'AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
  const heartbeatAlarm = (t: Template): [string, Json][] => ofType(t, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'Heartbeat');

  it('queue mode: a scheduled rule with default input targets the buffer queue, which admits it', () => {
    const { t } = mainStack();
    const [[ruleId, rule]] = heartbeat(t);
    assert.equal(heartbeat(t).length, 1);
    assert.equal(rule.Properties.ScheduleExpression, 'rate(30 minutes)');
    assert.equal(rule.Properties.State, 'ENABLED');
    assert.equal(rule.Properties.EventPattern, undefined);
    assert.equal(rule.Properties.EventBusName, undefined, 'the default bus');
    const [[queueId]] = ofType(t, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);
    const [[dlqId]] = ofType(t, 'AWS::SQS::Queue').filter(([, q]) => !q.Properties.RedrivePolicy);
    assert.equal(rule.Properties.Targets.length, 1);
    const [target] = rule.Properties.Targets;
    // Default input: EventBridge's Scheduled Event, unchanged.
    for (const k of ['Input', 'InputPath', 'InputTransformer']) assert.equal(target[k], undefined, k);
    assert.deepEqual(target.Arn, { 'Fn::GetAtt': [queueId, 'Arn'] });
    assert.deepEqual(target.DeadLetterConfig, { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
    assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    for (const [, p] of ofType(t, 'AWS::SQS::QueuePolicy')) {
      const allow = p.Properties.PolicyDocument.Statement.find((s: Json) => s.Effect === 'Allow');
      assert.ok(allow.Condition.ArnEquals['aws:SourceArn'].some((a: Json) => a['Fn::GetAtt'][0] === ruleId), 'queue policy admits the heartbeat rule');
    }
    t.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  it('direct mode: the rule invokes the function, which lets it', () => {
    const { t } = mainStack({ invocationMode: 'direct' });
    const [[ruleId, rule]] = heartbeat(t);
    const [[fnId]] = functions(t);
    assert.deepEqual(rule.Properties.Targets[0].Arn, { 'Fn::GetAtt': [fnId, 'Arn'] });
    for (const k of ['Input', 'InputPath', 'InputTransformer']) assert.equal(rule.Properties.Targets[0][k], undefined, k);
    const perms = ofType(t, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties.SourceArn['Fn::GetAtt'][0] === ruleId);
    assert.equal(perms.length, 1);
    assert.deepEqual(perms[0][1].Properties.FunctionName, { 'Fn::GetAtt': [fnId, 'Arn'] });
    assert.equal(perms[0][1].Properties.Principal, 'events.amazonaws.com');
    assert.equal(perms[0][1].Properties.Action, 'lambda:InvokeFunction');
  });

  it('the Heartbeat alarm: rootwatch/Heartbeat, no dimensions, Sum < 1 over an hour, missing data breaches, to the health topic', () => {
    const { t } = mainStack();
    const [[, alarm]] = heartbeatAlarm(t);
    const { health } = topics(t);
    assert.deepEqual(alarm.Properties, {
      AlarmDescription: alarm.Properties.AlarmDescription,
      Namespace: 'rootwatch',
      MetricName: 'Heartbeat',
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: health }],
      OKActions: [{ Ref: health }],
    });
    assert.match(alarm.Properties.AlarmDescription, /heartbeat/);
  });

  it('the health topic has its own rotated key, which only CloudWatch alarms of this account may use', () => {
    const { t } = mainStack();
    const { alert, health } = topics(t);
    const res = t.toJSON().Resources;
    const alertKey = res[alert].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const healthKey = res[health].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    assert.notEqual(healthKey, alertKey);
    assert.equal(res[healthKey].Type, 'AWS::KMS::Key');
    assert.equal(res[healthKey].Properties.EnableKeyRotation, true);
    const st = res[healthKey].Properties.KeyPolicy.Statement;
    assert.deepEqual(st.map((s: Json) => s.Sid ?? 'account'), ['account', 'CloudWatchAlarmsPublishToEncryptedTopic']);
    const cw = st[1];
    assert.deepEqual(cw.Principal, { Service: 'cloudwatch.amazonaws.com' });
    assert.deepEqual(actions(cw), ['kms:Decrypt', 'kms:GenerateDataKey*']);
    assert.deepEqual(cw.Condition, { StringEquals: { 'aws:SourceAccount': '111122223333' } });
    // Neither function's role may use it, nor publish to the topic.
    assert.ok(!JSON.stringify(res[healthKey]).includes('FunctionRole'));
    const [, policy] = ofType(t, 'AWS::SNS::TopicPolicy').find(([, p]) => p.Properties.Topics[0].Ref === health)!;
    const allows = policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === 'Allow');
    assert.deepEqual(allows.map((s: Json) => s.Principal), [{ Service: 'cloudwatch.amazonaws.com' }]);
    assert.deepEqual(Object.keys(allows[0].Condition).sort(), ['ArnLike', 'StringEquals']);
    assert.ok(policy.Properties.PolicyDocument.Statement.some((s: Json) => s.Effect === 'Deny' && s.Condition.Bool['aws:SecureTransport'] === 'false'));
  });

  it('the alert e-mail drops heartbeats (filter on message attributes); the health e-mail gets everything', () => {
    const { t } = mainStack({ alertEmail: 'sec@example.com', healthEmail: 'pager@example.com' });
    const { alert, health } = topics(t);
    const subs = ofType(t, 'AWS::SNS::Subscription').map(([, s]) => s.Properties);
    const alertSubs = subs.filter((s) => s.TopicArn.Ref === alert);
    assert.equal(alertSubs.length, 1);
    for (const s of alertSubs) {
      assert.deepEqual(s.FilterPolicy, { rule: [{ 'anything-but': 'heartbeat' }] });
      assert.deepEqual(s.FilterPolicy, NO_HEARTBEATS);
      assert.equal(s.FilterPolicyScope, 'MessageAttributes');
    }
    const healthSubs = subs.filter((s) => s.TopicArn.Ref === health);
    assert.deepEqual(healthSubs.map((s) => [s.Protocol, s.Endpoint, s.FilterPolicy]), [['email', 'pager@example.com', undefined]]);
  });

  it("heartbeatSchedule '' turns the heartbeat and its alarm off; the health topic stays for the other alarms", () => {
    const { t } = mainStack({ heartbeatSchedule: '' });
    assert.equal(heartbeat(t).length, 0);
    assert.equal(heartbeatAlarm(t).length, 0);
    assert.ok(topics(t).health);
    const [[, every5]] = heartbeat(mainStack({ heartbeatSchedule: 'rate(5 minutes)' }).t);
    assert.equal(every5.Properties.ScheduleExpression, 'rate(5 minutes)');
    assert.throws(() => mainStack({ heartbeatSchedule: 'rate(2 hours)' }), /heartbeatSchedule/);
    assert.throws(() => mainStack({ heartbeatSchedule: '30 minutes' }), /heartbeatSchedule/);
  });

  it('the log-archive path alone has no heartbeat (no event path), but its alarms reach the health topic', () => {
    const { t } = mainStack({ ...LOG_ARCHIVE, cloudTrailRules: false }, 'eu-west-1');
    assert.equal(heartbeat(t).length, 0);
    assert.equal(heartbeatAlarm(t).length, 0);
    const { alert, health } = topics(t);
    for (const [, a] of opsAlarms(t)) assert.deepEqual(a.Properties.AlarmActions, [{ Ref: alert }, { Ref: health }]);
  });

  it('DETECTOR_RESOURCES names the health key and topic; the context turns it off', () => {
    const { t } = mainStack();
    const { health } = topics(t);
    const res = t.toJSON().Resources;
    const healthKey = res[health].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const text = JSON.stringify(functions(t)[0][1].Properties.Environment.Variables.DETECTOR_RESOURCES);
    assert.ok(text.includes(`{"Ref":"${healthKey}"}`));
    assert.ok(text.includes(`{"Ref":"${health}"},":*,"`));
    const p = detectorPropsFromContext(newApp({ heartbeatSchedule: '', healthEmail: 'pager@example.com' }));
    assert.equal(p.heartbeatSchedule, '');
    assert.equal(p.healthEmail, 'pager@example.com');
    assert.equal(detectorPropsFromContext(newApp()).heartbeatSchedule, undefined);
  });
});

describe('encryption', () => {
  const { t } = mainStack();
  const [[keyId]] = ofType(t, 'AWS::KMS::Key');
  const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };

  it('one rotated customer-managed key', () => {
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('topic, queues, table and log group use it', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    for (const [id, q] of ofType(t, 'AWS::SQS::Queue')) assert.deepEqual(q.Properties.KmsMasterKeyId, keyArn, id);
    t.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn } });
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn });
  });

  it('sessions table: pk, TTL on expires_at, on demand, point-in-time recovery', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('key policy lets the function, CloudWatch alarms and EventBridge use the key', () => {
    const [[, key]] = ofType(t, 'AWS::KMS::Key');
    const st = key.Properties.KeyPolicy.Statement;
    const fn = st.find((s: Json) => s.Sid === 'FunctionPublishesAndReads');
    assert.deepEqual(actions(fn), ['kms:Decrypt', 'kms:GenerateDataKey*']);
    assert.deepEqual(fn.Principal.AWS, { 'Fn::GetAtt': [functionRoleId(t), 'Arn'] });
    for (const svc of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      const s = st.find((x: Json) => x.Principal.Service === svc);
      assert.ok(s.Condition.StringEquals['aws:SourceAccount'], svc);
    }
  });
});

describe('least privilege', () => {
  it('the function may use its logs, topic, key, queue and table, nothing else', () => {
    const { t } = mainStack();
    const roleId = functionRoleId(t);
    const role = t.toJSON().Resources[roleId];
    assert.equal(role.Properties.ManagedPolicyArns, undefined, 'no managed policies');
    const ref = (type: string) => ofType(t, type)[0][0];
    const [[queueId]] = ofType(t, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);
    const st = roleStatements(t, roleId).map((s) => ({ Action: actions(s), Resource: s.Resource, Effect: s.Effect }));
    assert.deepEqual(st, [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [ref('AWS::Logs::LogGroup'), 'Arn'] } },
      { Effect: 'Allow', Action: ['sns:Publish'], Resource: { Ref: ref('AWS::SNS::Topic') } },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: { 'Fn::GetAtt': [ref('AWS::KMS::Key'), 'Arn'] } },
      { Effect: 'Allow', Action: ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [ref('AWS::DynamoDB::Table'), 'Arn'] } },
    ]);
  });

  it('without session tracking there is no table and no DynamoDB permission', () => {
    const { t } = mainStack({ sessionTracking: false });
    t.resourceCountIs('AWS::DynamoDB::Table', 0);
    assert.ok(!JSON.stringify(roleStatements(t, functionRoleId(t))).includes('dynamodb:'));
    const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.Environment.Variables.SESSIONS_TABLE, undefined);
  });

  it('the topic policy allows only the function and this account\'s CloudWatch alarms', () => {
    const { t } = mainStack();
    const [[, policy]] = ofType(t, 'AWS::SNS::TopicPolicy');
    const allows = policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === 'Allow');
    assert.deepEqual(
      allows.map((s: Json) => s.Principal),
      [{ AWS: { 'Fn::GetAtt': [functionRoleId(t), 'Arn'] } }, { Service: 'cloudwatch.amazonaws.com' }],
    );
    for (const s of allows) assert.deepEqual(actions(s), ['sns:Publish']);
    assert.ok(allows[1].Condition.StringEquals['aws:SourceAccount']);
  });

  it('the queues accept messages only from this construct\'s rules', () => {
    const { t } = mainStack();
    const ruleIds = ofType(t, 'AWS::Events::Rule').map(([id]) => id).sort();
    const policies = ofType(t, 'AWS::SQS::QueuePolicy');
    assert.equal(policies.length, 2);
    for (const [id, p] of policies) {
      const allows = p.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === 'Allow');
      assert.equal(allows.length, 1, id);
      assert.deepEqual(allows[0].Principal, { Service: 'events.amazonaws.com' });
      assert.deepEqual(actions(allows[0]), ['sqs:SendMessage']);
      const arns = allows[0].Condition.ArnEquals['aws:SourceArn'].map((a: Json) => a['Fn::GetAtt'][0]).sort();
      assert.deepEqual(arns, ruleIds);
    }
  });

  it('the central bus admits the organisation only when an organisation id is given', () => {
    mainStack().t.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    const { t } = mainStack({ organizationId: 'o-abcdefghij' });
    t.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Principal: '*',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } },
      },
    });
  });
});

describe('regions and subscription', () => {
  it('refuses a concrete region other than us-east-1', () => {
    assert.throws(() => mainStack({}, 'eu-west-1'), /us-east-1/);
    assert.doesNotThrow(() => mainStack({ allowAnyRegion: true }, 'eu-west-1'));
  });

  it('asserts us-east-1 at deploy time when the region is not known at synth', () => {
    const app = newApp();
    const stack = new RootwatchStack(app, 'Agnostic');
    const rules = Template.fromStack(stack).toJSON().Rules;
    const rule = Object.values(rules as Json).find((r: Json) => JSON.stringify(r).includes('us-east-1')) as Json;
    assert.deepEqual(rule.Assertions[0].Assert, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] });
  });

  it('subscribes an e-mail address when given', () => {
    mainStack().t.resourceCountIs('AWS::SNS::Subscription', 0);
    mainStack({ alertEmail: 'sec@example.com' }).t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'sec@example.com' });
  });

  it('reads settings from context', () => {
    const app = newApp({ invocationMode: 'direct', sessionTracking: 'false', watchedRoles: 'a,b', reservedConcurrency: '7' });
    const p = detectorPropsFromContext(app);
    assert.equal(p.invocationMode, 'direct');
    assert.equal(p.sessionTracking, false);
    assert.deepEqual(p.watchedRoles, ['a', 'b']);
    assert.equal(p.reservedConcurrency, 7);
  });
});

describe('function build (cargo-lambda-cdk bundling)', () => {
  it('builds both functions with `cargo lambda build --profile dist`, never --release', () => {
    // RustFunction hands its bundling options to Bundling.bundle, which makes the build command
    // (run at synth unless bundling is skipped, as here): record them, then make that command.
    const seen: BundlingProps[] = [];
    const original = Bundling.bundle;
    Bundling.bundle = (options: BundlingProps) => {
      seen.push(options);
      return original.call(Bundling, options);
    };
    try {
      mainStack(LOG_ARCHIVE);
    } finally {
      Bundling.bundle = original;
    }
    assert.deepEqual(RUST_BUNDLING, { profile: 'dist' });
    assert.equal(seen.length, 2, 'the event function and the log-archive function');
    for (const options of seen) {
      assert.equal(options.profile, 'dist');
      assert.equal(options.cargoLambdaFlags, undefined, 'no flag that could bring back --release');
      assert.equal(options.binaryName, 'rootwatch');
      assert.equal(options.architecture?.name, 'arm64');
      assert.equal(path.basename(options.manifestPath), 'Cargo.toml');
      const [shell, flag, command] = new Bundling(path.dirname(options.manifestPath), options).command;
      assert.deepEqual([shell, flag], ['bash', '-c']);
      assert.equal(command, 'cargo lambda build --lambda-dir /asset-output --profile dist --arm64 --bin rootwatch --flatten rootwatch');
    }
  });
});

describe('forwarder', () => {
  const { t } = forwarder();

  it('forwards the same four patterns from the default bus to the central bus with a role, DLQ and retries', () => {
    const rules = ofType(t, 'AWS::Events::Rule');
    assert.deepEqual(
      rules.map(([, r]) => JSON.stringify(r.Properties.EventPattern)).sort(),
      [ROOT_ACTIVITY_PATTERN, SESSION_START_PATTERN, ROOT_ONLY_TASK_PATTERN, DETECTOR_TAMPER_PATTERN]
        .map((p) => JSON.stringify(cfnPattern(p)))
        .sort(),
    );
    const [[roleId]] = ofType(t, 'AWS::IAM::Role');
    for (const [id, r] of rules) {
      assert.equal(r.Properties.State, RULE_STATE, id);
      assert.equal(r.Properties.EventBusName, undefined, id);
      assert.equal(r.Condition, 'Forward', id);
      const [target] = r.Properties.Targets;
      assert.match(JSON.stringify(target.Arn), /:event-bus\/",\{"Ref":"CentralBusName"\}/);
      assert.deepEqual(target.RoleArn, { 'Fn::GetAtt': [roleId, 'Arn'] });
      assert.ok(target.DeadLetterConfig.Arn);
      assert.deepEqual(target.RetryPolicy, { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    }
  });

  it('its role may only put events on the central bus; nothing is named (StackSets)', () => {
    const [[roleId, role]] = ofType(t, 'AWS::IAM::Role');
    const st = roleStatements(t, roleId);
    assert.equal(st.length, 1);
    assert.deepEqual(actions(st[0]), ['events:PutEvents']);
    assert.match(JSON.stringify(st[0].Resource), /event-bus/);
    assert.equal(role.Properties.RoleName, undefined);
    assert.deepEqual(Object.keys(t.toJSON().Parameters).sort(), ['CentralAccountId', 'CentralBusName', 'CentralRegion']);
    assert.equal(t.toJSON().Rules, undefined, 'no bootstrap-version rule: member accounts are not bootstrapped');
  });
});

describe('detector tamper rule', () => {
  it('matches each event source with its own names, Lambda names by prefix, anything but Root', () => {
    const p = DETECTOR_TAMPER_PATTERN as Json;
    assert.deepEqual(p.detailType, ['AWS API Call via CloudTrail']);
    assert.deepEqual(
      p.source,
      TAMPER_APIS.map((a) => `aws.${a.eventSource.split('.')[0]}`),
    );
    assert.equal(p.detail.$or.length, TAMPER_APIS.length);
    for (const [i, a] of TAMPER_APIS.entries()) {
      const branch = p.detail.$or[i];
      assert.deepEqual(branch.eventSource, [a.eventSource]);
      const names = branch.eventName.map((n: Json) => (typeof n === 'string' ? n : n.prefix));
      assert.deepEqual(names, a.names);
      assert.equal(branch.eventName.every((n: Json) => typeof n !== 'string'), a.eventSource === 'lambda.amazonaws.com', a.eventSource);
    }
    assert.deepEqual(p.detail.userIdentity, { $or: [{ type: [{ exists: false }] }, { type: [{ 'anything-but': ['Root'] }] }] });
    assert.ok(JSON.stringify(cfnPattern(p)).length <= 2048, 'EventBridge pattern size quota');
  });

  it('lists the calls of issues 7 and 15', () => {
    const all = TAMPER_APIS.flatMap((a) => a.names.map((n) => `${a.eventSource.split('.')[0]}:${n}`));
    assert.equal(all.length, 46);
    for (const x of ['cloudtrail:StopLogging', 'events:DeleteEventBus', 'lambda:UpdateFunctionCode', 'sqs:PurgeQueue', 'sns:Unsubscribe', 'kms:ScheduleKeyDeletion', 'dynamodb:DeleteTable', 'iam:UpdateAssumeRolePolicy']) {
      assert.ok(all.includes(x), x);
    }
    // Issue 15: DeleteFunctionEventInvokeConfig is covered by the DeleteFunction prefix.
    for (const x of ['iam:AttachRolePolicy', 'lambda:PutFunctionEventInvokeConfig', 'lambda:UpdateFunctionEventInvokeConfig', 'dynamodb:PutResourcePolicy', 'dynamodb:DeleteResourcePolicy', 'dynamodb:UpdateTimeToLive', 'organizations:LeaveOrganization', 'organizations:DisableAWSServiceAccess', 'organizations:DeregisterDelegatedAdministrator']) {
      assert.ok(all.includes(x), x);
    }
  });
});

describe('DETECTOR_RESOURCES', () => {
  const refs = (value: Json): string[] => JSON.stringify(value).match(/"(Ref|Fn::GetAtt)":(\["[A-Za-z0-9]+"|"[A-Za-z0-9:]+")/g) ?? [];

  it('names the stack glob, the key, role, topic and its subscriptions, bus, queues and table', () => {
    const { t } = mainStack();
    const [[, fn]] = functions(t);
    const value = fn.Properties.Environment.Variables.DETECTOR_RESOURCES;
    const parts = value['Fn::Join'][1];
    assert.deepEqual(parts.slice(0, 2), [{ Ref: 'AWS::StackName' }, '-*,']);
    const [[keyId]] = ofType(t, 'AWS::KMS::Key');
    const [[topicId]] = ofType(t, 'AWS::SNS::Topic');
    const [[busId]] = ofType(t, 'AWS::Events::EventBus');
    const [[tableId]] = ofType(t, 'AWS::DynamoDB::Table');
    const text = JSON.stringify(parts);
    for (const id of [keyId, functionRoleId(t), topicId, busId, tableId]) assert.ok(text.includes(`{"Ref":"${id}"}`), id);
    assert.ok(text.includes(`{"Ref":"${topicId}"},":*,"`), 'the topic\'s subscriptions');
    for (const [qid] of ofType(t, 'AWS::SQS::Queue')) assert.ok(text.includes(`{"Fn::GetAtt":["${qid}","QueueName"]}`), qid);
  });

  it('references neither a function nor a rule (no circular dependency)', () => {
    for (const props of [{}, { invocationMode: 'direct' }, LOG_ARCHIVE] as RootActivityDetectorProps[]) {
      const { t } = mainStack(props);
      const banned = [...functions(t), ...ofType(t, 'AWS::Events::Rule')].map(([id]) => id);
      for (const [id, fn] of functions(t)) {
        const text = refs(fn.Properties.Environment.Variables.DETECTOR_RESOURCES).join(' ');
        for (const b of banned) assert.ok(!text.includes(`"${b}"`), `${id} references ${b}`);
      }
    }
  });

  it('names both functions\' roles', () => {
    const { t } = mainStack(LOG_ARCHIVE);
    const text = JSON.stringify(functions(t)[0][1].Properties.Environment.Variables.DETECTOR_RESOURCES);
    for (const [, fn] of functions(t)) assert.ok(text.includes(`{"Ref":"${fn.Properties.Role['Fn::GetAtt'][0]}"}`));
  });

  it('is the same for both functions and takes extra entries', () => {
    const { t } = mainStack({ ...LOG_ARCHIVE, extraDetectorResources: ['StackSet-rootwatch-forwarder-*'] });
    const values = functions(t).map(([, f]) => JSON.stringify(f.Properties.Environment.Variables.DETECTOR_RESOURCES));
    assert.equal(values.length, 2);
    assert.equal(values[0], values[1]);
    assert.ok(values[0].includes(',StackSet-rootwatch-forwarder-*'));
    assert.ok(values[0].includes('CloudTrailSubscription'), 'the trail topic subscription');
    assert.ok(values[0].includes('BatchOperationsRole'), 'the Batch Operations role');
  });
});

describe('log-archive option', () => {
  const { t } = mainStack(LOG_ARCHIVE);
  const [laFnId, laFn] = fnByTimeout(t, LOG_ARCHIVE_TIMEOUT.toSeconds());
  const queues = ofType(t, 'AWS::SQS::Queue');
  const laQueue = queues.find(([, q]) => q.Properties.VisibilityTimeout === 1800);
  assert.ok(laQueue, 'log-archive queue');
  const [laQueueId, laQueueRes] = laQueue;
  const laDlqId = laQueueRes.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];

  it('an S3 Object Created rule for log files of the bucket under the prefix, to the log-archive queue', () => {
    const s3 = patternRules(t).filter(([, r]) => JSON.stringify(r.Properties.EventPattern.source) === '["aws.s3"]');
    assert.equal(s3.length, 1);
    const [[ruleId, rule]] = s3;
    assert.deepEqual(rule.Properties.EventPattern, {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['example-org-trail-logs'] }, object: { key: [{ wildcard: 'AWSLogs/*/CloudTrail/*.json.gz' }] } },
    });
    assert.equal(rule.Properties.State, 'ENABLED');
    assert.equal(rule.Properties.EventBusName, undefined, 'default bus');
    assert.deepEqual(rule.Properties.Targets[0].Arn, { 'Fn::GetAtt': [laQueueId, 'Arn'] });
    assert.deepEqual(rule.Properties.Targets[0].DeadLetterConfig, { Arn: { 'Fn::GetAtt': [laDlqId, 'Arn'] } });
    // The CloudTrail rules are still there, and the S3 rule is not among the buffer's senders.
    assert.equal(patternRules(t).length, 9);
    const buffer = queues.find(([, q]) => q.Properties.VisibilityTimeout === 180);
    assert.ok(buffer);
    const bufferPolicy = ofType(t, 'AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues[0].Ref === buffer[0]);
    assert.ok(!JSON.stringify(bufferPolicy).includes(ruleId));
  });

  it('a KMS-encrypted queue, visibility 6 x the 300 s timeout, DLQ after 5 receives', () => {
    assert.ok(laQueueRes.Properties.VisibilityTimeout >= 6 * laFn.Properties.Timeout);
    assert.equal(laFn.Properties.Timeout, 300);
    assert.equal(laQueueRes.Properties.RedrivePolicy.maxReceiveCount, 5);
    const [[keyId]] = ofType(t, 'AWS::KMS::Key');
    for (const id of [laQueueId, laDlqId]) assert.deepEqual(t.toJSON().Resources[id].Properties.KmsMasterKeyId, { 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('only the rule and the trail topic may send; the topic subscription is raw, in the topic\'s region', () => {
    const [, policy] = ofType(t, 'AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues[0].Ref === laQueueId)!;
    const allows = policy.Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === 'Allow');
    assert.deepEqual(allows.map((s: Json) => s.Principal.Service).sort(), ['events.amazonaws.com', 'sns.amazonaws.com']);
    for (const s of allows) assert.deepEqual(actions(s), ['sqs:SendMessage']);
    const sns = allows.find((s: Json) => s.Principal.Service === 'sns.amazonaws.com');
    assert.deepEqual(sns.Condition, { ArnEquals: { 'aws:SourceArn': LOG_ARCHIVE.cloudTrailTopicArn } });
    t.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: LOG_ARCHIVE.cloudTrailTopicArn,
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': [laQueueId, 'Arn'] },
      RawMessageDelivery: true,
      Region: 'eu-west-1',
    });
    const [[, key]] = ofType(t, 'AWS::KMS::Key');
    const snsKey = key.Properties.KeyPolicy.Statement.find((s: Json) => s.Principal.Service === 'sns.amazonaws.com');
    assert.deepEqual(snsKey.Condition, { ArnEquals: { 'aws:SourceArn': LOG_ARCHIVE.cloudTrailTopicArn } });
  });

  it('the mapping reports partial batch failures, one log file at a time', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [laQueueId, 'Arn'] },
      FunctionName: { Ref: laFnId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    assert.equal(laFn.Properties.ReservedConcurrentExecutions, 10);
    assert.equal(laFn.Properties.Environment.Variables.LOG_BUCKETS, 'example-org-trail-logs');
  });

  it('s3:GetObject under the prefix only, kms:Decrypt through S3 in the key\'s region only', () => {
    const st = roleStatements(t, laFn.Properties.Role['Fn::GetAtt'][0]);
    const s3 = st.filter((s) => actions(s).some((a) => a.startsWith('s3:')));
    assert.deepEqual(s3.map((s) => [actions(s), s.Resource]), [
      [['s3:GetObject'], { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::example-org-trail-logs/AWSLogs/*']] }],
    ]);
    const decrypt = st.find((s) => JSON.stringify(s.Resource) === JSON.stringify(LOG_ARCHIVE.logArchiveKeyArn));
    assert.deepEqual(actions(decrypt), ['kms:Decrypt']);
    assert.deepEqual(decrypt.Condition, { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
  });

  it('alarms on the log-archive function and its dead-letter queue, to the same topics', () => {
    const { alert, health } = topics(t);
    const alarms = opsAlarms(t).map(([, a]) => a.Properties);
    assert.equal(alarms.length, 8);
    for (const a of alarms) assert.deepEqual(a.AlarmActions, [{ Ref: alert }, { Ref: health }]);
    const dlqAlarm = alarms.filter((a) => JSON.stringify(a.Dimensions).includes(laDlqId));
    assert.equal(dlqAlarm.length, 1);
    assert.equal(dlqAlarm[0].MetricName, 'ApproximateNumberOfMessagesVisible');
    assert.equal(alarms.filter((a) => JSON.stringify(a.Dimensions).includes(laFnId)).length, 2);
  });

  it('a Batch Operations role that may invoke the log-archive function and use rootwatch-batch/ of one bucket', () => {
    const roles = ofType(t, 'AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('batchoperations.s3.amazonaws.com'));
    assert.equal(roles.length, 1);
    const st = roleStatements(t, roles[0][0]).map((s) => [actions(s), s.Resource]);
    assert.deepEqual(st, [
      [['lambda:InvokeFunction'], { 'Fn::GetAtt': [laFnId, 'Arn'] }],
      [['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'], { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::example-rootwatch-batch/rootwatch-batch/*']] }],
      [['s3:GetBucketLocation'], { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::example-rootwatch-batch']] }],
    ]);
    mainStack({ ...LOG_ARCHIVE, batchOperationsBucket: undefined }).t.resourceCountIs('AWS::IAM::Role', 2);
  });

  it('the Batch Operations role trusts only jobs of this account and region (confused deputy)', () => {
    const [[, role]] = ofType(t, 'AWS::IAM::Role').filter(([, r]) => JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('batchoperations'));
    const [st] = role.Properties.AssumeRolePolicyDocument.Statement;
    assert.deepEqual(st.Principal, { Service: 'batchoperations.s3.amazonaws.com' });
    assert.deepEqual(st.Condition, {
      StringEquals: { 'aws:SourceAccount': '111122223333' },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:us-east-1:111122223333:job/*']] } },
    });
  });

  it('each function has its own role, with only what it needs', () => {
    const [, evFn] = fnByTimeout(t, FUNCTION_TIMEOUT.toSeconds());
    const evRole = evFn.Properties.Role['Fn::GetAtt'][0];
    const laRole = laFn.Properties.Role['Fn::GetAtt'][0];
    assert.notEqual(evRole, laRole);
    const sids = (roleId: string) => roleStatements(t, roleId).map((s) => s.Sid);
    assert.deepEqual(sids(evRole), ['OwnLogs', 'PublishAlerts', 'UseTheKey', 'ReadTheBufferQueue', 'SessionsTable']);
    assert.deepEqual(sids(laRole), ['OwnLogs', 'PublishAlerts', 'UseTheKey', 'ReadTheLogArchiveQueue', 'ReadTheLogFiles', 'DecryptTheLogFilesThroughS3', 'SessionsTable']);
    // Both keep the pattern rules' window sets (UpdateItem); the log-archive function also writes sessions 25 a call.
    const table = (roleId: string) => actions(roleStatements(t, roleId).find((s) => s.Sid === 'SessionsTable'));
    assert.deepEqual(table(evRole), ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    assert.deepEqual(table(laRole), ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    const ev = JSON.stringify(roleStatements(t, evRole));
    for (const x of ['s3:', LOG_ARCHIVE.logArchiveKeyArn!, laQueueId]) assert.ok(!ev.includes(x), `event function role: ${x}`);
    assert.ok(!JSON.stringify(roleStatements(t, laRole)).includes('"sqs:SendMessage"'));
    // Each writes only its own log group.
    const logs = (roleId: string) => roleStatements(t, roleId).find((s) => s.Sid === 'OwnLogs').Resource['Fn::GetAtt'][0];
    assert.equal(logs(evRole), evFn.Properties.LoggingConfig.LogGroup.Ref);
    assert.equal(logs(laRole), laFn.Properties.LoggingConfig.LogGroup.Ref);
    // No wildcard resource but the log-file prefix; both roles may use the key and publish.
    for (const roleId of [evRole, laRole]) {
      for (const s of roleStatements(t, roleId)) assert.ok(!JSON.stringify(s.Resource).includes('*') || s.Sid === 'ReadTheLogFiles', `${roleId} ${s.Sid}`);
    }
    const [[, key]] = ofType(t, 'AWS::KMS::Key').filter(([, k]) => JSON.stringify(k).includes('FunctionPublishesAndReads'));
    const fnKey = key.Properties.KeyPolicy.Statement.find((s: Json) => s.Sid === 'FunctionPublishesAndReads');
    assert.deepEqual(fnKey.Principal.AWS, [{ 'Fn::GetAtt': [evRole, 'Arn'] }, { 'Fn::GetAtt': [laRole, 'Arn'] }]);
    const [[, topicPolicy]] = ofType(t, 'AWS::SNS::TopicPolicy').filter(([, p]) => JSON.stringify(p).includes('OnlyTheFunctionPublishes'));
    const pub = topicPolicy.Properties.PolicyDocument.Statement.find((s: Json) => s.Sid === 'OnlyTheFunctionPublishes');
    assert.deepEqual(pub.Principal.AWS, [{ 'Fn::GetAtt': [evRole, 'Arn'] }, { 'Fn::GetAtt': [laRole, 'Arn'] }]);
  });

  it('eventbridge only: no topic subscription; sns only: no S3 rule', () => {
    const eb = mainStack({ ...LOG_ARCHIVE, logArchiveNotification: 'eventbridge', cloudTrailTopicArn: undefined }).t;
    eb.resourceCountIs('AWS::SNS::Subscription', 0);
    const policies = [...ofType(eb, 'AWS::KMS::Key'), ...ofType(eb, 'AWS::SQS::QueuePolicy')].map(([, r]) => JSON.stringify(r.Properties));
    assert.ok(policies.every((p) => !p.includes('"Service":"sns.amazonaws.com"')), 'no SNS principal');
    const sns = mainStack({ ...LOG_ARCHIVE, logArchiveNotification: 'sns' }).t;
    assert.equal(patternRules(sns).length, 8);
  });

  it('refuses inconsistent settings', () => {
    assert.throws(() => mainStack({ logArchiveKeyArn: LOG_ARCHIVE.logArchiveKeyArn }), /need logArchiveBucket/);
    assert.throws(() => mainStack({ ...LOG_ARCHIVE, cloudTrailTopicArn: undefined }), /needs cloudTrailTopicArn/);
    assert.throws(() => mainStack({ ...LOG_ARCHIVE, logArchiveNotification: 'eventbridge' }), /only with logArchiveNotification/);
    assert.throws(() => mainStack({ ...LOG_ARCHIVE, logArchivePrefix: 'AWSLogs/*' }), /logArchivePrefix/);
    assert.throws(() => mainStack({ ...LOG_ARCHIVE, logArchiveBucket: 'Not_A_Bucket' }), /bucket name/);
    assert.throws(() => mainStack({ cloudTrailRules: false }), /needs logArchiveBucket/);
  });
});

describe('log-archive path alone (cloudTrailRules false)', () => {
  const props: RootActivityDetectorProps = { ...LOG_ARCHIVE, cloudTrailRules: false };

  it('deploys in any region, without the us-east-1 assertion, the CloudTrail rules, the bus or the event function', () => {
    const { t } = mainStack(props, 'eu-west-1');
    assert.equal(t.toJSON().Rules?.MainStackInUsEast1, undefined);
    assert.ok(!JSON.stringify(t.toJSON().Rules ?? {}).includes('us-east-1'));
    t.resourceCountIs('AWS::Events::EventBus', 0);
    assert.equal(ofType(t, 'AWS::Events::Rule').length, 1);
    assert.equal(functions(t).length, 1);
    assert.equal(ofType(t, 'AWS::SQS::Queue').length, 2);
    assert.deepEqual(
      ofType(t, 'AWS::CloudWatch::Alarm').map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort(),
      ['DetectorLogArchiveDeadLetterQueueNotEmptyAlarm', 'DetectorLogArchiveFunctionErrorsAlarm', 'DetectorLogArchiveFunctionThrottlesAlarm', 'DetectorLogArchiveOldestMessageAgeAlarm'],
    );
  });

  it('its role may use only the log-archive queue, the log files and key, its log group, topic, key and table', () => {
    const { t } = mainStack(props, 'eu-west-1');
    const sids = roleStatements(t, functionRoleId(t)).map((s) => s.Sid);
    assert.deepEqual(sids, ['OwnLogs', 'PublishAlerts', 'UseTheKey', 'ReadTheLogArchiveQueue', 'ReadTheLogFiles', 'DecryptTheLogFilesThroughS3', 'SessionsTable']);
  });

  it('the CDK app builds RootwatchLogArchive from context, in the logArchiveRegion', () => {
    const app = newApp({ logArchiveBucket: 'example-org-trail-logs', logArchiveRegion: 'eu-west-1', minSeverity: 'high' });
    const p = logArchivePropsFromContext(app)!;
    assert.equal(p.cloudTrailRules, false);
    assert.equal(p.logArchivePrefix, 'AWSLogs/');
    assert.equal(p.logArchiveNotification, 'eventbridge');
    assert.equal(p.minSeverity, 'high');
    const { logArchive, main } = buildApp(app);
    assert.ok(logArchive);
    assert.equal(logArchive.region, 'eu-west-1');
    assert.equal(main.region, 'us-east-1');
    assert.equal(buildApp(newApp()).logArchive, undefined);
  });
});

describe('cdk-nag AwsSolutions', () => {
  for (const [name, props] of [
    ['queue mode', {}],
    ['direct mode with tracing, org and e-mail', { invocationMode: 'direct', tracing: true, organizationId: 'o-abcdefghij', alertEmail: 'a@b.c' }],
    ['no session tracking', { sessionTracking: false }],
    ['no heartbeat, health e-mail', { heartbeatSchedule: '', healthEmail: 'pager@example.com' }],
    ['log archive too, SSE-KMS, both notifications, Batch Operations', LOG_ARCHIVE],
    ['log archive alone, SNS only', { ...LOG_ARCHIVE, cloudTrailRules: false, logArchiveNotification: 'sns' }],
  ] as [string, RootActivityDetectorProps][]) {
    it(`has no unacknowledged finding (${name}) and every acknowledgement has a reason`, () => {
      const app = newApp();
      const main = new RootwatchStack(app, 'Rootwatch', { env: { account: '111122223333', region: 'us-east-1' }, detector: props });
      const fwd = new ForwarderStack(app, 'RootwatchForwarder');
      const checks = new AwsSolutionsChecks(app);
      Validations.of(app).addPlugins(checks);
      const report = checks.validateScope(app);
      assert.deepEqual(
        report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(',')}`),
        [],
      );
      for (const stack of [main, fwd] as Stack[]) {
        const acks = stack.node
          .findAll()
          .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data));
        assert.ok(acks.length > 0);
        // Stored as { "<kind>::<rule id>": "<reason>" }.
        for (const a of acks) for (const [id, reason] of Object.entries(a as Record<string, string>)) assert.ok(reason.length > 20, id);
      }
    });
  }

  it('fails when a finding is not acknowledged (the check can fail)', () => {
    const app = newApp();
    const stack = new Stack(app, 'Bad', { env: { account: '111122223333', region: 'us-east-1' } });
    // A queue with no DLQ, no SSL enforcement: SQS3 and SQS4.
    new (require('aws-cdk-lib/aws-sqs').Queue)(stack, 'Q');
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const ids = report.violations.map((v) => v.ruleName);
    assert.ok(ids.includes('AwsSolutions-SQS3') && ids.includes('AwsSolutions-SQS4'), ids.join(','));
  });
});

describe('scheduled root credentials audit (docs/audit.md)', () => {
  const statements = (t: Template): Json[] =>
    ofType(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  const sids = (t: Template): string[] => statements(t).map((s) => s.Sid);
  const auditRules = (t: Template): Json[] =>
    ofType(t, 'AWS::Events::Rule')
      .map(([, r]) => r)
      .filter((r) => (r.Properties.Targets ?? []).some((x: Json) => x.Input === '{"rootwatch":"audit"}'));

  it('is off by default: no rule, no AUDIT variable, no audit permission', () => {
    const { t } = mainStack();
    assert.deepEqual(auditRules(t), []);
    for (const sid of ['AuditRootCredentials', 'AuditOrganization', 'AuditMemberRootCredentials']) assert.ok(!sids(t).includes(sid), sid);
    assert.ok(!JSON.stringify(t.toJSON()).includes('sts:AssumeRoot'));
    for (const [, fn] of ofType(t, 'AWS::Lambda::Function')) assert.equal(fn.Properties.Environment.Variables.AUDIT, undefined);
  });

  it('daily for the account: a daily rule with the audit input, the account reads only', () => {
    const { t } = mainStack({ auditSchedule: 'daily' });
    const rules = auditRules(t);
    assert.equal(rules.length, 1);
    assert.equal(rules[0].Properties.ScheduleExpression, 'rate(1 day)');
    const st = statements(t).find((s) => s.Sid === 'AuditRootCredentials');
    assert.deepEqual([...st.Action].sort(), ['iam:GenerateCredentialReport', 'iam:GetAccountSummary', 'iam:GetCredentialReport', 'iam:ListVirtualMFADevices']);
    assert.ok(!sids(t).includes('AuditOrganization') && !sids(t).includes('AuditMemberRootCredentials'));
    const envs = ofType(t, 'AWS::Lambda::Function').map(([, fn]) => fn.Properties.Environment.Variables.AUDIT);
    assert.ok(envs.includes('account'), JSON.stringify(envs));
  });

  it('daily for the organisation: Organizations reads and AssumeRoot limited to the audit task policy', () => {
    const { t } = mainStack({ auditSchedule: 'daily', auditScope: 'organization' });
    const by = Object.fromEntries(statements(t).map((s) => [s.Sid, s]));
    assert.deepEqual([...by.AuditOrganization.Action].sort(), ['iam:ListOrganizationsFeatures', 'organizations:DescribeOrganization', 'organizations:ListAccounts']);
    assert.equal(by.AuditMemberRootCredentials.Action, 'sts:AssumeRoot');
    assert.deepEqual(by.AuditMemberRootCredentials.Condition, {
      StringEquals: { 'sts:TaskPolicyArn': 'arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials' },
    });
  });
});
