//! The registry's JSON API under `/api/v1`, described at `/api/openapi.json`.

use super::fields::{Field, FieldError, RawRow, parse_entity, parse_outlet};
use super::{Entity, Outlet, store};
use crate::app::AppState;
use crate::auth::User;
use crate::error::{AppError, AppResult};
use crate::reference::Reference;
use crate::search::DocKind;
use crate::search::params::SearchParams;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::routing::get;
use axum::{Json, Router};
use lifeservice_domain::geo::Datum;
use lifeservice_domain::{DivisionCode, MajorCategory, ServiceType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::{OpenApi, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/divisions", get(list_divisions))
        .route("/api/v1/divisions/{code}", get(get_division))
        .route("/api/v1/service-types", get(service_types))
        .route("/api/v1/outlets", get(search_outlets).post(upsert_outlet))
        .route("/api/v1/outlets/{id}", get(get_outlet).delete(close_outlet))
        .route("/api/v1/entities", get(search_entities).post(upsert_entity))
        .route("/api/v1/entities/{code}", get(get_entity))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "lifeservice API",
        description = "山西省生活性服务业平台开放接口。错误均为 {\"error\":{\"code\",\"message\",\"field\"}}。"
    ),
    paths(
        list_divisions,
        get_division,
        service_types,
        search_outlets,
        get_outlet,
        upsert_outlet,
        close_outlet,
        search_entities,
        get_entity,
        upsert_entity
    ),
    components(schemas(
        Outlet,
        Entity,
        super::Designation,
        OutletPage,
        EntityWithOutlets,
        OutletBody,
        EntityBody,
        DivisionView,
        ErrorBody
    ))
)]
struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::credit::api::CreditApi::openapi());
    doc.merge(crate::reviews::api::openapi());
    doc.merge(crate::opendata::api::OpenDataApi::openapi());
    doc.merge(crate::plan::PlanApi::openapi());
    doc.merge(crate::stats::StatsApi::openapi());
    // The scheme the write endpoints' `security(("bearer" = []))` refers to.
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some(
        "Authorization: Bearer TOKEN：工作人员 `lifeservice user token NAME`，主体的回复令牌，或评价人登录所得的 rv_… 令牌"
            .into(),
    );
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", SecurityScheme::Http(bearer));
    Json(doc)
}

async fn healthz(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let outlets = store::count_outlets(&mut *state.db.pool().acquire().await?).await?;
    Ok(Json(
        json!({"status": "ok", "outlets": outlets, "indexed": state.search.num_docs()}),
    ))
}

/// `{"error": {"code", "message", "field"}}`
#[derive(Serialize, ToSchema)]
struct ErrorBody {
    error: Value,
}

/// JSON bodies whose syntax or type errors come back in the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::invalid(format!(
                "请求内容字段错误：{}",
                e.body_text()
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(AppError::invalid("请使用 Content-Type: application/json"))
            }
            Err(e) => Err(AppError::invalid(format!(
                "请求内容不是有效的JSON：{}",
                e.body_text()
            ))),
        }
    }
}

#[derive(Serialize, ToSchema)]
struct DivisionView {
    code: String,
    name: String,
    full_name: String,
    level: String,
    parent: Option<String>,
    children: Vec<Value>,
}

fn division_view(code: &DivisionCode) -> Option<DivisionView> {
    let r = Reference::shipped();
    let d = r.get(code)?;
    Some(DivisionView {
        code: code.to_string(),
        name: d.name.clone(),
        full_name: r.full_name(code),
        level: d.level.as_str().to_string(),
        parent: code.parent().map(|p| p.to_string()),
        children: r
            .children(code)
            .iter()
            .map(|c| json!({"code": c, "name": r.name(c)}))
            .collect(),
    })
}

fn parse_division(code: &str, field: &str) -> AppResult<DivisionCode> {
    DivisionCode::parse(code).map_err(|e| AppError::field(field, e.to_string()))
}

