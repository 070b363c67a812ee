//! Patterns one event cannot show, pure core: bursts of failed root sign-ins on one account
//! (`root-login-brute-force`), one address failing root sign-in on several accounts
//! (`root-login-spray`), and the first `AssumeRoot` by a principal on a member account
//! (`assume-root-new-caller`).
//!
//! A record gives at most one [`Observation`]; the decisions are plain functions over what is
//! known of the window (the failures on an account, the accounts an address failed on, whether
//! a finding already fired for it), so that replay (all in memory, [`Patterns`], over the input
//! in eventTime order) and the function (the same facts kept in DynamoDB items, updated
//! atomically) decide alike.

use crate::core::model::{Finding, RecordReport, Rule, Severity};
use crate::core::sanitize::{clean, MAX_FIELD};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Failed sign-ins are recorded as `ConsoleLogin` with `responseElements.ConsoleLogin`
/// `Failure`, the address in `sourceIPAddress`.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html>
pub const SIGNIN_FAILURE_DOC: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aws-console-sign-in-events.html";
/// AssumeRoot calls are made from the management account (or a delegated administrator) on a
/// member account; who called it for which account is in the call's record.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html>
pub const ASSUME_ROOT_TRACKING_DOC: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-track-privileged-tasks.html";

/// Thresholds and windows of the pattern rules (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternConfig {
    /// `root-login-brute-force`: this many failed root sign-ins on one account ...
    pub brute_force_failures: usize,
    /// ... within this window.
    pub brute_force_window: i64,
    /// `root-login-spray`: one address failing root sign-in on this many accounts ...
    pub spray_accounts: usize,
    /// ... within this window.
    pub spray_window: i64,
    /// `assume-root-new-caller`: how long a (caller, account) pair is remembered (the function;
    /// replay remembers the whole input).
    pub new_caller_memory: i64,
}

impl Default for PatternConfig {
    fn default() -> Self {
        PatternConfig {
            brute_force_failures: 5,
            brute_force_window: 15 * 60,
            spray_accounts: 3,
            spray_window: 60 * 60,
            new_caller_memory: 90 * 86_400,
        }
    }
}

/// What a record tells the pattern rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// A failed root console sign-in.
    RootLoginFailure {
        account: String,
        ip: String,
        time: i64,
        event_id: String,
    },
    /// A successful `AssumeRoot` call: by `caller` (the origin of its session where known, else
    /// the caller) on `target`.
    AssumeRoot {
        caller: String,
        target: String,
        time: i64,
        event_id: String,
    },
}

impl Observation {
    pub fn time(&self) -> i64 {
        match self {
            Observation::RootLoginFailure { time, .. } | Observation::AssumeRoot { time, .. } => {
                *time
            }
        }
    }
}

/// The observation of a record, from its report: its `root-console-login-failure` finding, or
/// its successful `AssumeRoot` assumption. Records without a time are not observed.
pub fn observe(report: &RecordReport) -> Option<Observation> {
    let time = report
        .event_time
        .as_deref()
        .and_then(crate::core::time::parse)?;
    let event_id = report
        .event_id
        .as_deref()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}#{}", report.input.file, report.input.index));
    if report
        .findings
        .iter()
        .any(|f| f.rule == Rule::RootConsoleLoginFailure)
    {
        return Some(Observation::RootLoginFailure {
            account: report.principal.account_id.as_deref()?.to_owned(),
            ip: report.source_ip.as_deref().unwrap_or("-").to_owned(),
            time,
            event_id,
        });
    }
    let a = report.assumption.as_ref()?;
    if a.api != crate::core::rules::ASSUME_ROOT || !a.succeeded {
        return None;
    }
    let caller = report
        .origin
        .as_ref()
        .and_then(|o| o.arn.clone().or(o.name.clone()))
        .unwrap_or_else(|| report.principal.who().to_owned());
    Some(Observation::AssumeRoot {
        caller,
        target: a.target_account.clone()?,
        time,
        event_id,
    })
}

