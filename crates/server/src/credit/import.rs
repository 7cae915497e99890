//! Import of credit records in the 双公示 layout (the same path serves the
//! CLI, the officer upload and the exchange format). Rows are validated on
//! a blocking thread while the previous batch is written; each bad row is
//! reported with its column and reason, and good rows are kept.

use super::fields::{
    self, CellError, Column, CreditRow, RowContext, columns, normalise_header, parse_row,
};
use super::store::{self, Existing, NewRecord, Taken};
use crate::registry::import::{ImportError, ImportReport, Table};
use crate::storage::{Backend, Db, StatsRefresh};
use lifeservice_domain::CreditCode;
use lifeservice_domain::credit::{DisclosureRules, RecordKind};
// foldhash: a batch hashes every row's 文书号 and credit code several times,
// and SipHash was a tenth of the writing task's time.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::hash::BuildHasher;

/// Rows per database transaction.
const BATCH: usize = 5000;

#[derive(Debug, Clone)]
pub struct CreditImportOptions {
    /// The submitting account, for provenance and the audit log.
    pub actor: String,
    /// The submitting department: every row's source unit must be it. `None`
    /// only for an administrator relaying records as their source wrote them.
    pub submitter: Option<CreditCode>,
    /// Record against a placeholder entity, flagged unregistered, when a
    /// credit code is not in the registry (otherwise the row is rejected).
    pub register_unknown: bool,
    pub rules: DisclosureRules,
}

