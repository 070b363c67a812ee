//! The files of the paths a user gives: files as given, `-` for standard input, folders walked
//! recursively in file-name order, reading `*.json`, `*.jsonl`, `*.ndjson` and their `.gz`
//! forms, skipping CloudTrail digest files. A folder is walked again at each pass instead of
//! being held as a list, so memory does not grow with the number of files.

use crate::core::sanitize::{clean, MAX_FIELD};
use serde::Serialize;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// File names read when a directory is walked (each also with `.gz`).
pub const READ_EXTENSIONS: &[&str] = &[".json", ".jsonl", ".ndjson"];
/// CloudTrail digest files sit beside the logs in S3 and hold no records.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html>
pub const DIGEST_MARKER: &str = "CloudTrail-Digest";

/// An input (or part of one) that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
pub struct InputError {
    pub file: String,
    /// 0-based record index within the file, when the error concerns one record.
    pub index: Option<u64>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}: record {i}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// One input to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    File(PathBuf),
    Stdin,
    /// Bytes already read (standard input, kept for the second pass).
    Memory(String, Vec<u8>),
    /// A file read under another name: an S3 object downloaded as stored, named by its URL.
    Spooled(String, PathBuf),
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => clean(&p.display().to_string(), 4 * MAX_FIELD),
            Source::Stdin => "<stdin>".into(),
            Source::Memory(name, _) | Source::Spooled(name, _) => name.clone(),
        }
    }
}

/// The inputs of a replay, in order: sources given one by one, and directories. A directory is
/// walked again by each pass instead of being held as a list of files, so memory does not grow
/// with the number of files (only with the entries of the directories being walked).
#[derive(Debug, Default)]
pub struct Inputs {
    parts: Vec<Part>,
    /// Inputs counted when planned (progress).
    total: usize,
}

#[derive(Debug)]
enum Part {
    One(Source),
    Dir(PathBuf),
}

/// What a directory walk finds.
pub enum Walked {
    File(PathBuf),
    Digest,
    Other,
    Error(InputError),
}

/// Walks `dir` recursively in file-name order (each directory's entries are read and sorted
/// when it is entered, and dropped when it is left).
pub fn walk(dir: &Path) -> impl Iterator<Item = Walked> + Send + '_ {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let file = e.path().unwrap_or(dir).display().to_string();
                    return Some(Walked::Error(InputError {
                        file: clean(&file, 4 * MAX_FIELD),
                        index: None,
                        message: e.to_string(),
                    }));
                }
            };
            if entry.file_type().is_dir() {
                return None;
            }
            let name = entry.file_name().to_string_lossy();
            Some(if name.contains(DIGEST_MARKER) {
                Walked::Digest
            } else if is_readable_name(&name) {
                Walked::File(entry.into_path())
            } else {
                Walked::Other
            })
        })
}

/// The sources of [`Inputs::iter`]: given ones borrowed, walked files owned.
pub type SourceRef<'a> = std::borrow::Cow<'a, Source>;

impl Inputs {
    /// Adds one source.
    pub fn push(&mut self, source: Source) {
        self.total += 1;
        self.parts.push(Part::One(source));
    }

    /// Adds the inputs of another plan, after these.
    pub fn extend(&mut self, other: Inputs) {
        self.total += other.total;
        self.parts.extend(other.parts);
    }

    /// Inputs counted when planned.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Every source in order. Directories are walked anew: errors met there were reported by
    /// [`plan`]; a walk that meets one now skips it.
    pub fn iter(&self) -> impl Iterator<Item = SourceRef<'_>> + Send + '_ {
        self.parts.iter().flat_map(|part| {
            let it: Box<dyn Iterator<Item = SourceRef<'_>> + Send + '_> = match part {
                Part::One(s) => Box::new(std::iter::once(SourceRef::Borrowed(s))),
                Part::Dir(dir) => Box::new(walk(dir).filter_map(|w| match w {
                    Walked::File(p) => Some(SourceRef::Owned(Source::File(p))),
                    _ => None,
                })),
            };
            it
        })
    }
}

impl Inputs {
    /// The sources given one by one (not the files of folders), to replace standard input by
    /// its bytes before the passes.
    pub fn given_mut(&mut self) -> impl Iterator<Item = &mut Source> {
        self.parts.iter_mut().filter_map(|p| match p {
            Part::One(s) => Some(s),
            Part::Dir(_) => None,
        })
    }

    /// Adds a folder: walks it once now to count its files, handing `seen` what it finds
    /// (`Err` from `seen` stops the walk); the passes walk it again.
    pub fn push_dir(
        &mut self,
        dir: &Path,
        mut seen: impl FnMut(Walked) -> io::Result<()>,
    ) -> io::Result<()> {
        for w in walk(dir) {
            if let Walked::File(_) = w {
                self.total += 1;
            }
            seen(w)?;
        }
        self.parts.push(Part::Dir(dir.to_path_buf()));
        Ok(())
    }
}

/// `true` for `*.json`, `*.jsonl`, `*.ndjson` and their `.gz` forms.
pub fn is_readable_name(name: &str) -> bool {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    READ_EXTENSIONS.iter().any(|e| base.ends_with(e))
}

pub fn is_lines_name(name: &str) -> bool {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    base.ends_with(".jsonl") || base.ends_with(".ndjson")
}

/// The file name of a path, for deciding how to read it.
pub fn path_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