/// Where a window that holds the failure at `t` reaches `threshold`: the end of the first such
/// window (an entry's time from `t` on), or `None`. `entries` are the (time, value) known of the
/// set, this one included; with `distinct`, the values are counted (accounts of a spray), not
/// the entries. A window less than a window away from `last_fired` is the same burst: it does
/// not fire again. In eventTime order the end is `t` itself; out of order (the function), a late
/// failure completes a window that ends after it.
pub fn burst_end(
    window: i64,
    threshold: usize,
    distinct: bool,
    entries: &[(i64, String)],
    t: i64,
    last_fired: Option<i64>,
) -> Option<i64> {
    let mut ends: Vec<i64> = entries
        .iter()
        .map(|(at, _)| *at)
        .filter(|at| *at >= t && *at < t + window)
        .chain(std::iter::once(t))
        .collect();
    ends.sort_unstable();
    ends.dedup();
    ends.into_iter().find(|&end| {
        let inside = entries
            .iter()
            .filter(|(at, _)| *at <= end && *at > end - window);
        let count = if distinct {
            inside
                .map(|(_, v)| v.as_str())
                .collect::<BTreeSet<_>>()
                .len()
        } else {
            inside.count()
        };
        count >= threshold && last_fired.is_none_or(|f| (end - f).abs() >= window)
    })
}

/// [`burst_end`] for `root-login-brute-force` (failures on one account).
pub fn brute_force_fires(
    cfg: &PatternConfig,
    failures: &[(i64, String)],
    t: i64,
    last_fired: Option<i64>,
) -> Option<i64> {
    burst_end(
        cfg.brute_force_window,
        cfg.brute_force_failures,
        false,
        failures,
        t,
        last_fired,
    )
}

/// The brute-force finding: the count, the window and the addresses of the failures in it.
pub fn brute_force_finding(
    cfg: &PatternConfig,
    account: &str,
    failures: &[(i64, String)],
    t: i64,
) -> Finding {
    let window: Vec<&(i64, String)> = failures
        .iter()
        .filter(|(at, _)| *at <= t && *at > t - cfg.brute_force_window)
        .collect();
    let ips: BTreeSet<&str> = window.iter().map(|(_, ip)| ip.as_str()).collect();
    Finding {
        rule: Rule::RootLoginBruteForce,
        severity: Severity::High,
        title: clean(
            &format!(
                "{} failed root console sign-ins on {account} within {} minutes (addresses: {})",
                window.len(),
                cfg.brute_force_window / 60,
                list(ips.iter().copied())
            ),
            MAX_FIELD * 4,
        ),
        task: None,
        doc: SIGNIN_FAILURE_DOC,
        suppressed: None,
    }
}

/// [`burst_end`] for `root-login-spray` (the accounts one address failed on).
pub fn spray_fires(
    cfg: &PatternConfig,
    failures: &[(i64, String)],
    t: i64,
    last_fired: Option<i64>,
) -> Option<i64> {
    burst_end(
        cfg.spray_window,
        cfg.spray_accounts,
        true,
        failures,
        t,
        last_fired,
    )
}

fn spray_accounts<'a>(
    cfg: &PatternConfig,
    failures: &'a [(i64, String)],
    t: i64,
) -> BTreeSet<&'a str> {
    failures
        .iter()
        .filter(|(at, _)| *at <= t && *at > t - cfg.spray_window)
        .map(|(_, a)| a.as_str())
        .collect()
}

/// The spray finding: the address and the accounts it failed on within the window.
pub fn spray_finding(cfg: &PatternConfig, ip: &str, failures: &[(i64, String)], t: i64) -> Finding {
    let accounts = spray_accounts(cfg, failures, t);
    Finding {
        rule: Rule::RootLoginSpray,
        severity: Severity::High,
        title: clean(
            &format!(
                "{ip} failed root console sign-in on {} accounts within {} minutes: {}",
                accounts.len(),
                cfg.spray_window / 60,
                list(accounts.iter().copied())
            ),
            MAX_FIELD * 4,
        ),
        task: None,
        doc: SIGNIN_FAILURE_DOC,
        suppressed: None,
    }
}

