//! lifeservice: the platform of Shanxi's life-service action plan.
//!
//! The server is organised by capability; each module owns its SQL, its
//! JSON API and its pages:
//!
//! - [`registry`]: market entities and outlets, Excel/CSV import
//! - [`credit`]: 双公示 credit records, disclosure windows, credit repair, the credit profile
//! - [`circle`]: 一刻钟便民生活圈 — coverage, grades and gaps from the access engine
//! - [`search`]: the Chinese full-text index, derived from the database
//! - [`stats`]: 统计监测 — indicators by division, category and period from the records' own dates
//! - [`portal`]: the public site (layout, home, search, provider and division pages, SVG maps)
//! - [`auth`]: accounts, roles and scopes, sessions, CSRF, API tokens
//! - [`audit`]: the append-only log of every write
//! - [`reference`]: divisions and county boundaries shipped in the binary
//! - [`plan`]: the action plan's tasks, units and targets, with live indicators
//! - [`jobs`]: scheduled jobs, exactly once per period across processes
//! - [`opendata`]: 公共数据共享开放 — the data resource catalogue, downloads and the bulk API
//! - [`reviews`]: service quality reviews (好差评), rectification cases, quality index
//! - [`demo`]: the reproducible synthetic dataset
//!
//! Cross-cutting: [`transfer`] (migrate-data between backends, backups), [`storage`] (the one layer SQLite and PostgreSQL pass
//! through), [`error`] (one error type, mapped once to HTTP), [`app`] (state
//! and router), [`cli`].

/// Every binary and bench linking this crate allocates with mimalloc (see
/// the dependency's note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod audit;
pub mod auth;
pub mod circle;
pub mod cli;
pub mod credit;
pub mod demo;
pub mod error;
pub mod jobs;
pub mod opendata;
pub mod page_cache;
pub mod plan;
pub mod portal;
pub mod reference;
pub mod registry;
pub mod reviews;
pub mod search;
pub mod stats;
pub mod storage;
pub mod tabular;
pub mod time;
pub mod transfer;
