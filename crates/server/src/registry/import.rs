//! Import of entities and outlets from CSV (UTF-8 with or without BOM, or
//! GB18030) and Excel files. Each row is validated on its own: bad rows are
//! reported with row, column and a Chinese reason; good rows are committed in
//! batches. The same path serves the CLI and the admin upload.

use super::fields::{Field, FieldError, RawRow, RecordKind, parse_entity, parse_outlet};
use super::store::{self, Touched};
use super::{EntityInput, OutletInput};
use crate::reference::Reference;
use crate::storage::{Db, StatsRefresh};
use lifeservice_domain::geo::Datum;
use lifeservice_domain::{DivisionCode, EntityKind};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashSet;

/// Rows per database transaction. An entity batch is one multi-row upsert
/// (12 values a row, within SQLite's 32,766 bound values); an outlet batch is
/// staged in chunks and merged in a few statements, and larger transactions
/// write the randomly placed index pages (credit codes) fewer times.
fn batch_rows(kind: RecordKind) -> usize {
    match kind {
        RecordKind::Entities => 2000,
        RecordKind::Outlets => 10_000,
    }
}

/// Parsed rows per message from the parser thread.
const CHUNK: usize = 1000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub datum: Datum,
    pub actor: String,
    pub synthetic: bool,
    /// The signed-in account; rows outside its scope are rejected. `None` for
    /// the command line, which runs with the operator's own authority.
    pub principal: Option<crate::auth::Principal>,
}

/// One rejected value; `row` is the spreadsheet row number (the header is row 1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reject {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected_rows: usize,
    pub rejects: Vec<Reject>,
    pub ignored_columns: Vec<String>,
}

/// A problem with the file as a whole: nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("无法读取文件：{0}")]
    Unreadable(String),
    #[error("文件缺少必填列：{0}")]
    MissingColumns(String),
    #[error("数据库错误：{0}")]
    Database(#[from] sqlx::Error),
}

/// A row's number as a spreadsheet shows it, and its cells or why they
/// could not be read.
pub type NumberedRow = (usize, Result<Vec<String>, String>);

/// The cells of a file, decoded.
pub enum Table {
    Csv(String),
    /// A UTF-8 CSV file on disk, read as its rows are parsed: a province's
    /// file is hundreds of megabytes, and reading and checking all of it
    /// before the first row held up the whole import. Each record is checked
    /// for UTF-8 as it is read.
    CsvFile {
        path: std::path::PathBuf,
        /// File size over the mean line length of its first bytes.
        approx_rows: u64,
    },
    Sheet(Vec<Vec<String>>),
}

/// Bytes read to tell a file's format and encoding.
const HEAD_BYTES: u64 = 1 << 16;

