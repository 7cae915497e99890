//! What the public pages read per entity or outlet, kept in memory between
//! requests: the provider page's registration, outlets and credit records,
//! and the outlet page's outlet, review totals and latest reviews. Each is
//! read on every view and changes rarely. Entries are evicted from the two
//! change feeds (`changes` for the registry and credit, `review_changes` for
//! reviews), so this process sees its own writes at once (writes refresh it
//! before answering) and other processes' writes as soon as its follower
//! wakes, like the search index; the database is read again only for what
//! changed. A warm page reads nothing from the database, so app servers added
//! behind a balancer add capacity instead of load on the shared database.

use crate::credit::CreditRecord;
use crate::error::AppResult;
use crate::registry::views::{EntityViews, OutletView};
use crate::reviews::store::Totals;
use crate::storage::Db;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Entries kept per cache; when full the cache starts over (simple and bounded).
const CAPACITY: usize = 20_000;

/// Feed rows read per query while catching up.
const FEED_ROWS: i64 = 10_000;

#[derive(Default)]
pub struct PageCache {
    /// Each entity's credit records, by entity id.
    pub credit: Keyed<Vec<CreditRecord>>,
    /// Each entity's registration and outlets, by credit code.
    pub entities: EntityViews,
    /// Each outlet's page data, by outlet id.
    outlets: Keyed<OutletView>,
    /// The running totals of every service type (the score's prior), one entry.
    type_totals: Keyed<HashMap<String, Totals>>,
    /// Where this process stands in each feed; `None` until first synchronised.
    cursor: tokio::sync::Mutex<Option<Cursor>>,
}

struct Cursor {
    changes: i64,
    reviews: i64,
}

impl PageCache {
    pub async fn outlet(&self, db: &Db, id: i64) -> AppResult<Arc<OutletView>> {
        self.outlets
            .get_or_load(id, || crate::registry::views::load_outlet_view(db, id))
            .await
    }

    pub async fn type_totals(&self, db: &Db) -> AppResult<Arc<HashMap<String, Totals>>> {
        self.type_totals
            .get_or_load(0, || crate::reviews::store::totals_of_scope(db, "type"))
            .await
    }

    /// Evicts what changed since the last call, reading each feed once for
    /// every cache here.
    pub async fn follow(&self, db: &Db) -> anyhow::Result<()> {
        let mut cursor = self.cursor.lock().await;
        let Some(at) = cursor.as_mut() else {
            let last = |feed: &str| format!("SELECT COALESCE(MAX(seq), 0) FROM {feed}");
            let changes = sqlx::query_scalar(&last("changes"))
                .fetch_one(db.pool())
                .await?;
            let reviews = sqlx::query_scalar(&last("review_changes"))
                .fetch_one(db.pool())
                .await?;
            self.credit.start();
            self.entities.cache().start();
            self.outlets.start();
            self.type_totals.start();
            *cursor = Some(Cursor { changes, reviews });
            return Ok(());
        };
        while self.follow_registry(db, &mut at.changes).await? {}
        while self.follow_reviews(db, &mut at.reviews).await? {}
        Ok(())
    }

    /// Applies one batch of `changes`; true if there may be more.
    async fn follow_registry(&self, db: &Db, seen: &mut i64) -> anyhow::Result<bool> {
        let rows = crate::registry::store::changes_after(db, *seen, FEED_ROWS).await?;
        let Some(&(last, _, _)) = rows.last() else {
            return Ok(false);
        };
        let (mut entities, mut outlets) = (HashSet::new(), Vec::new());
        for (_, kind, id) in &rows {
            match kind.as_str() {
                "entity" => {
                    entities.insert(*id);
                }
                "outlet" => outlets.push(*id),
                _ => {}
            }
        }
        let mut owners = entities.clone();
        if !outlets.is_empty() {
            let mut conn = db.pool().acquire().await?;
            owners.extend(crate::registry::store::entities_of_outlets(&mut conn, &outlets).await?);
        }
        // Credit writes record their entity; an outlet change leaves its
        // owner's credit records as they were.
        self.credit.evict(entities.iter().copied());
        self.entities.cache().evict(owners.iter().copied());
        self.outlets.evict(outlets.iter().copied());
        if !entities.is_empty() {
            // An outlet's page shows its entity's name.
            self.outlets
                .evict_where(|view| entities.contains(&view.outlet.entity_id));
        }
        *seen = last;
        Ok(rows.len() as i64 == FEED_ROWS)
    }

