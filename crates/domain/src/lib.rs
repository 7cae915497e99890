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

/// Declares an enumeration with a stable storage code and its Chinese term
/// (optionally an English one too): `ALL`, `code()`, `zh()`, `en()`,
/// `parse()` (the code or the term) and `choices()` (for error messages).
macro_rules! zh_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($code:literal, $zh:literal, $en:literal)),* $(,)? }) => {
        zh_enum!($(#[$meta])* $name { $($variant => ($code, $zh)),* });

        impl $name {
            pub fn en(self) -> &'static str {
                match self { $($name::$variant => $en),* }
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($variant:ident => ($code:literal, $zh:literal)),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// Stable storage code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),* }
            }

            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh),* }
            }

            /// Accepts the storage code or the Chinese term.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.code() == s || v.zh() == s)
            }

            /// The accepted Chinese terms, for error messages.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.zh()).collect::<Vec<_>>().join("、")
            }
        }
    };
}

pub mod circle;
pub mod credit;
pub mod credit_code;
pub mod division;
pub mod division_changes;
pub mod entity;
pub mod geo;
pub mod plan;
pub mod privacy;
pub mod review;
pub mod service;

pub use credit_code::{CreditCode, CreditCodeError};
pub use division::{DivisionCode, DivisionError, Level};
pub use entity::{DesignationKind, EntityKind, EntityStatus, OutletStatus};
pub use geo::{Coordinates, GeoError};
pub use service::{CircleFormat, MajorCategory, ServiceType};