impl Table {
    /// Reads CSV or Excel bytes; the format is told by content, not by name.
    /// Owned UTF-8 bytes become the text as they are: a province's file is
    /// hundreds of megabytes, and copying it held up the start of an import.
    pub fn read<'a>(bytes: impl Into<Cow<'a, [u8]>>) -> Result<Table, ImportError> {
        let bytes = bytes.into();
        if is_workbook(&bytes) {
            return read_workbook(&bytes);
        }
        refuse_binary(&bytes)?;
        let text = match bytes {
            Cow::Owned(owned) => match String::from_utf8(owned) {
                Ok(text) => text,
                Err(e) => decode_gb18030(e.as_bytes())?,
            },
            Cow::Borrowed(borrowed) => match std::str::from_utf8(borrowed) {
                Ok(text) => text.to_string(),
                Err(_) => decode_gb18030(borrowed)?,
            },
        };
        Ok(Table::Csv(text))
    }

    /// Opens a file on disk. A UTF-8 CSV is streamed from the file by
    /// [`Table::cells`]; a workbook or a GB18030 CSV is read whole, as
    /// [`Table::read`] does. The encoding is told by the first 64 KiB, where
    /// the Chinese header row is: GB18030 headers are not valid UTF-8.
    pub fn open(path: &std::path::Path) -> Result<Table, ImportError> {
        use std::io::Read;
        let unreadable = |e: std::io::Error| ImportError::Unreadable(e.to_string());
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        let mut head = Vec::new();
        (&mut file)
            .take(HEAD_BYTES)
            .read_to_end(&mut head)
            .map_err(unreadable)?;
        if is_workbook(&head) || !is_utf8_prefix(&head) {
            return Table::read(std::fs::read(path).map_err(unreadable)?);
        }
        refuse_binary(&head)?;
        let lines = head.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
        Ok(Table::CsvFile {
            path: path.to_path_buf(),
            approx_rows: (size * lines / head.len().max(1) as u64).saturating_sub(1),
        })
    }

    /// Rows including the header, as text cells, each with its row number as
    /// a spreadsheet shows the file; a CSV syntax error or text that is not
    /// UTF-8 ends the stream with an error.
    pub fn rows(&self) -> Box<dyn Iterator<Item = NumberedRow> + Send + '_> {
        match self {
            Table::Csv(text) => Box::new(csv_rows(text.as_bytes())),
            Table::CsvFile { path, .. } => match std::fs::File::open(path) {
                Ok(file) => Box::new(csv_rows(file)),
                Err(e) => Box::new(std::iter::once((1, Err(e.to_string())))),
            },
            Table::Sheet(rows) => Box::new(
                rows.iter()
                    .cloned()
                    .map(Ok)
                    .enumerate()
                    .map(|(i, r)| (i + 1, r)),
            ),
        }
    }

    /// Rows including the header, as text cells.
    pub fn cells(&self) -> impl Iterator<Item = Result<Vec<String>, String>> + Send + '_ {
        self.rows().map(|(_, cells)| cells)
    }

    /// The first row: the column headers.
    pub fn header(&self) -> Result<Vec<String>, ImportError> {
        match self.cells().next() {
            Some(Ok(h)) => Ok(h),
            Some(Err(e)) => Err(ImportError::Unreadable(format!("表头无法解析（{e}）"))),
            None => Err(ImportError::Unreadable("文件为空".into())),
        }
    }

    pub fn approx_rows(&self) -> u64 {
        match self {
            Table::Csv(text) => bytecount_lines(text).saturating_sub(1),
            Table::CsvFile { approx_rows, .. } => *approx_rows,
            Table::Sheet(rows) => rows.len().saturating_sub(1) as u64,
        }
    }
}

/// CSV records numbered as a spreadsheet shows them. The reader skips blank
/// lines, which a spreadsheet shows as empty rows, and a line break quoted
/// inside a cell stays in one row: a record's row is the previous record's
/// row plus the lines from the previous record's last line to this record's
/// first. The last line is where the record ends (its terminator excluded,
/// CR or LF), found among the line feeds read so far; the first is that less
/// the line breaks inside its cells.
fn csv_rows(input: impl std::io::Read + Send) -> impl Iterator<Item = NumberedRow> + Send {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 18)
        .from_reader(LineFeeds::new(input));
    let mut record = csv::StringRecord::new();
    let (mut row, mut last_line) = (0, 0);
    std::iter::from_fn(move || match reader.read_record(&mut record) {
        Ok(false) => None,
        Ok(true) => {
            let end = reader.position().byte();
            let ends_on = reader.get_mut().line_of(end.saturating_sub(1));
            let first_line = ends_on.saturating_sub(bytecount_lines(record.as_slice()));
            row += first_line.saturating_sub(last_line).max(1) as usize;
            last_line = ends_on;
            Some((row, Ok(record.iter().map(str::to_string).collect())))
        }
        Err(e) => {
            row += 1;
            let reason = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => "不是UTF-8编码的文本".to_string(),
                _ => e.to_string(),
            };
            Some((row, Err(reason)))
        }
    })
}

/// Passes a CSV's bytes through to the reader, keeping the offsets of the
/// line feeds not yet counted (at most a read buffer's worth).
struct LineFeeds<R> {
    inner: R,
    offset: u64,
    feeds: std::collections::VecDeque<u64>,
    counted: u64,
}

impl<R> LineFeeds<R> {
    fn new(inner: R) -> Self {
        LineFeeds {
            inner,
            offset: 0,
            feeds: std::collections::VecDeque::new(),
            counted: 0,
        }
    }

