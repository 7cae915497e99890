//! The download formats. CSV, JSON and GeoJSON are written as a head, one
//! chunk per page of records and a tail, and streamed as they are written,
//! so that a download of millions of outlets never holds them all. XLSX
//! cannot be streamed (a zip with a directory at the end): its rows go to
//! a constant-memory worksheet on a blocking thread and the finished file,
//! in an anonymous temp file, is streamed from disk.

use super::{Dataset, Field, Record, Summary};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::io::{Seek, Write};

/// Records per page read while writing a download.
const CHUNK: usize = 2000;
/// Rows of an XLSX worksheet, header included (Excel's limit).
const XLSX_MAX_ROWS: u32 = 1_048_576;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    GeoJson,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Xlsx, Format::Json, Format::GeoJson];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::GeoJson => "geojson",
        }
    }

    pub fn parse(extension: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == extension)
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Xlsx => "XLSX",
            Format::Json => "JSON",
            Format::GeoJson => "GeoJSON",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::GeoJson => "application/geo+json",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Format::Csv => "UTF-8（带BOM，Excel 可直接打开中文），首行为中文字段名",
            Format::Xlsx => {
                "Excel 工作簿：“数据”工作表首行为字段名，“说明”工作表为数据集说明和字段说明"
            }
            Format::Json => "对象：meta 为数据集、许可、来源和生成时间，records 为记录数组",
            Format::GeoJson => "FeatureCollection（RFC 7946，WGS-84 坐标），properties 为记录字段",
        }
    }
}

/// The `meta` block of JSON and GeoJSON downloads and of API pages.
pub fn meta(dataset: &Dataset, summary: &Summary) -> Value {
    json!({
        "dataset": dataset.id,
        "name": dataset.name,
        "licence": {"id": dataset.licence.id, "name": dataset.licence.name, "url": dataset.licence.url},
        "terms": dataset.terms,
        "attribution": attribution(dataset, summary),
        "source": summary.sources,
        "last_updated": summary.last_updated.map(|t| t.to_rfc3339()),
        "generated_at": crate::time::now_text(),
    })
}

/// The credit line the licence asks re-users to give.
pub fn attribution(dataset: &Dataset, summary: &Summary) -> String {
    format!(
        "来源：山西省生活服务平台“{}”数据集（{}）；数据来源单位：{}",
        dataset.name,
        dataset.licence.id,
        summary.sources.join("、")
    )
}

/// Writer of the text formats, chunk by chunk.
pub struct TextWriter {
    format: Format,
    fields: &'static [Field],
    written: usize,
}

impl TextWriter {
    pub fn new(format: Format, fields: &'static [Field]) -> Self {
        debug_assert!(format != Format::Xlsx, "XLSX has its own writer");
        TextWriter {
            format,
            fields,
            written: 0,
        }
    }

    pub fn head(&self, meta: &Value) -> Vec<u8> {
        match self.format {
            Format::Csv => {
                let mut out = b"\xEF\xBB\xBF".to_vec();
                out.extend(csv_rows([self
                    .fields
                    .iter()
                    .map(|f| f.name.to_string())
                    .collect()]));
                out
            }
            Format::Json => format!("{{\"meta\":{meta},\"records\":[").into_bytes(),
            Format::GeoJson => {
                format!("{{\"type\":\"FeatureCollection\",\"meta\":{meta},\"features\":[")
                    .into_bytes()
            }
            Format::Xlsx => Vec::new(),
        }
    }

    pub fn records(&mut self, records: &[Record]) -> Vec<u8> {
        let out = match self.format {
            Format::Csv => csv_rows(
                records
                    .iter()
                    .map(|r| r.cells.iter().map(super::Cell::to_text).collect()),
            ),
            Format::Json => self.json_items(records.iter().map(|r| r.to_json(self.fields))),
            Format::GeoJson => self.json_items(records.iter().map(|r| feature(r, self.fields))),
            Format::Xlsx => Vec::new(),
        };
        self.written += records.len();
        out
    }

