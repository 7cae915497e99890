//! 公共数据共享开放 (open data): the platform's public data as a data
//! resource catalogue at `/open-data`, each dataset downloadable as CSV
//! (UTF-8 with BOM), XLSX, JSON and, where records have a location, GeoJSON,
//! and pageable for bulk use through `/api/v1/open-data/{id}` with keyset
//! cursors.
//!
//! Personal information never leaves through here: every dataset is built
//! from the public views (`Outlet::public`, the credit profile's public
//! view), and every free-text cell passes through
//! `privacy::mask_personal_numbers` as a last line of defence.
//!
//! - [`catalogue`]: the datasets as data (fields, sources, licence)
//! - `outlets`, `credit`, `statistics`, `circle`, `plan`: each dataset's records and summary
//! - [`cursor`]: opaque cursors over each dataset's stable key
//! - [`export`]: the file formats, streamed page by page
//! - [`api`], [`pages`]: the JSON API and the portal pages with downloads

pub mod api;
pub mod catalogue;
mod circle;
mod credit;
pub mod cursor;
pub mod export;
mod outlets;
pub mod pages;
mod plan;
mod statistics;

use crate::app::AppState;
use crate::error::AppResult;
use axum::Router;
pub use catalogue::{DATASETS, Dataset, Field, FieldType};
use chrono::{DateTime, FixedOffset};
use lifeservice_domain::privacy;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn routes() -> Router<AppState> {
    Router::new().merge(api::routes()).merge(pages::routes())
}

/// Which code produces a dataset's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Outlets,
    Credit,
    Statistics,
    Circles,
    Plan,
}

/// One value of a record, typed so that XLSX gets numbers and JSON gets
/// numbers, booleans and nulls.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Bool(bool),
    Null,
}

impl Cell {
    /// Free text. Personal numbers in it are masked: departments write phone
    /// and ID numbers into addresses, names and decisions, and open data must
    /// not carry them whatever the field.
    pub fn text(s: impl AsRef<str>) -> Cell {
        Cell::Text(privacy::mask_personal_numbers(s.as_ref()))
    }

    /// Free text that may be missing or empty.
    pub fn opt_text(s: Option<impl AsRef<str>>) -> Cell {
        match s {
            Some(s) if !s.as_ref().trim().is_empty() => Cell::text(s),
            _ => Cell::Null,
        }
    }

    /// A value that cannot hold personal data: a code validated on the way
    /// in (credit, division, type codes), a date, or a name from the
    /// platform's own reference data. Kept whole: masking would corrupt it.
    pub fn code(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Null
        } else {
            Cell::Text(s)
        }
    }

    pub fn opt_code(s: Option<impl Into<String>>) -> Cell {
        s.map_or(Cell::Null, Cell::code)
    }

    /// A WGS-84 coordinate, to 6 decimals (about 0.1 m).
    pub fn coordinate(v: f64) -> Cell {
        Cell::Num((v * 1e6).round() / 1e6)
    }

    pub fn opt_num(v: Option<f64>) -> Cell {
        v.map_or(Cell::Null, Cell::Num)
    }

    pub fn to_json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(n) => Value::from(*n),
            Cell::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Null => Value::Null,
        }
    }

    /// The CSV form: booleans as 是/否 (what Excel users read), null as empty.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(n) => n.to_string(),
            Cell::Bool(true) => "是".into(),
            Cell::Bool(false) => "否".into(),
            Cell::Null => String::new(),
        }
    }
}

/// One record of a dataset: its cells in the order of the dataset's fields.
#[derive(Debug, Clone)]
pub struct Record {
    /// The stable key records are ordered by; a cursor encodes the last one seen.
    pub key: String,
    pub cells: Vec<Cell>,
    /// WGS-84 `(lon, lat)` for GeoJSON.
    pub point: Option<(f64, f64)>,
}

impl Record {
    /// The record as a JSON object keyed by field.
    pub fn to_json(&self, fields: &[Field]) -> Value {
        Value::Object(
            fields
                .iter()
                .zip(&self.cells)
                .map(|(f, c)| (f.key.to_string(), c.to_json()))
                .collect(),
        )
    }
}

/// Records after a key, and the key to continue from when more remain.
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<String>,
}

/// What the catalogue says about a dataset's current content.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub records: u64,
    /// The latest change of the data the dataset is made of.
    pub last_updated: Option<DateTime<FixedOffset>>,
    /// The departments (数据来源单位) the records actually come from.
    pub sources: Vec<String>,
}

impl Source {
    /// Up to `n` records after `after` (a key of this dataset), in key order.
    async fn fetch(
        self,
        state: &AppState,
        after: Option<&str>,
        n: usize,
    ) -> AppResult<Vec<Record>> {
        match self {
            Source::Outlets => outlets::fetch(state, after, n).await,
            Source::Credit => credit::fetch(state, after, n).await,
            Source::Statistics => statistics::fetch(state, after, n).await,
            Source::Circles => circle::fetch(state, after, n).await,
            Source::Plan => plan::fetch(state, after, n).await,
        }
    }