    /// The line, from 1, of the byte at `at`; `at` never goes back.
    fn line_of(&mut self, at: u64) -> u64 {
        while self.feeds.front().is_some_and(|&feed| feed < at) {
            self.feeds.pop_front();
            self.counted += 1;
        }
        self.counted + 1
    }
}

impl<R: std::io::Read> std::io::Read for LineFeeds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let offset = self.offset;
        self.feeds
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| offset + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

/// Whether a file starts as an XLSX (zip) or XLS (OLE) workbook does.
fn is_workbook(start: &[u8]) -> bool {
    start.starts_with(b"PK\x03\x04") || start.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

/// Refuses a file with a NUL byte near its start: not text.
fn refuse_binary(start: &[u8]) -> Result<(), ImportError> {
    let body = start.strip_prefix(BOM).unwrap_or(start);
    if body.iter().take(4096).any(|&b| b == 0) {
        return Err(ImportError::Unreadable("不是CSV或Excel文件".into()));
    }
    Ok(())
}

/// Whether `head`, the start of a file, is UTF-8 up to a character the cut
/// may have split.
fn is_utf8_prefix(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// UTF-8's byte order mark, which Excel writes at the start of a CSV.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Text that is not UTF-8: GB18030 (older Excel versions), or refused.
fn decode_gb18030(bytes: &[u8]) -> Result<String, ImportError> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(body);
    if had_errors {
        return Err(ImportError::Unreadable(
            "文件编码无法识别（应为UTF-8或GB18030）".into(),
        ));
    }
    Ok(text.into_owned())
}

fn bytecount_lines(text: &str) -> u64 {
    text.as_bytes().iter().filter(|&&b| b == b'\n').count() as u64
}

fn read_workbook(bytes: &[u8]) -> Result<Table, ImportError> {
    use calamine::{Data, Reader};
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| ImportError::Unreadable(format!("Excel文件已损坏或格式不支持（{e}）")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| ImportError::Unreadable("Excel文件没有工作表".into()))?
        .map_err(|e| ImportError::Unreadable(format!("无法读取第一个工作表（{e}）")))?;
    let cell = |c: &Data| -> String {
        match c {
            Data::Empty | Data::Error(_) => String::new(),
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Int(i) => i.to_string(),
            Data::Bool(b) => b.to_string(),
            // An Excel date is a serial day number, which `time::parse_date` reads.
            Data::DateTime(dt) => format!("{}", dt.as_f64().floor() as i64),
        }
    };
    Ok(Table::Sheet(
        range.rows().map(|r| r.iter().map(cell).collect()).collect(),
    ))
}

/// Maps header cells to fields; errors name the missing required columns.
fn header_map(
    kind: RecordKind,
    header: &[String],
) -> Result<(Vec<Option<Field>>, Vec<String>), ImportError> {
    let fields: Vec<Option<Field>> = header.iter().map(|h| kind.field_for_header(h)).collect();
    let missing: Vec<&str> = kind
        .required()
        .iter()
        .filter(|f| !fields.contains(&Some(**f)))
        .map(|f| kind.header_of(*f))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing.join("、")));
    }
    let ignored = header
        .iter()
        .zip(&fields)
        .filter(|(h, f)| f.is_none() && !h.trim().is_empty())
        .map(|(h, _)| h.trim().to_string())
        .collect();
    Ok((fields, ignored))
}

