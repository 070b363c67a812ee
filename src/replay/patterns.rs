//! The pattern rules in replay (`root-login-brute-force`, `root-login-spray`,
//! `assume-root-new-caller`): pass 1 notes every failed root sign-in and `AssumeRoot` call with
//! its place in the input; between the passes they are evaluated in eventTime order (the
//! callers' sessions known by then); pass 2 adds each finding to the report of the record that
//! raised it. So the findings do not depend on the order of the files or of their records.

use crate::core::model::Finding;
use crate::core::patterns::{self, Observation, PatternConfig};
use crate::core::pipeline::Pipeline;
use crate::core::session::SessionTracker;
use std::collections::BTreeMap;

/// Where a record is: the input's name and the record's index in it.
pub type Place = (String, u64);

/// The pattern findings of a replay, by the record that raised them.
pub type PatternFindings = BTreeMap<Place, Vec<Finding>>;

/// A record the pattern rules need, noted in pass 1.
#[derive(Debug, Clone)]
pub struct Noted {
    place: Place,
    obs: Observation,
    /// The session the caller's key belongs to (an `AssumeRoot` made in a role session): its
    /// origin is the caller.
    lookup: Option<(String, i64, Option<String>)>,
}

/// Notes `json` if a pattern rule needs it.
pub fn note(json: &str, name: &str, index: u64, notes: &mut Vec<Noted>) {
    if let Some((obs, lookup)) = Pipeline::observed(json, name, index) {
        notes.push(Noted {
            place: (name.to_owned(), index),
            obs,
            lookup,
        });
    }
}

/// The findings, once every session is known.
pub fn evaluate(
    notes: Vec<Noted>,
    tracker: &SessionTracker,
    cfg: PatternConfig,
) -> PatternFindings {
    let observed: Vec<(Place, Observation)> = notes
        .into_iter()
        .map(|n| {
            let obs = match (n.obs, n.lookup) {
                (
                    Observation::AssumeRoot {
                        caller,
                        target,
                        time,
                        event_id,
                    },
                    Some((key, at, own)),
                ) => {
                    let caller = tracker
                        .origin(&key, at, own.as_deref())
                        .and_then(|o| o.arn.or(o.name))
                        .unwrap_or(caller);
                    Observation::AssumeRoot {
                        caller,
                        target,
                        time,
                        event_id,
                    }
                }
                (obs, _) => obs,
            };
            (n.place, obs)
        })
        .collect();
    patterns::evaluate(cfg, observed)
}
