//! The open-data API: the catalogue as JSON, and each dataset in pages for
//! bulk use, with keyset cursors (`?limit=&cursor=`): stable order by the
//! dataset's key, no duplicates or gaps while paging, `next_cursor` null on
//! the last page.

use super::catalogue::{self, DATASETS, Dataset, MASKING_NOTE};
use super::{Summary, cursor, export};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/open-data", get(catalogue_api))
        .route("/api/v1/open-data/{id}", get(records_api))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(catalogue_api, records_api))]
pub struct OpenDataApi;

/// A dataset's catalogue entry: the description and its current state.
pub fn entry(d: &Dataset, s: &Summary) -> Value {
    let downloads: serde_json::Map<String, Value> = d
        .formats()
        .iter()
        .map(|f| {
            (
                f.extension().to_string(),
                json!(format!("/open-data/{}.{}", d.id, f.extension())),
            )
        })
        .collect();
    json!({
        "id": d.id,
        "name": d.name,
        "name_en": d.name_en,
        "description": d.description,
        "fields": d.fields,
        "source": s.sources,
        "source_basis": d.source_basis,
        "update_frequency": d.update_frequency,
        "licence": d.licence,
        "terms": d.terms,
        "privacy": format!("{}{MASKING_NOTE}", d.privacy),
        "last_updated": s.last_updated.map(|t| t.to_rfc3339()),
        "records": s.records,
        "formats": d.formats().iter().map(|f| f.extension()).collect::<Vec<_>>(),
        "downloads": downloads,
        "page": format!("/open-data/{}", d.id),
        "api": format!("/api/v1/open-data/{}", d.id),
    })
}

/// The data resource catalogue: every open dataset with its fields, source, licence, update frequency and last update.
#[utoipa::path(get, path = "/api/v1/open-data", tag = "open-data", responses((status = 200, body = Value)))]
async fn catalogue_api(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let mut datasets = Vec::with_capacity(DATASETS.len());
    for d in &DATASETS {
        datasets.push(entry(d, &super::summary(&state, d).await?));
    }
    Ok(Json(json!({
        "datasets": datasets,
        "generated_at": crate::time::now_text(),
    })))
}

pub fn find(id: &str) -> AppResult<&'static Dataset> {
    catalogue::find(id).ok_or_else(|| {
        AppError::not_found(format!(
            "数据集“{id}”不存在，可用的数据集：{}",
            catalogue::ids()
        ))
    })
}

/// A request for one page: how many records, after which key.
#[derive(Debug, PartialEq)]
struct PageQuery {
    limit: usize,
    after: Option<String>,
}

fn parse_query(dataset: &Dataset, raw: &HashMap<String, String>) -> AppResult<PageQuery> {
    if let Some(unknown) = raw
        .keys()
        .find(|k| !["limit", "cursor", "lang"].contains(&k.as_str()))
    {
        return Err(AppError::field(
            unknown,
            format!("未知的查询参数“{unknown}”，可用参数：limit, cursor"),
        ));
    }
    let limit = match raw.get("limit").map(|l| l.trim()) {
        None | Some("") => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::field(
                    "limit",
                    format!(
                        "limit 应为1至{MAX_LIMIT}之间的整数（收到“{l}”），不填为{DEFAULT_LIMIT}"
                    ),
                )
            })?,
    };
    let after = match raw.get("cursor").map(|c| c.trim()) {
        None | Some("") => None,
        Some(c) => Some(cursor::decode(dataset.id, c)?),
    };
    Ok(PageQuery { limit, after })
}

/// One page of a dataset: `records` (JSON objects keyed by field), `meta`, and `next_cursor` (null on the last page).
#[utoipa::path(get, path = "/api/v1/open-data/{id}", tag = "open-data",
    params(("id" = String, Path, description = "数据集：outlets、credit-records、statistics、circle-coverage、plan-indicators"),
           ("limit" = Option<usize>, Query, description = "每页记录数，1至1000，默认100"),
           ("cursor" = Option<String>, Query, description = "上一页返回的 next_cursor")),
    responses((status = 200, body = Value), (status = 400, body = Value), (status = 404, body = Value)))]
async fn records_api(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let dataset = find(&id)?;
    let q = parse_query(dataset, &raw)?;
    let page = super::page(&state, dataset, q.after.as_deref(), q.limit).await?;
    let summary = super::summary(&state, dataset).await?;
    let records: Vec<Value> = page
        .records
        .iter()
        .map(|r| r.to_json(dataset.fields))
        .collect();
    Ok(Json(json!({
        "meta": export::meta(dataset, &summary),
        "limit": q.limit,
        "count": records.len(),
        "records": records,
        "next_cursor": page.next.map(|key| cursor::encode(dataset.id, &key)),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> AppResult<PageQuery> {
        let raw = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_query(find("outlets").unwrap(), &raw)
    }

    #[test]
    fn limits_and_cursors_are_checked_with_specific_errors() {
        assert_eq!(
            query(&[]).unwrap(),
            PageQuery {
                limit: DEFAULT_LIMIT,
                after: None
            }
        );
        let c = cursor::encode("outlets", "42");
        assert_eq!(
            query(&[("limit", "1000"), ("cursor", &c)]).unwrap(),
            PageQuery {
                limit: 1000,
                after: Some("42".into())
            }
        );
        for bad in ["0", "1001", "-1", "十"] {
            let e = query(&[("limit", bad)]).unwrap_err();
            assert_eq!(e.field_name(), Some("limit"));
            assert!(e.to_string().contains("1至1000"), "{e}");
        }
        assert_eq!(
            query(&[("cursor", "zz")]).unwrap_err().field_name(),
            Some("cursor")
        );
        assert_eq!(
            query(&[("page", "2")]).unwrap_err().field_name(),
            Some("page")
        );
        let e = find("people").unwrap_err();
        assert_eq!(e.code(), "not_found");
        assert!(e.to_string().contains("outlets"), "{e}");
    }
}
