//! Dataset `statistics`: new market entities and penalties by county, year
//! and NBS major category, read from the statistics cube that `/stats` uses.

use super::catalogue::{Field, FieldType as T, field};
use super::{Cached, Cell, Record, Summary};
use crate::app::AppState;
use crate::error::AppResult;
use crate::reference::Reference;
use lifeservice_domain::{DivisionCode, MajorCategory};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const FIELDS: &[Field] = &[
    field(
        "county_code",
        "县级区划代码",
        T::Code,
        "现行县级区划代码（区划调整前的代码已归并到继承单位）",
    ),
    field(
        "county_name",
        "县级区划名称",
        T::Text,
        "县（市、区），含所属市",
    ),
    field(
        "year",
        "年份",
        T::Integer,
        "新设主体按成立日期、处罚按处罚决定日期所在年份",
    ),
    field(
        "major_category",
        "大类代码",
        T::Code,
        "国家统计局《生活性服务业统计分类(2019)》大类代码；没有服务网点的主体为空",
    ),
    field(
        "major_category_name",
        "大类名称",
        T::Text,
        "大类名称；没有服务网点的主体为“无服务网点”",
    ),
    field(
        "new_entities",
        "新设市场主体数",
        T::Integer,
        "该年成立、在该县登记的市场主体数，按第一个服务网点的服务类型（主营业务）归入大类（含已注销；未登记成立日期的不计）",
    ),
    field(
        "penalties",
        "行政处罚数",
        T::Integer,
        "该年作出、针对该县该大类市场主体的行政处罚数（不含撤回；当事人为自然人的不计；含公示期已届满或已信用修复的处罚，只计数不公开内容）",
    ),
];

/// One cell of the table: a county, a year and a major category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    county: String,
    year: String,
    category: String,
    new_entities: i64,
    penalties: i64,
}

impl Row {
    fn key(&self) -> (&str, &str, &str) {
        (&self.county, &self.year, &self.category)
    }
}

/// Rows after the key `county/year/category`, in that order.
pub async fn fetch(state: &AppState, after: Option<&str>, n: usize) -> AppResult<Vec<Record>> {
    let after = after.map(parse_key).transpose()?;
    let rows = table(state).await?;
    let start = match &after {
        Some((c, y, k)) => {
            rows.partition_point(|r| r.key() <= (c.as_str(), y.as_str(), k.as_str()))
        }
        None => 0,
    };
    Ok(rows[start..].iter().take(n).map(record).collect())
}

fn parse_key(key: &str) -> AppResult<(String, String, String)> {
    let mut parts = key.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(c), Some(y), Some(k)) => Ok((c.into(), y.into(), k.into())),
        _ => Err(super::cursor::invalid()),
    }
}

fn record(row: &Row) -> Record {
    let county = DivisionCode::parse(&row.county)
        .map(|c| Reference::shipped().full_name(&c))
        .unwrap_or_default();
    let category = MajorCategory::parse(&row.category);
    Record {
        key: format!("{}/{}/{}", row.county, row.year, row.category),
        cells: vec![
            Cell::code(row.county.clone()),
            Cell::code(county),
            row.year.parse().map_or(Cell::Null, Cell::Int),
            Cell::code(row.category.clone()),
            Cell::code(category.map_or("无服务网点", |c| c.zh())),
            Cell::Int(row.new_entities),
            Cell::Int(row.penalties),
        ],
        point: None,
    }
}

/// The table, computed at most once per change of the data (see `OpenDataCache`).
async fn table(state: &AppState) -> AppResult<Arc<Vec<Row>>> {
    let seq = super::change_seq(state).await?;
    let mut cache = state.open_data.statistics.lock().await;
    if let Some(hit) = cache.as_ref().filter(|c| c.is_fresh(seq)) {
        return Ok(hit.value.clone());
    }
    let rows = Arc::new(compute(state).await?);
    *cache = Some(Cached::new(seq, rows.clone()));
    Ok(rows)
}

/// From the statistics cube (`crate::stats::cube`), so the open table and
/// `/stats` agree: an entity is classified by its first outlet's service type
/// (its main activity) and retired county codes count under their successors.
/// Entities without outlets are what the all-categories total has beyond the
/// major categories.
const CUBE_SQL: &str = "SELECT division_code AS county, substr(period, 1, 4) AS year, category, measure, \
     CAST(SUM(value) AS BIGINT) AS n FROM stat_cells \
     WHERE length(division_code) = 6 AND length(category) <= 2 AND measure IN ('entity_new', 'penalty') AND period <> $1 \
     GROUP BY division_code, substr(period, 1, 4), category, measure";

async fn compute(state: &AppState) -> AppResult<Vec<Row>> {
    let counts: Vec<(String, String, String, String, i64)> = sqlx::query_as(CUBE_SQL)
        .bind(crate::stats::cube::UNDATED)
        .fetch_all(state.db.pool())
        .await?;
    let mut cells: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    for (county, year, category, measure, n) in counts {
        // The all-categories total counts positively under '', each major
        // category negatively there too: what remains has no outlet.
        let mut add = |category: String, n: i64| {
            let cell = cells
                .entry((county.clone(), year.clone(), category))
                .or_default();
            if measure == "entity_new" {
                cell.0 += n;
            } else {
                cell.1 += n;
            }
        };
        if !category.is_empty() {
            add(String::new(), -n);
        }
        add(category, n);
    }
    Ok(cells
        .into_iter()
        .filter(|(_, (entities, penalties))| *entities != 0 || *penalties != 0)
        .map(
            |((county, year, category), (new_entities, penalties))| Row {
                county,
                year,
                category,
                new_entities,
                penalties,
            },
        )
        .collect())
}

pub async fn summary(state: &AppState) -> AppResult<Summary> {
    let rows = table(state).await?;
    let stamps = super::max_stamps(
        state,
        &[
            "SELECT MAX(updated_at) FROM entities",
            "SELECT MAX(updated_at) FROM outlets",
            "SELECT MAX(updated_at) FROM credit_records WHERE kind = 'penalty'",
        ],
    )
    .await?;
    Ok(Summary {
        records: rows.len() as u64,
        last_updated: super::latest(stamps.iter().map(String::as_str)),
        sources: vec![
            "山西省生活服务平台（据市场主体登记库和各部门报送的行政处罚记录计算）".into(),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_order_like_the_table() {
        let row = Row {
            county: "140105".into(),
            year: "2024".into(),
            category: String::new(),
            new_entities: 3,
            penalties: 1,
        };
        let r = record(&row);
        assert_eq!(r.key, "140105/2024/");
        assert_eq!(
            parse_key(&r.key).unwrap(),
            ("140105".into(), "2024".into(), String::new())
        );
        assert_eq!(r.cells.len(), FIELDS.len());
        assert_eq!(r.cells[4], Cell::Text("无服务网点".into()));
        assert!(parse_key("140105").is_err());
    }
}
