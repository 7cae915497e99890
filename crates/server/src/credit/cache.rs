//! Each entity's credit records, kept in memory between requests: the
//! provider page reads them on every view, they change rarely. Entries are
//! evicted from the change feed (every credit write records an `entity`
//! change), so this process sees its own writes at once and other processes'
//! writes as soon as its follower wakes, like the search index.

use super::CreditRecord;
use crate::storage::Db;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entities kept; when full the cache starts over (simple and bounded).
const CAPACITY: usize = 20_000;

#[derive(Default)]
pub struct CreditCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    records: HashMap<i64, Arc<Vec<CreditRecord>>>,
    /// The last change-feed sequence applied; `None` until first synchronised.
    seen: Option<i64>,
}

impl CreditCache {
    pub async fn records(&self, db: &Db, entity_id: i64) -> anyhow::Result<Arc<Vec<CreditRecord>>> {
        if let Some(hit) = self.lock().records.get(&entity_id) {
            return Ok(hit.clone());
        }
        // Keep what was read only if no change was applied meanwhile: a write
        // that committed before the read is evicted later by `follow`, but one
        // that `follow` applied during the read could otherwise be undone.
        let before = self.lock().seen;
        let mut conn = db.pool().acquire().await?;
        let records = Arc::new(super::store::records_of_entity(&mut conn, entity_id).await?);
        let mut inner = self.lock();
        if before.is_some() && inner.seen == before {
            if inner.records.len() >= CAPACITY {
                inner.records.clear();
            }
            inner.records.insert(entity_id, records.clone());
        }
        Ok(records)
    }

    /// Evicts the entities changed since the last call.
    pub async fn follow(&self, db: &Db) -> anyhow::Result<()> {
        let seen = self.lock().seen;
        let Some(seen) = seen else {
            let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
                .fetch_one(db.pool())
                .await?;
            let mut inner = self.lock();
            inner.records.clear();
            inner.seen = Some(max);
            return Ok(());
        };
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT seq, object_type, object_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
        )
        .bind(seen)
        .fetch_all(db.pool())
        .await?;
        let mut inner = self.lock();
        for (seq, kind, id) in rows {
            if kind == "entity" {
                inner.records.remove(&id);
            }
            inner.seen = Some(seq);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
