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
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { receiveReadOnlyManagementEvents, WATCH_PATTERNS } from './patterns';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface RootActivityDetectorProps {
  /** Cargo.toml of the rootwatch package. @default the repository root's, relative to this file */
  readonly manifestPath?: string;
  /** E-mail address subscribed to the alert topic. @default none */
  readonly alertEmail?: string;
  /** MIN_SEVERITY. @default 'medium' */
  readonly minSeverity?: Severity;
  /** ALERT_FORMAT. @default 'standard' */
  readonly alertFormat?: 'standard' | 'chatbot';
  /** Create the DynamoDB sessions table (SESSIONS_TABLE). @default true */
  readonly sessionTracking?: boolean;
  /** WATCHED_ROLES: role-ARN patterns, `*` wildcard. @default none */
  readonly watchedRoles?: string[];
  /** TRUSTED_ACCOUNTS: 12-digit account ids. @default none */
  readonly trustedAccounts?: string[];
  /** Organization (o-...) whose accounts may put events on the central bus. @default none */
  readonly organizationId?: string;
  /** Name of the central event bus forwarders send to. @default 'rootwatch' */
  readonly centralBusName?: string;
  /** 'queue': rules -> SQS buffer -> function; 'direct': rules invoke the function. @default 'queue' */
  readonly invocationMode?: 'queue' | 'direct';
  /** Reserved concurrency, also the event source mapping's maximum concurrency. @default 5 */
  readonly reservedConcurrency?: number;
  /** Log retention of the function's log group. @default one year */
  readonly logRetention?: logs.RetentionDays;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** Allow a region other than us-east-1 (root console sign-ins are then not seen). @default false */
  readonly allowAnyRegion?: boolean;
}

/** Function timeout; the queue's visibility timeout is six times this (AWS guidance for SQS sources). */
export const FUNCTION_TIMEOUT = Duration.seconds(30);
export const QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(6 * FUNCTION_TIMEOUT.toSeconds());

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

export class RootActivityDetector extends Construct {
  public readonly key: kms.Key;
  public readonly topic: sns.Topic;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly bufferQueue?: sqs.Queue;
  public readonly table?: dynamodb.Table;
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly centralBus: events.EventBus;
  public readonly rules: events.Rule[] = [];
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RootActivityDetectorProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const mode = props.invocationMode ?? 'queue';
    const concurrency = props.reservedConcurrency ?? 5;
    if (concurrency < 2) throw new Error('reservedConcurrency must be at least 2 (SQS maximum concurrency)');

