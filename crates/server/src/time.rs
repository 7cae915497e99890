//! Time in the platform is Asia/Shanghai (UTC+8, no daylight saving since 1991),
//! stored as RFC 3339 text so that both backends sort it the same way.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

pub fn now() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&shanghai())
}

/// Now as stored text, second precision: `2026-11-27T18:45:00+08:00`.
pub fn now_text() -> String {
    now().format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A stored time as pages show it, to the minute: `2026-11-27 18:45`.
pub fn minute_text(stored: &str) -> String {
    stored.get(..16).unwrap_or(stored).replace('T', " ")
}

pub fn today() -> NaiveDate {
    now().date_naive()
}

/// Parses the date forms departments write: `2024-03-01`, `2024/3/1`,
/// `2024年3月1日`, `20240301`, or an Excel serial day number.
pub fn parse_date(input: &str) -> Option<NaiveDate> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(serial) = s.parse::<f64>()
        && (20000.0..80000.0).contains(&serial)
    {
        // Excel's day 0 is 1899-12-30 once its 1900 leap-year bug is accounted for.
        let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
        return base.checked_add_days(chrono::Days::new(serial as u64));
    }
    let normalised: String = s
        .replace(['年', '月', '/', '.'], "-")
        .trim_end_matches('日')
        .to_string();
    let parts: Vec<&str> = normalised.split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        return NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_department_date_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        for s in [
            "2024-03-01",
            "2024/3/1",
            "2024年3月1日",
            "20240301",
            "2024.03.01",
            "45352",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("明天"), None);
    }
}
