//! Full-text search over the plan's tasks: a small tantivy index in memory,
//! built once from the shipped plan with the platform's jieba tokenizer.
//!
//! Every space-separated term of a query must match a task. A term matches
//! when all its words occur in one of the task's fields (title, text, group,
//! responsible units), or when it is part of the short or official name of a
//! unit responsible for the task: 文化和旅游厅 finds 省文旅厅's tasks, whose
//! short name jieba cannot relate to the official one.

use crate::error::AppResult;
use crate::search::tokenizer::{JIEBA, JiebaTokenizer, query_words};
use lifeservice_domain::plan::Plan;
use std::sync::OnceLock;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

struct PlanIndex {
    reader: IndexReader,
    number: Field,
    /// Title, text, group and responsible unit names, each tokenized by jieba.
    texts: [Field; 4],
    /// Codes of the responsible units, as they are.
    unit_ids: Field,
}

fn build() -> tantivy::Result<PlanIndex> {
    let mut schema = Schema::builder();
    let jieba = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(JIEBA)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let number = schema.add_u64_field("number", INDEXED | STORED);
    let texts =
        ["title", "text", "group", "units"].map(|n| schema.add_text_field(n, jieba.clone()));
    let unit_ids = schema.add_text_field("unit_ids", STRING);
    let index = Index::create_in_ram(schema.build());
    index
        .tokenizers()
        .register(JIEBA, JiebaTokenizer::default());
    let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
    let plan = Plan::shipped();
    for task in &plan.tasks {
        let group = plan
            .group(task.group)
            .map(|g| format!("{} {}", g.topic, g.title))
            .unwrap_or_default();
        let units: Vec<&str> = task
            .responsible_units
            .iter()
            .filter_map(|id| plan.unit(id))
            .flat_map(|u| [Some(u.name.as_str()), u.full_name.as_deref()])
            .flatten()
            .collect();
        let mut document = doc!(
            number => u64::from(task.number),
            texts[0] => task.title.as_str(),
            texts[1] => task.text.as_str(),
            texts[2] => group,
            texts[3] => units.join(" "),
        );
        for id in &task.responsible_units {
            document.add_text(unit_ids, id.as_str());
        }
        writer.add_document(document)?;
    }
    writer.commit()?;
    Ok(PlanIndex {
        reader: index.reader()?,
        number,
        texts,
        unit_ids,
    })
}

fn index() -> AppResult<&'static PlanIndex> {
    static INDEX: OnceLock<Result<PlanIndex, String>> = OnceLock::new();
    INDEX
        .get_or_init(|| build().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("plan search index: {e}").into())
}

/// The clause one term contributes: its words all in one field, or a unit named by it.
fn term_clause(index: &PlanIndex, term: &str) -> Option<Box<dyn Query>> {
    let words = query_words(term);
    let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if !words.is_empty() {
        for field in index.texts {
            let all: Vec<(Occur, Box<dyn Query>)> = words
                .iter()
                .map(|w| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(field, w),
                        IndexRecordOption::WithFreqs,
                    ));
                    (Occur::Must, q)
                })
                .collect();
            either.push((Occur::Should, Box::new(BooleanQuery::new(all))));
        }
    }
    let plan = Plan::shipped();
    let named = plan.units.iter().filter(|u| {
        term.chars().count() >= 2
            && (u.name.contains(term) || u.full_name.as_deref().is_some_and(|f| f.contains(term)))
    });
    for unit in named {
        either.push((
            Occur::Should,
            Box::new(TermQuery::new(
                Term::from_field_text(index.unit_ids, unit.id.as_str()),
                IndexRecordOption::Basic,
            )),
        ));
    }
    (!either.is_empty()).then(|| Box::new(BooleanQuery::new(either)) as Box<dyn Query>)
}

/// Numbers of the tasks matching `query`, best match first; none when the
/// query has no words.
pub fn search(query: &str) -> AppResult<Vec<u8>> {
    let index = index()?;
    let clauses: Option<Vec<(Occur, Box<dyn Query>)>> = query
        .split_whitespace()
        .map(|term| term_clause(index, term).map(|q| (Occur::Must, q)))
        .collect();
    let Some(clauses) = clauses.filter(|c| !c.is_empty()) else {
        return Ok(Vec::new());
    };
    let searcher = index.reader.searcher();
    let hits = searcher
        .search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(Plan::shipped().tasks.len()),
        )
        .map_err(anyhow::Error::from)?;
    hits.into_iter()
        .map(|(_, address)| {
            let doc: TantivyDocument = searcher.doc(address).map_err(anyhow::Error::from)?;
            let number = doc
                .get_first(index.number)
                .and_then(|v| v.as_u64())
                .and_then(|n| u8::try_from(n).ok())
                .ok_or_else(|| anyhow::anyhow!("plan search hit without a task number"))?;
            Ok(number)
        })
        .collect()
}