    /// Applies one batch of `review_changes`; true if there may be more.
    async fn follow_reviews(&self, db: &Db, seen: &mut i64) -> anyhow::Result<bool> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, outlet_id FROM review_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(*seen)
        .bind(FEED_ROWS)
        .fetch_all(db.pool())
        .await?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(false);
        };
        self.outlets.evict(rows.iter().map(|&(_, outlet)| outlet));
        // Every rating moves its service type's mean, the prior of its scores.
        self.type_totals.evict([0]);
        *seen = last;
        Ok(rows.len() as i64 == FEED_ROWS)
    }
}

/// Values by id, read on a miss and evicted by the feed follower.
pub struct Keyed<V> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    values: HashMap<i64, Arc<V>>,
    /// Moves on every eviction: a value read while one happened is not kept.
    generation: u64,
    /// Nothing is kept until the follower has fixed where the feeds stand.
    started: bool,
}

impl<V> Default for Keyed<V> {
    fn default() -> Self {
        Keyed {
            inner: Mutex::new(Inner {
                values: HashMap::new(),
                generation: 0,
                started: false,
            }),
        }
    }
}

impl<V> Keyed<V> {
    /// The value of `id`, read by `load` unless kept.
    pub async fn get_or_load<E, F>(&self, id: i64, load: impl FnOnce() -> F) -> Result<Arc<V>, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        let before = {
            let inner = self.lock();
            if let Some(hit) = inner.values.get(&id) {
                return Ok(hit.clone());
            }
            inner.generation
        };
        // Keep what was read only if nothing was evicted meanwhile: a write
        // that committed before the read is evicted later by the follower,
        // but one evicted during the read could otherwise be undone.
        let value = Arc::new(load().await?);
        let mut inner = self.lock();
        if inner.started && inner.generation == before {
            if inner.values.len() >= CAPACITY {
                inner.values.clear();
            }
            inner.values.insert(id, value.clone());
        }
        Ok(value)
    }

    pub fn evict(&self, ids: impl IntoIterator<Item = i64>) {
        let mut inner = self.lock();
        inner.generation += 1;
        for id in ids {
            inner.values.remove(&id);
        }
    }

    fn evict_where(&self, stale: impl Fn(&V) -> bool) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.values.retain(|_, value| !stale(value));
    }

    /// Drops everything and starts keeping values (the feeds' positions are fixed).
    fn start(&self) {
        let mut inner = self.lock();
        inner.values.clear();
        inner.generation += 1;
        inner.started = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(cache: &Keyed<u32>, id: i64, value: u32) -> u32 {
        *cache
            .get_or_load(id, || async { Ok::<_, ()>(value) })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn keeps_values_only_once_started_and_until_evicted() {
        let cache = Keyed::default();
        assert_eq!(read(&cache, 1, 10).await, 10);
        assert_eq!(read(&cache, 1, 11).await, 11, "not started: nothing kept");
        cache.start();
        assert_eq!(read(&cache, 1, 12).await, 12);
        assert_eq!(read(&cache, 1, 13).await, 12, "kept");
        cache.evict([1]);
        assert_eq!(read(&cache, 1, 14).await, 14);
        cache.evict_where(|v| *v == 14);
        assert_eq!(read(&cache, 1, 15).await, 15);
    }

    #[tokio::test]
    async fn a_value_read_during_an_eviction_is_not_kept() {
        let cache = Keyed::default();
        cache.start();
        let value = cache
            .get_or_load(1, || async {
                cache.evict([2]);
                Ok::<_, ()>(20)
            })
            .await
            .unwrap();
        assert_eq!(*value, 20);
        assert_eq!(read(&cache, 1, 21).await, 21, "the stale read was dropped");
    }
}
