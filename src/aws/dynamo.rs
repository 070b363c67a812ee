//! [`SessionStore`] on a DynamoDB table (`SESSIONS_TABLE`), shared by every instance of the
//! function. One table, partition key `pk` (string), TTL attribute `expires_at`:
//!
//! | item | `pk` | `expires_at` (TTL) |
//! |---|---|---|
//! | a tracked session | `session#<access key id>` | the credentials' expiry |
//! | an alert claim | `event#<eventID>` | claim time + 2 days |
//! | a pattern rule's window set (`note`, `fire`) | `pattern#…` (account, address) | its last entry + the window |
//! | a caller seen (`first`) | `pattern#caller#…` | its last call + the memory (90 days) |
//!
//! One session item per key: a key reused after expiry replaces the older issue (a conditional
//! put keeps the later one whatever the arrival order).

use crate::aws::store::{
    Claim, SessionStore, StoreError, Window, CLAIM_LEASE_SECONDS, DEDUP_TTL_SECONDS,
};
use crate::core::model::PrincipalClass;
use crate::core::session::{Issuer, Session};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

/// Items in one `BatchWriteItem` call (the API's limit).
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>
pub const BATCH_WRITE_LIMIT: usize = 25;
/// Rounds of resending unprocessed items before the save counts as failed.
pub const UNPROCESSED_ROUNDS: u32 = 4;

/// The partition key attribute.
pub const PK: &str = "pk";
/// DynamoDB deletes an item some time after the epoch-seconds number in its TTL attribute.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html>
pub const TTL_ATTRIBUTE: &str = "expires_at";

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub client: Client,
    pub table: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn put_opt(item: &mut Item, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        item.insert(name.to_owned(), s(v));
    }
}

fn get_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// The item of a session.
pub fn session_item(x: &Session) -> Item {
    let mut item = Item::new();
    item.insert(PK.into(), s(&format!("session#{}", x.key)));
    item.insert("key".into(), s(&x.key));
    item.insert("api".into(), s(&x.api));
    item.insert("issued_at".into(), n(x.issued_at));
    item.insert(TTL_ATTRIBUTE.into(), n(x.expires_at));
    put_opt(&mut item, "role_arn", &x.role_arn);
    put_opt(&mut item, "session_name", &x.session_name);
    put_opt(&mut item, "source_identity", &x.source_identity);
    put_opt(&mut item, "account", &x.account);
    put_opt(&mut item, "task_policy", &x.task_policy);
    put_opt(&mut item, "event_id", &x.event_id);
    put_opt(&mut item, "issuer_arn", &x.issuer.arn);
    put_opt(&mut item, "issuer_name", &x.issuer.name);
    put_opt(&mut item, "issuer_type", &x.issuer.kind);
    item.insert("issuer_class".into(), s(x.issuer.class.as_str()));
    put_opt(&mut item, "issuer_account", &x.issuer.account_id);
    put_opt(&mut item, "issuer_key", &x.issuer.access_key_id);
    item
}

/// A session from its item; `None` for an item that is not one (or is damaged).
pub fn session_from_item(item: &Item) -> Option<Session> {
    Some(Session {
        key: get_s(item, "key")?,
        api: get_s(item, "api")?,
        issued_at: get_n(item, "issued_at")?,
        expires_at: get_n(item, TTL_ATTRIBUTE)?,
        role_arn: get_s(item, "role_arn"),
        session_name: get_s(item, "session_name"),
        source_identity: get_s(item, "source_identity"),
        account: get_s(item, "account"),
        task_policy: get_s(item, "task_policy"),
        event_id: get_s(item, "event_id"),
        issuer: Issuer {
            arn: get_s(item, "issuer_arn"),
            name: get_s(item, "issuer_name"),
            kind: get_s(item, "issuer_type"),
            class: get_s(item, "issuer_class")
                .and_then(|c| c.parse().ok())
                .unwrap_or(PrincipalClass::Unknown),
            account_id: get_s(item, "issuer_account"),
            access_key_id: get_s(item, "issuer_key"),
        },
    })
}

