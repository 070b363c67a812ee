//! One finding as an AWS Security Finding Format document (`--format asff`, and what
//! `--security-hub` imports): a pure mapping; the time of the import is a parameter.
//!
//! Every string taken from the record was sanitized when the report was built
//! (`core::sanitize`, as for the titles of alerts).

use crate::core::finding_uid;
use crate::core::model::{Finding, RecordReport, Rule, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

/// The only ASFF schema version. <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html>
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `Title` is at most 256 characters. <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html>
pub const MAX_TITLE: usize = 256;
/// `Description` is at most 1024 characters. <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html>
pub const MAX_DESCRIPTION: usize = 1024;

/// Where a finding is imported: the account that calls `BatchImportFindings` and the region of
/// the call. With the default product, Security Hub accepts only findings whose `AwsAccountId`
/// is the calling account, so `AwsAccountId` is always `account` here; the account the finding
/// is about stays in `Resources` (an `AwsAccount` resource) and `ProductFields`.
/// <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html>
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Target {
    /// The target of `--format asff` without a call to AWS: the finding's own account and the
    /// record's region (as if each account imported its own findings).
    pub fn of_record(report: &RecordReport) -> Target {
        let region = report
            .aws_region
            .as_deref()
            .unwrap_or("us-east-1")
            .to_owned();
        Target {
            partition: partition(&region).to_owned(),
            region,
            account: finding_uid::account(report).to_owned(),
        }
    }

    /// The account's default product, which accepts its own findings without an integration:
    /// `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`.
    /// <https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-custom-providers.html>
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{p}:securityhub:{r}:{a}:product/{a}/default",
            p = self.partition,
            r = self.region,
            a = self.account
        )
    }
}

/// The partition of a region: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `Severity.Label`. <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-top-level-attributes.html>
pub fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// `Types` in the ASFF taxonomy (`namespace/category/classifier`): the sign-in attacks are
/// Credential Access, the tampering Defense Evasion, the rest unusual user behaviour; the
/// classifier is our rule id.
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format-type-taxonomy.html>
pub fn finding_type(rule: Rule) -> String {
    let prefix = match rule {
        Rule::RootLoginBruteForce | Rule::RootLoginSpray | Rule::RootConsoleLoginFailure => {
            "TTPs/Credential Access"
        }
        Rule::DetectorTamper => "TTPs/Defense Evasion",
        Rule::UntrustedAccountAssumption => "TTPs/Initial Access",
        _ => "Unusual Behaviors/User",
    };
    format!("{prefix}/{rule}")
}

/// At most `max` characters, cut on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((i, _)) => {
            let mut out: String = s[..i].to_owned();
            if max > 0 {
                out.pop();
                out.push('…');
            }
            out
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct SeverityLabel {
    pub label: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderFields {
    pub severity: SeverityLabel,
    pub types: Vec<String>,
}

/// One resource: `Type` is one of ASFF's resource types, `Id` its ARN (or the account id
/// form `AWS::::Account:ID`).
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-resources.html>
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub id: String,
    pub partition: String,
    pub region: String,
}

/// An ASFF finding with the required attributes and the few optional ones we fill.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Document {
    pub schema_version: &'static str,
    pub id: String,
    pub product_arn: String,
    pub product_name: &'static str,
    pub company_name: &'static str,
    pub generator_id: &'static str,
    pub aws_account_id: String,
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_observed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub severity: SeverityLabel,
    pub finding_provider_fields: ProviderFields,
    pub title: String,
    pub description: String,
    pub source_url: &'static str,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    pub region: String,
    pub record_state: &'static str,
    /// `{"Status": "SUPPRESSED"}` for a finding a suppression covers (`--format asff` keeps it,
    /// marked; the Security Hub sinks do not import it).
    /// <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-top-level-attributes.html#asff-workflow>
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Workflow>,
}

/// `Workflow` of a finding: its investigation status.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Workflow {
    pub status: &'static str,
}

/// The resources of a finding: the principal (an IAM user or role by ARN, the role of a role
/// session), and the account the finding is about; at least one.
fn resources(report: &RecordReport, target: &Target) -> Vec<Resource> {
    let region = report
        .aws_region
        .as_deref()
        .unwrap_or(&target.region)
        .to_owned();
    let part = partition(&region).to_owned();
    let res = |kind, id: String| Resource {
        kind,
        id,
        partition: part.clone(),
        region: region.clone(),
    };
    let p = &report.principal;
    let mut out = Vec::new();
    let arn = p.arn.as_deref().unwrap_or("");
    if let Some(role) = p.session_issuer.as_deref().filter(|a| a.contains(":role/")) {
        out.push(res("AwsIamRole", role.to_owned()));
    } else if arn.contains(":user/") {
        out.push(res("AwsIamUser", arn.to_owned()));
    } else if !arn.is_empty() && !arn.ends_with(":root") {
        out.push(res("Other", arn.to_owned()));
    }
    let account = finding_uid::account(report);
    out.push(res("AwsAccount", format!("AWS::::Account:{account}")));
    out
}

