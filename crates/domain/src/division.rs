//! Administrative division codes: GB/T 2260 (province, city, county) extended
//! by the NBS statistical division codes (town: 9 digits, village: 12 digits).
//!
//! Codes are kept in their shortest canonical form (`14`, `1401`, `140105`,
//! `140105001`, `140105001001`); padded forms such as `140105000000` or
//! `140100` are accepted and normalised, so one unit has one spelling.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The five levels of administration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Province,
    City,
    County,
    Town,
    Village,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Town,
        Level::Village,
    ];

    pub fn code_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Town => 9,
            Level::Village => 12,
        }
    }

    fn from_len(len: usize) -> Option<Self> {
        Level::ALL.into_iter().find(|l| l.code_len() == len)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Town => "town",
            Level::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Level::Province => "省",
            Level::City => "市",
            Level::County => "县（市、区）",
            Level::Town => "乡镇（街道）",
            Level::Village => "村（社区）",
        }
    }
}

/// A syntactically valid division code in canonical form. Whether the unit
/// exists is a question for the reference data, not for this type.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct DivisionCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    #[error("行政区划代码“{0}”应由数字组成")]
    NotDigits(String),
    #[error("行政区划代码“{0}”位数不对（应为2、4、6、9或12位）")]
    Length(String),
}

impl DivisionCode {
    pub fn parse(input: &str) -> Result<Self, DivisionError> {
        let s = input.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DivisionError::NotDigits(s.to_string()));
        }
        if Level::from_len(s.len()).is_none() {
            return Err(DivisionError::Length(s.to_string()));
        }
        Ok(Self(canonical(s).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        Level::from_len(self.0.len()).expect("canonical code has a level length")
    }

    /// The enclosing unit, or `None` for a province.
    pub fn parent(&self) -> Option<DivisionCode> {
        let len = match self.level() {
            Level::Province => return None,
            Level::City => 2,
            Level::County => 4,
            Level::Town => 6,
            Level::Village => 9,
        };
        Some(Self(self.0[..len].to_string()))
    }

    /// The unit at `level` that contains this one (itself when equal).
    pub fn ancestor(&self, level: Level) -> Option<DivisionCode> {
        (level <= self.level()).then(|| Self(self.0[..level.code_len()].to_string()))
    }

    /// Every unit from the province down to this one.
    pub fn lineage(&self) -> Vec<DivisionCode> {
        Level::ALL
            .into_iter()
            .filter_map(|l| self.ancestor(l))
            .collect()
    }

    /// True when `other` is this unit or lies inside it.
    pub fn contains(&self, other: &DivisionCode) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The 12-digit NBS form, e.g. `140105000000`.
    pub fn padded12(&self) -> String {
        format!("{:0<12}", self.0)
    }
}

/// Strips zero groups so that `140105000000` → `140105` and `140100` → `1401`.
fn canonical(code: &str) -> &str {
    let mut s = code;
    loop {
        let shorter = match s.len() {
            12 if s.ends_with("000") => &s[..9],
            9 if s.ends_with("000") => &s[..6],
            6 if s.ends_with("00") => &s[..4],
            4 if s.ends_with("00") => &s[..2],
            _ => return s,
        };
        s = shorter;
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DivisionCode({})", self.0)
    }
}

impl From<DivisionCode> for String {
    fn from(code: DivisionCode) -> Self {
        code.0
    }
}

impl<'de> Deserialize<'de> for DivisionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DivisionCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_padded_forms() {
        assert_eq!(
            DivisionCode::parse("140105000000").unwrap().as_str(),
            "140105"
        );
        assert_eq!(DivisionCode::parse("140100").unwrap().as_str(), "1401");
        assert_eq!(DivisionCode::parse("140000").unwrap().as_str(), "14");
        assert_eq!(
            DivisionCode::parse("140105001001").unwrap().level(),
            Level::Village
        );
    }

    #[test]
    fn hierarchy() {
        let v = DivisionCode::parse("140105001001").unwrap();
        assert_eq!(v.parent().unwrap().as_str(), "140105001");
        assert_eq!(v.ancestor(Level::City).unwrap().as_str(), "1401");
        assert_eq!(v.lineage().len(), 5);
        assert!(DivisionCode::parse("1401").unwrap().contains(&v));
        assert!(!DivisionCode::parse("1402").unwrap().contains(&v));
        assert_eq!(v.padded12(), "140105001001");
    }

    #[test]
    fn rejects_bad_codes() {
        assert!(matches!(
            DivisionCode::parse("14a1"),
            Err(DivisionError::NotDigits(_))
        ));
        assert!(matches!(
            DivisionCode::parse("14010"),
            Err(DivisionError::Length(_))
        ));
        assert!(DivisionCode::parse("").is_err());
    }

    proptest! {
        #[test]
        fn canonical_form_is_stable(s in "[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}") {
            let code = DivisionCode::parse(&s).unwrap();
            prop_assert_eq!(DivisionCode::parse(code.as_str()).unwrap(), code.clone());
            prop_assert_eq!(DivisionCode::parse(&code.padded12()).unwrap(), code);
        }
    }
}
