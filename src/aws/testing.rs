//! Hand-written fakes of the AWS calls, for tests only (feature `testing`, and `cfg(test)`):
//! an SNS publisher that keeps what it was given and fails on demand, and an S3 object source
//! served from memory in small chunks with errors on demand.

use crate::aws::s3::{Body, ObjectError, ObjectRef, ObjectSource};
use crate::aws::sns::{PublishError, Publisher};
use crate::core::alert::Alert;
use std::collections::HashMap;
use std::sync::Mutex;

/// A hand-written fake: keeps what was published; fails the calls it is told to.
#[derive(Debug, Default)]
pub struct FakePublisher {
    pub published: Mutex<Vec<Alert>>,
    /// Fail every call while set.
    pub failing: Mutex<Option<String>>,
    pub calls: Mutex<usize>,
}

impl FakePublisher {
    pub fn fail_with(&self, why: Option<&str>) {
        *self.failing.lock().unwrap() = why.map(str::to_owned);
    }
    pub fn published(&self) -> Vec<Alert> {
        self.published.lock().unwrap().clone()
    }
    pub fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
    fn one(&self, alert: &Alert) -> Result<(), PublishError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(why) = self.failing.lock().unwrap().clone() {
            return Err(PublishError(why));
        }
        self.published.lock().unwrap().push(alert.clone());
        Ok(())
    }
}

impl Publisher for FakePublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        self.one(alert)
    }
    async fn publish_all(&self, alerts: &[Alert]) -> Vec<Result<(), PublishError>> {
        alerts.iter().map(|a| self.one(a)).collect()
    }
}

type FakeKey = (String, String);

/// A hand-written fake: objects in memory, served in small chunks; errors on demand; every
/// request remembered.
#[derive(Debug, Default)]
pub struct FakeObjects {
    objects: Mutex<HashMap<FakeKey, Vec<u8>>>,
    /// `get` fails with this error.
    failing: Mutex<HashMap<FakeKey, ObjectError>>,
    /// The body fails with this error after this many bytes.
    broken: Mutex<HashMap<FakeKey, (usize, ObjectError)>>,
    gets: Mutex<Vec<String>>,
}

impl FakeObjects {
    /// Chunk size of the bodies served.
    pub const CHUNK: usize = 1000;

    pub fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) {
        lock(&self.objects).insert((bucket.into(), key.into()), bytes);
    }
    pub fn fail(&self, bucket: &str, key: &str, e: ObjectError) {
        lock(&self.failing).insert((bucket.into(), key.into()), e);
    }
    pub fn break_after(&self, bucket: &str, key: &str, bytes: usize, e: ObjectError) {
        lock(&self.broken).insert((bucket.into(), key.into()), (bytes, e));
    }
    /// Every `get` so far, as `bucket/key`.
    pub fn gets(&self) -> Vec<String> {
        lock(&self.gets).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ObjectSource for FakeObjects {
    async fn get(&self, obj: &ObjectRef) -> Result<Body, ObjectError> {
        let k = (obj.bucket.clone(), obj.key.clone());
        lock(&self.gets).push(format!("{}/{}", obj.bucket, obj.key));
        if let Some(e) = lock(&self.failing).get(&k) {
            return Err(e.clone());
        }
        let Some(bytes) = lock(&self.objects).get(&k).cloned() else {
            return Err(ObjectError::NotFound(format!("{}/{}", obj.bucket, obj.key)));
        };
        let broken = lock(&self.broken).get(&k).cloned();
        let mut chunks: Vec<Result<Vec<u8>, ObjectError>> = Vec::new();
        let mut sent = 0;
        for c in bytes.chunks(Self::CHUNK) {
            if let Some((limit, e)) = &broken {
                if sent + c.len() > *limit {
                    chunks.push(Ok(c[..limit - sent].to_vec()));
                    chunks.push(Err(e.clone()));
                    return Ok(Body::from_chunks(chunks));
                }
            }
            sent += c.len();
            chunks.push(Ok(c.to_vec()));
        }
        Ok(Body::from_chunks(chunks))
    }
}
