// RootActivityDetector: the whole rootwatch architecture as one construct, the same as
// infra/template.yaml (SAM). See README "Deploy".
import * as path from 'path';
import { Aws, CfnRule, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { BundlingOptions, RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { LOG_ARCHIVE, logArchivePattern, setRuleState, WATCH_PATTERNS } from './patterns';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface RootActivityDetectorProps {
  /** Cargo.toml of the rootwatch package. @default the repository root's, relative to this file */
  readonly manifestPath?: string;
  /** E-mail address subscribed to the alert topic. @default none */
  readonly alertEmail?: string;
  /** E-mail address subscribed to the detector health topic (heartbeat and operational alarms). @default none */
  readonly healthEmail?: string;
  /**
   * Schedule of the heartbeat sent through the event path (dead man's switch), an EventBridge
   * rate() or cron() expression firing at least once an hour (the Heartbeat alarm sums an hour).
   * '' turns the heartbeat and its alarm off. @default 'rate(30 minutes)'
   */
  readonly heartbeatSchedule?: string;
  /**
   * The scheduled root credentials audit (docs/audit.md): 'daily' audits root credentials once a
   * day and alerts on what changed since the last run, with read-only permissions granted only
   * then. @default 'off'
   */
  readonly auditSchedule?: 'off' | 'daily';
  /**
   * With auditSchedule 'daily': 'account' (this account's root user) or 'organization' (every
   * account: Organizations reads and sts:AssumeRoot limited to the IAMAuditRootUserCredentials
   * task policy). @default 'account'
   */
  readonly auditScope?: 'account' | 'organization';
  /** MIN_SEVERITY. @default 'medium' */
  readonly minSeverity?: Severity;
  /** ALERT_FORMAT. @default 'standard' */
  readonly alertFormat?: 'standard' | 'chatbot';
  /**
   * SECURITY_HUB: both functions also import every alerting finding into AWS Security Hub,
   * as this account's default product (Security Hub must be enabled in the region). @default false
   */
  readonly securityHub?: boolean;
  /** Create the DynamoDB sessions table (SESSIONS_TABLE). @default true */
  readonly sessionTracking?: boolean;
  /** WATCHED_ROLES: role-ARN patterns, `*` wildcard. @default none */
  readonly watchedRoles?: string[];
  /** TRUSTED_ACCOUNTS: 12-digit account ids. @default none */
  readonly trustedAccounts?: string[];
  /** Identifiers added to DETECTOR_RESOURCES (`*` wildcard), e.g. forwarder resource names. @default none */
  readonly extraDetectorResources?: string[];
  /**
   * s3://BUCKET/KEY of a suppression file (docs/suppressions.md), SUPPRESSIONS_S3_URI of both
   * functions, which get s3:GetObject on that one object. @default none
   */
  readonly suppressionsS3Uri?: string;
  /**
   * root-login-brute-force (docs/rules.md#pattern-rules): failed root console sign-ins on one
   * account within rootLoginWindowMinutes that raise an alert (ROOT_LOGIN_FAILURES), 1-1000. @default 5
   */
  readonly rootLoginFailures?: number;
  /** root-login-brute-force's window, in minutes (ROOT_LOGIN_WINDOW_MINUTES), 1-1440. @default 15 */
  readonly rootLoginWindowMinutes?: number;
  /**
   * root-login-spray: distinct accounts on which one source address fails root sign-in within
   * sprayWindowMinutes that raise an alert (SPRAY_ACCOUNTS), 1-1000. @default 3
   */
  readonly sprayAccounts?: number;
  /** root-login-spray's window, in minutes (SPRAY_WINDOW_MINUTES), 1-1440. @default 60 */
  readonly sprayWindowMinutes?: number;
  /**
   * assume-root-new-caller: days a (caller, member account) pair is remembered; an AssumeRoot by a
   * pair not seen for that long alerts again (NEW_CALLER_DAYS), 1-3650. @default 90
   */
  readonly newCallerDays?: number;
  /**
   * The event path: EventBridge rules for CloudTrail management events, the central bus, the
   * buffer queue and the event function. false deploys the log-archive path alone (needs
   * logArchiveBucket; any region). @default true
   */
  readonly cloudTrailRules?: boolean;
  /** Organization (o-...) whose accounts may put events on the central bus. @default none */
  readonly organizationId?: string;
  /** Name of the central event bus forwarders send to. @default 'rootwatch' */
  readonly centralBusName?: string;
  /**
   * The log-archive path: the S3 bucket the (organisation) trail writes its log files to. The
   * bucket is not changed; for logArchiveNotification 'eventbridge' or 'both' it must be in this
   * stack's account and region with "Send notifications to Amazon EventBridge" on. @default none
   */
  readonly logArchiveBucket?: string;
  /** Key prefix of the log files, up to and including AWSLogs/. @default 'AWSLogs/' */
  readonly logArchivePrefix?: string;
  /** ARN of the KMS key of SSE-KMS log files. @default none (SSE-S3) */
  readonly logArchiveKeyArn?: string;
  /**
   * How the log-archive queue learns of new log files: S3 Object Created events on this
   * account's default bus, the trail's SNS topic (cloudTrailTopicArn), or both. @default 'eventbridge'
   */
  readonly logArchiveNotification?: 'eventbridge' | 'sns' | 'both';
  /** The trail's SNS topic (any account or region); its policy must let this account subscribe. @default none */
  readonly cloudTrailTopicArn?: string;
  /** Reserved concurrency of the log-archive function, also its mapping's maximum concurrency. @default 10 */
  readonly logArchiveConcurrency?: number;
  /** Bucket for S3 Batch Operations manifests and reports (under rootwatch-batch/): creates the job role. @default none */
  readonly batchOperationsBucket?: string;
  /** 'queue': rules -> SQS buffer -> function; 'direct': rules invoke the function. @default 'queue' */
  readonly invocationMode?: 'queue' | 'direct';
  /** Reserved concurrency, also the event source mapping's maximum concurrency. @default 5 */
  readonly reservedConcurrency?: number;
  /** Log retention of the functions' log groups. @default one year */
  readonly logRetention?: logs.RetentionDays;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** Allow the CloudTrail rules in a region other than us-east-1 (root console sign-ins are then not seen). @default false */
  readonly allowAnyRegion?: boolean;
}

/** Function timeout; the queue's visibility timeout is six times this (AWS guidance for SQS sources). */
export const FUNCTION_TIMEOUT = Duration.seconds(30);
export const QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(6 * FUNCTION_TIMEOUT.toSeconds());
/** The log-archive function reads one log file per invocation: a longer timeout, and 6 x that on its queue. */
export const LOG_ARCHIVE_TIMEOUT = Duration.seconds(300);
export const LOG_ARCHIVE_VISIBILITY_TIMEOUT = Duration.seconds(6 * LOG_ARCHIVE_TIMEOUT.toSeconds());
/**
 * How cargo-lambda-cdk builds both functions: `cargo lambda build --profile dist` (bundling option
 * `profile`; with a profile other than release it passes --profile instead of --release). The
 * dist profile of Cargo.toml is the release profile with fat LTO, one codegen unit and stripped
 * symbols (release stays the fast-to-build profile). cargo lambda adds its own release settings
 * (thin LTO, panic=abort, target-cpu) only with --release, so the binary gets exactly dist's.
 * Checked by test/detector.test.ts ("function build").
 */
export const RUST_BUNDLING: BundlingOptions = { profile: 'dist' };
/** Key prefix (in batchOperationsBucket) of S3 Batch Operations manifests and reports. */
export const BATCH_OPERATIONS_PREFIX = 'rootwatch-batch/';
/** The heartbeat's default schedule; the Heartbeat alarm sums one hour. */
export const HEARTBEAT_SCHEDULE = 'rate(30 minutes)';
/** What the alert topic's subscriptions drop: heartbeats (message attribute rule = heartbeat). */
export const NO_HEARTBEATS = { rule: [{ 'anything-but': 'heartbeat' }] };

/**
 * The pattern rules' settings (docs/rules.md#pattern-rules), for both functions: prop (also the
 * CDK app's context key) -> the function's environment variable, default and maximum (the minimum
 * is 1), as src/aws/function/config.rs reads them. infra/template.yaml has a parameter for each
 * (RootLoginFailures, ...); infra/tests/test_pattern_settings.py checks that the two agree.
 */
export const PATTERN_SETTINGS = {
  rootLoginFailures: { variable: 'ROOT_LOGIN_FAILURES', default: 5, max: 1000 },
  rootLoginWindowMinutes: { variable: 'ROOT_LOGIN_WINDOW_MINUTES', default: 15, max: 1440 },
  sprayAccounts: { variable: 'SPRAY_ACCOUNTS', default: 3, max: 1000 },
  sprayWindowMinutes: { variable: 'SPRAY_WINDOW_MINUTES', default: 60, max: 1440 },
  newCallerDays: { variable: 'NEW_CALLER_DAYS', default: 90, max: 3650 },
} as const;
export type PatternSetting = keyof typeof PATTERN_SETTINGS;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KEY_PREFIX = /^[A-Za-z0-9!_.'()/-]*$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$/;
/** infra/template.yaml's HeartbeatSchedule AllowedPattern: at least once an hour, or a cron(). */
const HEARTBEAT_EXPRESSION = /^rate\((1 minute|([2-9]|[1-5][0-9]|60) minutes|1 hour)\)$|^cron\(.+\)$/;

/** Rule target without the grants CDK's targets add: the construct writes its own policies. */
class PlainTarget implements events.IRuleTarget {
  constructor(
    private readonly arn: string,
    private readonly deadLetterQueue: sqs.IQueue,
  ) {}
  bind(): events.RuleTargetConfig {
    return {
      arn: this.arn,
      deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
    };
  }
}

/** The scheduled audit's target: the function with the constant input `{"rootwatch":"audit"}`. */
class AuditTarget implements events.IRuleTarget {
  constructor(
    private readonly arn: string,
    private readonly deadLetterQueue: sqs.IQueue,
  ) {}
  bind(): events.RuleTargetConfig {
    return {
      arn: this.arn,
      input: events.RuleTargetInput.fromObject({ rootwatch: 'audit' }),
      deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
    };
  }
}

/** checkov skips (with their justification) for both functions; checkov reads them from Metadata. */
const FUNCTION_CHECKOV_SKIPS = {
  skip: [
    {
      id: 'CKV_AWS_117',
      comment: 'The functions call only AWS APIs (SNS, DynamoDB, SQS, S3); a VPC would add NAT or endpoints and cost without protecting anything.',
    },
    {
      id: 'CKV_AWS_116',
      comment:
        "SQS-fed invocations retry through the queue's redrive policy to its dead-letter queue; direct mode uses an on-failure destination (EventInvokeConfig), which AWS recommends over a function DLQ; S3 Batch Operations invokes synchronously and reports failed tasks itself.",
    },
    {
      id: 'CKV_AWS_173',
      comment:
        'The environment holds no secrets (topic ARN, table name, severity, role patterns, account ids, resource and bucket names, pattern-rule thresholds); Lambda encrypts it at rest with an AWS-managed key.',
    },
  ],
};

export class RootActivityDetector extends Construct {
  public readonly key: kms.Key;
  public readonly topic: sns.Topic;
  /** The detector health topic (heartbeat and operational alarms) and its own key. */
  public readonly healthTopic: sns.Topic;
  public readonly healthKey: kms.Key;
  /** The dead man's switch: the scheduled heartbeat rule and its alarm (event path, heartbeatSchedule). */
  public readonly heartbeatRule?: events.Rule;
  public readonly heartbeatAlarm?: cloudwatch.Alarm;
  /** The scheduled root credentials audit's daily rule (auditSchedule 'daily'). */
  public readonly auditRule?: events.Rule;
  public readonly table?: dynamodb.Table;
  /** Role of the event function (cloudTrailRules). */
  public readonly role?: iam.Role;
  /** Role of the log-archive function (logArchiveBucket). */
  public readonly logArchiveRole?: iam.Role;
  /** The event path (cloudTrailRules, the default). */
  public readonly function?: lambda.Function;
  public readonly deadLetterQueue?: sqs.Queue;
  public readonly bufferQueue?: sqs.Queue;
  public readonly centralBus?: events.EventBus;
  public readonly logGroup?: logs.LogGroup;
  /** The CloudTrail rules, on the default bus and on the central bus. */
  public readonly rules: events.Rule[] = [];
  /** The log-archive path (logArchiveBucket). */
  public readonly logArchiveFunction?: lambda.Function;
  public readonly logArchiveQueue?: sqs.Queue;
  public readonly logArchiveDeadLetterQueue?: sqs.Queue;
  public readonly logArchiveRule?: events.Rule;
  public readonly cloudTrailSubscription?: sns.CfnSubscription;
  public readonly batchOperationsRole?: iam.Role;
  /** DETECTOR_RESOURCES, the same for both functions. */
  public readonly detectorResources: string;

  constructor(scope: Construct, id: string, props: RootActivityDetectorProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const eventRules = props.cloudTrailRules ?? true;
    const mode = props.invocationMode ?? 'queue';
    const concurrency = props.reservedConcurrency ?? 5;
    const logArchive = validateLogArchive(props, eventRules);
    const heartbeatSchedule = props.heartbeatSchedule ?? HEARTBEAT_SCHEDULE;
    if (heartbeatSchedule && !HEARTBEAT_EXPRESSION.test(heartbeatSchedule)) {
      throw new Error(`heartbeatSchedule must be rate() of at most an hour, a cron() expression, or '' (off): ${heartbeatSchedule}`);
    }
    const auditSchedule = props.auditSchedule ?? 'off';
    const auditScope = props.auditScope ?? 'account';
    if (auditSchedule !== 'off' && auditSchedule !== 'daily') throw new Error(`auditSchedule must be 'off' or 'daily': ${auditSchedule}`);
    if (auditScope !== 'account' && auditScope !== 'organization') throw new Error(`auditScope must be 'account' or 'organization': ${auditScope}`);
    const audit = eventRules && auditSchedule === 'daily';
    if (concurrency < 2) throw new Error('reservedConcurrency must be at least 2 (SQS maximum concurrency)');
    const suppressions = props.suppressionsS3Uri;
    if (suppressions !== undefined && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[^*?\s]*[^/*?\s]$/.test(suppressions)) {
      throw new Error(`suppressionsS3Uri must be s3://BUCKET/KEY naming one object: ${suppressions}`);
    }
    const patternEnvironment = validatePatternSettings(props);

    // Root console sign-ins are recorded only in us-east-1: the CloudTrail rules belong there.
    // Without them (the log-archive path alone) any region will do: the bucket's.
    if (eventRules && !props.allowAnyRegion) {
      if (!Token.isUnresolved(stack.region) && stack.region !== 'us-east-1') {
        throw new Error(`rootwatch main stack must be in us-east-1 (root console sign-ins are recorded only there), not ${stack.region}`);
      }
      new CfnRule(this, 'MainStackInUsEast1', {
        assertions: [
          {
            assert: Fn.conditionEquals(Aws.REGION, 'us-east-1'),
            assertDescription: 'Deploy the rootwatch main stack in us-east-1: root console sign-ins are recorded only there.',
          },
        ],
      });
    }

    // ------------------------------------------------------------ key
    this.key = new kms.Key(this, 'AlertKey', {
      description: 'rootwatch - SNS alert topic, SQS queues, sessions table and logs',
      enableKeyRotation: true,
    });
    // One role per function, each with only what its function needs: the event function never
    // reads S3 or the log files' key, the log-archive function never reads the buffer queue.
    const lambdaRole = (roleId: string, description: string) =>
      new iam.Role(this, roleId, {
        description,
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      });
    if (eventRules) {
      this.role = lambdaRole('FunctionRole', 'rootwatch event function - publish to its topic, use its key, table, queue and log group');
    }
    if (logArchive) {
      this.logArchiveRole = lambdaRole(
        'LogArchiveFunctionRole',
        'rootwatch log-archive function - read the log files, publish to its topic, use its key, table, queue and log group',
      );
    }
    const functionRoles = [this.role, this.logArchiveRole].filter((r) => r !== undefined);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FunctionPublishesAndReads',
        principals: functionRoles,
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const services: [string, string][] = [['CloudWatchAlarmsPublishToEncryptedTopic', 'cloudwatch.amazonaws.com']];
    if (eventRules || logArchive?.eventBridge) services.push(['EventBridgeSendsToEncryptedQueues', 'events.amazonaws.com']);
    for (const [sid, service] of services) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }
    if (logArchive?.topicArn) {
      // SNS needs the key of an encrypted queue it delivers to; only for the trail's topic
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'TrailTopicDeliversToTheLogArchiveQueue',
          principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { ArnEquals: { 'aws:SourceArn': logArchive.topicArn } },
        }),
      );
    }
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptsTheLogGroup',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
          },
        },
      }),
    );

    // ------------------------------------------------------------ topic
    // CloudWatch alarms of this account (and only they) may publish to a topic.
    const alarmsMayPublish = (topic: sns.Topic) =>
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsOfThisAccount',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
          },
        }),
      );
    this.topic = new sns.Topic(this, 'AlertTopic', { displayName: 'rootwatch', masterKey: this.key, enforceSSL: true });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheFunctionPublishes',
        principals: functionRoles,
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    alarmsMayPublish(this.topic);
    if (props.alertEmail) {
      // Heartbeats (message attribute rule = heartbeat) are for the Heartbeat metric, not for
      // people. A filter policy on message attributes also drops messages that carry none, such
      // as CloudWatch alarm notifications; the alarms therefore notify the health topic too.
      const subscription = new sns.Subscription(this, 'AlertEmail', {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.alertEmail,
        filterPolicy: { rule: new sns.SubscriptionFilter(NO_HEARTBEATS.rule) },
      });
      (subscription.node.defaultChild as sns.CfnSubscription).filterPolicyScope = 'MessageAttributes';
    }

    // ------------------------------------------------------------ detector health (dead man's switch)
    // Tamper alerts travel through the alert topic and the alert key, so disabling that key (or
    // denying the function's role) would silence the alert about it. The health topic has a key of
    // its own, which the functions never use: the Heartbeat alarm and the operational alarms reach
    // it when the alert path is broken. CloudWatch cannot publish to a topic under the AWS-managed
    // alias/aws/sns key, hence a customer-managed key
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
    this.healthKey = new kms.Key(this, 'DetectorHealthKey', {
      description: 'rootwatch - detector health topic (heartbeat and operational alarms)',
      enableKeyRotation: true,
    });
    this.healthKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.healthTopic = new sns.Topic(this, 'DetectorHealthTopic', { displayName: 'rootwatch health', masterKey: this.healthKey, enforceSSL: true });
    alarmsMayPublish(this.healthTopic);
    if (props.healthEmail) {
      new sns.Subscription(this, 'HealthEmail', {
        topic: this.healthTopic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.healthEmail,
      });
    }

    // ------------------------------------------------------------ queues
    const encryptedQueue = (queueId: string, extra: Partial<sqs.QueueProps> = {}) =>
      new sqs.Queue(this, queueId, {
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        dataKeyReuse: Duration.hours(1),
        enforceSSL: true,
        ...extra,
      });
    if (eventRules) {
      this.deadLetterQueue = encryptedQueue('DeadLetterQueue');
      Validations.of(this.deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This is the dead-letter queue: of the buffer queue (redrive), of the rule targets, and the on-failure destination in direct mode.',
      });
      if (mode === 'queue') {
        this.bufferQueue = encryptedQueue('BufferQueue', {
          visibilityTimeout: QUEUE_VISIBILITY_TIMEOUT,
          deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
        });
      }
    }
    if (logArchive) {
      // One message per new log file. Visibility timeout 6 x the log-archive function's timeout
      // (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
      this.logArchiveDeadLetterQueue = encryptedQueue('LogArchiveDeadLetterQueue');
      Validations.of(this.logArchiveDeadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: 'This is the dead-letter queue of the log-archive queue (redrive) and of the log-archive rule target.',
      });
      this.logArchiveQueue = encryptedQueue('LogArchiveQueue', {
        visibilityTimeout: LOG_ARCHIVE_VISIBILITY_TIMEOUT,
        deadLetterQueue: { queue: this.logArchiveDeadLetterQueue, maxReceiveCount: 5 },
      });
    }

    // ------------------------------------------------------------ sessions table
    if (props.sessionTracking ?? true) {
      this.table = new dynamodb.Table(this, 'SessionsTable', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: 'expires_at',
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.DESTROY, // short-lived session records (TTL)
      });
    }

    // ------------------------------------------------------------ log groups and the role's policy
    const logGroup = (groupId: string) =>
      new logs.LogGroup(this, groupId, {
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: this.key,
        removalPolicy: RemovalPolicy.RETAIN, // audit trail of what was alerted
      });
    if (eventRules) this.logGroup = logGroup('FunctionLogGroup');
    const logArchiveLogGroup = logArchive ? logGroup('LogArchiveLogGroup') : undefined;

    // What both functions need: their log group, the topic, the key, the table, X-Ray.
    const common = (group: logs.LogGroup) => [
      new iam.PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [group.logGroupArn] }),
      // sns:Publish also authorises PublishBatch.
      new iam.PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
      new iam.PolicyStatement({
        sid: 'UseTheKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: [this.key.keyArn],
      }),
    ];
    // Both functions keep the pattern rules' window sets with UpdateItem (conditional updates,
    // REMOVE when pruning); the log-archive function also writes a log file's sessions with
    // BatchWriteItem, 25 a call.
    const tail = (batchWrites = false) => {
      const out: iam.PolicyStatement[] = [];
      if (this.table) {
        out.push(
          new iam.PolicyStatement({
            sid: 'SessionsTable',
            actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', ...(batchWrites ? ['dynamodb:BatchWriteItem'] : [])],
            resources: [this.table.tableArn],
          }),
        );
      }
      if (suppressions) {
        // That one object (docs/suppressions.md).
        out.push(
          new iam.PolicyStatement({
            sid: 'ReadTheSuppressionFile',
            actions: ['s3:GetObject'],
            resources: [`arn:${stack.partition}:s3:::${suppressions.slice('s3://'.length)}`],
          }),
        );
      }
      return out;
    };
    // SECURITY_HUB (both functions): import into this account's default product only;
    // sts:GetCallerIdentity (which names the account) needs no permission.
    const importFindings = () =>
      props.securityHub
        ? [
            new iam.PolicyStatement({
              sid: 'ImportFindings',
              actions: ['securityhub:BatchImportFindings'],
              resources: [`arn:${stack.partition}:securityhub:${stack.region}:${stack.account}:product/${stack.account}/default`],
            }),
          ]
        : [];
    const rolePolicy = (policyId: string, role: iam.Role, statements: iam.PolicyStatement[]) => {
      const rp = new iam.Policy(this, policyId, { statements, roles: [role] });
      Validations.of(rp).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'Publishing to an SSE-KMS topic needs GenerateDataKey and its variants; the statement is limited to the one key of this construct.',
      });
      if (props.tracing) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (tracing is opt-in).',
        });
      }
      return rp;
    };

    let policy: iam.Policy | undefined;
    if (this.role && this.logGroup) {
      const statements = common(this.logGroup);
      if (this.bufferQueue) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'ReadTheBufferQueue',
            actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
            resources: [this.bufferQueue.queueArn],
          }),
        );
      } else if (this.deadLetterQueue) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'OnFailureDestination',
            actions: ['sqs:SendMessage'],
            resources: [this.deadLetterQueue.queueArn],
          }),
        );
      }
      // The scheduled audit's reads (docs/audit.md#permissions), only with auditSchedule 'daily'.
      if (audit) {
        statements.push(
          new iam.PolicyStatement({
            sid: 'AuditRootCredentials',
            actions: ['iam:GetAccountSummary', 'iam:GenerateCredentialReport', 'iam:GetCredentialReport', 'iam:ListVirtualMFADevices'],
            resources: ['*'],
          }),
        );
        if (auditScope === 'organization') {
          statements.push(
            new iam.PolicyStatement({
              sid: 'AuditOrganization',
              actions: ['organizations:DescribeOrganization', 'organizations:ListAccounts', 'iam:ListOrganizationsFeatures'],
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'AuditMemberRootCredentials',
              actions: ['sts:AssumeRoot'],
              resources: ['*'],
              conditions: { StringEquals: { 'sts:TaskPolicyArn': 'arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials' } },
            }),
          );
        }
      }
      policy = rolePolicy('FunctionPolicy', this.role, [...statements, ...tail(), ...importFindings()]);
      if (audit) {
        Validations.of(policy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'The scheduled audit (auditSchedule daily, off by default) reads account- and organisation-level IAM, Organizations and AssumeRoot APIs that have no resource-level scope; sts:AssumeRoot is limited to the IAMAuditRootUserCredentials task policy.',
        });
      }
    }

    let logArchivePolicy: iam.Policy | undefined;
    if (logArchive && this.logArchiveRole && logArchiveLogGroup && this.logArchiveQueue) {
      const logFilesArn = `arn:${stack.partition}:s3:::${logArchive.bucket}/${logArchive.prefix}*`;
      const statements = common(logArchiveLogGroup);
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadTheLogArchiveQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: [this.logArchiveQueue.queueArn],
        }),
        // s3:GetObject only, only under the prefix; the function refuses other buckets itself.
        new iam.PolicyStatement({ sid: 'ReadTheLogFiles', actions: ['s3:GetObject'], resources: [logFilesArn] }),
      );
      if (logArchive.keyArn) {
        // Decrypt through S3 only, in the key's (= the bucket's) region
        // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
        statements.push(
          new iam.PolicyStatement({
            sid: 'DecryptTheLogFilesThroughS3',
            actions: ['kms:Decrypt'],
            resources: [logArchive.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `s3.${logArchive.keyArn.split(':')[3]}.amazonaws.com` } },
          }),
        );
      }
      logArchivePolicy = rolePolicy('LogArchiveFunctionPolicy', this.logArchiveRole, [...statements, ...tail(true), ...importFindings()]);
      Validations.of(logArchivePolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${logArchive.bucket}/${logArchive.prefix}*]`,
        reason:
          's3:GetObject on the log files of one bucket under one key prefix: CloudTrail names a new object every five minutes per account and region, so no fixed list of objects exists.',
      });
    }

    // ------------------------------------------------------------ S3 Batch Operations role
    if (logArchive?.batchBucket) {
      // A separate policy (added below, once the function exists) keeps the role free of a
      // reference to the function, which names the role in DETECTOR_RESOURCES.
      this.batchOperationsRole = new iam.Role(this, 'BatchOperationsRole', {
        description: 'rootwatch - S3 Batch Operations backfill jobs invoke the log-archive function',
        // Confused deputy: only jobs of this account and region. (AWS's Batch Operations pages
        // show the trust policy without conditions and do not list these keys; a job that cannot
        // assume the role fails at once, see docs/deploy.md.)
        assumedBy: new iam.ServicePrincipal('batchoperations.s3.amazonaws.com', {
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:s3:${stack.region}:${stack.account}:job/*` },
          },
        }),
      });
    }

    // ------------------------------------------------------------ central bus
    if (eventRules) {
      this.centralBus = new events.EventBus(this, 'CentralBus', { eventBusName: props.centralBusName ?? 'rootwatch' });
      if (props.organizationId) {
        new events.CfnEventBusPolicy(this, 'CentralBusOrganizationPolicy', {
          eventBusName: this.centralBus.eventBusName,
          statementId: 'rootwatch-organization-puts-events',
          statement: {
            Effect: 'Allow',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: this.centralBus.eventBusArn,
            Condition: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
          },
        });
      }
    }

    // ------------------------------------------------------------ the trail topic subscription
    if (logArchive?.topicArn && this.logArchiveQueue) {
      // CloudTrail notifies once per log file
      // (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/getting_notifications_top_level.html).
      // Created by the queue owner: no confirmation; the topic's policy must allow this account
      // sns:Subscribe (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html).
      // Region: the topic's (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-subscription.html#cfn-sns-subscription-region).
      // Raw delivery: the queue holds CloudTrail's notification itself.
      const allowTopic = this.logArchiveQueue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyTheTrailTopicSends',
          principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [this.logArchiveQueue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': logArchive.topicArn } },
        }),
      );
      this.cloudTrailSubscription = new sns.CfnSubscription(this, 'CloudTrailSubscription', {
        topicArn: logArchive.topicArn,
        protocol: 'sqs',
        endpoint: this.logArchiveQueue.queueArn,
        rawMessageDelivery: true,
        region: logArchive.topicArn.split(':')[3],
      });
      if (allowTopic.policyDependable) this.cloudTrailSubscription.node.addDependency(allowTopic.policyDependable);
    }

    // ------------------------------------------------------------ DETECTOR_RESOURCES
    // The detector's own resources, for the detector-tamper rule: the function compares each
    // entry (`*` wildcard) with the full identifier in a tamper event or its last segment (after
    // the last /, : or |). No entry may name the functions or the rules: the functions cannot
    // reference themselves, and in direct mode the rules reference the function (a cycle).
    // Those, and every other name CloudFormation generates, are STACK-LogicalId-RANDOM
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html):
    // hence `${AWS::StackName}-*`. The rest is named explicitly: the key id (a UUID), the central
    // bus (named by a prop), the topic's subscriptions (TOPIC-ARN:UUID), the trail topic
    // subscription, and the roles, queues and table (generated names that a long stack name may
    // shorten).
    const own = [
      `${Aws.STACK_NAME}-*`,
      this.key.keyId,
      this.topic.topicArn,
      `${this.topic.topicArn}:*`,
      this.healthKey.keyId,
      this.healthTopic.topicArn,
      `${this.healthTopic.topicArn}:*`,
    ];
    if (this.role) own.push(this.role.roleName);
    if (this.centralBus) own.push(this.centralBus.eventBusName);
    for (const q of [this.deadLetterQueue, this.bufferQueue]) if (q) own.push(q.queueName);
    if (this.table) own.push(this.table.tableName);
    if (this.logArchiveRole) own.push(this.logArchiveRole.roleName);
    for (const q of [this.logArchiveQueue, this.logArchiveDeadLetterQueue]) if (q) own.push(q.queueName);
    if (this.cloudTrailSubscription) own.push(this.cloudTrailSubscription.ref);
    if (this.batchOperationsRole) own.push(this.batchOperationsRole.roleName);
    own.push(...(props.extraDetectorResources ?? []));
    this.detectorResources = own.join(',');

    // ------------------------------------------------------------ functions
    const environment: Record<string, string> = {
      SNS_TOPIC_ARN: this.topic.topicArn,
      MIN_SEVERITY: props.minSeverity ?? 'medium',
      ALERT_FORMAT: props.alertFormat ?? 'standard',
    };
    if (this.table) environment.SESSIONS_TABLE = this.table.tableName;
    if (props.watchedRoles?.length) environment.WATCHED_ROLES = props.watchedRoles.join(',');
    if (props.trustedAccounts?.length) environment.TRUSTED_ACCOUNTS = props.trustedAccounts.join(',');
    if (suppressions) environment.SUPPRESSIONS_S3_URI = suppressions;
    Object.assign(environment, patternEnvironment);
    if (audit) environment.AUDIT = auditScope;
    environment.DETECTOR_RESOURCES = this.detectorResources;

    // Two functions, one binary: the event function (CloudTrail events, 30 s) and the
    // log-archive function (one log file per invocation, 300 s). Separate roles, timeouts,
    // concurrency, log groups and alarms.
    const rustFunction = (fnId: string, role: iam.Role, rolePolicy: iam.Policy, fnProps: lambda.FunctionOptions) => {
      const fn = new RustFunction(this, fnId, {
        manifestPath: props.manifestPath ?? path.join(__dirname, '..', '..', '..', 'Cargo.toml'),
        binaryName: 'rootwatch',
        architecture: lambda.Architecture.ARM_64,
        role,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
        bundling: RUST_BUNDLING,
        ...fnProps,
      });
      fn.node.addDependency(rolePolicy);
      (fn.node.defaultChild as lambda.CfnFunction).addMetadata('checkov', FUNCTION_CHECKOV_SKIPS);
      return fn;
    };

    if (eventRules && this.logGroup && this.deadLetterQueue && this.role && policy) {
      this.function = rustFunction('Function', this.role, policy, {
        description: 'rootwatch - alerts on root-user activity, role-session starts and detector tampering',
        // Generous defaults, not tuned on Lambda: per record ~0.03 ms, per alert publish ~3 ms on an emulator (docs/performance.md).
        memorySize: 256,
        timeout: FUNCTION_TIMEOUT,
        reservedConcurrentExecutions: concurrency,
        environment: { ...environment, SECURITY_HUB: props.securityHub ? 'true' : 'false' },
        logGroup: this.logGroup,
      });
      if (this.bufferQueue) {
        // Maximum concurrency equals the reserved concurrency: the mapping never throttles the function.
        const mapping = new lambda.EventSourceMapping(this, 'BufferQueueMapping', {
          target: this.function,
          eventSourceArn: this.bufferQueue.queueArn,
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(0),
          reportBatchItemFailures: true,
          maxConcurrency: concurrency,
        });
        mapping.node.addDependency(policy);
      } else {
        const dlq = this.deadLetterQueue;
        const invokeConfig = new lambda.EventInvokeConfig(this, 'FunctionInvokeConfig', {
          function: this.function,
          qualifier: '$LATEST',
          retryAttempts: 2,
          maxEventAge: Duration.hours(6),
          onFailure: { bind: () => ({ destination: dlq.queueArn }) },
        });
        invokeConfig.node.addDependency(policy);
      }
    }

    if (logArchive && logArchiveLogGroup && this.logArchiveQueue && this.logArchiveDeadLetterQueue && this.logArchiveRole && logArchivePolicy) {
      // One message per invocation, so the timeout bounds one log file and a failure retries one.
      // Generous defaults, not tuned on Lambda: 512 MB and 300 s to decompress and scan one large log file.
      this.logArchiveFunction = rustFunction('LogArchiveFunction', this.logArchiveRole, logArchivePolicy, {
        description: 'rootwatch - the same detection on CloudTrail log files in the log-archive bucket',
        memorySize: 512,
        timeout: LOG_ARCHIVE_TIMEOUT,
        reservedConcurrentExecutions: logArchive.concurrency,
        environment: { ...environment, SECURITY_HUB: props.securityHub ? 'true' : 'false', LOG_BUCKETS: logArchive.bucket },
        logGroup: logArchiveLogGroup,
      });
      const mapping = new lambda.EventSourceMapping(this, 'LogArchiveMapping', {
        target: this.logArchiveFunction,
        eventSourceArn: this.logArchiveQueue.queueArn,
        batchSize: 1,
        maxBatchingWindow: Duration.seconds(0),
        reportBatchItemFailures: true,
        maxConcurrency: logArchive.concurrency,
      });
      mapping.node.addDependency(logArchivePolicy);

      if (logArchive.eventBridge) {
        // S3 "Object Created" events of log files: on the default bus of the bucket's account
        // and region, once the bucket sends notifications to EventBridge
        // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html).
        this.logArchiveRule = new events.Rule(this, 'LogArchiveRule', {
          description: `rootwatch - ${LOG_ARCHIVE.description}`,
          eventPattern: logArchivePattern(logArchive.bucket, logArchive.prefix),
          targets: [new PlainTarget(this.logArchiveQueue.queueArn, this.logArchiveDeadLetterQueue)],
        });
        setRuleState(this.logArchiveRule, LOG_ARCHIVE.state);
        for (const [queue, sid] of [
          [this.logArchiveQueue, 'OnlyTheLogArchiveRuleSends'],
          [this.logArchiveDeadLetterQueue, 'LogArchiveRuleDeadLetters'],
        ] as const) {
          queue.addToResourcePolicy(
            new iam.PolicyStatement({
              sid,
              principals: [new iam.ServicePrincipal('events.amazonaws.com')],
              actions: ['sqs:SendMessage'],
              resources: [queue.queueArn],
              conditions: { ArnEquals: { 'aws:SourceArn': this.logArchiveRule.ruleArn } },
            }),
          );
        }
      }

      if (this.batchOperationsRole && logArchive.batchBucket) {
        // https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html
        const batchPolicy = new iam.Policy(this, 'BatchOperationsPolicy', {
          roles: [this.batchOperationsRole],
          statements: [
            new iam.PolicyStatement({
              sid: 'InvokeTheLogArchiveFunction',
              actions: ['lambda:InvokeFunction'],
              resources: [this.logArchiveFunction.functionArn],
            }),
            new iam.PolicyStatement({
              sid: 'ReadManifestsWriteReports',
              actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
              resources: [`arn:${stack.partition}:s3:::${logArchive.batchBucket}/${BATCH_OPERATIONS_PREFIX}*`],
            }),
            new iam.PolicyStatement({
              sid: 'ManifestAndReportBucket',
              actions: ['s3:GetBucketLocation'],
              resources: [`arn:${stack.partition}:s3:::${logArchive.batchBucket}`],
            }),
          ],
        });
        Validations.of(batchPolicy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${logArchive.batchBucket}/${BATCH_OPERATIONS_PREFIX}*]`,
          reason: 'Each backfill job has its own manifest and report objects; the role is limited to one prefix of one bucket.',
        });
      }
    }

    // ------------------------------------------------------------ CloudTrail rules
    if (this.centralBus && this.deadLetterQueue && this.function) {
      const dlq = this.deadLetterQueue;
      const targetArn = this.bufferQueue ? this.bufferQueue.queueArn : this.function.functionArn;
      // The forwarded patterns of infra/patterns.json, each on the buses its entry names: the
      // default bus (this account, us-east-1) and the central bus (forwarded events).
      for (const [where, bus] of [
        ['Local', undefined],
        ['Central', this.centralBus],
      ] as const) {
        for (const watch of WATCH_PATTERNS.filter((w) => w.buses.includes(bus ? 'central' : 'default'))) {
          const rule = new events.Rule(this, `${where}${watch.id}Rule`, {
            description: `rootwatch - ${watch.description} (${bus ? 'forwarded to the central bus' : 'this account, us-east-1'})`,
            eventBus: bus,
            eventPattern: watch.pattern,
            targets: [new PlainTarget(targetArn, dlq)],
          });
          setRuleState(rule, watch.state);
          this.rules.push(rule);
          if (!this.bufferQueue) {
            new lambda.CfnPermission(this, `${where}${watch.id}Permission`, {
              functionName: this.function.functionArn,
              action: 'lambda:InvokeFunction',
              principal: 'events.amazonaws.com',
              sourceArn: rule.ruleArn,
            });
          }
        }
      }
      // Dead man's switch: a scheduled rule with default input (EventBridge's Scheduled Event:
      // source aws.events, detail-type "Scheduled Event", the rule's ARN in resources) along the
      // same path. The function publishes it as a heartbeat and then emits the Heartbeat metric.
      if (heartbeatSchedule) {
        this.heartbeatRule = new events.Rule(this, 'HeartbeatRule', {
          description: "rootwatch - heartbeat through the event path (dead man's switch)",
          schedule: events.Schedule.expression(heartbeatSchedule),
          targets: [new PlainTarget(targetArn, dlq)],
        });
        if (!this.bufferQueue) {
          new lambda.CfnPermission(this, 'HeartbeatPermission', {
            functionName: this.function.functionArn,
            action: 'lambda:InvokeFunction',
            principal: 'events.amazonaws.com',
            sourceArn: this.heartbeatRule.ruleArn,
          });
        }
      }
      // The scheduled audit: the function, directly, with the constant input it recognises.
      if (audit) {
        this.auditRule = new events.Rule(this, 'AuditRule', {
          description: 'rootwatch - daily root credentials audit (alerts on changes)',
          schedule: events.Schedule.rate(Duration.days(1)),
          targets: [new AuditTarget(this.function.functionArn, dlq)],
        });
        new lambda.CfnPermission(this, 'AuditPermission', {
          functionName: this.function.functionArn,
          action: 'lambda:InvokeFunction',
          principal: 'events.amazonaws.com',
          sourceArn: this.auditRule.ruleArn,
        });
      }
      const ruleArns = [...this.rules, ...(this.heartbeatRule ? [this.heartbeatRule] : [])].map((r) => r.ruleArn);
      for (const queue of this.bufferQueue ? [this.bufferQueue, dlq] : [dlq]) {
        queue.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: 'OnlyTheRulesOfThisConstructSend',
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sqs:SendMessage'],
            resources: [queue.queueArn],
            // The audit rule dead-letters to the DLQ only: it targets the function directly.
            conditions: { ArnEquals: { 'aws:SourceArn': queue === dlq && this.auditRule ? [...ruleArns, this.auditRule.ruleArn] : ruleArns } },
          }),
        );
      }
    }

    // ------------------------------------------------------------ alarms
    // To the alert topic (as before) and to the health topic: a subscription with a filter policy
    // on message attributes (alertEmail's) never gets alarm notifications, which carry none, and
    // the health topic does not depend on the alert key.
    const action = new cwActions.SnsAction(this.topic);
    const healthAction = new cwActions.SnsAction(this.healthTopic);
    const alarm = (alarmId: string, description: string, metric: cloudwatch.Metric, threshold: number, op: cloudwatch.ComparisonOperator) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: op,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action, healthAction);
    if (this.heartbeatRule) {
      // The dead man's switch: fewer than one heartbeat in an hour, or no data at all (the function
      // emits the metric only after a successful publish), is an alarm. Heartbeat is an EMF metric
      // without dimensions (namespace rootwatch).
      this.heartbeatAlarm = new cloudwatch.Alarm(this, 'HeartbeatAlarm', {
        alarmDescription:
          'rootwatch heartbeat missing - the event path (rule, queue, function, alert topic or its KMS key) did not deliver a heartbeat within an hour; alerts may be silenced',
        metric: new cloudwatch.Metric({ namespace: 'rootwatch', metricName: 'Heartbeat', statistic: 'Sum', period: Duration.hours(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      this.heartbeatAlarm.addAlarmAction(healthAction);
      this.heartbeatAlarm.addOkAction(healthAction);
    }
    const fiveMinutes = Duration.minutes(5);
    const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    if (this.function && this.deadLetterQueue) {
      alarm(
        'FunctionErrorsAlarm',
        'rootwatch function errors (alerts may be delayed; see the dead-letter queue)',
        this.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        0,
        above,
      );
      alarm(
        'FunctionThrottlesAlarm',
        'rootwatch function throttled (raise reservedConcurrency)',
        this.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        0,
        above,
      );
      alarm(
        'DeadLetterQueueNotEmptyAlarm',
        'rootwatch dead-letter queue holds events that produced no alert - inspect and redrive',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        0,
        above,
      );
    }
    if (this.bufferQueue) {
      alarm(
        'OldestMessageAgeAlarm',
        'rootwatch buffer queue is not drained (oldest message older than 15 minutes)',
        this.bufferQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
        900,
        atLeast,
      );
    }
    if (this.logArchiveFunction && this.logArchiveQueue && this.logArchiveDeadLetterQueue) {
      alarm(
        'LogArchiveFunctionErrorsAlarm',
        'rootwatch log-archive function errors (log files are retried; see the log-archive dead-letter queue)',
        this.logArchiveFunction.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        0,
        above,
      );
      alarm(
        'LogArchiveFunctionThrottlesAlarm',
        'rootwatch log-archive function throttled (raise logArchiveConcurrency, or slow the Batch Operations job)',
        this.logArchiveFunction.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        0,
        above,
      );
      alarm(
        'LogArchiveDeadLetterQueueNotEmptyAlarm',
        'rootwatch log-archive dead-letter queue holds log files that were not read - inspect and redrive',
        this.logArchiveDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        0,
        above,
      );
      // A failed log file comes back after the 30-minute visibility timeout: an hour, not 15 minutes.
      alarm(
        'LogArchiveOldestMessageAgeAlarm',
        'rootwatch log-archive queue is not drained (oldest message older than an hour)',
        this.logArchiveQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
        3600,
        atLeast,
      );
    }
  }
}

/**
 * The pattern rules' environment variables, each prop or its default, checked as
 * infra/template.yaml's AllowedPatterns check them: a whole number from 1 to its maximum.
 */
function validatePatternSettings(props: RootActivityDetectorProps): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [prop, setting] of Object.entries(PATTERN_SETTINGS) as [PatternSetting, (typeof PATTERN_SETTINGS)[PatternSetting]][]) {
    const value = props[prop] ?? setting.default;
    if (!Number.isInteger(value) || value < 1 || value > setting.max) {
      throw new Error(`${prop} must be a whole number from 1 to ${setting.max}: ${value}`);
    }
    environment[setting.variable] = String(value);
  }
  return environment;
}

interface LogArchiveSettings {
  bucket: string;
  prefix: string;
  keyArn?: string;
  topicArn?: string;
  eventBridge: boolean;
  concurrency: number;
  batchBucket?: string;
}

/** The log-archive props, checked as infra/template.yaml's Rules and AllowedPatterns check them. */
function validateLogArchive(props: RootActivityDetectorProps, eventRules: boolean): LogArchiveSettings | undefined {
  const bucket = props.logArchiveBucket || undefined;
  if (!bucket) {
    if (!eventRules) throw new Error('cloudTrailRules false needs logArchiveBucket (the detector would watch nothing)');
    if (props.logArchiveKeyArn || props.cloudTrailTopicArn || props.batchOperationsBucket || props.logArchiveNotification) {
      throw new Error('logArchiveKeyArn, logArchiveNotification, cloudTrailTopicArn and batchOperationsBucket need logArchiveBucket');
    }
    return undefined;
  }
  const prefix = props.logArchivePrefix ?? 'AWSLogs/';
  const notification = props.logArchiveNotification ?? 'eventbridge';
  const concurrency = props.logArchiveConcurrency ?? 10;
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new Error(message);
  };
  check(BUCKET_NAME.test(bucket), `logArchiveBucket is not a bucket name: ${bucket}`);
  check(KEY_PREFIX.test(prefix), `logArchivePrefix may hold only letters, digits and !_.'()/- (no * or ?): ${prefix}`);
  check(!props.logArchiveKeyArn || KMS_KEY_ARN.test(props.logArchiveKeyArn), `logArchiveKeyArn is not a KMS key ARN: ${props.logArchiveKeyArn}`);
  check(!props.cloudTrailTopicArn || SNS_TOPIC_ARN.test(props.cloudTrailTopicArn), `cloudTrailTopicArn is not an SNS topic ARN: ${props.cloudTrailTopicArn}`);
  check(notification === 'eventbridge' || !!props.cloudTrailTopicArn, `logArchiveNotification ${notification} needs cloudTrailTopicArn`);
  check(notification !== 'eventbridge' || !props.cloudTrailTopicArn, "cloudTrailTopicArn is used only with logArchiveNotification 'sns' or 'both'");
  check(!props.batchOperationsBucket || BUCKET_NAME.test(props.batchOperationsBucket), `batchOperationsBucket is not a bucket name: ${props.batchOperationsBucket}`);
  check(Number.isInteger(concurrency) && concurrency >= 2 && concurrency <= 100, 'logArchiveConcurrency must be 2-100');
  return {
    bucket,
    prefix,
    keyArn: props.logArchiveKeyArn || undefined,
    topicArn: notification === 'eventbridge' ? undefined : props.cloudTrailTopicArn,
    eventBridge: notification !== 'sns',
    concurrency,
    batchBucket: props.batchOperationsBucket || undefined,
  };
}
