//! Credit disclosure (信用信息归集公示): licences, penalties, inspection
//! results, listings and pledges recorded under each entity's name by the
//! department that produced them (谁产生、谁提供、谁负责).
//!
//! - [`fields`]: the 双公示 data items and row parsing
//! - [`import`]: CSV/XLSX import with per-row rejects, the exchange format
//! - [`store`]: the SQL
//! - [`demo`]: synthetic records for the demo and benchmarks
//! - [`profile`]: the one-stop credit profile and the public/officer views
//! - [`repair`]: credit repair applications and decisions
//! - [`api`], [`pages`]: the JSON API and the portal and officer pages

pub mod api;
pub mod demo;
pub mod fields;
pub mod import;
pub mod pages;
pub mod profile;
pub mod repair;
pub mod store;

use lifeservice_domain::credit::RecordKind;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    Active,
    /// Withdrawn by its source department.
    Withdrawn,
    /// Publication ended by an approved credit repair.
    Repaired,
}

impl RecordState {
    pub fn code(self) -> &'static str {
        match self {
            RecordState::Active => "active",
            RecordState::Withdrawn => "withdrawn",
            RecordState::Repaired => "repaired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RecordState::Active,
            RecordState::Withdrawn,
            RecordState::Repaired,
        ]
        .into_iter()
        .find(|v| v.code() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            RecordState::Active => "有效",
            RecordState::Withdrawn => "已撤回",
            RecordState::Repaired => "已信用修复",
        }
    }
}

/// A record as stored. `fields` holds every 双公示 item under its
/// snake_case key; dates are ISO, 长期 is written as such.
#[derive(Debug, Clone, Serialize)]
pub struct CreditRecord {
    pub id: i64,
    #[serde(serialize_with = "kind_code")]
    pub kind: RecordKind,
    #[serde(skip)]
    pub doc_no: String,
    #[serde(skip)]
    pub entity_id: Option<i64>,
    #[serde(skip)]
    pub subject_category: String,
    #[serde(skip)]
    pub credit_code: Option<String>,
    #[serde(rename = "source_department_code")]
    pub source_code: String,
    #[serde(rename = "source_department")]
    pub source_name: String,
    /// The submitting account: officers only.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub submitted_by: String,
    #[serde(skip)]
    pub decision_date: Option<String>,
    #[serde(skip)]
    pub valid_from: Option<String>,
    #[serde(skip)]
    pub valid_until: Option<String>,
    #[serde(skip)]
    pub publish_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repairable_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub state: RecordState,
    pub version: i64,
    #[serde(flatten)]
    pub fields: BTreeMap<String, String>,
    pub updated_at: String,
}

fn kind_code<S: serde::Serializer>(kind: &RecordKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.code())
}

impl CreditRecord {
    /// Is the record public on `today` (an ISO date)? Withdrawn and repaired
    /// records never are; a penalty only inside its window; a listing only
    /// while the entity is on the list.
    pub fn is_public(&self, today: &str) -> bool {
        if self.state != RecordState::Active {
            return false;
        }
        match self.kind {
            RecordKind::Penalty => self.publish_until.as_deref().is_some_and(|u| u >= today),
            RecordKind::Listing => self.valid_until.as_deref().is_none_or(|u| u > today),
            _ => true,
        }
    }

    /// What the record says, in one line, as the provider page shows it.
    pub fn content_line(&self) -> String {
        let get = |k: &str| self.fields.get(k).map_or("", String::as_str);
        match self.kind {
            RecordKind::Licence => format!("{}：{}", get("decision_title"), get("content")),
            RecordKind::Penalty => format!("{}；{}", get("violation_type"), get("content")),
            RecordKind::Inspection => format!("{}：{}", get("items"), get("result")),
            RecordKind::Listing => format!("{}：{}", get("list_kind"), get("reason")),
            RecordKind::Pledge => format!("{}：{}", get("pledge_type"), get("content")),
        }
    }

    fn is_person(&self) -> bool {
        self.subject_category != "organisation"
    }

    /// The public view: ID numbers always masked; a person's name masked
    /// where it names the legal representative; the submitting account hidden.
    pub fn public(mut self) -> Self {
        use lifeservice_domain::privacy;
        if let Some(id) = self.fields.get_mut("id_number") {
            *id = privacy::mask_id_number(id);
        }
        if self.is_person()
            && let Some(name) = self.fields.get_mut("legal_rep")
        {
            *name = privacy::mask_person_name(name);
        }
        self.submitted_by.clear();
        self
    }
}
