//! Opaque cursors for keyset pagination. A cursor carries the dataset id and
//! the key of the last record returned; it is hex so that it survives any URL
//! unescaped. Clients must pass it back as they got it: the format may change.

use crate::error::AppError;

const VERSION: &str = "v1";

/// The cursor that continues `dataset` after the record with `key`.
pub fn encode(dataset: &str, key: &str) -> String {
    format!("{VERSION}:{dataset}:{key}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key a cursor continues after, checked to belong to `dataset`.
pub fn decode(dataset: &str, cursor: &str) -> Result<String, AppError> {
    let text = unhex(cursor.trim()).ok_or_else(invalid)?;
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(id), Some(key)) if id == dataset && !key.is_empty() => {
            Ok(key.to_string())
        }
        (Some(VERSION), Some(id), Some(_)) if super::catalogue::find(id).is_some() => {
            Err(AppError::field(
                "cursor",
                format!("cursor 属于数据集“{id}”，不能用于“{dataset}”"),
            ))
        }
        _ => Err(invalid()),
    }
}

/// The error for a cursor that was not issued by this API (or was altered).
pub fn invalid() -> AppError {
    AppError::field(
        "cursor",
        "cursor 无效：请原样传入上一页返回的 next_cursor，首页不带 cursor",
    )
}

fn unhex(s: &str) -> Option<String> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_or_altered_cursors() {
        let c = encode("statistics", "140105/2024/07");
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(decode("statistics", &c).unwrap(), "140105/2024/07");
        let other = decode("outlets", &c).unwrap_err();
        assert_eq!(other.field_name(), Some("cursor"));
        assert!(other.to_string().contains("statistics"), "{other}");
        for bad in ["", "xyz", "abc", &c[..c.len() - 1], &encode("nope", "1")] {
            assert_eq!(
                decode("statistics", bad).unwrap_err().field_name(),
                Some("cursor"),
                "{bad}"
            );
        }
        assert!(
            decode("outlets", &encode("outlets", "")).is_err(),
            "an empty key"
        );
    }
}
