//! The registry: market entities (市场主体) and their outlets (服务网点).
//!
//! - [`fields`]: turning raw rows (import files, API bodies) into validated inputs
//! - [`import`]: CSV/XLSX import with per-row rejects
//! - [`store`]: the SQL, batched upserts that record changes for the index
//! - [`views`]: the one-stop view of an entity, kept in memory between requests
//! - [`api`]: the JSON API

pub mod api;
pub mod export;
pub mod fields;
pub mod import;
pub mod store;
pub mod views;

use lifeservice_domain::{
    Coordinates, CreditCode, DesignationKind, DivisionCode, EntityKind, EntityStatus, OutletStatus,
    ServiceType, privacy,
};
use serde::Serialize;
use utoipa::ToSchema;

/// A validated entity, ready to store.
#[derive(Debug, Clone)]
pub struct EntityInput {
    pub credit_code: CreditCode,
    pub name: String,
    pub kind: EntityKind,
    pub legal_rep: Option<String>,
    pub division: DivisionCode,
    pub established: Option<chrono::NaiveDate>,
    /// 注销、吊销或迁出日期, for an entity that has left the register.
    pub closed_on: Option<chrono::NaiveDate>,
    pub status: EntityStatus,
    pub phone: Option<String>,
}

/// A validated outlet, ready to store.
#[derive(Debug, Clone)]
pub struct OutletInput {
    pub entity: CreditCode,
    /// Lets an outlet file register a missing entity in the same pass.
    pub entity_name: Option<String>,
    pub name: String,
    pub service_type: ServiceType,
    pub address: String,
    /// The lowest known division: the community where given, else the county.
    pub division: DivisionCode,
    pub county: DivisionCode,
    pub location: Coordinates,
    pub phone: Option<String>,
    pub hours: Option<String>,
    /// 开业日期; the day it entered the registry where not given.
    pub opened_on: Option<chrono::NaiveDate>,
    pub status: OutletStatus,
    /// 关闭日期, only for a closed outlet; where a file closes an operating
    /// outlet without one, the day of the import.
    pub closed_on: Option<chrono::NaiveDate>,
    pub designation: Option<DesignationInput>,
}

#[derive(Debug, Clone)]
pub struct DesignationInput {
    pub kind: DesignationKind,
    pub grade: Option<String>,
    pub granted_by: String,
    pub granted_on: Option<chrono::NaiveDate>,
}

/// An entity as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entity {
    pub id: i64,
    pub credit_code: String,
    pub name: String,
    pub kind: String,
    pub kind_zh: String,
    pub legal_rep: Option<String>,
    pub division_code: String,
    pub established: Option<String>,
    pub closed_on: Option<String>,
    pub status: String,
    pub status_zh: String,
    pub phone: Option<String>,
    pub synthetic: bool,
    pub updated_at: String,
}

/// An outlet as stored, with its entity's name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outlet {
    pub id: i64,
    pub entity_id: i64,
    pub entity_code: String,
    pub entity_name: String,
    #[serde(skip)]
    pub entity_kind: String,
    pub name: String,
    pub service_type: String,
    pub service_type_zh: String,
    pub major_category: String,
    pub division_code: String,
    pub county_code: String,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    pub phone: Option<String>,
    pub hours: Option<String>,
    /// 开业日期, where known.
    pub opened_on: Option<String>,
    pub status: String,
    /// 关闭日期 of a closed outlet, where known.
    pub closed_on: Option<String>,
    pub synthetic: bool,
    pub designations: Vec<Designation>,
    /// Distance from the `near` point of a search, in metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// The quality index (好差评), filled by `reviews` where shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<crate::reviews::store::Quality>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Designation {
    pub kind: String,
    pub kind_zh: String,
    pub grade: Option<String>,
    pub granted_by: String,
    pub granted_on: Option<String>,
}

impl Entity {
    /// The public view: a natural person's name and phone are masked (PIPL).
    pub fn public(mut self) -> Self {
        if EntityKind::parse(&self.kind).is_some_and(EntityKind::is_natural_person) {
            self.legal_rep = self.legal_rep.map(|n| privacy::mask_person_name(&n));
            self.phone = self.phone.map(|p| privacy::mask_phone(&p));
        }
        self
    }
}

impl Outlet {
    /// The public view: an individual business's mobile number is the owner's own.
    pub fn public(mut self) -> Self {
        if EntityKind::parse(&self.entity_kind).is_some_and(EntityKind::is_natural_person) {
            self.phone = self.phone.map(|p| {
                if privacy::contains_personal_number(&p) {
                    privacy::mask_phone(&p)
                } else {
                    p
                }
            });
        }
        self
    }
}