    pub fn tail(&self) -> Vec<u8> {
        match self.format {
            Format::Json | Format::GeoJson => b"]}\n".to_vec(),
            Format::Csv | Format::Xlsx => Vec::new(),
        }
    }

    /// Array items, comma-separated across chunks.
    fn json_items(&self, items: impl Iterator<Item = Value>) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, item) in items.enumerate() {
            if self.written + i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, &item).expect("in-memory write");
        }
        out
    }
}

/// CSV lines, quoted where a value needs it.
fn csv_rows(rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(&row).expect("in-memory write");
    }
    writer.into_inner().expect("in-memory write")
}

/// A GeoJSON feature: a point where the record has one (null geometry otherwise, RFC 7946 §3.2).
fn feature(record: &Record, fields: &[Field]) -> Value {
    let geometry = record.point.map_or(Value::Null, |(lon, lat)| {
        let round = |v: f64| (v * 1e6).round() / 1e6;
        json!({"type": "Point", "coordinates": [round(lon), round(lat)]})
    });
    json!({"type": "Feature", "id": record.key, "geometry": geometry, "properties": record.to_json(fields)})
}

/// `["省民政厅", "省商务厅"]` → `省民政厅、省商务厅`.
fn sources(list: &Value) -> String {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("、")
        })
        .unwrap_or_default()
}

/// Writer of the XLSX format: data sheets in constant-memory mode (a new
/// sheet every 1,048,575 records), then a 说明 sheet.
pub struct XlsxWriter {
    book: rust_xlsxwriter::Workbook,
    fields: &'static [Field],
    sheets: usize,
    /// The next row of the current data sheet.
    row: u32,
    bold: rust_xlsxwriter::Format,
}

impl XlsxWriter {
    pub fn new(fields: &'static [Field]) -> Result<Self, rust_xlsxwriter::XlsxError> {
        let mut writer = XlsxWriter {
            book: rust_xlsxwriter::Workbook::new(),
            fields,
            sheets: 0,
            row: 0,
            bold: rust_xlsxwriter::Format::new().set_bold(),
        };
        writer.add_data_sheet()?;
        Ok(writer)
    }

    fn add_data_sheet(&mut self) -> Result<(), rust_xlsxwriter::XlsxError> {
        self.sheets += 1;
        let name = match self.sheets {
            1 => "数据".to_string(),
            n => format!("数据{n}"),
        };
        let sheet = self.book.add_worksheet_with_constant_memory();
        sheet.set_name(name)?;
        for (c, f) in self.fields.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, f.name, &self.bold)?;
        }
        self.row = 1;
        Ok(())
    }

    pub fn records(&mut self, records: &[Record]) -> Result<(), rust_xlsxwriter::XlsxError> {
        for record in records {
            if self.row == XLSX_MAX_ROWS {
                self.add_data_sheet()?;
            }
            let sheet = self.book.worksheet_from_index(self.sheets - 1)?;
            for (c, cell) in record.cells.iter().enumerate() {
                let c = c as u16;
                match cell {
                    super::Cell::Text(s) => sheet.write_string(self.row, c, s)?,
                    super::Cell::Int(n) => sheet.write_number(self.row, c, *n as f64)?,
                    super::Cell::Num(n) => sheet.write_number(self.row, c, *n)?,
                    // As in CSV: spreadsheet users read 是/否, not TRUE/FALSE.
                    super::Cell::Bool(b) => {
                        sheet.write_string(self.row, c, if *b { "是" } else { "否" })?
                    }
                    super::Cell::Null => continue,
                };
            }
            self.row += 1;
        }
        Ok(())
    }

    /// Adds the 说明 sheet and writes the workbook to an anonymous temp file,
    /// positioned at its start.
    pub fn finish(mut self, dataset: &Dataset, meta: &Value) -> anyhow::Result<std::fs::File> {
        let about = self.book.add_worksheet();
        about.set_name("说明")?;
        let text = |v: &Value| v.as_str().unwrap_or("暂无数据").to_string();
        let lines = [
            ("数据集", format!("{}（{}）", dataset.name, dataset.id)),
            ("说明", dataset.description.to_string()),
            (
                "开放许可",
                format!("{} {}", dataset.licence.name, dataset.licence.url),
            ),
            ("署名", text(&meta["attribution"])),
            ("数据来源单位", sources(&meta["source"])),
            ("来源说明", dataset.source_basis.to_string()),
            ("最后更新", text(&meta["last_updated"])),
            ("生成时间", text(&meta["generated_at"])),
            (
                "个人信息保护",
                format!("{}{}", dataset.privacy, super::catalogue::MASKING_NOTE),
            ),
        ];
        for (r, (label, value)) in lines.iter().enumerate() {
            about.write_string_with_format(r as u32, 0, *label, &self.bold)?;
            about.write_string(r as u32, 1, value)?;
        }
        let top = lines.len() as u32 + 1;
        for (c, h) in ["字段", "中文名", "类型", "说明"].iter().enumerate() {
            about.write_string_with_format(top, c as u16, *h, &self.bold)?;
        }
        for (r, f) in self.fields.iter().enumerate() {
            let r = top + 1 + r as u32;
            about.write_string(r, 0, f.key)?;
            about.write_string(r, 1, f.name)?;
            about.write_string(r, 2, f.ty.zh())?;
            about.write_string(r, 3, f.description)?;
        }
        let mut file = tempfile::tempfile()?;
        self.book.save_to_writer(&mut file)?;
        file.flush()?;
        file.rewind()?;
        Ok(file)
    }
}