/// A window set from its item: `entries` values are `time|value`.
fn window_of(item: Option<&Item>) -> Window {
    let Some(item) = item else {
        return Window::default();
    };
    let mut entries: Vec<(i64, String)> = match item.get("entries") {
        Some(AttributeValue::M(m)) => m
            .values()
            .filter_map(|v| match v {
                AttributeValue::S(e) => {
                    let (t, v) = e.split_once('|')?;
                    Some((t.parse().ok()?, v.to_owned()))
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    entries.sort();
    Window {
        entries,
        fired: get_n(item, "fired"),
    }
}

/// Whether a call failed its condition (`ConditionalCheckFailedException`): an answer, not an
/// error.
fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .is_some_and(|se| se.code() == Some("ConditionalCheckFailedException"))
}

/// One sentence saying what to do ([`crate::aws::errors::explain`]).
fn failed<E, R>(op: &'static str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    StoreError {
        op,
        message: crate::aws::errors::explain(&e, "DynamoDB"),
    }
}

/// A window set is pruned once it holds this many entries (an item holds at most 400 KB).
pub const PRUNE_ABOVE: usize = 200;

impl DynamoStore {
    /// Removes (best effort, up to 100 a call) the entries of a large set that are older than
    /// `before`: they can no longer count.
    async fn prune(&self, key: &str, item: Option<&Item>, before: i64) {
        let Some(AttributeValue::M(m)) = item.and_then(|i| i.get("entries")) else {
            return;
        };
        if m.len() <= PRUNE_ABOVE {
            return;
        }
        let old: Vec<&String> = m
            .iter()
            .filter(|(_, v)| match v {
                AttributeValue::S(e) => e
                    .split_once('|')
                    .and_then(|(t, _)| t.parse::<i64>().ok())
                    .is_some_and(|t| t < before),
                _ => true,
            })
            .map(|(k, _)| k)
            .take(100)
            .collect();
        if old.is_empty() {
            return;
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(key));
        let mut names = Vec::with_capacity(old.len());
        for (i, k) in old.iter().enumerate() {
            update = update.expression_attribute_names(format!("#o{i}"), k.as_str());
            names.push(format!("entries.#o{i}"));
        }
        let r = update
            .update_expression(format!("REMOVE {}", names.join(", ")))
            .send()
            .await;
        if let Err(e) = r {
            tracing::debug!(error = %DisplayErrorContext(e), "window set not pruned");
        }
    }
}

impl DynamoStore {
    /// The item `pk`, read consistently (a claim or a session written a moment ago by another
    /// instance must be seen).
    async fn read(&self, pk: String, op: &'static str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(&pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failed(op, e))?;
        Ok(out.item)
    }
}

impl SessionStore for DynamoStore {
    fn describe(&self) -> String {
        format!("dynamodb:{}", self.table)
    }

    async fn sessions(&self, key: &str) -> Result<Vec<Session>, StoreError> {
        let item = self.read(format!("session#{key}"), "GetItem").await?;
        Ok(item
            .as_ref()
            .and_then(session_from_item)
            .into_iter()
            .collect())
    }

    /// Audit snapshots are items `audit#KEY` with the snapshot as JSON in `snapshot`.
    async fn snapshot(&self, key: &str) -> Result<Option<String>, StoreError> {
        let item = self
            .read(format!("audit#{key}"), "GetItem (audit snapshot)")
            .await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("snapshot"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    async fn put_snapshot(&self, key: &str, value: &str, expires: i64) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(PK.into(), s(&format!("audit#{key}")));
        item.insert("snapshot".into(), s(value));
        item.insert(TTL_ATTRIBUTE.into(), n(expires));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("PutItem (audit snapshot)", e))
    }

    async fn save(&self, x: &Session) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(session_item(x)))
            .condition_expression("attribute_not_exists(pk) OR issued_at <= :issued")
            .expression_attribute_values(":issued", n(x.issued_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A later issue of the same key is already stored: keep it.
            Err(e) if conditional_failed(&e) => Ok(()),
            Err(e) => Err(failed("PutItem", e)),
        }
    }

    /// `BatchWriteItem`, [`BATCH_WRITE_LIMIT`] items a call, unprocessed items sent again (a few
    /// rounds, with a short back-off). A batch write cannot be conditional: a key reused after
    /// expiry may have its later issue replaced by an earlier one from a late log file, which
    /// [`SessionTracker`](crate::core::session::SessionTracker) tells apart by time anyway.
    /// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>
    async fn save_all(&self, sessions: &[Session]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in sessions.chunks(BATCH_WRITE_LIMIT) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|x| {
                    let put = PutRequest::builder()
                        .set_item(Some(session_item(x)))
                        .build()
                        .map_err(|e| StoreError {
                            op: "BatchWriteItem",
                            message: e.to_string(),
                        })?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, StoreError>>()?;
            let mut round = 0;
            while !requests.is_empty() {
                if round == UNPROCESSED_ROUNDS {
                    return Err(StoreError {
                        op: "BatchWriteItem",
                        message: format!(
                            "{} item(s) still unprocessed after {round} rounds",
                            requests.len()
                        ),
                    });
                }
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(self.table.clone(), requests)
                    .send()
                    .await
                    .map_err(|e| failed("BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                round += 1;
            }
        }
        Ok(())
    }

    /// One `UpdateItem` sets the entry in the item's `entries` map (atomic: instances add to the
    /// same set; an eventID already there is set again to the same value) and returns the whole
    /// item. The first entry creates the map with a conditional put.
    /// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html>
    async fn note(
        &self,
        key: &str,
        event_id: &str,
        time: i64,
        value: &str,
        expires: i64,
    ) -> Result<Window, StoreError> {
        let entry = s(&format!("{time}|{value}"));
        for _ in 0..3 {
            let updated = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(key))
                .update_expression("SET entries.#e = :v, #ttl = :exp")
                .condition_expression("attribute_exists(entries)")
                .expression_attribute_names("#e", event_id)
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":v", entry.clone())
                .expression_attribute_values(":exp", n(expires))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            match updated {
                Ok(out) => {
                    self.prune(key, out.attributes(), time - (expires - time))
                        .await;
                    return Ok(window_of(out.attributes()));
                }
                Err(e) if !conditional_failed(&e) => return Err(failed("UpdateItem (pattern)", e)),
                Err(_) => {}
            }
            let mut item = Item::new();
            item.insert(PK.into(), s(key));
            item.insert(
                "entries".into(),
                AttributeValue::M([(event_id.to_owned(), entry.clone())].into()),
            );
            item.insert(TTL_ATTRIBUTE.into(), n(expires));
            let created = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(entries)")
                .send()
                .await;
            match created {
                Ok(_) => return Ok(window_of(Some(&item))),
                // Another instance created it meanwhile: add to it.
                Err(e) if conditional_failed(&e) => {}
                Err(e) => return Err(failed("PutItem (pattern)", e)),
            }
        }
        Err(StoreError {
            op: "UpdateItem (pattern)",
            message: "the window set changed three times under this update".into(),
        })
    }

    /// A conditional update of `fired`: one instance wins a burst.
    async fn fire(&self, key: &str, t: i64, window: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(key))
            .update_expression("SET fired = :t")
            .condition_expression(
                "attribute_not_exists(fired) OR fired <= :before OR fired >= :after",
            )
            .expression_attribute_values(":t", n(t))
            .expression_attribute_values(":before", n(t - window))
            .expression_attribute_values(":after", n(t + window))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if conditional_failed(&e) => Ok(false),
            Err(e) => Err(failed("UpdateItem (fire)", e)),
        }
    }

    /// A conditional put: granted when the key is new or its last call is older than `memory`;
    /// otherwise the last call is moved forward.
    async fn first(&self, key: &str, t: i64, memory: i64) -> Result<bool, StoreError> {
        let mut item = Item::new();
        item.insert(PK.into(), s(key));
        item.insert("last".into(), n(t));
        item.insert(TTL_ATTRIBUTE.into(), n(t + memory));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #last < :since")
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":since", n(t - memory))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if conditional_failed(&e) => {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, s(key))
                    .update_expression("SET #last = :t, #ttl = :exp")
                    .condition_expression("#last < :t")
                    .expression_attribute_names("#last", "last")
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .expression_attribute_values(":t", n(t))
                    .expression_attribute_values(":exp", n(t + memory))
                    .send()
                    .await
                    .map(|_| ())
                    .or_else(|e| {
                        if conditional_failed(&e) {
                            Ok(())
                        } else {
                            Err(failed("UpdateItem (caller)", e))
                        }
                    })?;
                Ok(false)
            }
            Err(e) => Err(failed("PutItem (caller)", e)),
        }
    }

    async fn claim(&self, event_id: &str, now: i64) -> Result<Claim, StoreError> {
        let mut item = Item::new();
        item.insert(PK.into(), s(&format!("event#{event_id}")));
        item.insert("state".into(), s("pending"));
        item.insert("lease_until".into(), n(now + CLAIM_LEASE_SECONDS));
        item.insert(TTL_ATTRIBUTE.into(), n(now + DEDUP_TTL_SECONDS));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR #st = :failed OR (#st = :pending AND lease_until < :now)",
            )
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Granted),
            Err(e) if conditional_failed(&e) => {
                // Sent, or pending within its lease: which one decides between acknowledging
                // and retrying, so it is read back (consistently).
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key(PK, s(&format!("event#{event_id}")))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| failed("GetItem (claim)", e))?;
                Ok(
                    match out.item().and_then(|i| get_s(i, "state")).as_deref() {
                        Some("sent") => Claim::Duplicate,
                        // Pending (or settled as failed, or expired, since the put: try again later).
                        _ => Claim::Busy,
                    },
                )
            }
            Err(e) => Err(failed("PutItem (claim)", e)),
        }
    }

    async fn settle(&self, event_id: &str, published: bool, now: i64) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert(PK.into(), s(&format!("event#{event_id}")));
        item.insert("state".into(), s(if published { "sent" } else { "failed" }));
        item.insert(TTL_ATTRIBUTE.into(), n(now + DEDUP_TTL_SECONDS));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| failed("PutItem (settle)", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_round_trips_through_its_item() {
        let x = Session {
            key: "ASIA1".into(),
            api: "AssumeRoot".into(),
            issued_at: 100,
            expires_at: 1000,
            role_arn: None,
            session_name: Some("s".into()),
            source_identity: None,
            account: Some("444455556666".into()),
            task_policy: Some("arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy".into()),
            event_id: Some("e".into()),
            issuer: Issuer {
                arn: Some("arn:aws:sts::111122223333:assumed-role/R/bob".into()),
                name: None,
                kind: Some("AssumedRole".into()),
                class: PrincipalClass::SsoSession,
                account_id: Some("111122223333".into()),
                access_key_id: Some("ASIA0".into()),
            },
        };
        let item = session_item(&x);
        assert_eq!(
            item.get(TTL_ATTRIBUTE),
            Some(&AttributeValue::N("1000".into()))
        );
        assert_eq!(
            item.get(PK),
            Some(&AttributeValue::S("session#ASIA1".into()))
        );
        assert_eq!(session_from_item(&item), Some(x));
    }

    #[test]
    fn damaged_item_is_not_a_session() {
        let mut item = Item::new();
        item.insert("key".into(), s("ASIA1"));
        item.insert("issued_at".into(), s("not a number"));
        assert_eq!(session_from_item(&item), None);
    }
}