/// Imports a whole table. File-level problems return `Err` with nothing
/// imported; row problems end up in the report's rejects.
pub async fn import_table(
    db: &Db,
    kind: RecordKind,
    table: Table,
    options: &ImportOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<ImportReport, ImportError> {
    let header = table.header()?;
    let (fields, ignored) = header_map(kind, &header)?;
    let mut report = ImportReport {
        ignored_columns: ignored,
        ..Default::default()
    };
    // Parsing and validation run on a blocking thread while this task writes
    // the previous batch, so the two cores share the work.
    // Room for a whole batch, so that the parser keeps going while one is written.
    let batch_rows = batch_rows(kind);
    let (sender, mut receiver) = tokio::sync::mpsc::channel(batch_rows / CHUNK + 2);
    let (datum, principal) = (options.datum, options.principal.clone());
    let parser = tokio::task::spawn_blocking(move || {
        parse_lines(table, kind, &fields, datum, principal.as_ref(), &sender)
    });
    let mut batch = Batch::new(kind);
    while let Some(lines) = receiver.recv().await {
        for line in lines {
            match line {
                Line::Broken(row, e) => {
                    report.rows += 1;
                    report.reject(row, "", format!("第{row}行无法解析：{e}"));
                }
                Line::Row(row, Err(errors)) => {
                    report.rows += 1;
                    report.reject_fields(kind, row, errors);
                }
                Line::Row(row, Ok(item)) => {
                    report.rows += 1;
                    if batch.would_repeat(&item) || batch.len() >= batch_rows {
                        batch.flush(db, options, &mut report).await?;
                    }
                    batch.push(row, item);
                }
            }
            if let Some(bar) = progress {
                bar.inc(1);
            }
        }
    }
    parser
        .await
        .map_err(|e| ImportError::Unreadable(format!("解析中断：{e}")))?;
    batch.flush(db, options, &mut report).await?;
    report.unchanged = report.rows - report.rejected_rows - report.inserted - report.updated;
    batch.stats.finish(db, report.inserted).await?;
    Ok(report)
}

/// A data line of the file: validated, or broken beyond reading.
enum Line {
    Row(usize, Result<Parsed, Vec<FieldError>>),
    Broken(usize, String),
}

/// Reads and validates every data line, sending them in chunks; stops early
/// when the receiver is gone. Runs on a blocking thread.
fn parse_lines(
    table: Table,
    kind: RecordKind,
    fields: &[Option<Field>],
    datum: Datum,
    principal: Option<&crate::auth::Principal>,
    sender: &tokio::sync::mpsc::Sender<Vec<Line>>,
) {
    let reference = Reference::shipped();
    let mut chunk = Vec::with_capacity(CHUNK);
    for (row, cells) in table.rows().skip(1) {
        let cells = match cells {
            Ok(cells) => cells,
            Err(e) => {
                chunk.push(Line::Broken(row, e));
                break;
            }
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let raw = RawRow(
            fields
                .iter()
                .zip(cells)
                .filter_map(|(f, v)| f.map(|f| (f, v)))
                .collect(),
        );
        let parsed = match kind {
            RecordKind::Entities => parse_entity(&raw, reference).map(Parsed::Entity),
            RecordKind::Outlets => {
                parse_outlet(&raw, datum, reference).map(|o| Parsed::Outlet(Box::new(o)))
            }
        };
        let permitted = parsed.and_then(|item| match principal.map(|p| item.permitted(p)) {
            Some(Err(denied)) => Err(vec![denied]),
            _ => Ok(item),
        });
        chunk.push(Line::Row(row, permitted));
        if chunk.len() == CHUNK && sender.blocking_send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
    }
    let _ = sender.blocking_send(chunk);
}

enum Parsed {
    Entity(EntityInput),
    Outlet(Box<OutletInput>),
}

impl Parsed {
    fn permitted(&self, principal: &crate::auth::Principal) -> Result<(), FieldError> {
        match self {
            Parsed::Entity(e) => {
                principal
                    .may_write_entity(&e.division)
                    .map_err(|reason| FieldError {
                        field: Field::CreditCode,
                        reason,
                    })
            }
            Parsed::Outlet(o) => principal
                .may_write_outlet(o.service_type, &o.division)
                .map_err(|reason| FieldError {
                    field: Field::ServiceType,
                    reason,
                }),
        }
    }

    /// The natural key; a batch may not hold the same key twice (PostgreSQL
    /// refuses to upsert one row twice in one statement), so a repeat flushes.
    fn key(&self) -> String {
        match self {
            Parsed::Entity(e) => e.credit_code.to_string(),
            Parsed::Outlet(o) => format!("{}\u{1f}{}\u{1f}{}", o.entity, o.name, o.address),
        }
    }
}

struct Batch {
    kind: RecordKind,
    items: Vec<(usize, Parsed)>,
    keys: HashSet<String>,
    /// Credit codes of entities known to be registered (earlier batches).
    registered: HashSet<String>,
    stats: StatsRefresh,
}

impl Batch {
    fn new(kind: RecordKind) -> Self {
        Batch {
            kind,
            items: Vec::new(),
            keys: HashSet::new(),
            registered: HashSet::new(),
            stats: StatsRefresh::new(match kind {
                RecordKind::Entities => &["entities"],
                RecordKind::Outlets => &["entities", "outlets"],
            }),
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn would_repeat(&self, item: &Parsed) -> bool {
        self.keys.contains(&item.key())
    }

    fn push(&mut self, row: usize, item: Parsed) {
        self.keys.insert(item.key());
        self.items.push((row, item));
    }

    async fn flush(
        &mut self,
        db: &Db,
        options: &ImportOptions,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        self.keys.clear();
        let now = crate::time::now_text();
        let mut tx = db.begin_write().await?;
        match self.kind {
            RecordKind::Entities => {
                let entities: Vec<EntityInput> = items
                    .into_iter()
                    .filter_map(|(_, p)| match p {
                        Parsed::Entity(e) => Some(e),
                        Parsed::Outlet(_) => None,
                    })
                    .collect();
                let touched =
                    store::upsert_entities(&mut tx, &entities, &now, options.synthetic).await?;
                report.count(&touched);
                let ids: Vec<i64> = touched.iter().map(|t| t.id()).collect();
                store::record_changes(&mut tx, "entity", &ids).await?;
            }
            RecordKind::Outlets => {
                let outlets: Vec<(usize, OutletInput)> = items
                    .into_iter()
                    .filter_map(|(row, p)| match p {
                        Parsed::Outlet(o) => Some((row, *o)),
                        Parsed::Entity(_) => None,
                    })
                    .collect();
                self.flush_outlets(&mut tx, outlets, &now, options, report)
                    .await?;
            }
        }
        tx.commit().await?;
        self.stats.after(db, report.inserted).await?;
        Ok(())
    }

    async fn flush_outlets(
        &mut self,
        tx: &mut sqlx::AnyConnection,
        outlets: Vec<(usize, OutletInput)>,
        now: &str,
        options: &ImportOptions,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        // The first row of the batch that names an entity registers it if it is
        // missing; existing entities are left as their own register says.
        let mut named = HashSet::new();
        let rows: Vec<store::StagedOutlet> = outlets
            .iter()
            .map(|(row, outlet)| {
                let registered = self.registered.contains(outlet.entity.as_str());
                store::StagedOutlet {
                    row: *row,
                    outlet,
                    new_entity: new_entity(outlet)
                        .filter(|_| !registered && named.insert(outlet.entity.as_str())),
                    registered,
                }
            })
            .collect();
        let merged = store::merge_outlets(tx, &rows, now, options.synthetic).await?;
        report.inserted += merged.inserted;
        report.updated += merged.updated;
        let unregistered: HashSet<&str> = merged
            .unregistered
            .iter()
            .map(|(_, code)| code.as_str())
            .collect();
        for (_, outlet) in &outlets {
            let code = outlet.entity.as_str();
            if !unregistered.contains(code) && !self.registered.contains(code) {
                self.registered.insert(code.to_string());
            }
        }
        for (row, code) in merged.unregistered {
            report.reject(
                row,
                RecordKind::Outlets.header_of(Field::CreditCode),
                format!("市场主体{code}未登记：请先导入市场主体，或在“主体名称”列填写名称"),
            );
        }
        Ok(())
    }
}

/// The entity an outlet row can register: it needs the entity's name, and the
/// credit code tells the kind and the registering division.
fn new_entity(outlet: &OutletInput) -> Option<store::NewEntity<'_>> {
    Some(store::NewEntity {
        name: outlet.entity_name.as_deref()?,
        kind: EntityKind::from_registrant(outlet.entity.registrant()).unwrap_or(EntityKind::Other),
        division: DivisionCode::parse(outlet.entity.division_digits())
            .ok()?
            .to_string(),
    })
}

impl ImportReport {
    pub(crate) fn reject(&mut self, row: usize, column: &str, reason: String) {
        self.rejected_rows += 1;
        self.rejects.push(Reject {
            row,
            column: column.to_string(),
            reason,
        });
    }

    fn reject_fields(&mut self, kind: RecordKind, row: usize, errors: Vec<FieldError>) {
        self.rejected_rows += 1;
        self.rejects.extend(errors.into_iter().map(|e| Reject {
            row,
            column: kind.header_of(e.field).to_string(),
            reason: e.reason,
        }));
    }

    fn count(&mut self, touched: &[Touched]) {
        for t in touched {
            match t {
                Touched::Inserted(_) => self.inserted += 1,
                Touched::Updated(_) => self.updated += 1,
            }
        }
    }

    /// `row,column,reason` with a BOM so that Excel opens the Chinese correctly.
    pub fn rejects_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(["row", "column", "reason"])
            .expect("in-memory write");
        for r in &self.rejects {
            writer
                .write_record([r.row.to_string(), r.column.clone(), r.reason.clone()])
                .expect("in-memory write");
        }
        let bytes = writer.into_inner().expect("in-memory write");
        format!(
            "\u{feff}{}",
            String::from_utf8(bytes).expect("csv of strings is utf-8")
        )
    }

    pub fn summary_zh(&self) -> String {
        format!(
            "共{}行：新增{}，更新{}，未变{}，拒绝{}",
            self.rows, self.inserted, self.updated, self.unchanged, self.rejected_rows
        )
    }
}

/// The SHA-256 of an imported file, as the audit log keeps it.
pub fn file_digest(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// [`file_digest`] of a file on disk, read in pieces.
pub fn file_digest_of(path: &std::path::Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Records the run in the import history and the audit log; `sha256` is the
/// file's [`file_digest`].
pub async fn record_run(
    db: &Db,
    kind: &str,
    file_name: &str,
    sha256: &str,
    report: &ImportReport,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let now = crate::time::now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (at, actor, kind, file_name, rows_read, inserted, updated, unchanged, rejected, rejects_csv) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(now)
    .bind(actor.to_string())
    .bind(kind.to_string())
    .bind(file_name.to_string())
    .bind(report.rows as i64)
    .bind(report.inserted as i64)
    .bind(report.updated as i64)
    .bind(report.unchanged as i64)
    .bind(report.rejected_rows as i64)
    .bind(report.rejects_csv())
    .fetch_one(&mut *tx)
    .await?;
    let after = serde_json::json!({"file": file_name, "sha256": sha256, "rows": report.rows, "inserted": report.inserted,
        "updated": report.updated, "unchanged": report.unchanged, "rejected": report.rejected_rows});
    crate::audit::record(
        &mut tx,
        actor,
        "import",
        kind,
        &id.to_string(),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A template file with the accepted Chinese headers, for departments.
pub fn template_csv(kind: RecordKind) -> String {
    let headers: Vec<&str> = kind.columns().iter().map(|(_, names)| names[0]).collect();
    format!("\u{feff}{}\n", headers.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(table: &Table) -> Vec<Vec<String>> {
        table.cells().map(Result::unwrap).collect()
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        // Two blank lines, a cell with a line break, a blank CRLF line.
        for (text, numbers) in [
            (
                "h1,h2\na,b\n\n\nc,\"d\nd2\"\r\n\r\ne,f\ng,h",
                vec![1, 2, 5, 7, 8],
            ),
            (
                "h1,h2\na,b\n\n\nc,\"d\nd2\"\r\n\r\ne,f\ng,h\n",
                vec![1, 2, 5, 7, 8],
            ),
            ("h\n\nx", vec![1, 3]),
            ("h\n,\n\nx\n", vec![1, 2, 4]),
            ("h\nx", vec![1, 2]),
        ] {
            let from_text: Vec<usize> = Table::read(text.as_bytes())
                .unwrap()
                .rows()
                .map(|(row, cells)| cells.map(|_| row).unwrap())
                .collect();
            assert_eq!(from_text, numbers, "{text:?}");
            let file = file_with(text.as_bytes());
            let from_file: Vec<usize> = Table::open(file.path())
                .unwrap()
                .rows()
                .map(|(row, _)| row)
                .collect();
            assert_eq!(from_file, numbers, "{text:?} from a file");
        }
    }

    #[test]
    fn owned_and_borrowed_bytes_read_the_same_with_or_without_the_byte_order_mark() {
        let plain = "名称,区划\n张记修理,140105\n".as_bytes();
        let marked = [BOM, plain].concat();
        let expected = vec![vec!["名称", "区划"], vec!["张记修理", "140105"]];
        for table in [
            Table::read(plain),
            Table::read(plain.to_vec()),
            Table::read(&marked),
            Table::read(marked.clone()),
        ] {
            assert_eq!(rows(&table.unwrap()), expected);
        }
    }

    #[test]
    fn gb18030_bytes_are_decoded_whether_owned_or_borrowed() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("名称\n迎泽区家政服务站\n");
        for table in [Table::read(&*gbk), Table::read(gbk.to_vec())] {
            assert_eq!(rows(&table.unwrap())[1], vec!["迎泽区家政服务站"]);
        }
    }

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    #[test]
    fn a_file_opened_reads_as_its_bytes_do_in_every_encoding() {
        let text = "名称,区划\n张记修理,140105\n".repeat(5000);
        let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
        for bytes in [
            text.as_bytes().to_vec(),
            [BOM, text.as_bytes()].concat(),
            gbk.to_vec(),
        ] {
            let file = file_with(&bytes);
            let opened = Table::open(file.path()).unwrap();
            assert_eq!(rows(&opened), rows(&Table::read(bytes.clone()).unwrap()));
            let estimate = opened.approx_rows();
            assert!((9990..=10_010).contains(&estimate), "{estimate}");
        }
        let file = file_with(text.as_bytes());
        let streamed = Table::open(file.path()).unwrap();
        assert!(
            matches!(streamed, Table::CsvFile { .. }),
            "a UTF-8 file is streamed"
        );
    }

    #[test]
    fn a_bad_byte_far_into_a_utf8_file_stops_the_rows_at_its_line() {
        let mut bytes = "名称,区划\n张记修理,140105\n".repeat(5000).into_bytes();
        let line_start = bytes.len();
        bytes.extend_from_slice(b"\xFF\xFE,140105\n");
        let file = file_with(&bytes);
        let table = Table::open(file.path()).unwrap();
        let cells: Vec<_> = table.cells().collect();
        assert_eq!(
            cells.len(),
            10_001,
            "{line_start} bytes of good rows, then the bad one"
        );
        assert!(cells[..10_000].iter().all(Result::is_ok));
        assert_eq!(cells[10_000].as_ref().unwrap_err(), "不是UTF-8编码的文本");
    }

    #[test]
    fn an_empty_missing_or_binary_file_is_refused_with_its_reason() {
        let empty = file_with(b"");
        let err = Table::open(empty.path()).unwrap().header().unwrap_err();
        assert_eq!(err.to_string(), "无法读取文件：文件为空");
        let missing = empty.path().with_extension("gone");
        assert!(
            Table::open(&missing)
                .err()
                .unwrap()
                .to_string()
                .starts_with("无法读取文件：")
        );
        let binary = file_with(b"a,b\n\0\0\0");
        assert_eq!(
            Table::open(binary.path()).err().unwrap().to_string(),
            "无法读取文件：不是CSV或Excel文件"
        );
    }

    #[test]
    fn a_file_digest_read_in_pieces_is_the_digest_of_its_bytes() {
        let bytes = "名称\n".repeat(100_000).into_bytes();
        let digest = file_digest_of(file_with(&bytes).path()).unwrap();
        assert_eq!(digest, file_digest(&bytes));
    }

    #[test]
    fn bytes_in_no_known_encoding_are_refused() {
        let err = Table::read(vec![b'a', b',', 0xFF, 0xFF, 0xFF, b'\n'])
            .err()
            .unwrap();
        assert!(err.to_string().contains("编码无法识别"), "{err}");
    }
}
