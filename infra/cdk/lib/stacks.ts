import { Aspects, CfnCondition, CfnOutput, CfnParameter, CfnResource, DefaultStackSynthesizer, Duration, Fn, IAspect, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import { setRuleState, WATCH_PATTERNS } from './patterns';
import { RootActivityDetector, RootActivityDetectorProps } from './root-activity-detector';

export interface RootwatchStackProps extends StackProps {
  readonly detector?: RootActivityDetectorProps;
}

/**
 * A stack with one RootActivityDetector: the main stack (us-east-1, CloudTrail rules, optionally
 * the log-archive path too) or, with cloudTrailRules false, the log-archive path alone (the
 * bucket's account and region).
 */
export class RootwatchStack extends Stack {
  public readonly detector: RootActivityDetector;

  constructor(scope: Construct, id: string, props: RootwatchStackProps = {}) {
    const eventRules = props.detector?.cloudTrailRules ?? true;
    super(scope, id, {
      description: eventRules
        ? 'rootwatch main stack (us-east-1): root activity, session-start and detector-tamper alerts'
        : 'rootwatch log-archive stack: the same alerts from CloudTrail log files in S3',
      ...props,
    });
    const d = (this.detector = new RootActivityDetector(this, 'Detector', props.detector));
    new CfnOutput(this, 'AlertTopicArn', { value: d.topic.topicArn });
    new CfnOutput(this, 'AlertKeyArn', { value: d.key.keyArn });
    new CfnOutput(this, 'DetectorHealthTopicArn', {
      value: d.healthTopic.topicArn,
      description: "SNS topic of the detector's health (heartbeat and operational alarms; its own KMS key): subscribe the pager here",
    });
    if (d.role) new CfnOutput(this, 'FunctionRoleArn', { value: d.role.roleArn, description: 'Role of the event function' });
    if (d.logArchiveRole) {
      new CfnOutput(this, 'LogArchiveFunctionRoleArn', {
        value: d.logArchiveRole.roleArn,
        description: 'Role of the log-archive function; a log-archive bucket or key in another account must allow it',
      });
    }
    if (d.centralBus) {
      new CfnOutput(this, 'CentralBusArn', { value: d.centralBus.eventBusArn });
      new CfnOutput(this, 'CentralBusName', { value: d.centralBus.eventBusName });
    }
    if (d.function) new CfnOutput(this, 'FunctionName', { value: d.function.functionName });
    if (d.deadLetterQueue) new CfnOutput(this, 'DeadLetterQueueUrl', { value: d.deadLetterQueue.queueUrl });
    if (d.bufferQueue) new CfnOutput(this, 'BufferQueueUrl', { value: d.bufferQueue.queueUrl });
    if (d.table) new CfnOutput(this, 'SessionsTableName', { value: d.table.tableName });
    if (d.logArchiveFunction) {
      new CfnOutput(this, 'LogArchiveFunctionArn', {
        value: d.logArchiveFunction.functionArn,
        description: 'The FunctionArn of an S3 Batch Operations LambdaInvoke job',
      });
    }
    if (d.logArchiveDeadLetterQueue) new CfnOutput(this, 'LogArchiveDeadLetterQueueUrl', { value: d.logArchiveDeadLetterQueue.queueUrl });
    if (d.batchOperationsRole) new CfnOutput(this, 'BatchOperationsRoleArn', { value: d.batchOperationsRole.roleArn });
  }
}

/** Gives every resource of a scope a CloudFormation condition. */
class ConditionAll implements IAspect {
  constructor(
    private readonly condition: CfnCondition,
    private readonly except: CfnResource[],
  ) {}
  visit(node: IConstruct): void {
    if (node instanceof CfnResource && !this.except.includes(node)) node.cfnOptions.condition = this.condition;
  }
}

/** Rule target that forwards to another event bus with a role, a dead-letter queue and retries. */
class BusTarget implements events.IRuleTarget {
  constructor(
    private readonly arn: string,
    private readonly role: iam.IRole,
    private readonly deadLetterQueue: sqs.IQueue,
  ) {}
  bind(): events.RuleTargetConfig {
    return {
      arn: this.arn,
      role: this.role,
      deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
    };
  }
}

/**
 * The forwarder: the same rules on this region's default bus, sending to the central bus.
 * Environment-agnostic, parameterised and without the bootstrap-version rule, so its synthesised
 * template can be rolled out as a service-managed StackSet (README "Deploy").
 */
export class ForwarderStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'rootwatch forwarder: sends root activity, session starts and detector tampering to the central bus',
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
      ...props,
    });
    const centralAccount = new CfnParameter(this, 'CentralAccountId', {
      type: 'String',
      allowedPattern: '^[0-9]{12}$',
      description: 'Account that runs the rootwatch main stack.',
    });
    const centralRegion = new CfnParameter(this, 'CentralRegion', {
      type: 'String',
      default: 'us-east-1',
      allowedPattern: '^[a-z]{2}(-gov)?-[a-z]+-[0-9]$',
      description: 'Region of the main stack.',
    });
    const centralBusName = new CfnParameter(this, 'CentralBusName', {
      type: 'String',
      default: 'rootwatch',
      allowedPattern: '^[A-Za-z0-9._-]{1,256}$',
      description: 'Name of the central event bus.',
    });
    // The main stack's own rules cover its account and region; forwarding there would duplicate.
    const forward = new CfnCondition(this, 'Forward', {
      expression: Fn.conditionNot(
        Fn.conditionAnd(
          Fn.conditionEquals(centralAccount.valueAsString, this.account),
          Fn.conditionEquals(centralRegion.valueAsString, this.region),
        ),
      ),
    });
    // A stack must hold at least one resource; this one costs nothing and does nothing.
    const placeholder = new CfnResource(this, 'Placeholder', { type: 'AWS::CloudFormation::WaitConditionHandle' });

    const busArn = `arn:${this.partition}:events:${centralRegion.valueAsString}:${centralAccount.valueAsString}:event-bus/${centralBusName.valueAsString}`;
    const role = new iam.Role(this, 'ForwarderRole', {
      description: 'rootwatch forwarder - lets this region\'s rules put events on the central bus',
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      inlinePolicies: {
        'put-events-on-the-central-bus': new iam.PolicyDocument({
          statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] })],
        }),
      },
    });
    const dlq = new sqs.Queue(this, 'ForwarderDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    (dlq.node.defaultChild as sqs.CfnQueue).addMetadata('checkov', {
      skip: [
        {
          id: 'CKV_AWS_27',
          comment:
            'Encrypted with SQS-managed keys (SqsManagedSseEnabled). EventBridge cannot write to a queue under the AWS-managed alias/aws/sqs key, and a customer-managed key in every region of every account costs 1 USD a month each for a queue that is normally empty.',
        },
      ],
    });
    Validations.of(dlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the forwarding rules.',
    });
    // The forwarded patterns of infra/patterns.json, on this region's default bus.
    const rules = WATCH_PATTERNS.map((watch) => {
      const rule = new events.Rule(this, `${watch.id}Rule`, {
        description: `rootwatch - forward ${watch.description} to the central bus`,
        eventPattern: watch.pattern,
        targets: [new BusTarget(busArn, role, dlq)],
      });
      setRuleState(rule, watch.state);
      return rule;
    });
    dlq.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ForwardingRulesDeadLetter',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [dlq.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': rules.map((r) => r.ruleArn) } },
      }),
    );
    const out = new CfnOutput(this, 'ForwarderDeadLetterQueueUrl', { value: dlq.queueUrl });
    out.condition = forward;
    Aspects.of(this).add(new ConditionAll(forward, [placeholder]));
  }
}
