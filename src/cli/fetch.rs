//! `s3://` paths: lists each prefix, keeps the log files in the date range, and downloads them as
//! stored into a temporary folder (the spool); the replay then reads those copies exactly as local
//! files.

use super::args::s3_url;
use crate::aws::s3::S3Objects;
use crate::input::s3_keys::{DayRange, ObjectRef, Selection};
use crate::replay::{InputError, Source};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

/// S3 objects downloaded for a replay, per path argument (by index).
pub(crate) struct Fetched {
    pub(crate) paths: std::collections::HashMap<usize, FetchedPath>,
    /// The downloads, removed when the replay is over.
    pub(crate) _spool: tempfile::TempDir,
}

#[derive(Default)]
pub(crate) struct FetchedPath {
    pub(crate) selection: Selection,
    /// The downloaded objects, named by their s3:// URLs, in listing (key) order.
    pub(crate) files: Vec<Source>,
    /// A listing or a download that failed.
    pub(crate) errors: Vec<InputError>,
}

/// Objects downloaded at once.
pub(crate) const DOWNLOADS_IN_FLIGHT: usize = 8;

/// Lists every s3:// path, keeps the log files in the date range, and downloads them as stored
/// into a temporary folder; the replay then reads those copies exactly as local files.
pub(crate) fn fetch(paths: &[PathBuf], range: &DayRange, draw: bool) -> Result<Fetched> {
    let spool = tempfile::Builder::new().prefix("rootwatch-s3-").tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut fetched = Fetched {
        paths: Default::default(),
        _spool: spool,
    };
    let dir = fetched._spool.path().to_path_buf();
    rt.block_on(async {
        let sdk = aws_config::load_from_env().await;
        let source = S3Objects {
            client: crate::aws::s3::client(&sdk),
        };
        // Listing.
        let mut wanted: Vec<(usize, ObjectRef, u64)> = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let Some(url) = s3_url(path) else { continue };
            let mut f = FetchedPath::default();
            match source.list(&url, range, &mut f.selection).await {
                Ok(listed) => {
                    let s = &f.selection;
                    eprintln!(
                        "rootwatch: {url}: {listed} object(s) listed: {} to read, {} digest and {} other file(s) skipped, {} outside --since/--until, {} without a date path",
                        s.selected.len(),
                        s.digests,
                        s.other,
                        s.outside,
                        s.undated
                    );
                }
                Err(e) => f.errors.push(InputError {
                    file: url.to_string(),
                    index: None,
                    message: format!("listing failed: {}", sentence(&e)),
                }),
            }
            for (key, size) in std::mem::take(&mut f.selection.selected) {
                wanted.push((i, ObjectRef::new(&url.bucket, &key), size));
            }
            fetched.paths.insert(i, f);
        }
        // Downloading, a few at once; results are put back in listing order.
        let pb = draw.then(|| {
            let pb = ProgressBar::with_draw_target(
                Some(wanted.len() as u64),
                ProgressDrawTarget::stderr(),
            );
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} objects downloaded  {msg}",
                )
                .expect("valid template"),
            );
            pb
        });
        let total_bytes: u64 = wanted.iter().map(|w| w.2).sum();
        let mut done_bytes = 0u64;
        let mut results: Vec<Option<Result<PathBuf, String>>> = vec![None; wanted.len()];
        let mut tasks = tokio::task::JoinSet::new();
        let mut next = 0;
        while next < wanted.len() || !tasks.is_empty() {
            while next < wanted.len() && tasks.len() < DOWNLOADS_IN_FLIGHT {
                let (_, obj, _) = &wanted[next];
                let suffix = if obj.key.ends_with(".gz") { ".json.gz" } else { ".json" };
                let file = dir.join(format!("{next:07}{suffix}"));
                let (source, obj, n) = (source.clone(), obj.clone(), next);
                tasks.spawn(async move {
                    let r = crate::aws::s3::download(&source, &obj, &file).await;
                    (n, r.map(|_| file).map_err(|e| sentence(&e).to_owned()))
                });
                next += 1;
            }
            if let Some(joined) = tasks.join_next().await {
                let (n, r) = joined.map_err(|e| anyhow::anyhow!("download task failed: {e}"))?;
                done_bytes += wanted[n].2;
                results[n] = Some(r);
                if let Some(pb) = &pb {
                    pb.inc(1);
                    pb.set_message(format!(
                        "{} of {} MB",
                        done_bytes / 1_000_000,
                        total_bytes / 1_000_000
                    ));
                }
            }
        }
        if let Some(pb) = &pb {
            pb.finish_and_clear();
        }
        for ((i, obj, _), r) in wanted.iter().zip(results) {
            let f = fetched.paths.entry(*i).or_default();
            match r {
                Some(Ok(file)) => f.files.push(Source::Spooled(obj.url(), file)),
                Some(Err(e)) => f.errors.push(InputError {
                    file: obj.url(),
                    index: None,
                    message: format!("download failed: {e}"),
                }),
                None => f.errors.push(InputError {
                    file: obj.url(),
                    index: None,
                    message: "not downloaded".into(),
                }),
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(fetched)
}

/// The error's sentence, without the function's retry note.
fn sentence(e: &crate::aws::s3::ObjectError) -> &str {
    use crate::aws::s3::ObjectError::*;
    match e {
        NotFound(t) | Denied(t) | Retryable(t) | Permanent(t) => t,
    }
}