    async fn summary(self, state: &AppState) -> AppResult<Summary> {
        match self {
            Source::Outlets => outlets::summary(state).await,
            Source::Credit => credit::summary(state).await,
            Source::Statistics => statistics::summary(state).await,
            Source::Circles => circle::summary(state).await,
            Source::Plan => plan::summary(state).await,
        }
    }
}

/// Up to `limit` records of `dataset` after the key `after`; `next` is set
/// only when at least one more record follows, so the last page says so.
pub async fn page(
    state: &AppState,
    dataset: &Dataset,
    after: Option<&str>,
    limit: usize,
) -> AppResult<Page> {
    let mut records = dataset.source.fetch(state, after, limit + 1).await?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next = if more {
        records.last().map(|r| r.key.clone())
    } else {
        None
    };
    Ok(Page { records, next })
}

/// The dataset's summary, cached (see [`CACHE_TTL`]): counting the public
/// credit records reads every record, too much for each view of the catalogue.
pub async fn summary(state: &AppState, dataset: &Dataset) -> AppResult<Summary> {
    let seq = change_seq(state).await?;
    let mut cache = state.open_data.summaries.lock().await;
    if let Some(hit) = cache.get(dataset.id).filter(|c| c.is_fresh(seq)) {
        return Ok(hit.value.clone());
    }
    let value = dataset.source.summary(state).await?;
    cache.insert(dataset.id, Cached::new(seq, value.clone()));
    Ok(value)
}

/// A summary or table is reused while the change feed has not moved, for
/// at most a minute (plan reports and the date, which decides credit
/// windows, do not write to the feed) ...
const CACHE_TTL: Duration = Duration::from_secs(60);
/// ... and after a change still for a few seconds, so that a stream of
/// writes does not make every view of the catalogue recount the credit records.
const CACHE_MIN_AGE: Duration = Duration::from_secs(10);

/// Summaries and computed tables of a server process.
#[derive(Default)]
pub struct OpenDataCache {
    summaries: tokio::sync::Mutex<HashMap<&'static str, Cached<Summary>>>,
    statistics: tokio::sync::Mutex<Option<Cached<Arc<Vec<statistics::Row>>>>>,
}

struct Cached<T> {
    at: Instant,
    seq: i64,
    value: T,
}

impl<T> Cached<T> {
    fn new(seq: i64, value: T) -> Self {
        Cached {
            at: Instant::now(),
            seq,
            value,
        }
    }

    fn is_fresh(&self, seq: i64) -> bool {
        let age = self.at.elapsed();
        age < CACHE_MIN_AGE || (self.seq == seq && age < CACHE_TTL)
    }
}

/// The last sequence of the change feed: every registry and credit write moves it.
async fn change_seq(state: &AppState) -> AppResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(state.db.pool())
            .await?,
    )
}

/// The latest of timestamps as stored (RFC 3339, or a plain date taken as
/// the start of that day), in Asia/Shanghai.
pub fn latest<'a>(stamps: impl IntoIterator<Item = &'a str>) -> Option<DateTime<FixedOffset>> {
    stamps.into_iter().filter_map(parse_stamp).max()
}

fn parse_stamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let tz = crate::time::shanghai();
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&tz));
    }
    let day = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    day.and_hms_opt(0, 0, 0)?.and_local_timezone(tz).single()
}

/// `SELECT MAX(column) FROM …` for each query, as stored text.
async fn max_stamps(state: &AppState, queries: &[&str]) -> AppResult<Vec<String>> {
    let mut stamps = Vec::new();
    for sql in queries {
        let stamp: Option<String> = sqlx::query_scalar(sql).fetch_one(state.db.pool()).await?;
        stamps.extend(stamp);
    }
    Ok(stamps)
}

/// Parses a numeric key of a dataset ordered by an integer id.
fn id_key(after: Option<&str>) -> AppResult<i64> {
    after.map_or(Ok(0), |k| k.parse().map_err(|_| cursor::invalid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cells_mask_personal_numbers_and_codes_stay_whole() {
        assert_eq!(
            Cell::text("店主电话13912345678"),
            Cell::Text("店主电话139****5678".into())
        );
        assert_eq!(
            Cell::code("91350200776049653A"),
            Cell::Text("91350200776049653A".into())
        );
        assert_eq!(Cell::opt_text(Some("  ")), Cell::Null);
        assert_eq!(Cell::coordinate(112.123_456_78), Cell::Num(112.123457));
        assert_eq!(Cell::Bool(true).to_text(), "是");
    }

    #[test]
    fn the_latest_stamp_is_read_in_shanghai_time() {
        let t = latest(["2026-01-02", "2026-01-01T23:00:00Z", "bad"]).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-02T07:00:00+08:00");
        assert_eq!(
            latest(["2026-01-03"]).unwrap().to_rfc3339(),
            "2026-01-03T00:00:00+08:00"
        );
        assert!(latest(Vec::<&str>::new()).is_none());
    }
}