/// Imports a table of one kind. File-level problems return `Err` with
/// nothing imported; row problems end up in the report's rejects.
pub async fn import_credit(
    db: &Db,
    kind: RecordKind,
    table: Table,
    options: &CreditImportOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<ImportReport, ImportError> {
    let header = table.header()?;
    let cols = columns(kind);
    let (positions, ignored) = header_positions(&cols, &header)?;
    let mut report = ImportReport {
        ignored_columns: ignored,
        ..Default::default()
    };
    let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
    let (rules, submitter) = (options.rules.clone(), options.submitter.clone());
    let parser = tokio::task::spawn_blocking(move || {
        let ctx = RowContext {
            today: crate::time::today(),
            rules: &rules,
            submitter: submitter.as_ref(),
        };
        parse_lines(&table, kind, &cols, &positions, &ctx, &sender)
    });
    let mut stats = StatsRefresh::new(&["credit_records"]);
    let mut entities = KnownEntities::default();
    let mut batch: Vec<(usize, CreditRow)> = Vec::with_capacity(BATCH);
    // Hashes of the batch's 文书号: a collision only ends a batch early.
    let doc_hasher = foldhash::fast::RandomState::default();
    let mut docs_in_batch: HashSet<u64> = HashSet::new();
    while let Some(lines) = receiver.recv().await {
        for line in lines {
            report.rows += 1;
            match line {
                (row, Err(errors)) => reject_cells(&mut report, row, errors),
                (row, Ok(record)) => {
                    let doc = doc_hasher.hash_one(record.doc_no.as_str());
                    if docs_in_batch.contains(&doc) || batch.len() >= BATCH {
                        let rows = std::mem::take(&mut batch);
                        write_batch(db, kind, rows, options, &mut entities, &mut report).await?;
                        stats.after(db, report.inserted).await?;
                        docs_in_batch.clear();
                    }
                    docs_in_batch.insert(doc);
                    batch.push((row, record));
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
    write_batch(db, kind, batch, options, &mut entities, &mut report).await?;
    report.unchanged = report.rows - report.rejected_rows - report.inserted - report.updated;
    stats.finish(db, report.inserted).await?;
    Ok(report)
}

/// Where each template column is in the file; unknown headers are ignored
/// and reported, a missing required column fails the file.
fn header_positions(
    cols: &[Column],
    header: &[String],
) -> Result<(Vec<Option<usize>>, Vec<String>), ImportError> {
    let normalised: Vec<String> = header
        .iter()
        .map(|h| normalise_header(h.trim_start_matches('\u{feff}')))
        .collect();
    let positions: Vec<Option<usize>> = cols
        .iter()
        .map(|c| {
            let wanted = normalise_header(c.header);
            normalised.iter().position(|h| *h == wanted)
        })
        .collect();
    let missing: Vec<&str> = cols
        .iter()
        .zip(&positions)
        .filter(|(c, p)| c.required && p.is_none())
        .map(|(c, _)| c.header)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing.join("、")));
    }
    let ignored = header
        .iter()
        .enumerate()
        .filter(|(i, h)| !h.trim().is_empty() && !positions.contains(&Some(*i)))
        .map(|(_, h)| h.clone())
        .collect();
    Ok((positions, ignored))
}

type Line = (usize, Result<CreditRow, Vec<CellError>>);

fn parse_lines(
    table: &Table,
    kind: RecordKind,
    cols: &[Column],
    positions: &[Option<usize>],
    ctx: &RowContext,
    sender: &tokio::sync::mpsc::Sender<Vec<Line>>,
) {
    const CHUNK: usize = 1000;
    let mut chunk = Vec::with_capacity(CHUNK);
    for (row, cells) in table.rows().skip(1) {
        let cells = match cells {
            Ok(cells) => cells,
            // Reading stops at a broken line; every row before it is imported.
            Err(e) => {
                let reason = format!("第{row}行无法解析：{e}");
                chunk.push((row, Err(vec![CellError { header: "", reason }])));
                break;
            }
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let aligned: Vec<Option<&str>> = positions
            .iter()
            .map(|p| p.and_then(|i| cells.get(i)).map(String::as_str))
            .collect();
        chunk.push((row, parse_row(kind, cols, &aligned, ctx)));
        if chunk.len() == CHUNK && sender.blocking_send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = sender.blocking_send(chunk);
    }
}

fn reject_cells(report: &mut ImportReport, row: usize, errors: Vec<CellError>) {
    report.rejected_rows += 1;
    report
        .rejects
        .extend(errors.into_iter().map(|e| crate::registry::import::Reject {
            row,
            column: e.header.to_string(),
            reason: e.reason,
        }));
}

/// Entity ids by credit code, kept from batch to batch of one import: a
/// province's file names each entity in many records (about 24 in the
/// benchmark), and looking every code up again took a quarter of the import.
/// An entity keeps its id and its code for good (entities are closed, never
/// deleted or re-coded), so a code once found stays right.
#[derive(Default)]
struct KnownEntities(HashMap<String, i64>);

impl KnownEntities {
    /// Beyond this many codes the map starts again, to bound its memory.
    const MAX: usize = 1_000_000;

    /// Looks up the codes not known yet and keeps those the registry has.
    async fn resolve(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        codes: HashSet<&str>,
    ) -> Result<(), sqlx::Error> {
        let unknown: Vec<&str> = codes
            .into_iter()
            .filter(|c| !self.0.contains_key(*c))
            .collect();
        if self.0.len() + unknown.len() > Self::MAX {
            self.0.clear();
        }
        self.0.extend(store::entity_ids(conn, &unknown).await?);
        Ok(())
    }
}

/// Writes one batch in one transaction: resolves entities, inserts new
/// records, updates the submitting department's own changed records (keeping
/// the earlier version), and rejects a 文书号 another department owns.
///
/// On SQLite the batch is the only writer until it commits, so its records
/// are inserted straight away and only the 文书号 found taken are read back
/// (looking up all of them first was a tenth of a large import); PostgreSQL
/// writers run side by side, so there the batch looks its 文书号 up first.
async fn write_batch(
    db: &Db,
    kind: RecordKind,
    batch: Vec<(usize, CreditRow)>,
    options: &CreditImportOptions,
    entities: &mut KnownEntities,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = crate::time::now_text();
    let mut tx = db.begin_write().await?;
    let codes = batch
        .iter()
        .filter_map(|(_, r)| r.credit_code.as_ref().map(CreditCode::as_str))
        .collect();
    entities.resolve(&mut tx, codes).await?;
    // Placeholders registered by this batch are known once it commits.
    let mut placeholders: HashMap<String, i64> = HashMap::new();
    let taken = match db.backend() {
        Backend::Sqlite => Taken::Skipped,
        Backend::Postgres => Taken::Fails,
    };
    let mut existing = match taken {
        Taken::Skipped => HashMap::new(),
        Taken::Fails => {
            let docs: Vec<&str> = batch.iter().map(|(_, r)| r.doc_no.as_str()).collect();
            store::existing(&mut tx, kind, &docs).await?
        }
    };

    let mut inserts = Vec::with_capacity(batch.len());
    let mut updates: Vec<(Existing, NewRecord)> = Vec::new();
    for (row, record) in &batch {
        let entity_id = match &record.credit_code {
            None => None,
            Some(code) => match entities
                .0
                .get(code.as_str())
                .or(placeholders.get(code.as_str()))
            {
                Some(id) => Some(*id),
                None if options.register_unknown => {
                    let id =
                        store::insert_placeholder_entity(&mut tx, code, &record.subject_name, &now)
                            .await?;
                    placeholders.insert(code.to_string(), id);
                    Some(id)
                }
                None => {
                    report.reject(
                        *row,
                        "统一社会信用代码",
                        format!("统一社会信用代码“{code}”不在市场主体登记库中，请先登记该主体"),
                    );
                    continue;
                }
            },
        };
        let new = NewRecord {
            row: record,
            entity_id,
        };
        match existing.remove(&record.doc_no) {
            None => inserts.push((*row, new)),
            Some(old) => resubmitted(kind, *row, old, new, &mut updates, report),
        }
    }
    let new: Vec<&NewRecord> = inserts.iter().map(|(_, n)| n).collect();
    let mut stored =
        store::insert_records(&mut tx, kind, &new, taken, &options.actor, &now).await?;
    let mut inserted = Vec::with_capacity(inserts.len());
    for (row, new) in inserts {
        match stored.remove(&new.row.doc_no) {
            None => inserted.push(new),
            Some(old) => resubmitted(kind, row, old, new, &mut updates, report),
        }
    }
    for (old, new) in &updates {
        store::update_record(&mut tx, old, new, &options.actor, "重新报送更正", &now).await?;
        crate::audit::record(
            &mut tx,
            &options.actor,
            "correct",
            "credit_record",
            &old.id.to_string(),
            Some(keyed(kind, &old.items)),
            Some(keyed(kind, &new.row.items)),
        )
        .await?;
    }
    let touched: Vec<i64> = inserted
        .iter()
        .chain(updates.iter().map(|(_, n)| n))
        .filter_map(|n| n.entity_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    super::profile::record_entity_changes(&mut tx, &touched).await?;
    tx.commit().await?;
    entities.0.extend(placeholders);
    report.inserted += inserted.len();
    report.updated += updates.len();
    Ok(())
}

/// A record whose 文书号 is stored already: another department's is
/// rejected, the submitter's own is updated unless nothing changed.
fn resubmitted<'a>(
    kind: RecordKind,
    row: usize,
    old: Existing,
    new: NewRecord<'a>,
    updates: &mut Vec<(Existing, NewRecord<'a>)>,
    report: &mut ImportReport,
) {
    if old.source_code != new.row.source_code.as_str() {
        let doc_header = fields::columns(kind)
            .iter()
            .find(|c| c.key == "decision_no")
            .map_or("", |c| c.header);
        report.reject(
            row,
            doc_header,
            format!(
                "文书号“{}”已由其他部门（{}）报送，只有该部门可以更正或撤回",
                new.row.doc_no, old.source_code
            ),
        );
    } else if old.state != "active" || !fields::same_items(&old.items, &new.row.items) {
        updates.push((old, new));
    }
}

/// Items under their keys, as the audit log shows a correction.
fn keyed(kind: RecordKind, items: &str) -> serde_json::Value {
    serde_json::json!(fields::items_by_key(kind, items))
}

/// The template's header row, for departments to fill in.
pub fn template_csv(kind: RecordKind) -> String {
    let headers: Vec<&str> = columns(kind).iter().map(|c| c.header).collect();
    format!("\u{feff}{}\n", headers.join(","))
}

/// Positions of columns by key, for callers that build rows (the API, the demo).
pub fn header_index(kind: RecordKind) -> HashMap<&'static str, usize> {
    columns(kind)
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key, i))
        .collect()
}
