//! What the public pages show of the registry, as kept in memory between
//! requests by [`crate::page_cache`]: the one-stop view of an entity
//! (registration and outlets) and an outlet with its reviews.

use super::api::EntityWithOutlets;
use super::{Outlet, store};
use crate::error::{AppError, AppResult};
use crate::page_cache::Keyed;
use crate::reviews::store::{ReviewView, Totals};
use crate::storage::Db;
use lifeservice_domain::CreditCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Codes remembered; when full the map starts over.
const CODES: usize = 200_000;

#[derive(Default)]
pub struct EntityViews {
    /// Entity id of each credit code seen: an entity keeps its code and id.
    ids: Mutex<HashMap<String, i64>>,
    views: Keyed<EntityWithOutlets>,
}

impl EntityViews {
    pub async fn load(&self, db: &Db, code: &CreditCode) -> AppResult<Arc<EntityWithOutlets>> {
        let not_registered =
            || AppError::not_found(format!("统一社会信用代码为{code}的市场主体未登记"));
        let known = self.codes().get(code.as_str()).copied();
        let id = match known {
            Some(id) => id,
            None => {
                let mut conn = db.pool().acquire().await?;
                let id = store::entity_id_of_code(&mut conn, code.as_str())
                    .await?
                    .ok_or_else(not_registered)?;
                let mut codes = self.codes();
                if codes.len() >= CODES {
                    codes.clear();
                }
                codes.insert(code.as_str().to_string(), id);
                id
            }
        };
        self.views
            .get_or_load(id, || async {
                let mut conn = db.pool().acquire().await?;
                let entity = store::entities_by_ids(&mut conn, &[id])
                    .await?
                    .pop()
                    .ok_or_else(not_registered)?;
                let ids = store::outlet_ids_of_entity(&mut conn, id).await?;
                let outlets = store::outlets_by_ids(&mut conn, &ids).await?;
                Ok(EntityWithOutlets {
                    entity: entity.public(),
                    outlets: outlets.into_iter().map(Outlet::public).collect(),
                })
            })
            .await
    }

    /// The views by entity id, for the follower to evict.
    pub(crate) fn cache(&self) -> &Keyed<EntityWithOutlets> {
        &self.views
    }

    fn codes(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reviews an outlet's page lists, newest first.
pub const LATEST_REVIEWS: i64 = 10;

/// An outlet as its public page shows it: the outlet, the running totals of
/// its reviews (its score also needs the service type's, kept apart since
/// every rating of the type moves it) and its latest published reviews.
pub struct OutletView {
    pub outlet: Outlet,
    pub totals: Totals,
    pub latest: Vec<ReviewView>,
}

pub async fn load_outlet_view(db: &Db, id: i64) -> AppResult<OutletView> {
    let outlet = {
        let mut conn = db.pool().acquire().await?;
        store::outlets_by_ids(&mut conn, &[id]).await?.pop()
    }
    .ok_or_else(|| AppError::not_found(format!("服务网点{id}不存在")))?;
    let totals = crate::reviews::store::totals_for_keys(db, "outlet", &[id.to_string()])
        .await?
        .remove(&id.to_string())
        .unwrap_or_default();
    let latest = crate::reviews::store::published_reviews(db, id, 0, LATEST_REVIEWS).await?;
    Ok(OutletView {
        outlet: outlet.public(),
        totals,
        latest,
    })
}
