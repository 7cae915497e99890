//! 区划调整: county-level codes retired by boundary changes, each mapped to
//! the current unit that took its area, so time series stay comparable.
//!
//! The table is `data/division-changes.csv`, the same mapping the shipped
//! county boundaries were rebuilt with (`approximate_from` in
//! `shanxi-counties.geojson`). A unit split between two successors (大同
//! 南郊区) maps to the one that took most of it; city and province totals are
//! exact either way, since every successor lies in the same city.

use crate::DivisionCode;
use std::sync::OnceLock;

const SHIPPED: &str = include_str!("../data/division-changes.csv");

/// One retired county-level code and its successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivisionChange {
    pub old_code: String,
    pub old_name: String,
    pub new_code: String,
    pub new_name: String,
    pub year: u16,
    pub note: String,
}

/// Every shipped change, oldest code first.
pub fn all() -> &'static [DivisionChange] {
    static TABLE: OnceLock<Vec<DivisionChange>> = OnceLock::new();
    TABLE.get_or_init(|| parse(SHIPPED).expect("shipped division changes are valid"))
}

/// Parses the CSV table; a bad line is reported with its number.
pub fn parse(text: &str) -> Result<Vec<DivisionChange>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cells: Vec<&str> = line.splitn(6, ',').collect();
        let [old_code, old_name, new_code, new_name, year, note] = cells[..] else {
            return Err(format!("第{}行：应有 6 列", n + 1));
        };
        for code in [old_code, new_code] {
            let parsed = DivisionCode::parse(code).map_err(|e| format!("第{}行：{e}", n + 1))?;
            if parsed.as_str().len() != 6 {
                return Err(format!("第{}行：“{code}”不是县级代码", n + 1));
            }
        }
        if old_code[..4] != new_code[..4] {
            return Err(format!("第{}行：新旧单位不在同一地市", n + 1));
        }
        rows.push(DivisionChange {
            old_code: old_code.into(),
            old_name: old_name.into(),
            new_code: new_code.into(),
            new_name: new_name.into(),
            year: year
                .parse()
                .map_err(|_| format!("第{}行：年份“{year}”无效", n + 1))?,
            note: note.into(),
        });
    }
    Ok(rows)
}

/// The current county-level code for a (possibly retired) one; codes not in
/// the table are already current and come back unchanged.
pub fn current_county(code: &str) -> &str {
    all()
        .iter()
        .find(|c| c.old_code == code)
        .map_or(code, |c| c.new_code.as_str())
}

/// The retired codes now counted under `county`.
pub fn predecessors(county: &str) -> impl Iterator<Item = &'static DivisionChange> + '_ {
    all().iter().filter(move |c| c.new_code == county)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2018_changes_in_datong_and_changzhi_map_to_their_successors() {
        assert_eq!(current_county("140202"), "140213");
        assert_eq!(current_county("140211"), "140214");
        assert_eq!(current_county("140227"), "140215");
        assert_eq!(current_county("140402"), "140403");
        assert_eq!(current_county("140411"), "140403");
        assert_eq!(current_county("140481"), "140406");
        assert_eq!(current_county("140105"), "140105", "current codes stay");
        let luzhou: Vec<_> = predecessors("140403")
            .map(|c| c.old_name.as_str())
            .collect();
        assert_eq!(luzhou, ["长治市城区", "长治市郊区"]);
    }

    #[test]
    fn successors_are_never_retired_themselves() {
        for c in all() {
            assert_eq!(current_county(&c.new_code), c.new_code);
        }
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let err = parse("h\n140202,城区,140313,平城区,2018,x").unwrap_err();
        assert!(err.contains("第2行") && err.contains("同一地市"), "{err}");
        assert!(
            parse("h\n1402,x,140213,y,2018,z")
                .unwrap_err()
                .contains("县级")
        );
    }
}