    // Root console sign-ins are recorded only in us-east-1.
    if (!props.allowAnyRegion) {
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
    this.role = new iam.Role(this, 'FunctionRole', {
      description: 'rootwatch function - publishes to its topic, uses its key, table and queue',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FunctionPublishesAndReads',
        principals: [this.role],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    for (const [sid, service] of [
      ['CloudWatchAlarmsPublishToEncryptedTopic', 'cloudwatch.amazonaws.com'],
      ['EventBridgeSendsToEncryptedQueues', 'events.amazonaws.com'],
    ]) {
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
    this.topic = new sns.Topic(this, 'AlertTopic', { displayName: 'rootwatch', masterKey: this.key, enforceSSL: true });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheFunctionPublishes',
        principals: [this.role],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
    if (props.alertEmail) {
      new sns.Subscription(this, 'AlertEmail', {
        topic: this.topic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.alertEmail,
      });
    }

    // ------------------------------------------------------------ queues
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This is the dead-letter queue: of the buffer queue (redrive), of the rule targets, and the on-failure destination in direct mode.',
    });
    if (mode === 'queue') {
      this.bufferQueue = new sqs.Queue(this, 'BufferQueue', {
        visibilityTimeout: QUEUE_VISIBILITY_TIMEOUT,
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: this.key,
        dataKeyReuse: Duration.hours(1),
        enforceSSL: true,
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
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

    // ------------------------------------------------------------ function
    this.logGroup = new logs.LogGroup(this, 'FunctionLogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN, // audit trail of what was alerted
    });

    const statements = [
      new iam.PolicyStatement({
        sid: 'OwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
      // sns:Publish also authorises PublishBatch.
      new iam.PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
      new iam.PolicyStatement({
        sid: 'UseTheKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: [this.key.keyArn],
      }),
    ];
    if (this.bufferQueue) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadTheBufferQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: [this.bufferQueue.queueArn],
        }),
      );
    } else {
      statements.push(
        new iam.PolicyStatement({
          sid: 'OnFailureDestination',
          actions: ['sqs:SendMessage'],
          resources: [this.deadLetterQueue.queueArn],
        }),
      );
    }
    if (this.table) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'SessionsTable',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [this.table.tableArn],
        }),
      );
    }
    const policy = new iam.Policy(this, 'FunctionPolicy', { statements, roles: [this.role] });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to an SSE-KMS topic needs GenerateDataKey and its variants; the statement is limited to the one key of this construct.',
    });

    const environment: Record<string, string> = {
      SNS_TOPIC_ARN: this.topic.topicArn,
      MIN_SEVERITY: props.minSeverity ?? 'medium',
      ALERT_FORMAT: props.alertFormat ?? 'standard',
    };
    if (this.table) environment.SESSIONS_TABLE = this.table.tableName;
    if (props.watchedRoles?.length) environment.WATCHED_ROLES = props.watchedRoles.join(',');
    if (props.trustedAccounts?.length) environment.TRUSTED_ACCOUNTS = props.trustedAccounts.join(',');

    this.function = new RustFunction(this, 'Function', {
      description: 'rootwatch - alerts on root-user activity and role-session starts',
      manifestPath: props.manifestPath ?? path.join(__dirname, '..', '..', '..', 'Cargo.toml'),
      binaryName: 'rootwatch',
      architecture: lambda.Architecture.ARM_64,
      // No performance figures yet. The work per record is small (parse one CloudTrail record,
      // run the rules, at most one SNS publish and two DynamoDB calls); 256 MB gives the arm64
      // binary room and more CPU for TLS handshakes at a cold start than 128 MB. 30 s covers a
      // batch of 10 messages with the SDK's retries against a slow endpoint.
      memorySize: 256,
      timeout: FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: concurrency,
      role: this.role,
      environment,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : undefined,
    });
    this.function.node.addDependency(policy);
    // checkov reads skips, each with its justification, from the resource's Metadata.
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata('checkov', {
      skip: [
        {
          id: 'CKV_AWS_117',
          comment: 'The function calls only AWS APIs (SNS, DynamoDB, SQS); a VPC would add NAT or endpoints and cost without protecting anything.',
        },
        {
          id: 'CKV_AWS_116',
          comment:
            'Queue mode retries through the SQS redrive policy to the dead-letter queue; direct mode uses an on-failure destination (EventInvokeConfig) to the same queue, which AWS recommends over a function DLQ.',
        },
        {
          id: 'CKV_AWS_173',
          comment:
            'The environment holds no secrets (topic ARN, table name, severity, role patterns, account ids); Lambda encrypts it at rest with an AWS-managed key.',
        },
      ],
    });
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (tracing is opt-in).',
      });
    }

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
      const invokeConfig = new lambda.EventInvokeConfig(this, 'FunctionInvokeConfig', {
        function: this.function,
        qualifier: '$LATEST',
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        onFailure: { bind: () => ({ destination: this.deadLetterQueue.queueArn }) },
      });
      invokeConfig.node.addDependency(policy);
    }

    // ------------------------------------------------------------ buses and rules
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
    const targetArn = this.bufferQueue ? this.bufferQueue.queueArn : this.function.functionArn;
    for (const [where, bus] of [
      ['Local', undefined],
      ['Central', this.centralBus],
    ] as const) {
      for (const watch of WATCH_PATTERNS) {
        const rule = new events.Rule(this, `${where}${watch.id}Rule`, {
          description: `rootwatch - ${watch.description} (${bus ? 'forwarded to the central bus' : 'this account, us-east-1'})`,
          eventBus: bus,
          eventPattern: watch.pattern,
          targets: [new PlainTarget(targetArn, this.deadLetterQueue)],
        });
        receiveReadOnlyManagementEvents(rule);
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
    const ruleArns = this.rules.map((r) => r.ruleArn);
    const queues = this.bufferQueue ? [this.bufferQueue, this.deadLetterQueue] : [this.deadLetterQueue];
    for (const queue of queues) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyTheRulesOfThisConstructSend',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': ruleArns } },
        }),
      );
    }

    // ------------------------------------------------------------ alarms
    const action = new cwActions.SnsAction(this.topic);
    const alarm = (alarmId: string, description: string, metric: cloudwatch.Metric, threshold: number, op: cloudwatch.ComparisonOperator) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: op,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(action);
    const fiveMinutes = Duration.minutes(5);
    alarm(
      'FunctionErrorsAlarm',
      'rootwatch function errors (alerts may be delayed; see the dead-letter queue)',
      this.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      0,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    alarm(
      'FunctionThrottlesAlarm',
      'rootwatch function throttled (raise reservedConcurrency)',
      this.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      0,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    alarm(
      'DeadLetterQueueNotEmptyAlarm',
      'rootwatch dead-letter queue holds events that produced no alert - inspect and redrive',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
      0,
      cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    );
    if (this.bufferQueue) {
      alarm(
        'OldestMessageAgeAlarm',
        'rootwatch buffer queue is not drained (oldest message older than 15 minutes)',
        this.bufferQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
        900,
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      );
    }
  }
}