/// The whole dataset as a download in `format`.
pub async fn download(
    state: &AppState,
    dataset: &'static Dataset,
    format: Format,
) -> AppResult<Response> {
    if format == Format::GeoJson && !dataset.geometry {
        return Err(AppError::not_found(format!(
            "数据集“{}”没有地理位置，不提供 GeoJSON 格式",
            dataset.name
        )));
    }
    let summary = super::summary(state, dataset).await?;
    let meta = meta(dataset, &summary);
    let body = match format {
        Format::Xlsx => Body::from_stream(file_stream(xlsx_file(state, dataset, &meta).await?)),
        _ => Body::from_stream(text_stream(state.clone(), dataset, format, meta)),
    };
    let file_name = format!(
        "{}-{}.{}",
        dataset.id,
        crate::time::today(),
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Where a text download is: before the head, at a key, at the tail, done.
enum Step {
    Head,
    After(Option<String>),
    Tail,
    Done,
}

struct TextDownload {
    state: AppState,
    dataset: &'static Dataset,
    writer: TextWriter,
    meta: Value,
    step: Step,
}

/// The text download as a stream of chunks. A database error mid-way ends
/// the stream with an error, so that the client sees a broken download
/// rather than a short file that looks whole.
fn text_stream(
    state: AppState,
    dataset: &'static Dataset,
    format: Format,
    meta: Value,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let download = TextDownload {
        state,
        dataset,
        writer: TextWriter::new(format, dataset.fields),
        meta,
        step: Step::Head,
    };
    futures_util::stream::unfold(download, |mut d| async move {
        let chunk = match std::mem::replace(&mut d.step, Step::Done) {
            Step::Done => return None,
            Step::Head => {
                d.step = Step::After(None);
                Ok(d.writer.head(&d.meta))
            }
            Step::Tail => Ok(d.writer.tail()),
            Step::After(after) => {
                match super::page(&d.state, d.dataset, after.as_deref(), CHUNK).await {
                    Ok(page) => {
                        d.step = page.next.map_or(Step::Tail, |k| Step::After(Some(k)));
                        Ok(d.writer.records(&page.records))
                    }
                    Err(e) => {
                        tracing::error!(dataset = d.dataset.id, error = %e, "open data download failed");
                        Err(std::io::Error::other(e.to_string()))
                    }
                }
            }
        };
        Some((chunk.map(Bytes::from), d))
    })
}

/// Writes the XLSX on a blocking thread, fed page by page.
async fn xlsx_file(
    state: &AppState,
    dataset: &'static Dataset,
    meta: &Value,
) -> AppResult<std::fs::File> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Record>>(2);
    let meta = meta.clone();
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<std::fs::File> {
        let mut xlsx = XlsxWriter::new(dataset.fields)?;
        while let Some(records) = receiver.blocking_recv() {
            xlsx.records(&records)?;
        }
        xlsx.finish(dataset, &meta)
    });
    let mut after: Option<String> = None;
    loop {
        let page = super::page(state, dataset, after.as_deref(), CHUNK).await?;
        if sender.send(page.records).await.is_err() {
            break; // the writer failed; its error is reported below
        }
        match page.next {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    drop(sender);
    writer
        .await
        .map_err(|e| anyhow::anyhow!("XLSX writer stopped: {e}"))?
        .map_err(AppError::from)
}

/// A finished file, read in 64 KiB chunks.
fn file_stream(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::from_std(file);
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Cell, catalogue};
    use super::*;

    fn sample() -> (&'static Dataset, Vec<Record>) {
        let dataset = catalogue::find("statistics").unwrap();
        let record = |county: &str, n: i64| Record {
            key: county.into(),
            cells: vec![
                Cell::code(county),
                Cell::text("太原市小店区, \"测试\""),
                Cell::Int(2024),
                Cell::code("07"),
                Cell::code("住宿餐饮服务"),
                Cell::Int(n),
                Cell::Null,
            ],
            point: Some((112.5, 37.8)),
        };
        (dataset, vec![record("140105", 3), record("140106", 4)])
    }

    fn write(format: Format, pages: &[&[Record]]) -> String {
        let (dataset, _) = sample();
        let mut w = TextWriter::new(format, dataset.fields);
        let mut out = w.head(&json!({"dataset": dataset.id}));
        for page in pages {
            out.extend(w.records(page));
        }
        out.extend(w.tail());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_has_a_bom_a_chinese_header_and_quotes_where_needed() {
        let (_, records) = sample();
        let csv = write(Format::Csv, &[&records[..1], &records[1..]]);
        assert!(csv.starts_with('\u{feff}'));
        let mut lines = csv.trim_start_matches('\u{feff}').lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("县级区划代码,县级区划名称,年份")
        );
        assert_eq!(
            lines.next().unwrap(),
            "140105,\"太原市小店区, \"\"测试\"\"\",2024,07,住宿餐饮服务,3,"
        );
        assert_eq!(lines.count(), 1);
    }

    #[test]
    fn json_pages_join_into_one_valid_document() {
        let (_, records) = sample();
        for format in [Format::Json, Format::GeoJson] {
            let text = write(format, &[&[], &records[..1], &records[1..], &[]]);
            let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(doc["meta"]["dataset"], "statistics");
            let items = doc.get("records").or(doc.get("features")).unwrap();
            assert_eq!(items.as_array().unwrap().len(), 2, "{text}");
        }
        let geo: Value = serde_json::from_str(&write(Format::GeoJson, &[&records])).unwrap();
        assert_eq!(
            geo["features"][0]["geometry"]["coordinates"],
            json!([112.5, 37.8])
        );
        assert_eq!(geo["features"][1]["properties"]["new_entities"], 4);
        assert_eq!(geo["features"][0]["properties"]["penalties"], Value::Null);
    }

    #[test]
    fn xlsx_has_the_header_then_the_records() {
        use calamine::{Reader, Xlsx};
        let (dataset, records) = sample();
        let mut xlsx = XlsxWriter::new(dataset.fields).unwrap();
        xlsx.records(&records).unwrap();
        let mut file = xlsx.finish(dataset, &json!({"attribution": "x"})).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["数据", "说明"]);
        let range = book.worksheet_range("数据").unwrap();
        let rows: Vec<_> = range.rows().collect();
        assert_eq!(rows[0][0].to_string(), "县级区划代码");
        assert_eq!(rows[1][0].to_string(), "140105");
        assert_eq!(rows[2][5].to_string(), "4");
        assert_eq!(rows.len(), 3);
    }
}
