//! `--sns-topic-arn`: publishes the alerts of a replay in batches of ten (PublishBatch); an alert
//! that fails is named on stderr with its file and record, and the run exits 1.

use crate::aws::sns::{Publisher, SnsPublisher};
use crate::core::alert::Alert;
use crate::core::model::{RecordReport, Severity};
use indicatif::ProgressBar;

/// Publishes the alerts of a replay in batches.
pub(crate) struct Backfill {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) publisher: SnsPublisher,
    pub(crate) min: Severity,
    pub(crate) format: crate::core::alert::AlertFormat,
    pub(crate) pending: Vec<(Alert, String)>,
    pub(crate) published: u64,
    pub(crate) failed: u64,
}

impl Backfill {
    pub(crate) fn add(&mut self, report: &RecordReport, progress: &Option<ProgressBar>) {
        if let Some(a) = crate::core::alert::build_replay(report, self.min, self.format) {
            let at = format!("{}: record {}", report.input.file, report.input.index);
            self.pending.push((a, at));
            if self.pending.len() >= crate::aws::sns::MAX_BATCH {
                self.flush(progress);
            }
        }
    }
    pub(crate) fn flush(&mut self, progress: &Option<ProgressBar>) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        let alerts: Vec<Alert> = batch.iter().map(|(a, _)| a.clone()).collect();
        let results = self.rt.block_on(self.publisher.publish_all(&alerts));
        for ((a, at), r) in batch.iter().zip(results) {
            match r {
                Ok(()) => self.published += 1,
                Err(e) => {
                    self.failed += 1;
                    let line = format!(
                        "rootwatch: error: alert not published ({at}, event {}): {e}",
                        a.event_id.as_deref().unwrap_or("-")
                    );
                    match progress {
                        Some(pb) => pb.println(line),
                        None => eprintln!("{line}"),
                    }
                }
            }
        }
    }
}
