//! Values read from one market entity's rows (its credit records, its
//! registration and outlets), kept in memory between requests: the provider
//! page reads them on every view and they change rarely. Entries are evicted
//! from the change feed, so this process sees its own writes at once (writes
//! refresh it before answering) and other processes' writes as soon as its
//! follower wakes, like the search index; the database is read again only
//! for what changed.

use crate::storage::Db;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Entities kept; when full the cache starts over (simple and bounded).
const CAPACITY: usize = 20_000;

pub struct EntityCache<V> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    values: HashMap<i64, Arc<V>>,
    /// The last change-feed sequence applied; `None` until first synchronised.
    seen: Option<i64>,
}

impl<V> Default for EntityCache<V> {
    fn default() -> Self {
        EntityCache {
            inner: Mutex::new(Inner {
                values: HashMap::new(),
                seen: None,
            }),
        }
    }
}

impl<V> EntityCache<V> {
    /// The entity's value, read by `load` unless kept.
    pub async fn get_or_load<E, F>(
        &self,
        entity_id: i64,
        load: impl FnOnce() -> F,
    ) -> Result<Arc<V>, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        if let Some(hit) = self.lock().values.get(&entity_id) {
            return Ok(hit.clone());
        }
        // Keep what was read only if no change was applied meanwhile: a write
        // that committed before the read is evicted later by `follow`, but one
        // that `follow` applied during the read could otherwise be undone.
        let before = self.lock().seen;
        let value = Arc::new(load().await?);
        let mut inner = self.lock();
        if before.is_some() && inner.seen == before {
            if inner.values.len() >= CAPACITY {
                inner.values.clear();
            }
            inner.values.insert(entity_id, value.clone());
        }
        Ok(value)
    }

    /// Evicts the entities changed since the last call: those the feed names,
    /// and the owners of the outlets it names.
    pub async fn follow(&self, db: &Db) -> anyhow::Result<()> {
        let seen = self.lock().seen;
        let Some(seen) = seen else {
            let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
                .fetch_one(db.pool())
                .await?;
            let mut inner = self.lock();
            inner.values.clear();
            inner.seen = Some(max);
            return Ok(());
        };
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT seq, object_type, object_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
        )
        .bind(seen)
        .fetch_all(db.pool())
        .await?;
        let Some(&(last, _, _)) = rows.last() else {
            return Ok(());
        };
        let outlets: Vec<i64> = rows
            .iter()
            .filter(|(_, kind, _)| kind == "outlet")
            .map(|&(_, _, id)| id)
            .collect();
        let mut changed = if outlets.is_empty() {
            Vec::new()
        } else {
            let mut conn = db.pool().acquire().await?;
            crate::registry::store::entities_of_outlets(&mut conn, &outlets).await?
        };
        changed.extend(
            rows.iter()
                .filter(|(_, kind, _)| kind == "entity")
                .map(|&(_, _, id)| id),
        );
        let mut inner = self.lock();
        for id in changed {
            inner.values.remove(&id);
        }
        inner.seen = Some(last);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
