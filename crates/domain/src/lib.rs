//! Domain rules of lifeservice, as plain types and functions with no IO.
//!
//! Every code the platform handles is a newtype that can only hold a valid
//! value: parse at the edge (import row, HTTP request), then pass the type.
//!
//! - [`circle`] — grading of a community's 一刻钟便民生活圈
//! - [`credit`] — 双公示 credit records: enumerations, validity, disclosure windows
//! - [`credit_code`] — 统一社会信用代码 (GB 32100-2015)
//! - [`division`] — administrative division codes (GB/T 2260 and NBS 12-digit codes)
//! - [`service`] — NBS life-service major categories and the platform's service types,
//!   including the 一刻钟便民生活圈 formats
//! - [`geo`] — WGS-84 coordinates, GCJ-02 conversion, distances
//! - [`entity`] — market entity kinds, statuses and outlet designations
//! - [`privacy`] — masking of personal data for public views
//! - [`plan`] — the action plan itself: tasks, responsible units, quantitative targets
//! - [`review`] — service quality reviews (好差评): ratings, aspects, working-day deadlines,
//!   the Bayesian quality score, duplicate and burst rules, reviewer pseudonyms

pub mod circle;
pub mod credit;
pub mod credit_code;
pub mod division;
pub mod entity;
pub mod geo;
pub mod plan;
pub mod privacy;
pub mod review;
pub mod service;

pub use credit_code::{CreditCode, CreditCodeError};
pub use division::{DivisionCode, DivisionError, Level};
pub use entity::{DesignationKind, EntityKind, EntityStatus};
pub use geo::{Coordinates, GeoError};
pub use service::{CircleFormat, MajorCategory, ServiceType};
