//! Tables as downloads: CSV in UTF-8 with a BOM (so Excel opens Chinese
//! text correctly) and XLSX, which is what departments work in.

use crate::error::{AppError, AppResult};
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A header row and data rows of text cells.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn csv_bytes(table: &Table) -> AppResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    writer
        .write_record(&table.headers)
        .map_err(anyhow::Error::from)?;
    for row in &table.rows {
        writer.write_record(row).map_err(anyhow::Error::from)?;
    }
    Ok(writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
}

/// One worksheet per `(name, table)`, headers in bold and frozen; cells that
/// read as numbers are written as numbers so they can be summed.
pub fn xlsx_bytes(sheets: &[(&str, &Table)]) -> AppResult<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (name, table) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).map_err(anyhow::Error::from)?;
        for (c, h) in table.headers.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, h, &bold)
                .map_err(anyhow::Error::from)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(anyhow::Error::from)?;
        for (r, row) in table.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                // Codes stay text: leading zeros (0101), or too many digits
                // for a double (all-digit credit codes, ID numbers).
                let code_like =
                    (v.len() > 1 && v.starts_with('0') && !v.starts_with("0.")) || v.len() > 15;
                match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && !code_like => sheet.write_number(r, c, n),
                    _ => sheet.write_string(r, c, v),
                }
                .map_err(anyhow::Error::from)?;
            }
        }
    }
    Ok(book.save_to_buffer().map_err(anyhow::Error::from)?)
}

pub fn download(body: Vec<u8>, content_type: &str, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The table as `csv` or `xlsx`, named `{name}.{format}`.
pub fn respond(format: &str, name: &str, table: &Table) -> AppResult<Response> {
    match format {
        "csv" => Ok(download(
            csv_bytes(table)?,
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
        )),
        "xlsx" => Ok(download(
            xlsx_bytes(&[("数据", table)])?,
            XLSX_TYPE,
            &format!("{name}.xlsx"),
        )),
        other => Err(AppError::field(
            "format",
            format!("未知的格式“{other}”，应为 json、csv 或 xlsx"),
        )),
    }
}

/// The bytes of an uploaded file field, refused past the upload limit.
pub async fn file_bytes(field: axum::extract::multipart::Field<'_>) -> AppResult<Vec<u8>> {
    field.bytes().await.map(|b| b.to_vec()).map_err(|_| {
        AppError::PayloadTooLarge(format!(
            "文件过大，最大{}MB",
            crate::app::MAX_UPLOAD_BYTES / 1024 / 1024
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_starts_with_a_bom_and_quotes_commas() {
        let t = Table {
            headers: vec!["名称".into(), "值".into()],
            rows: vec![vec!["甲,乙".into(), "1".into()]],
        };
        let text = String::from_utf8(csv_bytes(&t).unwrap()).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains("\"甲,乙\",1"));
    }
}
