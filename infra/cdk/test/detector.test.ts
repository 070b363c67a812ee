// Assertions on the synthesised templates (node:test + aws-cdk-lib/assertions). Bundling is
// skipped (context aws:cdk:bundling-stacks = []): no cargo lambda build in unit tests.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { detectorPropsFromContext } from '../lib/app';
import {
  CLOUDTRAIL_DETAIL_TYPES,
  ROOT_ACTIVITY_PATTERN,
  ROOT_ONLY_TASK_PATTERN,
  RULE_STATE,
  SESSION_APIS,
  SESSION_START_PATTERN,
} from '../lib/patterns';
import { FUNCTION_TIMEOUT, RootActivityDetectorProps } from '../lib/root-activity-detector';
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

function functionRoleId(t: Template): string {
  const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
  return fn.Properties.Role['Fn::GetAtt'][0];
}

const actions = (s: Json): string[] => [s.Action].flat().sort();

describe('rule patterns and state', () => {
  const { t } = mainStack();
  const rules = ofType(t, 'AWS::Events::Rule');

  it('has the three patterns on the default bus and on the central bus', () => {
    assert.equal(rules.length, 6);
    for (const p of [ROOT_ACTIVITY_PATTERN, SESSION_START_PATTERN, ROOT_ONLY_TASK_PATTERN]) {
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
    assert.deepEqual(Object.keys(env).sort(), ['ALERT_FORMAT', 'MIN_SEVERITY', 'SESSIONS_TABLE', 'SNS_TOPIC_ARN', 'TRUSTED_ACCOUNTS', 'WATCHED_ROLES']);
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

  it('has no X-Ray unless asked', () => {
    const [[, fn]] = ofType(t, 'AWS::Lambda::Function');
    assert.equal(fn.Properties.TracingConfig, undefined);
    const traced = mainStack({ tracing: true }).t;
    traced.hasResourceProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
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

  it('alarms on errors, throttles, a non-empty DLQ and the age of the oldest message, to the topic', () => {
    const alarms = ofType(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    assert.deepEqual(alarms.map((a) => a.MetricName).sort(), ['ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesVisible', 'Errors', 'Throttles']);
    const [[topicId]] = ofType(t, 'AWS::SNS::Topic');
    for (const a of alarms) assert.deepEqual(a.AlarmActions, [{ Ref: topicId }]);
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
    const rules = ofType(d, 'AWS::Events::Rule');
    const perms = ofType(d, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    assert.equal(perms.length, rules.length);
    for (const [ruleId, r] of rules) {
      assert.deepEqual(r.Properties.Targets[0].Arn, { 'Fn::GetAtt': [fnId, 'Arn'] });
      assert.ok(perms.some((p) => p.Principal === 'events.amazonaws.com' && p.SourceArn['Fn::GetAtt'][0] === ruleId));
    }
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
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: { 'Fn::GetAtt': [ref('AWS::DynamoDB::Table'), 'Arn'] } },
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

describe('forwarder', () => {
  const { t } = forwarder();

  it('forwards the same three patterns from the default bus to the central bus with a role, DLQ and retries', () => {
    const rules = ofType(t, 'AWS::Events::Rule');
    assert.deepEqual(
      rules.map(([, r]) => JSON.stringify(r.Properties.EventPattern)).sort(),
      [ROOT_ACTIVITY_PATTERN, SESSION_START_PATTERN, ROOT_ONLY_TASK_PATTERN].map((p) => JSON.stringify(cfnPattern(p))).sort(),
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

describe('cdk-nag AwsSolutions', () => {
  for (const [name, props] of [
    ['queue mode', {}],
    ['direct mode with tracing, org and e-mail', { invocationMode: 'direct', tracing: true, organizationId: 'o-abcdefghij', alertEmail: 'a@b.c' }],
    ['no session tracking', { sessionTracking: false }],
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
