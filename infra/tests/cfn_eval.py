"""CloudFormation templates evaluated offline, for the tests: parameters, conditions, the
intrinsic functions the templates use, and the physical names of a simulated deployment.

A "deployment" fixes a stack name, account, region and parameter values. Every name CloudFormation
would generate is STACK-LogicalId-SUFFIX (a 12-character suffix), as the CloudFormation Name type
documents (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html);
it does not model the shortening of names that would exceed a resource's length limit (a long
stack name): README "Deploy" says what that means for DETECTOR_RESOURCES.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as {"Fn::X": value}."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict:
    text = path.read_text()
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


NO_VALUE = object()  # AWS::NoValue: removes the list element or property it stands in

# Resource type -> the property that names it (absent: CloudFormation generates the name).
NAME_PROPERTY = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Logs::LogGroup": "LogGroupName",
}


class Deployment:
    def __init__(
        self,
        template: dict,
        params: dict[str, str] | None = None,
        *,
        stack: str = "rootwatch",
        account: str = "123456789012",
        region: str = "us-east-1",
    ):
        self.template = template
        self.stack, self.account, self.region = stack, account, region
        self.params: dict[str, str] = {}
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.params[name] = str(spec["Default"])
        unknown = set(params or {}) - set(template.get("Parameters", {}))
        assert not unknown, f"no such parameters: {unknown}"
        self.params.update({k: str(v) for k, v in (params or {}).items()})
        self._conditions: dict[str, bool] = {}
        self.resources = {lid: r for lid, r in template.get("Resources", {}).items() if self.included(r)}

    # ------------------------------------------------------------------ conditions
    def included(self, resource: dict) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._eval_condition(self.template["Conditions"][name])
        return self._conditions[name]

    def _eval_condition(self, expr) -> bool:
        (fn, arg), = expr.items()
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            a, b = (self.resolve(x) for x in arg)
            return str(a) == str(b)
        if fn == "Fn::Not":
            return not self._eval_condition(arg[0])
        if fn == "Fn::And":
            return all(self._eval_condition(x) for x in arg)
        if fn == "Fn::Or":
            return any(self._eval_condition(x) for x in arg)
        raise AssertionError(f"unsupported condition function {fn}")

    # ------------------------------------------------------------------ intrinsic functions
    def resolve(self, value):
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                lid, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(lid, attr)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.condition(cond) else no)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                values = {k: self.resolve(v) for k, v in extra.items()}
                return re.sub(r"\$\{([^}!][^}]*)\}", lambda m: str(self._sub_var(m.group(1), values)), text)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key == "Condition":
                return self.condition(arg)
        out = {}
        for k, v in value.items():
            r = self.resolve(v)
            if r is not NO_VALUE:
                out[k] = r
        return out

    def _sub_var(self, name: str, values: dict):
        if name in values:
            return values[name]
        if "." in name and not name.startswith("AWS::"):
            lid, attr = name.split(".", 1)
            return self.get_att(lid, attr)
        return self.ref(name)

    def ref(self, name: str):
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        assert name in self.resources, f"Ref to {name}, which this deployment does not create"
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.name(name)}"
        if kind in ("AWS::SNS::Topic", "AWS::SNS::Subscription"):
            return self.arn(name)
        if kind == "AWS::KMS::Key":
            return self.key_id(name)
        return self.name(name)

    def get_att(self, lid: str, attr: str):
        assert lid in self.resources, f"GetAtt of {lid}, which this deployment does not create"
        if attr == "Arn":
            return self.arn(lid)
        if attr in ("QueueName", "TopicName", "Name"):
            return self.name(lid)
        return f"{lid}.{attr}"

    # ------------------------------------------------------------------ physical names
    def suffix(self, lid: str) -> str:
        return hashlib.sha256(f"{self.stack}/{lid}".encode()).hexdigest()[:12].upper()

    def key_id(self, lid: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack}/{lid}"))

    def name(self, lid: str) -> str:
        res = self.resources[lid]
        prop = NAME_PROPERTY.get(res["Type"])
        given = res.get("Properties", {}).get(prop) if prop else None
        if given is not None:
            return str(self.resolve(given))
        return f"{self.stack}-{lid}-{self.suffix(lid)}"

    def arn(self, lid: str) -> str:
        res = self.resources[lid]
        kind, props = res["Type"], res.get("Properties", {})
        r, a = self.region, self.account
        if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            return f"arn:aws:lambda:{r}:{a}:function:{self.name(lid)}"
        if kind == "AWS::Events::Rule":
            bus = self.resolve(props.get("EventBusName", "default"))
            path = self.name(lid) if bus == "default" else f"{bus}/{self.name(lid)}"
            return f"arn:aws:events:{r}:{a}:rule/{path}"
        if kind == "AWS::Events::EventBus":
            return f"arn:aws:events:{r}:{a}:event-bus/{self.name(lid)}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{r}:{a}:{self.name(lid)}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{r}:{a}:{self.name(lid)}"
        if kind == "AWS::SNS::Subscription":
            topic = self.resolve(props["TopicArn"])
            return f"{topic}:{uuid.uuid5(uuid.NAMESPACE_URL, f'{self.stack}/{lid}')}"
        if kind == "AWS::KMS::Key":
            return f"arn:aws:kms:{r}:{a}:key/{self.key_id(lid)}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{r}:{a}:table/{self.name(lid)}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{a}:role/{self.name(lid)}"
        if kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{r}:{a}:log-group:{self.name(lid)}:*"
        return f"arn:aws:cloudformation:{r}:{a}:{lid}"

    def identifiers(self, lid: str) -> list[str]:
        """The identifiers a CloudTrail record of a call on this resource may carry."""
        kind = self.resources[lid]["Type"]
        if kind == "AWS::SQS::Queue":
            return [self.ref(lid), self.arn(lid), self.name(lid)]
        if kind in ("AWS::SNS::Topic", "AWS::SNS::Subscription"):
            return [self.arn(lid)]
        if kind == "AWS::KMS::Key":
            return [self.key_id(lid), self.arn(lid)]
        return [self.name(lid), self.arn(lid)]

    # ------------------------------------------------------------------ rules
    def rules(self) -> list[dict]:
        """Every created event-pattern rule: logical id, resolved pattern, bus (None = default) and
        state. Scheduled rules (the heartbeat: ScheduleExpression, no pattern) are schedules()."""
        out = []
        for lid, res in self.resources.items():
            if res["Type"] != "AWS::Events::Rule" or is_scheduled(res):
                continue
            props = res.get("Properties", {})
            pattern = props.get("EventPattern")
            if isinstance(pattern, str):
                pattern = json.loads(pattern)
            bus = props.get("EventBusName")
            out.append(
                {
                    "logical_id": lid,
                    "pattern": self.resolve(pattern),
                    "bus": None if bus is None else self.resolve(bus),
                    "state": props.get("State"),
                }
            )
        return out


    def schedules(self) -> list[str]:
        """Logical ids of the created scheduled rules."""
        return [lid for lid, res in self.resources.items() if res["Type"] == "AWS::Events::Rule" and is_scheduled(res)]


def is_scheduled(rule: dict) -> bool:
    """A scheduled EventBridge rule: a ScheduleExpression and no EventPattern."""
    props = rule.get("Properties", {})
    return "ScheduleExpression" in props and "EventPattern" not in props


# ---------------------------------------------------------------------- DETECTOR_RESOURCES
def last_segment(identifier: str) -> str:
    """What follows the last /, : or | (the function's rule for DETECTOR_RESOURCES)."""
    return re.split(r"[/:|]", identifier)[-1]


def glob_matches(entry: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(p) for p in entry.split("*")), value) is not None


def covered(entries: list[str], identifier: str) -> bool:
    """An entry matches the full identifier or its last segment, `*` a wildcard."""
    return any(glob_matches(e, identifier) or glob_matches(e, last_segment(identifier)) for e in entries)


def canonical(pattern) -> str:
    """Order-free form of an event pattern: EventBridge treats every list of a pattern as a set."""

    def norm(v):
        if isinstance(v, dict):
            return {k: norm(v[k]) for k in sorted(v)}
        if isinstance(v, list):
            return sorted((norm(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        return v

    return json.dumps(norm(pattern), sort_keys=True)