/// The ASFF document of one finding. `now` (RFC 3339) is `UpdatedAt`, and `CreatedAt` when the
/// record has no `eventTime`.
pub fn document(report: &RecordReport, finding: &Finding, target: &Target, now: &str) -> Document {
    let event_time = report
        .event_time
        .as_deref()
        .and_then(crate::core::time::parse)
        .map(crate::core::time::format);
    let label = SeverityLabel {
        label: severity_label(finding.severity),
    };
    let types = vec![finding_type(finding.rule)];
    let mut fields = BTreeMap::new();
    let mut field = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            fields.insert(format!("rootwatch/{k}"), truncate(v, 1024));
        }
    };
    field("rule", Some(finding.rule.as_str()));
    field("task", finding.task.map(|t| t.as_str()));
    field("account", Some(finding_uid::account(report)));
    field("eventId", report.event_id.as_deref());
    field("eventName", report.event_name.as_deref());
    field("eventSource", report.event_source.as_deref());
    field("principal", report.principal.arn.as_deref());
    field("principalClass", Some(report.principal.class.as_str()));
    field("sourceIp", report.source_ip.as_deref());
    let origin = report.origin.as_ref().map(|o| o.describe());
    field("sessionOrigin", origin.as_deref());
    if let Some(sup) = &finding.suppressed {
        field("suppressedReason", Some(&sup.reason));
        field("suppressedUntil", Some(&sup.expires));
    }
    Document {
        schema_version: SCHEMA_VERSION,
        id: finding_uid::uid(report, finding),
        product_arn: target.product_arn(),
        product_name: "rootwatch",
        company_name: "rootwatch",
        generator_id: finding.rule.as_str(),
        aws_account_id: target.account.clone(),
        types: types.clone(),
        first_observed_at: event_time.clone(),
        created_at: event_time.unwrap_or_else(|| now.to_owned()),
        updated_at: now.to_owned(),
        severity: label.clone(),
        finding_provider_fields: ProviderFields {
            severity: label,
            types,
        },
        title: truncate(&finding.title, MAX_TITLE),
        description: truncate(
            &crate::core::ocsf::description(report, finding),
            MAX_DESCRIPTION,
        ),
        source_url: finding.doc,
        product_fields: fields,
        resources: resources(report, target),
        region: target.region.clone(),
        record_state: "ACTIVE",
        workflow: finding.suppressed.as_ref().map(|_| Workflow {
            status: "SUPPRESSED",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters_not_bytes() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 3).chars().count(), 3);
        assert_eq!(truncate("", 0), "");
    }

    fn report() -> RecordReport {
        use crate::core::model::{InputRef, Principal, PrincipalClass, Str};
        RecordReport {
            event_id: Some(Str::new("e-1")),
            event_name: Some(Str::new("ConsoleLogin")),
            event_source: Some(Str::new("signin.amazonaws.com")),
            event_time: Some(Str::new("2026-11-24T07:41:05Z")),
            aws_region: Some(Str::new("eu-west-1")),
            source_ip: None,
            user_agent: None,
            error_code: None,
            read_only: false,
            principal: Principal {
                kind: Some(Str::new("IAMUser")),
                class: PrincipalClass::IamUser,
                arn: Some(Str::new("arn:aws:iam::111122223333:user/alice")),
                account_id: Some(Str::new("111122223333")),
                access_key_id: None,
                principal_id: None,
                user_name: None,
                mfa_authenticated: None,
                invoked_by: None,
                session_issuer: None,
                session_name: None,
                source_identity: None,
            },
            findings: Vec::new(),
            assumption: None,
            origin: None,
            input: InputRef {
                file: "f".into(),
                index: 0,
            },
        }
    }

    #[test]
    fn a_suppressed_finding_is_marked_suppressed_with_its_reason() {
        let mut f = Finding {
            rule: Rule::RootConsoleLogin,
            severity: Severity::Critical,
            title: "t".into(),
            task: None,
            doc: "https://docs.aws.amazon.com/",
            suppressed: None,
        };
        let t = Target::of_record(&report());
        let d = document(&report(), &f, &t, "2026-12-06T00:00:00Z");
        assert_eq!(d.workflow, None);
        assert!(!d.product_fields.contains_key("rootwatch/suppressedReason"));
        f.suppressed = Some(crate::core::model::Suppressed {
            reason: "drill".into(),
            expires: "2027-01-31".into(),
        });
        let d = document(&report(), &f, &t, "2026-12-06T00:00:00Z");
        assert_eq!(d.workflow.map(|w| w.status), Some("SUPPRESSED"));
        assert_eq!(d.product_fields["rootwatch/suppressedReason"], "drill");
        assert_eq!(d.product_fields["rootwatch/suppressedUntil"], "2027-01-31");
    }

    #[test]
    fn long_title_and_description_are_cut_to_the_asff_limits() {
        let f = Finding {
            rule: Rule::RootCredentialUse,
            severity: Severity::Low,
            title: "é".repeat(3000),
            task: None,
            doc: "https://docs.aws.amazon.com/",
            suppressed: None,
        };
        let t = Target {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "999988887777".into(),
        };
        let d = document(&report(), &f, &t, "2026-12-06T00:00:00Z");
        assert_eq!(d.title.chars().count(), 256);
        assert_eq!(d.description.chars().count(), 1024);
        assert!(d.title.ends_with('…') && d.description.ends_with('…'));
        // Imported by another account: AwsAccountId and the product are the caller's, the
        // finding's account stays a resource.
        assert_eq!(d.aws_account_id, "999988887777");
        assert_eq!(
            d.product_arn,
            "arn:aws:securityhub:eu-west-1:999988887777:product/999988887777/default"
        );
        assert_eq!(d.resources[0].kind, "AwsIamUser");
        assert_eq!(d.resources[1].id, "AWS::::Account:111122223333");
        assert_eq!(d.severity.label, "LOW");
    }

    #[test]
    fn partitions() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
    }
}
