//! The one-stop view of an entity (registration and outlets, as the public
//! sees them), kept in memory between requests and evicted from the change
//! feed ([`EntityCache`]): with it the provider page reads nothing from the
//! database once warm, so app servers added behind a balancer add capacity
//! instead of load on the shared database.

use super::api::EntityWithOutlets;
use super::{Outlet, store};
use crate::entity_cache::EntityCache;
use crate::error::{AppError, AppResult};
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
    views: EntityCache<EntityWithOutlets>,
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

    pub async fn follow(&self, db: &Db) -> anyhow::Result<()> {
        self.views.follow(db).await
    }

    fn codes(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }
}
