//! Heap bytes per tracked session, counted by a global allocator: the figure docs/sessions.md gives
//! for the in-memory session store's capacity.

use rootwatch::core::model::PrincipalClass;
use rootwatch::core::session::{Issuer, Session, SessionTracker};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// A session with the field lengths of a real SSO admin's AssumeRole.
fn session(i: usize) -> Session {
    Session {
        key: format!("ASIAY34FZKB{i:09}"),
        api: "AssumeRole".into(),
        issued_at: i as i64,
        expires_at: 3600 + i as i64,
        role_arn: Some("arn:aws:iam::111122223333:role/OrganizationAccountAccessRole".into()),
        session_name: Some(format!("alice@example.com-{i:010}")),
        source_identity: Some("alice@example.com".into()),
        account: Some("111122223333".into()),
        task_policy: None,
        event_id: Some(format!("3f9b0a6c-1f6e-4c8e-9a3e-{i:012}")),
        issuer: Issuer {
            arn: Some(
                "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice"
                    .into(),
            ),
            name: None,
            kind: Some("AssumedRole".into()),
            class: PrincipalClass::SsoSession,
            account_id: Some("111122223333".into()),
            access_key_id: Some(format!("ASIAY34FZKC{i:09}")),
        },
    }
}

#[test]
fn bytes_per_session_and_capacity_bound() {
    const N: usize = 20_000;
    let sessions: Vec<Session> = (0..2 * N).map(session).collect();
    let before = LIVE.load(Ordering::Relaxed);
    let mut t = SessionTracker::new(N);
    // Cloned inside the measured window: the tracker owns its copies.
    for s in &sessions[..N] {
        t.learn(s.clone());
    }
    let full = LIVE.load(Ordering::Relaxed) - before;
    let per = full as usize / N;
    println!("{per} bytes per tracked session ({N} sessions: {full} bytes)");
    assert!((300..2_000).contains(&per), "{per} bytes per session");
    // Twice as many sessions again: memory stays at the capacity's figure.
    for s in &sessions[N..] {
        t.learn(s.clone());
    }
    let after = LIVE.load(Ordering::Relaxed) - before;
    assert_eq!(t.len(), N);
    assert_eq!(t.evicted, N as u64);
    assert!(
        (after as f64) < full as f64 * 1.25,
        "grew from {full} to {after} bytes past capacity"
    );
}
