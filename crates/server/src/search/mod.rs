//! The full-text index: derived data, rebuildable from the database at any
//! time (`lifeservice reindex`). It follows every write through the
//! `changes` feed, including writes made by other processes (a CLI import
//! while the server runs), and records the last applied change in its commit
//! payload so that a restart resumes where it stopped.

pub mod params;
pub mod tokenizer;

use crate::reference::Reference;
use crate::registry::{Entity, Outlet, store};
use crate::storage::Db;
use lifeservice_domain::{Coordinates, DivisionCode, Level, MajorCategory, ServiceType};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tokenizer::{JIEBA, JiebaTokenizer, query_words};

/// Changes applied per index commit while catching up.
const CHANGES_PER_COMMIT: i64 = 20_000;

#[derive(Clone, Copy)]
struct Fields {
    kind: Field,
    id: Field,
    name: Field,
    text: Field,
    division: Field,
    service_type: Field,
    major: Field,
    lon: Field,
    lat: Field,
    penalty_until: Field,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

/// What kind of document a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Outlet,
    Entity,
}

impl DocKind {
    fn as_str(self) -> &'static str {
        match self {
            DocKind::Outlet => "outlet",
            DocKind::Entity => "entity",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Distance,
    /// Best rated first (reviews): the index returns candidates by relevance
    /// or distance, which `registry::api::run_outlet_search` re-ranks.
    Quality,
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub kind: DocKind,
    pub text: String,
    pub division: Option<DivisionCode>,
    pub service_type: Option<ServiceType>,
    pub major: Option<MajorCategory>,
    /// A point and a radius in metres.
    pub near: Option<(Coordinates, f64)>,
    /// Only outlets whose entity has no penalty in its disclosure window on this day.
    pub no_penalty_on: Option<chrono::NaiveDate>,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

impl SearchQuery {
    pub fn outlets(text: &str) -> Self {
        SearchQuery {
            kind: DocKind::Outlet,
            text: text.to_string(),
            division: None,
            service_type: None,
            major: None,
            near: None,
            no_penalty_on: None,
            sort: Sort::Relevance,
            offset: 0,
            limit: 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchHits {
    pub total: usize,
    pub hits: Vec<Hit>,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let jieba_text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(JIEBA)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        kind: b.add_text_field("kind", STRING),
        id: b.add_i64_field("id", INDEXED | STORED | FAST),
        name: b.add_text_field("name", jieba_text.clone()),
        text: b.add_text_field("text", jieba_text),
        division: b.add_text_field("division", STRING),
        service_type: b.add_text_field("service_type", STRING),
        major: b.add_text_field("major", STRING),
        // Columnar only: a range over a column scan beats a range over
        // millions of distinct indexed terms.
        lon: b.add_f64_field("lon", FAST),
        lat: b.add_f64_field("lat", FAST),
        // The last public day of the entity's penalties, in days since 1970 (0: none).
        penalty_until: b.add_i64_field("penalty_until", FAST),
    };
    (b.build(), fields)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when absent.
    pub fn open(dir: &Path) -> anyhow::Result<SearchIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = schema();
        let index = match Index::open_or_create(
            tantivy::directory::MmapDirectory::open(dir)?,
            schema.clone(),
        ) {
            Ok(index) => index,
            // The index is derived data: one built with an older schema is dropped and rebuilt.
            Err(tantivy::TantivyError::SchemaError(reason)) => {
                tracing::warn!(%reason, "search index schema changed; rebuilding");
                std::fs::remove_dir_all(dir)?;
                std::fs::create_dir_all(dir)?;
                Index::create_in_dir(dir, schema)?
            }
            Err(e) => return Err(e.into()),
        };
        index
            .tokenizers()
            .register(JIEBA, JiebaTokenizer::default());
        let writer = index.writer(64 * 1024 * 1024).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => {
                anyhow::anyhow!(
                    "搜索索引 {} 正被另一个进程使用（请先停止正在运行的服务）",
                    dir.display()
                )
            }
            other => other.into(),
        })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
        })
    }

    /// The last change of the feed this index reflects.
    pub fn applied_seq(&self) -> i64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies every change recorded since the last commit; returns how many.
    pub async fn catch_up(&self, db: &Db) -> anyhow::Result<usize> {
        let mut applied = 0;
        loop {
            let since = self.applied_seq();
            let rows = store::changes_after(db, since, CHANGES_PER_COMMIT).await?;
            let Some(&(last_seq, _, _)) = rows.last() else {
                return Ok(applied);
            };
            let mut outlets = HashSet::new();
            let mut entities = HashSet::new();
            for (_, kind, id) in &rows {
                match kind.as_str() {
                    "entity" => entities.insert(*id),
                    _ => outlets.insert(*id),
                };
            }
            let mut conn = db.pool().acquire().await?;
            for &entity in &entities {
                outlets.extend(store::outlet_ids_of_entity(&mut conn, entity).await?);
            }
            let outlet_ids: Vec<i64> = outlets.into_iter().collect();
            let entity_ids: Vec<i64> = entities.into_iter().collect();
            let outlet_rows = store::outlets_by_ids(&mut conn, &outlet_ids).await?;
            let entity_rows = store::entities_by_ids(&mut conn, &entity_ids).await?;
            let penalties = penalty_days(&mut conn, &outlet_rows).await?;
            drop(conn);
            self.write(
                |writer, fields| {
                    for id in &outlet_ids {
                        writer.delete_term(id_term(fields, DocKind::Outlet, *id));
                    }
                    for id in &entity_ids {
                        writer.delete_term(id_term(fields, DocKind::Entity, *id));
                    }
                    for outlet in outlet_rows.iter().filter(|o| o.status == "open") {
                        writer.add_document(outlet_doc(fields, outlet, &penalties))?;
                    }
                    for entity in &entity_rows {
                        writer.add_document(entity_doc(fields, entity))?;
                    }
                    Ok(())
                },
                last_seq,
            )?;
            applied += rows.len();
        }
    }

    /// Drops every document and indexes the whole database again.
    pub async fn rebuild(
        &self,
        db: &Db,
        progress: Option<&indicatif::ProgressBar>,
    ) -> anyhow::Result<u64> {
        let max_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(db.pool())
            .await?;
        self.write(
            |writer, _| {
                writer.delete_all_documents()?;
                Ok(())
            },
            0,
        )?;
        let mut conn = db.pool().acquire().await?;
        let mut after = 0;
        let mut indexed = 0u64;
        loop {
            let ids = store::outlet_ids_page(&mut conn, after, 5000).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let outlets = store::outlets_by_ids(&mut conn, &ids).await?;
            let penalties = penalty_days(&mut conn, &outlets).await?;
            let writer = self.writer.lock().expect("index writer lock");
            for outlet in outlets.iter().filter(|o| o.status == "open") {
                writer.add_document(outlet_doc(&self.fields, outlet, &penalties))?;
                indexed += 1;
            }
            if let Some(bar) = progress {
                bar.inc(ids.len() as u64);
            }
        }
        let entity_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM entities ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
        for chunk in entity_ids.chunks(5000) {
            let entities = store::entities_by_ids(&mut conn, chunk).await?;
            let writer = self.writer.lock().expect("index writer lock");
            for entity in &entities {
                writer.add_document(entity_doc(&self.fields, entity))?;
            }
        }
        drop(conn);
        self.write(|_, _| Ok(()), max_seq)?;
        Ok(indexed)
    }

    /// Runs `f` with the writer, then commits with the change sequence as payload.
    fn write(
        &self,
        f: impl FnOnce(&IndexWriter, &Fields) -> anyhow::Result<()>,
        seq: i64,
    ) -> anyhow::Result<()> {
        let mut writer = self.writer.lock().expect("index writer lock");
        f(&writer, &self.fields)?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&seq.to_string());
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    pub fn search(&self, q: &SearchQuery) -> anyhow::Result<SearchHits> {
        let query = self.build_query(q);
        let searcher = self.reader.searcher();
        match (q.sort, q.near) {
            (Sort::Distance, Some((point, radius))) => {
                self.search_by_distance(&searcher, &query, point, radius, q)
            }
            _ => {
                let (top, total) = searcher.search(
                    &query,
                    &(
                        TopDocs::with_limit(q.limit.max(1)).and_offset(q.offset),
                        Count,
                    ),
                )?;
                let mut hits = Vec::with_capacity(top.len());
                for (_, address) in top {
                    let doc: TantivyDocument = searcher.doc(address)?;
                    let id = doc
                        .get_first(self.fields.id)
                        .and_then(|v| v.as_i64())
                        .unwrap_or_default();
                    let distance_m = q.near.and_then(|(p, _)| {
                        self.doc_point(&searcher, address).map(|d| p.distance_m(d))
                    });
                    hits.push(Hit { id, distance_m });
                }
                Ok(SearchHits { total, hits })
            }
        }
    }

    fn doc_point(
        &self,
        searcher: &tantivy::Searcher,
        address: tantivy::DocAddress,
    ) -> Option<Coordinates> {
        let fast = searcher.segment_reader(address.segment_ord).fast_fields();
        let lon = fast.f64("lon").ok()?.first(address.doc_id)?;
        let lat = fast.f64("lat").ok()?.first(address.doc_id)?;
        Coordinates::new(lon, lat).ok()
    }

    fn search_by_distance(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        point: Coordinates,
        radius: f64,
        q: &SearchQuery,
    ) -> anyhow::Result<SearchHits> {
        let addresses = searcher.search(query, &DocSetCollector)?;
        let mut by_segment: HashMap<u32, Vec<u32>> = HashMap::new();
        for address in addresses {
            by_segment
                .entry(address.segment_ord)
                .or_default()
                .push(address.doc_id);
        }
        let mut hits = Vec::new();
        // Columns are opened once per segment: opening one per document is
        // what made distance sorts slow.
        for (segment, docs) in by_segment {
            let fast = searcher.segment_reader(segment).fast_fields();
            let (ids, lons, lats) = (fast.i64("id")?, fast.f64("lon")?, fast.f64("lat")?);
            for doc in docs {
                let (Some(id), Some(lon), Some(lat)) =
                    (ids.first(doc), lons.first(doc), lats.first(doc))
                else {
                    continue;
                };
                let Ok(p) = Coordinates::new(lon, lat) else {
                    continue;
                };
                let d = point.distance_m(p);
                if d <= radius {
                    hits.push(Hit {
                        id,
                        distance_m: Some(d),
                    });
                }
            }
        }
        hits.sort_by(|a, b| {
            a.distance_m
                .partial_cmp(&b.distance_m)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.id.cmp(&b.id))
        });
        let total = hits.len();
        let hits = hits.into_iter().skip(q.offset).take(q.limit).collect();
        Ok(SearchHits { total, hits })
    }

    fn build_query(&self, q: &SearchQuery) -> Box<dyn Query> {
        let f = &self.fields;
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, term(f.kind, q.kind.as_str()))];
        for word in query_words(&q.text) {
            let in_name: Box<dyn Query> = Box::new(BoostQuery::new(term(f.name, &word), 3.0));
            let either = BooleanQuery::new(vec![
                (Occur::Should, in_name),
                (Occur::Should, term(f.text, &word)),
            ]);
            clauses.push((Occur::Must, Box::new(either)));
        }
        if let Some(d) = &q.division {
            clauses.push((Occur::Must, term(f.division, d.as_str())));
        }
        if let Some(t) = q.service_type {
            clauses.push((Occur::Must, term(f.service_type, t.code())));
        }
        if let Some(m) = q.major {
            clauses.push((Occur::Must, term(f.major, &m.code())));
        }
        if let Some((p, radius)) = q.near {
            let dlat = radius / 111_195.0;
            let dlon = dlat / p.lat().to_radians().cos().max(0.01);
            for (field, centre, delta) in [(f.lat, p.lat(), dlat), (f.lon, p.lon(), dlon)] {
                let range = RangeQuery::new(
                    Bound::Included(Term::from_field_f64(field, centre - delta)),
                    Bound::Included(Term::from_field_f64(field, centre + delta)),
                );
                clauses.push((Occur::Must, Box::new(range)));
            }
        }
        if let Some(day) = q.no_penalty_on {
            let range = RangeQuery::new(
                Bound::Unbounded,
                Bound::Excluded(Term::from_field_i64(f.penalty_until, epoch_days(day))),
            );
            clauses.push((Occur::Must, Box::new(range)));
        }
        if clauses.len() == 1 {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

fn id_term(fields: &Fields, kind: DocKind, id: i64) -> Term {
    // Outlet and entity ids share one field: entity ids are stored negated.
    Term::from_field_i64(fields.id, if kind == DocKind::Entity { -id } else { id })
}

fn lineage_terms(doc: &mut TantivyDocument, field: Field, code: &str) {
    if let Ok(code) = DivisionCode::parse(code) {
        for c in code.lineage() {
            doc.add_text(field, c.as_str());
        }
    }
}

fn epoch_days(day: chrono::NaiveDate) -> i64 {
    (day - chrono::NaiveDate::default()).num_days()
}

/// The last public penalty day of each outlet's entity, as [`epoch_days`].
async fn penalty_days(
    conn: &mut sqlx::AnyConnection,
    outlets: &[Outlet],
) -> anyhow::Result<HashMap<i64, i64>> {
    let entities: Vec<i64> = outlets
        .iter()
        .map(|o| o.entity_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let until = crate::credit::store::penalty_until_by_entity(conn, &entities).await?;
    Ok(until
        .into_iter()
        .map(|(entity, day)| (entity, epoch_days(day)))
        .collect())
}

fn outlet_doc(f: &Fields, o: &Outlet, penalty_days: &HashMap<i64, i64>) -> TantivyDocument {
    let reference = Reference::shipped();
    let mut doc = TantivyDocument::default();
    doc.add_text(f.kind, "outlet");
    doc.add_i64(f.id, o.id);
    doc.add_text(f.name, &o.name);
    let mut text = format!(
        "{} {} {} {}",
        o.entity_name, o.entity_code, o.address, o.service_type_zh
    );
    if let Some(t) = ServiceType::parse(&o.service_type) {
        text.push(' ');
        text.push_str(&t.aliases().join(" "));
        text.push(' ');
        text.push_str(t.major().zh());
    }
    for d in &o.designations {
        text.push(' ');
        text.push_str(&d.kind_zh);
    }
    if let Ok(code) = DivisionCode::parse(&o.division_code) {
        text.push(' ');
        text.push_str(&reference.full_name(&code));
    }
    doc.add_text(f.text, &text);
    lineage_terms(&mut doc, f.division, &o.division_code);
    doc.add_text(f.service_type, &o.service_type);
    doc.add_text(f.major, &o.major_category);
    doc.add_f64(f.lon, o.lon);
    doc.add_f64(f.lat, o.lat);
    doc.add_i64(
        f.penalty_until,
        penalty_days.get(&o.entity_id).copied().unwrap_or(0),
    );
    doc
}

fn entity_doc(f: &Fields, e: &Entity) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(f.kind, "entity");
    doc.add_i64(f.id, -e.id);
    doc.add_text(f.name, &e.name);
    let place = DivisionCode::parse(&e.division_code)
        .map(|c| Reference::shipped().full_name(&c))
        .unwrap_or_default();
    doc.add_text(f.text, format!("{} {} {}", e.credit_code, e.kind_zh, place));
    lineage_terms(&mut doc, f.division, &e.division_code);
    doc
}

/// Splits division names out of a free-text query: `家政 小店区` searches
/// 家政 inside 小店区. Only names that denote exactly one city, county or town
/// of Shanxi are taken; an ambiguous name (城区) stays as text.
pub fn extract_division(text: &str) -> (String, Option<DivisionCode>) {
    let names = division_names();
    let mut rest = Vec::new();
    let mut found = None;
    for word in text.split_whitespace() {
        match (found.is_none(), names.get(word).map(Vec::as_slice)) {
            (true, Some([one])) => found = Some(one.clone()),
            _ => rest.push(word),
        }
    }
    (rest.join(" "), found)
}

/// City, county and town names (and their stems: 小店区 → 小店) to codes.
fn division_names() -> &'static HashMap<String, Vec<DivisionCode>> {
    static NAMES: OnceLock<HashMap<String, Vec<DivisionCode>>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: HashMap<String, Vec<DivisionCode>> = HashMap::new();
        for d in Reference::shipped()
            .all()
            .filter(|d| matches!(d.level, Level::City | Level::County | Level::Town))
        {
            names
                .entry(d.name.clone())
                .or_default()
                .push(d.code.clone());
            let stem = strip_division_suffix(&d.name);
            if stem != d.name && stem.chars().count() >= 2 {
                names
                    .entry(stem.to_string())
                    .or_default()
                    .push(d.code.clone());
            }
        }
        names
    })
}

fn strip_division_suffix(name: &str) -> &str {
    for suffix in ["街道办事处", "街道", "市", "区", "县", "镇", "乡"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return stem;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_unique_division_names() {
        let (rest, division) = extract_division("家政 小店区");
        assert_eq!(rest, "家政");
        assert_eq!(division.unwrap().as_str(), "140105");
        let (rest, division) = extract_division("超市 城区");
        assert_eq!(rest, "超市 城区", "城区 is ambiguous");
        assert!(division.is_none());
    }
}
