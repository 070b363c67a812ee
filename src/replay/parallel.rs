//! Both passes over several files at once: `threads - 1` workers, and the calling thread, which
//! reads files too whenever it has nothing to hand to the output (so that `threads` threads
//! are busy, not `threads` workers and a waiting caller). Output stays in input order: each
//! file's reports are collected, and the calling thread hands them to the output file by file.
//! Workers stay within a window of files ahead of it (memory: the reports of at most
//! `4 × threads` files).

use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

/// The inputs, handed out one at a time with their index.
struct Feed<I>(Mutex<FeedState<I>>);

struct FeedState<I> {
    inputs: I,
    /// How many were handed out (the next one's index).
    handed: usize,
    /// Every input was handed out.
    done: bool,
}

impl<'a, I: Iterator<Item = SourceRef<'a>>> Feed<I> {
    fn new(inputs: I) -> Self {
        Feed(Mutex::new(FeedState {
            inputs,
            handed: 0,
            done: false,
        }))
    }
    fn next(&self) -> Option<(usize, SourceRef<'a>)> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let next = if g.done { None } else { g.inputs.next() };
        let Some(source) = next else {
            g.done = true;
            return None;
        };
        g.handed += 1;
        Some((g.handed - 1, source))
    }
    /// `Some(n)` once every input has been handed out: there were `n`.
    fn total(&self) -> Option<usize> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.done.then_some(g.handed)
    }
}

/// Pass 1: one tracker per thread, merged (the kept set does not depend on the order), and
/// the pattern rules' notes of every thread.
pub fn learn(inputs: &Inputs, threads: usize, capacity: usize, out: &mut dyn Output) -> Learning {
    let feed = Feed::new(inputs.iter());
    let total = inputs.len();
    let done = AtomicUsize::new(0);
    let learned: Vec<Learning> = std::thread::scope(|s| {
        let workers: Vec<_> = (1..threads)
            .map(|_| {
                let (feed, done) = (&feed, &done);
                s.spawn(move || {
                    let mut l = Learning::new(capacity);
                    while let Some((_, source)) = feed.next() {
                        learn_sessions(&source, &source.name(), &mut l);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    l
                })
            })
            .collect();
        let mut own = Learning::new(capacity);
        while let Some((_, source)) = feed.next() {
            let name = source.name();
            let n = done.load(Ordering::Relaxed);
            out.input_started(&name, n.min(total), total);
            learn_sessions(&source, &name, &mut own);
            done.fetch_add(1, Ordering::Relaxed);
        }
        let mut all = vec![own];
        all.extend(
            workers
                .into_iter()
                .map(|w| w.join().expect("session worker")),
        );
        all
    });
    let mut merged = Learning::new(capacity);
    for l in learned {
        merged.tracker.evicted += l.tracker.evicted;
        for s in l.tracker.into_sessions() {
            merged.tracker.learn(s);
        }
        merged.notes.extend(l.notes);
    }
    merged
}

/// What one file gave, in order.
enum Event {
    Record(Box<RecordReport>),
    Error(InputError),
}

#[derive(Default)]
struct Collect(Vec<Event>);

impl Output for Collect {
    fn record(&mut self, report: &RecordReport) -> io::Result<()> {
        self.take(report.clone())
    }
    fn take(&mut self, report: RecordReport) -> io::Result<()> {
        self.0.push(Event::Record(Box::new(report)));
        Ok(())
    }
    fn error(&mut self, err: &InputError) -> io::Result<()> {
        self.0.push(Event::Error(err.clone()));
        Ok(())
    }
}

/// One file's reports and counts.
type Done = (String, Vec<Event>, Stats);

fn read_one(
    source: &Source,
    opts: &Options,
    tracker: &SessionTracker,
    found: &PatternFindings,
) -> Done {
    let name = source.name();
    let mut local = Stats::default();
    let mut collect = Collect::default();
    let mut pass = Pass {
        pipeline: &opts.pipeline,
        tracker,
        found,
        stats: &mut local,
        suppressions: &opts.suppressions,
        now: opts.now,
    };
    // A Collect output never fails.
    let _ = read_source(source, &name, &mut pass, &mut collect);
    (name, collect.0, local)
}

/// Pass 2.
pub fn analyse(
    inputs: &Inputs,
    threads: usize,
    opts: &Options,
    tracker: &SessionTracker,
    found: &PatternFindings,
    stats: &mut Stats,
    out: &mut dyn Output,
) -> io::Result<()> {
    let total = inputs.len();
    let window = 4 * threads;
    let feed = Feed::new(inputs.iter());
    let stop = AtomicBool::new(false);
    // Index of the next file to hand to the output.
    let emitted = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, Done)>();
    std::thread::scope(|s| {
        for _ in 1..threads {
            let tx = tx.clone();
            let (feed, stop, emitted) = (&feed, &stop, &emitted);
            s.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some((i, source)) = feed.next() else {
                    break;
                };
                {
                    let (lock, cv) = emitted;
                    let mut done = lock.lock().unwrap_or_else(|p| p.into_inner());
                    while i >= *done + window && !stop.load(Ordering::Relaxed) {
                        done = cv.wait(done).unwrap_or_else(|p| p.into_inner());
                    }
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if tx
                    .send((i, read_one(&source, opts, tracker, found)))
                    .is_err()
                {
                    break;
                }
            });
        }
        drop(tx);
        let mut ready: BTreeMap<usize, Done> = BTreeMap::new();
        let mut n = 0;
        let result = (|| -> io::Result<()> {
            loop {
                while let Ok((i, done)) = rx.try_recv() {
                    ready.insert(i, done);
                }
                while let Some((name, events, local)) = ready.remove(&n) {
                    out.input_started(&name, n.min(total), total);
                    for e in events {
                        match e {
                            Event::Record(r) => out.record(&r)?,
                            Event::Error(e) => out.error(&e)?,
                        }
                    }
                    stats.merge(&local);
                    n += 1;
                    let (lock, cv) = &emitted;
                    *lock.lock().unwrap_or_else(|p| p.into_inner()) = n;
                    cv.notify_all();
                }
                if feed.total() == Some(n) {
                    return Ok(());
                }
                // Nothing to hand on: read a file here, or wait for a worker's.
                match feed.next() {
                    Some((i, source)) => {
                        ready.insert(i, read_one(&source, opts, tracker, found));
                    }
                    None => match rx.recv() {
                        Ok((i, done)) => {
                            ready.insert(i, done);
                        }
                        // Every worker has ended: what they read is in `ready`.
                        Err(_) if ready.contains_key(&n) => {}
                        Err(_) if feed.total() == Some(n) => return Ok(()),
                        Err(_) => {
                            return Err(io::Error::other(format!(
                                "replay: input {n} was handed to a worker that ended without it"
                            )))
                        }
                    },
                }
            }
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
            emitted.1.notify_all();
            drop(rx);
        }
        result
    })
}
