//! `rootwatch sessions`: the session trees of an input. Each tree starts at a principal that
//! opened sessions (an IAM user, an SSO session, root, a service…); under it, every session it
//! issued, nested by role chaining, with the number of requests made in each.
//!
//! Built from the reports of a replay alone: a session-issuing record adds its session under the
//! chain of its own caller; a record with an origin counts one request at the end of its chain.

use crate::core::model::{Hop, Origin, PrincipalClass, RecordReport};
use crate::core::session::Session;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A node: one session (credentials issued by one call).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Node {
    #[serde(flatten)]
    pub hop: Hop,
    /// Requests made with this session's credentials.
    pub requests: u64,
    /// Requests in this session and every session opened from it.
    pub total_requests: u64,
    pub sessions: Vec<Node>,
}

/// A tree: the principal that started it and the sessions it opened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tree {
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub class: PrincipalClass,
    pub account_id: Option<String>,
    pub total_requests: u64,
    pub sessions: Vec<Node>,
}

impl Tree {
    /// ARN, else name, else "unknown principal".
    pub fn who(&self) -> &str {
        self.arn
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("unknown principal")
    }
}

#[derive(Default)]
struct Building {
    hop: Option<Hop>,
    requests: u64,
    children: BTreeMap<(String, String), Building>,
}

impl Building {
    fn at(&mut self, path: &[Hop]) -> &mut Building {
        let mut node = self;
        for h in path {
            node = node
                .children
                .entry((h.issued.clone(), h.access_key_id.clone()))
                .or_insert_with(|| Building {
                    hop: Some(h.clone()),
                    ..Building::default()
                });
        }
        node
    }

    fn finish(self) -> (Vec<Node>, u64) {
        let mut total = self.requests;
        let mut nodes = Vec::new();
        for (_, child) in self.children {
            let hop = child.hop.clone().expect("children have a hop");
            let requests = child.requests;
            let (sessions, sub) = child.finish();
            total += sub;
            nodes.push(Node {
                hop,
                requests,
                total_requests: sub,
                sessions,
            });
        }
        (nodes, total)
    }
}

/// A tree's principal: ARN, name, class.
type RootKey = (Option<String>, Option<String>, PrincipalClass);

/// Collects reports into trees.
#[derive(Default)]
pub struct Forest {
    /// Per principal: its `type`, account and sessions.
    roots: BTreeMap<RootKey, (Option<String>, Option<String>, Building)>,
}

impl Forest {
    pub fn add(&mut self, report: &RecordReport) {
        // A session issued here: its place is under its caller's own chain, if any.
        if let Some(session) = Session::from_report(report) {
            let hop = session.hop();
            let (key, kind, account, mut path) = match &report.origin {
                Some(o) => (
                    (o.arn.clone(), o.name.clone(), o.class),
                    o.kind.clone(),
                    o.account_id.clone(),
                    o.chain.clone(),
                ),
                None => (
                    (
                        session.issuer.arn.clone(),
                        session.issuer.name.clone(),
                        session.issuer.class,
                    ),
                    session.issuer.kind.clone(),
                    session.issuer.account_id.clone(),
                    Vec::new(),
                ),
            };
            path.push(hop);
            self.root(key, kind, account).at(&path);
        }
        if let Some(o) = &report.origin {
            self.root_of(o).at(&o.chain).requests += 1;
        }
    }

    fn root_of(&mut self, o: &Origin) -> &mut Building {
        self.root(
            (o.arn.clone(), o.name.clone(), o.class),
            o.kind.clone(),
            o.account_id.clone(),
        )
    }

    fn root(
        &mut self,
        key: RootKey,
        kind: Option<String>,
        account: Option<String>,
    ) -> &mut Building {
        &mut self
            .roots
            .entry(key)
            .or_insert_with(|| (kind, account, Building::default()))
            .2
    }

    pub fn trees(self) -> Vec<Tree> {
        self.roots
            .into_iter()
            .map(|((arn, name, class), (kind, account_id, b))| {
                let (sessions, total) = b.finish();
                Tree {
                    arn,
                    name,
                    kind,
                    class,
                    account_id,
                    total_requests: total,
                    sessions,
                }
            })
            .collect()
    }
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Each tree's principal as shown: its ARN (else name), and, when another tree shows the same
/// ARN (two SSO sessions of one user through two permission sets' roles, say), its principal id
/// too, which tells them apart.
pub fn labels(trees: &[Tree]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for t in trees {
        *seen.entry(t.who()).or_default() += 1;
    }
    trees
        .iter()
        .map(|t| match (&t.name, seen.get(t.who())) {
            (Some(name), Some(n)) if *n > 1 && t.arn.is_some() => {
                format!("{} [principal id {name}]", t.who())
            }
            _ => t.who().to_owned(),
        })
        .collect()
}

/// The indented tree for a person.
pub fn text(trees: &[Tree]) -> String {
    let mut out = String::new();
    if trees.is_empty() {
        out.push_str("No sessions found: no session-issuing call (AssumeRole*, AssumeRoot, GetFederationToken, GetSessionToken) and no request made with its key.\n");
    }
    for (t, label) in trees.iter().zip(labels(trees)) {
        let _ = writeln!(
            out,
            "{label} ({}) — {}",
            t.class,
            plural(t.total_requests, "request")
        );
        nodes_text(&t.sessions, "", &mut out);
        out.push('\n');
    }
    out
}

fn nodes_text(nodes: &[Node], indent: &str, out: &mut String) {
    for (i, n) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let (branch, more) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        let under = if n.total_requests > n.requests {
            format!(", {} with the sessions under it", n.total_requests)
        } else {
            String::new()
        };
        let source = n
            .hop
            .source_identity
            .as_deref()
            .map(|s| format!(" sourceIdentity {s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{indent}{branch}{}{source} at {} [{}] — {}{under}",
            n.hop.describe(),
            n.hop.issued,
            n.hop.access_key_id,
            plural(n.requests, "request"),
        );
        nodes_text(&n.sessions, &format!("{indent}{more}"), out);
    }
}

/// A Graphviz document.
pub fn dot(trees: &[Tree]) -> String {
    let mut out = String::from(
        "digraph sessions {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, (t, label)) in trees.iter().zip(labels(trees)).enumerate() {
        let id = format!("p{i}");
        let _ = writeln!(
            out,
            "  {id} [shape=ellipse, label=\"{}\\n{} — {}\"];",
            esc(&label),
            t.class,
            plural(t.total_requests, "request")
        );
        nodes_dot(&t.sessions, &id, &mut out);
    }
    out.push_str("}\n");
    out
}

fn nodes_dot(nodes: &[Node], parent: &str, out: &mut String) {
    for (i, n) in nodes.iter().enumerate() {
        let id = format!("{parent}_{i}");
        let _ = writeln!(
            out,
            "  {id} [label=\"{}\\n{}\\n{}\"];",
            esc(&n.hop.describe()),
            esc(&n.hop.access_key_id),
            plural(n.requests, "request")
        );
        let _ = writeln!(out, "  {parent} -> {id} [label=\"{}\"];", esc(&n.hop.api));
        nodes_dot(&n.sessions, &id, out);
    }
}

/// Escapes a DOT string (the values are already free of control characters).
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_escapes_quotes_and_backslashes() {
        assert_eq!(esc(r#"a"b\c"#), r#"a\"b\\c"#);
    }

    #[test]
    fn empty_input_says_so() {
        assert!(text(&[]).starts_with("No sessions found"));
        assert_eq!(
            dot(&[]),
            "digraph sessions {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n}\n"
        );
    }
}