/// The first `AssumeRoot` by `caller` on `target`.
pub fn new_caller_finding(caller: &str, target: &str) -> Finding {
    Finding {
        rule: Rule::AssumeRootNewCaller,
        severity: Severity::High,
        title: clean(
            &format!("First AssumeRoot by {caller} on {target}"),
            MAX_FIELD * 2,
        ),
        task: None,
        doc: ASSUME_ROOT_TRACKING_DOC,
        suppressed: None,
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = items.collect();
    if all.len() > 10 {
        format!("{} and {} more", all[..10].join(", "), all.len() - 10)
    } else {
        all.join(", ")
    }
}

/// The pattern rules in memory, fed observations in eventTime order (replay; the function
/// without a table). A failure delivered twice (same eventID) counts once.
#[derive(Debug, Default)]
pub struct Patterns {
    pub cfg: PatternConfig,
    seen: HashSet<String>,
    by_account: HashMap<String, VecDeque<(i64, String)>>,
    by_ip: HashMap<String, VecDeque<(i64, String)>>,
    fired_account: HashMap<String, i64>,
    fired_ip: HashMap<String, i64>,
    callers: HashMap<(String, String), i64>,
}

impl Patterns {
    pub fn new(cfg: PatternConfig) -> Self {
        Patterns {
            cfg,
            ..Default::default()
        }
    }

    /// The findings an observation raises, given everything fed before it.
    pub fn feed(&mut self, obs: &Observation) -> Vec<Finding> {
        let mut out = Vec::new();
        match obs {
            Observation::RootLoginFailure {
                account,
                ip,
                time,
                event_id,
            } => {
                if !self.seen.insert(event_id.clone()) {
                    return out;
                }
                let cfg = self.cfg;
                let failures = self.by_account.entry(account.clone()).or_default();
                failures.push_back((*time, ip.clone()));
                trim(failures, *time - cfg.brute_force_window);
                let failures = failures.make_contiguous();
                let fired = self.fired_account.get(account).copied();
                if let Some(end) = brute_force_fires(&cfg, failures, *time, fired) {
                    out.push(brute_force_finding(&cfg, account, failures, end));
                    self.fired_account.insert(account.clone(), end);
                }
                let by_ip = self.by_ip.entry(ip.clone()).or_default();
                by_ip.push_back((*time, account.clone()));
                trim(by_ip, *time - cfg.spray_window);
                let by_ip = by_ip.make_contiguous();
                let fired = self.fired_ip.get(ip).copied();
                if let Some(end) = spray_fires(&cfg, by_ip, *time, fired) {
                    out.push(spray_finding(&cfg, ip, by_ip, end));
                    self.fired_ip.insert(ip.clone(), end);
                }
            }
            Observation::AssumeRoot {
                caller,
                target,
                time,
                event_id,
            } => {
                if !self.seen.insert(event_id.clone()) {
                    return out;
                }
                let key = (caller.clone(), target.clone());
                let first = self
                    .callers
                    .get(&key)
                    .is_none_or(|last| *time - last > self.cfg.new_caller_memory);
                self.callers.insert(key, *time);
                if first {
                    out.push(new_caller_finding(caller, target));
                }
            }
        }
        out
    }
}

/// Drops entries before `from` (input in time order: they can no longer count).
fn trim(q: &mut VecDeque<(i64, String)>, from: i64) {
    while q.front().is_some_and(|(t, _)| *t <= from) {
        q.pop_front();
    }
}

/// Evaluates observations out of order: sorted by time (then by their key, so that the result
/// does not depend on the input order), fed to [`Patterns`]; each key gets its findings.
pub fn evaluate<K: Ord + Clone>(
    cfg: PatternConfig,
    mut observed: Vec<(K, Observation)>,
) -> BTreeMap<K, Vec<Finding>> {
    observed.sort_by(|(ka, a), (kb, b)| a.time().cmp(&b.time()).then_with(|| ka.cmp(kb)));
    let mut p = Patterns::new(cfg);
    let mut out = BTreeMap::new();
    for (k, obs) in &observed {
        let found = p.feed(obs);
        if !found.is_empty() {
            out.entry(k.clone()).or_insert_with(Vec::new).extend(found);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(account: &str, ip: &str, time: i64, id: &str) -> Observation {
        Observation::RootLoginFailure {
            account: account.into(),
            ip: ip.into(),
            time,
            event_id: id.into(),
        }
    }

    fn rules(found: &BTreeMap<usize, Vec<Finding>>) -> Vec<(usize, Rule)> {
        found
            .iter()
            .flat_map(|(k, fs)| fs.iter().map(move |f| (*k, f.rule)))
            .collect()
    }

    #[test]
    fn five_failures_in_fifteen_minutes_fire_once_at_the_fifth() {
        let obs: Vec<(usize, Observation)> = (0..8)
            .map(|i| {
                (
                    i,
                    fail(
                        "111122223333",
                        "192.0.2.1",
                        1000 + i as i64 * 60,
                        &format!("e{i}"),
                    ),
                )
            })
            .collect();
        let found = evaluate(PatternConfig::default(), obs);
        assert_eq!(rules(&found), [(4, Rule::RootLoginBruteForce)]);
        let f = &found[&4][0];
        assert_eq!(f.severity, Severity::High);
        assert!(
            f.title.starts_with(
                "5 failed root console sign-ins on 111122223333 within 15 minutes (addresses: 192.0.2.1)"
            ),
            "{}",
            f.title
        );
    }

    #[test]
    fn slow_or_spread_failures_raise_nothing() {
        // 4 failures over 3 hours from 4 addresses, on one account.
        let obs: Vec<(usize, Observation)> = (0..4)
            .map(|i| {
                (
                    i,
                    fail(
                        "111122223333",
                        &format!("192.0.2.{i}"),
                        i as i64 * 3600,
                        &format!("s{i}"),
                    ),
                )
            })
            .collect();
        assert!(evaluate(PatternConfig::default(), obs).is_empty());
        // 5 failures, but 20 minutes apart.
        let obs: Vec<(usize, Observation)> = (0..5)
            .map(|i| {
                (
                    i,
                    fail(
                        "111122223333",
                        "192.0.2.1",
                        i as i64 * 1200,
                        &format!("w{i}"),
                    ),
                )
            })
            .collect();
        assert!(evaluate(PatternConfig::default(), obs).is_empty());
    }

    #[test]
    fn a_second_burst_after_the_window_fires_again() {
        let mut obs: Vec<(usize, Observation)> = (0..5)
            .map(|i| (i, fail("1", "192.0.2.1", i as i64 * 10, &format!("a{i}"))))
            .collect();
        obs.extend((0..5).map(|i| {
            (
                10 + i,
                fail("1", "192.0.2.1", 10_000 + i as i64 * 10, &format!("b{i}")),
            )
        }));
        assert_eq!(
            rules(&evaluate(PatternConfig::default(), obs)),
            [
                (4, Rule::RootLoginBruteForce),
                (14, Rule::RootLoginBruteForce)
            ]
        );
    }

    #[test]
    fn out_of_order_input_gives_the_same_findings() {
        let obs: Vec<(usize, Observation)> = (0..6)
            .map(|i| (i, fail("1", "192.0.2.1", 100 + i as i64, &format!("o{i}"))))
            .collect();
        let mut reversed = obs.clone();
        reversed.reverse();
        assert_eq!(
            evaluate(PatternConfig::default(), obs),
            evaluate(PatternConfig::default(), reversed)
        );
    }

    #[test]
    fn a_late_failure_completes_a_burst_that_ends_after_it() {
        // Times 10, 12, 16, 18 known; 14 arrives last: the window ending at 18 holds 5.
        let known: Vec<(i64, String)> = [10, 12, 16, 18, 14]
            .iter()
            .map(|m| (m * 60, "192.0.2.1".to_owned()))
            .collect();
        let cfg = PatternConfig::default();
        assert_eq!(
            brute_force_fires(&cfg, &known, 14 * 60, None),
            Some(18 * 60)
        );
        // Already fired for that burst: not again.
        assert_eq!(
            brute_force_fires(&cfg, &known, 14 * 60, Some(18 * 60)),
            None
        );
        // Four only: nothing.
        assert_eq!(brute_force_fires(&cfg, &known[..4], 14 * 60, None), None);
    }

    #[test]
    fn duplicates_count_once() {
        let obs: Vec<(usize, Observation)> = (0..8)
            .map(|i| {
                (
                    i,
                    fail(
                        "1",
                        "192.0.2.1",
                        100 + (i / 2) as i64,
                        &format!("d{}", i / 2),
                    ),
                )
            })
            .collect();
        assert!(
            evaluate(PatternConfig::default(), obs).is_empty(),
            "4 distinct failures"
        );
    }

    #[test]
    fn one_address_on_three_accounts_within_an_hour_is_a_spray() {
        let obs = vec![
            (0, fail("111111111111", "203.0.113.9", 0, "p0")),
            (1, fail("222222222222", "203.0.113.9", 1200, "p1")),
            (2, fail("222222222222", "203.0.113.9", 1300, "p2")),
            (3, fail("333333333333", "203.0.113.9", 3000, "p3")),
            (4, fail("444444444444", "203.0.113.9", 3100, "p4")),
            // Another address on three accounts, but over two hours.
            (5, fail("111111111111", "198.51.100.1", 0, "q0")),
            (6, fail("222222222222", "198.51.100.1", 3700, "q1")),
            (7, fail("333333333333", "198.51.100.1", 7400, "q2")),
        ];
        let found = evaluate(PatternConfig::default(), obs);
        assert_eq!(rules(&found), [(3, Rule::RootLoginSpray)]);
        assert!(
            found[&3][0]
                .title
                .contains("111111111111, 222222222222, 333333333333"),
            "{}",
            found[&3][0].title
        );
    }

    #[test]
    fn the_first_assume_root_by_a_caller_on_an_account_fires_once() {
        let call = |caller: &str, target: &str, time: i64, id: &str| Observation::AssumeRoot {
            caller: caller.into(),
            target: target.into(),
            time,
            event_id: id.into(),
        };
        let obs = vec![
            (
                0,
                call("arn:aws:iam::1:user/alice", "222233334444", 10, "c0"),
            ),
            (
                1,
                call("arn:aws:iam::1:user/alice", "222233334444", 20, "c1"),
            ),
            (
                2,
                call("arn:aws:iam::1:user/alice", "555566667777", 30, "c2"),
            ),
            (3, call("arn:aws:iam::1:user/bob", "222233334444", 40, "c3")),
        ];
        let found = evaluate(PatternConfig::default(), obs);
        assert_eq!(
            rules(&found),
            [
                (0, Rule::AssumeRootNewCaller),
                (2, Rule::AssumeRootNewCaller),
                (3, Rule::AssumeRootNewCaller)
            ]
        );
    }

    #[test]
    fn thresholds_are_configuration() {
        let cfg = PatternConfig {
            brute_force_failures: 2,
            brute_force_window: 60,
            ..Default::default()
        };
        let obs = vec![
            (0, fail("1", "192.0.2.1", 0, "x0")),
            (1, fail("1", "192.0.2.1", 30, "x1")),
        ];
        assert_eq!(rules(&evaluate(cfg, obs)), [(1, Rule::RootLoginBruteForce)]);
    }
}