/// The divisions under `parent` (default: the province's cities).
#[utoipa::path(get, path = "/api/v1/divisions", params(("parent" = Option<String>, Query, description = "上级区划代码")), responses((status = 200, body = [Value])))]
async fn list_divisions(
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Json<Vec<Value>>> {
    if let Some(k) = params.keys().find(|k| k.as_str() != "parent") {
        return Err(AppError::field(k, format!("未知的查询参数“{k}”")));
    }
    let parent = match params.get("parent") {
        Some(p) => parse_division(p, "parent")?,
        None => Reference::province(),
    };
    let r = Reference::shipped();
    if r.get(&parent).is_none() {
        return Err(AppError::not_found(format!("区划“{parent}”不存在")));
    }
    Ok(Json(
        r.children(&parent)
            .iter()
            .map(|c| json!({"code": c, "name": r.name(c), "level": c.level()}))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/divisions/{code}", responses((status = 200, body = DivisionView), (status = 404, body = ErrorBody)))]
async fn get_division(Path(code): Path<String>) -> AppResult<Json<DivisionView>> {
    let code = parse_division(&code, "code")?;
    division_view(&code)
        .map(Json)
        .ok_or_else(|| AppError::not_found(format!("区划“{code}”不存在")))
}

/// The NBS major categories and the platform's service types.
#[utoipa::path(get, path = "/api/v1/service-types", responses((status = 200, body = Value)))]
async fn service_types() -> Json<Value> {
    let types: Vec<Value> = ServiceType::all()
        .map(|t| json!({"code": t.code(), "name": t.zh(), "name_en": t.en(), "major_category": t.major().code(), "circle_format": t.circle()}))
        .collect();
    let majors: Vec<Value> = MajorCategory::all()
        .map(|m| json!({"code": m.code(), "name": m.zh(), "name_en": m.en()}))
        .collect();
    Json(
        json!({"source": "国家统计局《生活性服务业统计分类(2019)》；商务部《城市一刻钟便民生活圈建设指南》", "major_categories": majors, "service_types": types}),
    )
}

#[derive(Serialize, ToSchema)]
pub struct OutletPage {
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub items: Vec<Outlet>,
}

/// Runs an outlet search and loads the hits, in rank order, public view.
pub async fn run_outlet_search(state: &AppState, params: &SearchParams) -> AppResult<OutletPage> {
    if params.query.sort == crate::search::Sort::Quality {
        return run_quality_search(state, params).await;
    }
    let hits = state.search.search(&params.query)?;
    let ids: Vec<i64> = hits.hits.iter().map(|h| h.id).collect();
    let mut outlets = store::outlets_by_ids(&mut *state.db.pool().acquire().await?, &ids).await?;
    for (outlet, hit) in outlets
        .iter_mut()
        .zip(hits.hits.iter().filter(|h| ids.contains(&h.id)))
    {
        outlet.distance_m = hit.distance_m.map(|d| (d * 10.0).round() / 10.0);
    }
    with_quality(state, &mut outlets).await?;
    Ok(OutletPage {
        total: hits.total,
        page: params.page,
        per_page: params.per_page,
        items: outlets.into_iter().map(Outlet::public).collect(),
    })
}

/// How many matching outlets `sort=quality` ranks (by relevance, or by
/// distance with `near`): the best rated among the nearest 1,000.
pub const QUALITY_CANDIDATES: usize = 1000;

/// `sort=quality`: candidates from the index, re-ranked by their quality
/// score (unrated last), then by review count, then by the index's order.
async fn run_quality_search(state: &AppState, params: &SearchParams) -> AppResult<OutletPage> {
    let mut query = params.query.clone();
    query.sort = if query.near.is_some() {
        crate::search::Sort::Distance
    } else {
        crate::search::Sort::Relevance
    };
    query.offset = 0;
    query.limit = QUALITY_CANDIDATES;
    let hits = state.search.search(&query)?;
    let ids: Vec<i64> = hits.hits.iter().map(|h| h.id).collect();
    let types = crate::reviews::store::outlet_types(&state.db, &ids).await?;
    let quality = crate::reviews::api::quality_batch(state, &types).await?;
    let mut ranked: Vec<(usize, &crate::search::Hit)> = hits.hits.iter().enumerate().collect();
    ranked.sort_by(|(ia, a), (ib, b)| {
        let (qa, qb) = (quality.get(&a.id), quality.get(&b.id));
        let score = |q: Option<&crate::reviews::store::Quality>| {
            q.and_then(|q| q.score).unwrap_or(f64::NEG_INFINITY)
        };
        let count = |q: Option<&crate::reviews::store::Quality>| q.map(|q| q.count).unwrap_or(0);
        score(qb)
            .total_cmp(&score(qa))
            .then(count(qb).cmp(&count(qa)))
            .then(ia.cmp(ib))
    });
    let page: Vec<&crate::search::Hit> = ranked
        .into_iter()
        .skip(params.query.offset)
        .take(params.per_page)
        .map(|(_, h)| h)
        .collect();
    let page_ids: Vec<i64> = page.iter().map(|h| h.id).collect();
    let mut outlets =
        store::outlets_by_ids(&mut *state.db.pool().acquire().await?, &page_ids).await?;
    let distances: HashMap<i64, Option<f64>> = page.iter().map(|h| (h.id, h.distance_m)).collect();
    for o in &mut outlets {
        o.distance_m = distances
            .get(&o.id)
            .copied()
            .flatten()
            .map(|d| (d * 10.0).round() / 10.0);
        o.quality = quality.get(&o.id).cloned();
    }
    Ok(OutletPage {
        total: hits.total.min(QUALITY_CANDIDATES),
        page: params.page,
        per_page: params.per_page,
        items: outlets.into_iter().map(Outlet::public).collect(),
    })
}

/// Fills each outlet's quality index from the running totals.
pub async fn with_quality(state: &AppState, outlets: &mut [Outlet]) -> AppResult<()> {
    let keys: Vec<(i64, String)> = outlets
        .iter()
        .map(|o| (o.id, o.service_type.clone()))
        .collect();
    let mut quality = crate::reviews::api::quality_batch(state, &keys).await?;
    for o in outlets {
        o.quality = quality.remove(&o.id);
    }
    Ok(())
}

/// Full-text search of outlets with filters; `near=LAT,LON` sorts by distance.
#[utoipa::path(get, path = "/api/v1/outlets", params(
    ("q" = Option<String>, Query, description = "关键词，可含区划名称，如“家政 小店区”"),
    ("division" = Option<String>, Query, description = "区划代码（任一级）"),
    ("type" = Option<String>, Query, description = "服务类型代码或名称"),
    ("major" = Option<String>, Query, description = "服务大类 01-12"),
    ("near" = Option<String>, Query, description = "纬度,经度"),
    ("radius_m" = Option<f64>, Query), ("sort" = Option<String>, Query, description = "relevance | distance | quality（好差评评分，配合 near 即“附近评分最高”）"),
    ("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query)),
    responses((status = 200, body = OutletPage), (status = 400, body = ErrorBody)))]
async fn search_outlets(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Json<OutletPage>> {
    let params = SearchParams::parse(&params, DocKind::Outlet)?;
    Ok(Json(run_outlet_search(&state, &params).await?))
}

pub async fn load_outlet(state: &AppState, id: i64) -> AppResult<Outlet> {
    let mut conn = state.db.pool().acquire().await?;
    store::outlets_by_ids(&mut conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found(format!("服务网点{id}不存在")))
}

#[utoipa::path(get, path = "/api/v1/outlets/{id}", responses((status = 200, body = Outlet), (status = 404, body = ErrorBody)))]
async fn get_outlet(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Outlet>> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::field("id", format!("网点编号“{id}”应为整数")))?;
    let mut outlet = load_outlet(&state, id).await?;
    with_quality(&state, std::slice::from_mut(&mut outlet)).await?;
    Ok(Json(outlet.public()))
}

#[derive(Clone, Serialize, ToSchema)]
pub struct EntityWithOutlets {
    #[serde(flatten)]
    pub entity: Entity,
    pub outlets: Vec<Outlet>,
}

/// The one-stop view of an entity: registration and all its outlets.
pub async fn load_entity(state: &AppState, code: &str) -> AppResult<Arc<EntityWithOutlets>> {
    let code = lifeservice_domain::CreditCode::parse(code)
        .map_err(|e| AppError::field("credit_code", e.to_string()))?;
    state.pages.entities.load(&state.db, &code).await
}

#[utoipa::path(get, path = "/api/v1/entities/{credit_code}", responses((status = 200, body = EntityWithOutlets), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_entity(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<EntityWithOutlets>> {
    Ok(Json(EntityWithOutlets::clone(
        &*load_entity(&state, &code).await?,
    )))
}

/// Full-text search of entities by name, code or place.
#[utoipa::path(get, path = "/api/v1/entities", params(("q" = Option<String>, Query), ("division" = Option<String>, Query), ("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query)), responses((status = 200, body = Value)))]
async fn search_entities(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let params = SearchParams::parse(&params, DocKind::Entity)?;
    let hits = state.search.search(&params.query)?;
    let ids: Vec<i64> = hits.hits.iter().map(|h| -h.id).collect();
    let entities = store::entities_by_ids(&mut *state.db.pool().acquire().await?, &ids).await?;
    let mut by_id: HashMap<i64, Entity> = entities.into_iter().map(|e| (e.id, e)).collect();
    let items: Vec<Entity> = ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(Entity::public)
        .collect();
    Ok(Json(
        json!({"total": hits.total, "page": params.page, "per_page": params.per_page, "items": items}),
    ))
}

fn first_error(errors: Vec<FieldError>) -> AppError {
    let message = errors
        .iter()
        .map(|e| e.reason.as_str())
        .collect::<Vec<_>>()
        .join("；");
    AppError::Validation {
        field: errors.first().map(|e| e.field.key().to_string()),
        message,
    }
}

/// An entity to create or update, keyed by its credit code.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityBody {
    credit_code: String,
    name: String,
    kind: Option<String>,
    legal_rep: Option<String>,
    division_code: Option<String>,
    established: Option<String>,
    /// 注销（吊销、迁出）日期, only with a status other than 存续.
    closed_on: Option<String>,
    status: Option<String>,
    phone: Option<String>,
}

/// Creates or updates an entity (bearer token or session with `X-CSRF-Token`).
#[utoipa::path(post, path = "/api/v1/entities", request_body = EntityBody, security(("bearer" = [])),
    responses((status = 200, body = EntityWithOutlets), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn upsert_entity(
    State(state): State<AppState>,
    User(user): User,
    ApiJson(body): ApiJson<EntityBody>,
) -> AppResult<Json<EntityWithOutlets>> {
    let mut raw = RawRow::default();
    let pairs = [
        (Field::CreditCode, Some(body.credit_code)),
        (Field::Name, Some(body.name)),
        (Field::Kind, body.kind),
        (Field::LegalRep, body.legal_rep),
        (Field::Division, body.division_code),
        (Field::Established, body.established),
        (Field::ClosedOn, body.closed_on),
        (Field::Status, body.status),
        (Field::Phone, body.phone),
    ];
    raw.0
        .extend(pairs.into_iter().filter_map(|(f, v)| v.map(|v| (f, v))));
    let input = parse_entity(&raw, Reference::shipped()).map_err(first_error)?;
    user.may_write_entity(&input.division)
        .map_err(AppError::Forbidden)?;
    let mut tx = state.db.begin_write().await?;
    let before = store::entity_by_code(&mut tx, input.credit_code.as_str()).await?;
    let now = crate::time::now_text();
    let touched =
        store::upsert_entities(&mut tx, std::slice::from_ref(&input), &now, false).await?;
    if let Some(t) = touched.first() {
        store::record_changes(&mut tx, "entity", &[t.id()]).await?;
        let after = store::entity_by_code(&mut tx, input.credit_code.as_str()).await?;
        crate::audit::record(
            &mut tx,
            &user.actor(),
            "upsert",
            "entity",
            input.credit_code.as_str(),
            before.map(to_json),
            after.map(to_json),
        )
        .await?;
    }
    tx.commit().await?;
    state.refresh_index().await;
    let view = load_entity(&state, input.credit_code.as_str()).await?;
    Ok(Json(EntityWithOutlets::clone(&view)))
}

fn to_json<T: Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// An outlet to create or update, keyed by entity, name and address.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutletBody {
    credit_code: String,
    entity_name: Option<String>,
    name: String,
    service_type: String,
    address: String,
    /// 12-digit community code or community name.
    community: Option<String>,
    lon: f64,
    lat: f64,
    /// `wgs84` (default) or `gcj02` for coordinates taken from 高德/腾讯 maps.
    crs: Option<String>,
    phone: Option<String>,
    hours: Option<String>,
    designation: Option<String>,
    grade: Option<String>,
    granted_by: Option<String>,
    granted_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/outlets", request_body = OutletBody, security(("bearer" = [])),
    responses((status = 200, body = Outlet), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn upsert_outlet(
    State(state): State<AppState>,
    User(user): User,
    ApiJson(body): ApiJson<OutletBody>,
) -> AppResult<Json<Outlet>> {
    let datum = match body.crs.as_deref() {
        None | Some("wgs84") => Datum::Wgs84,
        Some("gcj02") => Datum::Gcj02,
        Some(other) => {
            return Err(AppError::field(
                "crs",
                format!("未知的坐标系“{other}”，应为 wgs84 或 gcj02"),
            ));
        }
    };
    let mut raw = RawRow::default();
    let pairs = [
        (Field::CreditCode, Some(body.credit_code)),
        (Field::EntityName, body.entity_name),
        (Field::Name, Some(body.name)),
        (Field::ServiceType, Some(body.service_type)),
        (Field::Address, Some(body.address)),
        (Field::Community, body.community),
        (Field::Lon, Some(body.lon.to_string())),
        (Field::Lat, Some(body.lat.to_string())),
        (Field::Phone, body.phone),
        (Field::Hours, body.hours),
        (Field::Designation, body.designation),
        (Field::Grade, body.grade),
        (Field::GrantedBy, body.granted_by),
        (Field::GrantedOn, body.granted_on),
    ];
    raw.0
        .extend(pairs.into_iter().filter_map(|(f, v)| v.map(|v| (f, v))));
    let input = parse_outlet(&raw, datum, Reference::shipped()).map_err(first_error)?;
    user.may_write_outlet(input.service_type, &input.division)
        .map_err(AppError::Forbidden)?;
    let mut tx = state.db.begin_write().await?;
    let entity = store::entity_by_code(&mut tx, input.entity.as_str()).await?;
    let entity_id = match (entity, &input.entity_name) {
        (Some(e), _) => e.id,
        (None, Some(_)) => {
            return Err(AppError::field(
                "credit_code",
                "市场主体未登记：请先通过 POST /api/v1/entities 登记主体",
            ));
        }
        (None, None) => {
            return Err(AppError::field(
                "credit_code",
                format!("市场主体{}未登记", input.entity),
            ));
        }
    };
    let existing = store::outlet_id(&mut tx, entity_id, &input.name, &input.address).await?;
    let before = match existing {
        Some(id) => store::outlets_by_ids(&mut tx, &[id]).await?.pop(),
        None => None,
    };
    let now = crate::time::now_text();
    store::write_outlets(&mut tx, &[(entity_id, &input)], &now, false).await?;
    let id = store::outlet_id(&mut tx, entity_id, &input.name, &input.address)
        .await?
        .ok_or_else(|| anyhow::anyhow!("outlet missing right after its upsert"))?;
    let after = store::outlets_by_ids(&mut tx, &[id]).await?.pop();
    let (before, after) = (before.map(to_json), after.map(to_json));
    if before != after {
        crate::audit::record(
            &mut tx,
            &user.actor(),
            "upsert",
            "outlet",
            &id.to_string(),
            before,
            after,
        )
        .await?;
    }
    tx.commit().await?;
    state.refresh_index().await;
    Ok(Json(load_outlet(&state, id).await?.public()))
}

/// Closes an outlet: it leaves search and maps but stays on record.
#[utoipa::path(delete, path = "/api/v1/outlets/{id}", security(("bearer" = [])), responses((status = 200, body = Value), (status = 404, body = ErrorBody)))]
async fn close_outlet(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    let outlet = load_outlet(&state, id).await?;
    let stype = ServiceType::parse(&outlet.service_type)
        .ok_or_else(|| anyhow::anyhow!("stored type invalid"))?;
    let division = parse_division(&outlet.division_code, "division_code")?;
    user.may_write_outlet(stype, &division)
        .map_err(AppError::Forbidden)?;
    let mut tx = state.db.begin_write().await?;
    if store::close_outlet(&mut tx, id, &crate::time::now_text()).await? {
        store::record_changes(&mut tx, "outlet", &[id]).await?;
        crate::audit::record(
            &mut tx,
            &user.actor(),
            "close",
            "outlet",
            &id.to_string(),
            Some(to_json(&outlet)),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    state.refresh_index().await;
    Ok(Json(json!({"id": id, "status": "closed"})))
}
