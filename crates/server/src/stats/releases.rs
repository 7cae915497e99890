//! 信息定期发布: the monthly and quarterly release, generated on schedule
//! (once, however many servers run) and on demand, archived as published.
//! A release is never edited: a correction is a new version whose note says
//! which figures changed.

use super::indicators::{Granularity, Indicator, round2};
use super::{Category, Selection, Series, charts, cube, division_name, series};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::map::{choropleth_of, format_value};
use crate::portal::{Ctx, render};
use crate::reference::Reference;
use crate::storage::Db;
use crate::tabular::{Table, XLSX_TYPE, download, xlsx_bytes};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use lifeservice_domain::DivisionCode;
use maud::{Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/releases", get(list_page).post(publish_form))
        .route("/releases/{kind}/{period}", get(latest_page))
        .route("/releases/{kind}/{period}/{version}", get(version_page))
        .route("/api/v1/releases", get(list_api))
}

/// Monthly (月报) or quarterly (季报).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Monthly,
    Quarterly,
}

impl Kind {
    pub fn parse(s: &str) -> AppResult<Kind> {
        match s {
            "monthly" => Ok(Kind::Monthly),
            "quarterly" => Ok(Kind::Quarterly),
            other => Err(AppError::field(
                "kind",
                format!("未知的发布类型“{other}”，应为 monthly（月报）或 quarterly（季报）"),
            )),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Kind::Monthly => "monthly",
            Kind::Quarterly => "quarterly",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Kind::Monthly => "月报",
            Kind::Quarterly => "季报",
        }
    }

    fn granularity(self) -> Granularity {
        match self {
            Kind::Monthly => Granularity::Month,
            Kind::Quarterly => Granularity::Quarter,
        }
    }

    /// Periods back to the same period a year earlier.
    fn per_year(self) -> usize {
        match self {
            Kind::Monthly => 12,
            Kind::Quarterly => 4,
        }
    }
}

/// One headline figure with the comparisons a release states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub unit: String,
    pub value: Option<f64>,
    pub previous: Option<f64>,
    pub year_ago: Option<f64>,
}

/// Everything a release shows, frozen at publication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseData {
    pub kind: Kind,
    pub period: String,
    pub figures: Vec<Figure>,
    /// Entities in stock over the last periods, for the trend chart.
    pub trend: Vec<(String, Option<f64>)>,
    pub cities: Table,
    /// County code → entities in stock at the period's end, for the map.
    pub counties: Vec<(String, Option<f64>)>,
    pub notes: Vec<String>,
}

/// The figures each release leads with: (indicator, column key).
const FIGURES: &[(Indicator, &str)] = &[
    (Indicator::Entities, "new"),
    (Indicator::Entities, "closed"),
    (Indicator::Entities, "stock"),
    (Indicator::Entities, "vs_baseline"),
    (Indicator::Outlets, "new"),
    (Indicator::Outlets, "stock"),
    (Indicator::Penalties, "penalties"),
    (Indicator::Penalties, "per_1000"),
    (Indicator::Designations, "inclusive"),
    (Indicator::Satisfaction, "reviews"),
    (Indicator::Satisfaction, "mean"),
    (Indicator::Satisfaction, "bad_rate"),
    (Indicator::Rectification, "rate"),
    (Indicator::Rectification, "followed_rate"),
];

/// Computes a release's content from the cube (which should be current).
pub async fn compute(state: &AppState, kind: Kind, period: &str) -> AppResult<ReleaseData> {
    let g = kind.granularity();
    let (_, until) = g.months(period).ok_or_else(|| {
        AppError::field(
            "period",
            format!("报告期“{period}”无效：月报如2025-06，季报如2025-Q2"),
        )
    })?;
    if until > super::last_full_month() {
        return Err(AppError::field(
            "period",
            format!("报告期{period}尚未结束，不能发布"),
        ));
    }
    let mut by_indicator: HashMap<Indicator, Series> = HashMap::new();
    for i in Indicator::ALL {
        let sel = Selection {
            indicator: i,
            division: Reference::province(),
            granularity: g,
            category: Category::All,
            until: until.clone(),
            mapped_from: None,
        };
        by_indicator.insert(i, series(state, &sel).await?);
    }
    let figures = FIGURES
        .iter()
        .map(|(i, key)| {
            let s = &by_indicator[i];
            let c = s
                .columns
                .iter()
                .position(|c| c.key == *key)
                .expect("known column");
            let value = |back: usize| {
                let i = s.rows.len().checked_sub(1 + back)?;
                s.rows[i].values[c]
            };
            Figure {
                name: format!("{}：{}", i.zh(), s.columns[c].zh),
                unit: s.columns[c].unit.to_string(),
                value: value(0),
                previous: value(1),
                year_ago: value(kind.per_year()),
            }
        })
        .collect();
    let entities = &by_indicator[&Indicator::Entities];
    let stock = entities
        .columns
        .iter()
        .position(|c| c.key == "stock")
        .expect("stock");
    let trend = entities.rows[entities.rows.len().saturating_sub(8)..]
        .iter()
        .map(|r| (r.period.clone(), r.values[stock]))
        .collect();
    let start = g.months(period).expect("checked").0;
    Ok(ReleaseData {
        kind,
        period: period.to_string(),
        figures,
        trend,
        cities: cities_table(&state.db, (&start, &until)).await?,
        counties: county_stock(&state.db, &until).await?,
        notes: Indicator::ALL
            .iter()
            .map(|i| format!("{}：{}。", i.zh(), i.definition()))
            .collect(),
    })
}

/// The cities' main figures in the period.
async fn cities_table(db: &Db, window: (&str, &str)) -> AppResult<Table> {
    let measures = [
        "entity_new",
        "entity_closed",
        "outlet_new",
        "outlet_closed",
        "penalty",
        "review_n",
        "review_bad",
        "case_opened",
        "case_rectified",
    ];
    let sums = cube::by_division(db, "14", 4, "", &measures, window).await?;
    let reference = Reference::shipped();
    let rows = reference
        .cities()
        .iter()
        .map(|city| {
            let get = |m: &str| {
                sums.get(&(city.to_string(), m.to_string()))
                    .copied()
                    .unwrap_or((0, 0))
            };
            let entities = get("entity_new").0 - get("entity_closed").0;
            let ratio = |a: i64, b: i64, scale: f64| {
                if b == 0 {
                    String::new()
                } else {
                    format_value(round2(a as f64 / b as f64 * scale))
                }
            };
            vec![
                reference.name(city).to_string(),
                get("entity_new").1.to_string(),
                entities.to_string(),
                (get("outlet_new").0 - get("outlet_closed").0).to_string(),
                ratio(get("penalty").1, entities, 1000.0),
                ratio(get("review_bad").1, get("review_n").1, 100.0),
                ratio(get("case_rectified").1, get("case_opened").1, 100.0),
            ]
        })
        .collect();
    Ok(Table {
        headers: [
            "地市",
            "新增市场主体（户）",
            "市场主体期末存量（户）",
            "服务网点期末存量（个）",
            "每千户处罚数（件）",
            "差评率（%）",
            "整改率（%）",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    })
}

async fn county_stock(db: &Db, until: &str) -> AppResult<Vec<(String, Option<f64>)>> {
    let sums = cube::by_division(
        db,
        "14",
        6,
        "",
        &["entity_new", "entity_closed"],
        (until, until),
    )
    .await?;
    let mut out: Vec<(String, Option<f64>)> = Reference::shipped()
        .county_shapes()
        .iter()
        .map(|c| {
            let get = |m: &str| {
                sums.get(&(c.code.to_string(), m.to_string()))
                    .map_or(0, |v| v.0)
            };
            (
                c.code.to_string(),
                Some((get("entity_new") - get("entity_closed")) as f64),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A stored release version.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    pub kind: Kind,
    pub period: String,
    pub version: i64,
    pub published_at: String,
    pub published_by: String,
    pub change_note: String,
    #[serde(skip)]
    pub data: Option<ReleaseData>,
    #[serde(skip)]
    pub html: String,
}

fn release_of(row: &sqlx::any::AnyRow, full: bool) -> AppResult<Release> {
    let kind: String = row.try_get("kind")?;
    Ok(Release {
        kind: Kind::parse(&kind)?,
        period: row.try_get("period")?,
        version: row.try_get("version")?,
        published_at: row.try_get("published_at")?,
        published_by: row.try_get("published_by")?,
        change_note: row.try_get("change_note")?,
        data: if full {
            Some(
                serde_json::from_str(&row.try_get::<String, _>("data_json")?)
                    .map_err(anyhow::Error::from)?,
            )
        } else {
            None
        },
        html: if full {
            row.try_get("html")?
        } else {
            String::new()
        },
    })
}

pub async fn list(db: &Db) -> AppResult<Vec<Release>> {
    let rows = sqlx::query(
        "SELECT kind, period, version, published_at, published_by, change_note FROM stat_releases ORDER BY period DESC, kind, version DESC",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| release_of(r, false)).collect()
}

/// One version, or the latest when `version` is `None`.
pub async fn get_release(
    db: &Db,
    kind: Kind,
    period: &str,
    version: Option<i64>,
) -> AppResult<Release> {
    let row = sqlx::query(
        "SELECT kind, period, version, published_at, published_by, change_note, data_json, html FROM stat_releases \
         WHERE kind = $1 AND period = $2 AND ($3 = 0 OR version = $3) ORDER BY version DESC LIMIT 1",
    )
    .bind(kind.code())
    .bind(period.to_string())
    .bind(version.unwrap_or(0))
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| AppError::not_found(format!("{period}{}", kind.zh())))?;
    release_of(&row, true)
}

/// What changed between two versions' figures and city rows, in words.
pub fn differences(old: &ReleaseData, new: &ReleaseData) -> Vec<String> {
    let show = |v: Option<f64>| v.map_or("无".to_string(), format_value);
    let mut out: Vec<String> = old
        .figures
        .iter()
        .zip(&new.figures)
        .filter(|(a, b)| a.value != b.value)
        .map(|(a, b)| format!("{} 由 {} 改为 {}", a.name, show(a.value), show(b.value)))
        .collect();
    for (a, b) in old.cities.rows.iter().zip(&new.cities.rows) {
        for (i, (x, y)) in a.iter().zip(b).enumerate().skip(1) {
            if x != y {
                out.push(format!(
                    "{}{} 由 {} 改为 {}",
                    a[0], new.cities.headers[i], x, y
                ));
            }
        }
    }
    out
}

/// Publishes the period's release: version 1, or a correction when the data
/// moved since the last version (refused when nothing changed). Returns the
/// version written, or `None` when `only_if_missing` and one exists.
pub async fn publish(
    state: &AppState,
    kind: Kind,
    period: &str,
    actor: &str,
    reason: &str,
    only_if_missing: bool,
) -> AppResult<Option<i64>> {
    let latest = get_release(&state.db, kind, period, None).await.ok();
    if only_if_missing && latest.is_some() {
        return Ok(None);
    }
    cube::refresh(&state.db).await?;
    let data = compute(state, kind, period).await?;
    let (version, note) = match &latest {
        None => (1, "首次发布".to_string()),
        Some(r) => {
            let changed = differences(r.data.as_ref().expect("full release"), &data);
            if changed.is_empty() {
                return Err(AppError::Conflict {
                    field: Some("period".into()),
                    message: format!("数据与第{}版一致，无需发布更正版", r.version),
                });
            }
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(AppError::field("reason", "发布更正版须说明更正原因"));
            }
            (
                r.version + 1,
                format!("更正原因：{reason}。变更：{}", changed.join("；")),
            )
        }
    };
    let published_at = crate::time::now_text();
    let html = body(&data, version, &published_at, &note).into_string();
    let mut tx = state.db.begin_write().await?;
    let claim = format!("{}:{period}:v{version}", kind.code());
    if !crate::jobs::claim(&mut tx, state.db.backend(), "stats_release", &claim).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO stat_releases (kind, period, version, published_at, published_by, change_note, data_json, html) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(kind.code())
    .bind(period.to_string())
    .bind(version)
    .bind(published_at)
    .bind(actor.to_string())
    .bind(note.clone())
    .bind(serde_json::to_string(&data).map_err(anyhow::Error::from)?)
    .bind(html)
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut tx,
        actor,
        "publish",
        "stat_release",
        &claim,
        None,
        Some(serde_json::json!({ "note": note })),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(version))
}

/// The scheduled releases: the last full month's and quarter's, each once.
pub async fn publish_due(state: &AppState) -> AppResult<Vec<String>> {
    let month = super::last_full_month();
    let quarter = {
        let q = Granularity::Quarter.period_of(&month);
        let (_, last) = Granularity::Quarter.months(&q).expect("a quarter");
        if last == month {
            q
        } else {
            Granularity::Quarter.previous(&q).expect("a quarter")
        }
    };
    let mut done = Vec::new();
    for (kind, period) in [(Kind::Monthly, month), (Kind::Quarterly, quarter)] {
        if publish(state, kind, &period, "scheduler", "", true)
            .await?
            .is_some()
        {
            done.push(format!("{}:{period}", kind.code()));
        }
    }
    Ok(done)
}

/// The release body as archived: everything but the site's frame.
fn body(d: &ReleaseData, version: i64, published_at: &str, note: &str) -> Markup {
    let g = d.kind.granularity();
    let title = format!("山西省生活性服务业运行监测{}（{}）", d.kind.zh(), d.period);
    let change = |now: Option<f64>, before: Option<f64>| match (now, before) {
        (Some(n), Some(b)) => {
            let delta = round2(n - b);
            if delta > 0.0 {
                format!("+{}", format_value(delta))
            } else if delta < 0.0 {
                format!("−{}", format_value(-delta))
            } else {
                "持平".into()
            }
        }
        _ => "—".into(),
    };
    let show = |v: Option<f64>| v.map_or("—".to_string(), format_value);
    html! {
        article.release {
            h1 { (title) }
            p.muted { "发布单位：省统计局（生活性服务业监测平台生成） · 第" (version) "版 · 发布时间 " (crate::time::minute_text(published_at)) "（北京时间） · " (note) }
            h2 { "一、主要指标" }
            table {
                thead { tr { th scope="col" { "指标" } th scope="col" { "单位" } th scope="col" { "本期" } th scope="col" { "上期" } th scope="col" { "比上期" } th scope="col" { "上年同期" } th scope="col" { "比上年同期" } } }
                tbody { @for f in &d.figures { tr {
                    th scope="row" { (f.name) } td { (f.unit) } td.num { (show(f.value)) } td.num { (show(f.previous)) }
                    td.num { (change(f.value, f.previous)) } td.num { (show(f.year_ago)) } td.num { (change(f.value, f.year_ago)) }
                } } }
            }
            h2 { "二、市场主体存量走势" }
            (charts::trend("市场主体期末存量", "户", &d.trend))
            h2 { "三、分地市情况" }
            table {
                thead { tr { @for h in &d.cities.headers { th scope="col" { (h) } } } }
                tbody { @for r in &d.cities.rows { tr { th scope="row" { (r[0]) } @for v in &r[1..] { td.num { (v) } } } } }
            }
            h2 { "四、各县（市、区）市场主体存量" }
            (choropleth_of(&Reference::province(), |c| d.counties.iter().find(|(k, _)| k == c.as_str()).and_then(|(_, v)| *v), "市场主体期末存量（户）", |_| None))
            h2 { "五、说明" }
            ol {
                li { "报告期按" (g.zh()) "统计，截至报告期最后一日；数据按各记录自身日期从平台数据库汇总。" }
                @for n in &d.notes { li { (n) } }
                li { "区划：按现行区划代码统计，2018年大同、长治等地区划调整前的记录已按对照表归并，历年数据可比。" }
                li { "演示环境的数据为合成数据，仅用于展示。" }
            }
        }
    }
}

#[derive(Deserialize)]
struct PublishForm {
    csrf: String,
    kind: String,
    period: String,
    #[serde(default)]
    reason: String,
}

/// Who may publish: administrators and department accounts (the statistics
/// bureau works through one).
fn may_publish(ctx: &Ctx) -> AppResult<&crate::auth::Principal> {
    let user = ctx.user.as_ref().ok_or(AppError::Unauthenticated)?;
    match user.role {
        crate::auth::Role::Admin | crate::auth::Role::Department(_) => Ok(user),
        _ => Err(AppError::Forbidden(
            "只有管理员和省直部门账号可以发布统计信息".into(),
        )),
    }
}

async fn publish_form(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<PublishForm>,
) -> Response {
    let result = async {
        let user = may_publish(&ctx)?;
        crate::auth::verify_csrf(user, Some(&form.csrf))?;
        let kind = Kind::parse(&form.kind)?;
        let version = publish(&state, kind, form.period.trim(), &user.actor(), &form.reason, false)
            .await?
            .ok_or_else(|| AppError::Conflict { field: None, message: "另一台服务器正在发布同一版本，请刷新后查看".into() })?;
        let href = format!("/releases/{}/{}/v{version}", kind.code(), form.period.trim());
        Ok((
            "已发布".to_string(),
            html! { p.ok role="status" { "已发布" (form.period.trim()) (kind.zh()) "第" (version) "版。" } p { a href=(href) { "查看" } } },
        ))
    }
    .await;
    render(&ctx, result)
}

async fn list_api(State(state): State<AppState>) -> AppResult<Json<Vec<Release>>> {
    Ok(Json(list(&state.db).await?))
}

async fn list_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let result = async {
        let releases = list(&state.db).await?;
        let publisher = may_publish(&ctx).ok();
        Ok((
            "定期发布".to_string(),
            html! {
                h1 { "统计信息定期发布" }
                p { "每月和每季度结束后自动生成月报、季报并归档；已发布的版本不再改动，更正以新版本发布并说明变更内容。" }
                table {
                    thead { tr { th scope="col" { "报告期" } th scope="col" { "类型" } th scope="col" { "版本" } th scope="col" { "发布时间" } th scope="col" { "说明" } } }
                    tbody { @for r in &releases { tr {
                        th scope="row" { a href=(format!("/releases/{}/{}/v{}", r.kind.code(), r.period, r.version)) { (r.period) (r.kind.zh()) } }
                        td { (r.kind.zh()) } td { "第" (r.version) "版" } td { (crate::time::minute_text(&r.published_at)) }
                        td { (r.change_note) }
                    } } }
                }
                @if releases.is_empty() { p { "尚无发布。" } }
                @if let Some(user) = publisher {
                    h2 { "发布或更正" }
                    form method="post" action="/releases" {
                        input type="hidden" name="csrf" value=(user.csrf.as_deref().unwrap_or(""));
                        label { "类型 " select name="kind" { option value="monthly" { "月报" } option value="quarterly" { "季报" } } }
                        label { "报告期 " input name="period" required placeholder="2025-06 或 2025-Q2"; }
                        label { "更正原因（发布更正版时必填） " input name="reason" maxlength="200"; }
                        button type="submit" { "生成并发布" }
                    }
                }
            },
        ))
    }
    .await;
    render(&ctx, result)
}

async fn latest_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((kind, period)): Path<(String, String)>,
) -> Response {
    let result = async {
        let r = get_release(&state.db, Kind::parse(&kind)?, &period, None).await?;
        show(&state, r).await
    }
    .await;
    render(&ctx, result)
}

/// `v2` shows version 2; `v2.xlsx` downloads its tables.
async fn version_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((kind, period, version)): Path<(String, String, String)>,
) -> Response {
    let (number, xlsx) = match version.strip_suffix(".xlsx") {
        Some(v) => (v, true),
        None => (version.as_str(), false),
    };
    let result = async {
        let kind = Kind::parse(&kind)?;
        let number: i64 = number
            .strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| AppError::not_found(format!("版本“{number}”")))?;
        get_release(&state.db, kind, &period, Some(number)).await
    }
    .await;
    match (result, xlsx) {
        (Ok(r), true) => match release_xlsx(&r) {
            Ok(bytes) => download(
                bytes,
                XLSX_TYPE,
                &format!("release-{}-{}-v{}.xlsx", r.kind.code(), r.period, r.version),
            ),
            Err(e) => render(&ctx, Err(e)),
        },
        (Ok(r), false) => render(&ctx, show(&state, r).await),
        (Err(e), _) => render(&ctx, Err(e)),
    }
}

fn release_xlsx(r: &Release) -> AppResult<Vec<u8>> {
    let d = r.data.as_ref().expect("full release");
    let show = |v: Option<f64>| v.map_or(String::new(), format_value);
    let figures = Table {
        headers: ["指标", "单位", "本期", "上期", "上年同期"]
            .map(String::from)
            .to_vec(),
        rows: d
            .figures
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    f.unit.clone(),
                    show(f.value),
                    show(f.previous),
                    show(f.year_ago),
                ]
            })
            .collect(),
    };
    let counties = Table {
        headers: ["区划代码", "县（市、区）", "市场主体期末存量（户）"]
            .map(String::from)
            .to_vec(),
        rows: d
            .counties
            .iter()
            .map(|(code, v)| {
                let name = DivisionCode::parse(code)
                    .map(|c| division_name(&c))
                    .unwrap_or_default();
                vec![code.clone(), name, show(*v)]
            })
            .collect(),
    };
    xlsx_bytes(&[
        ("主要指标", &figures),
        ("分地市", &d.cities),
        ("分县", &counties),
    ])
}

async fn show(state: &AppState, r: Release) -> AppResult<(String, Markup)> {
    let versions: Vec<Release> = list(&state.db)
        .await?
        .into_iter()
        .filter(|v| v.kind == r.kind && v.period == r.period)
        .collect();
    let latest = versions
        .iter()
        .map(|v| v.version)
        .max()
        .unwrap_or(r.version);
    Ok((
        format!("{}{}", r.period, r.kind.zh()),
        html! {
            @if r.version < latest {
                p.note role="note" { "这是第" (r.version) "版，已被第" (latest) "版更正。" a href=(format!("/releases/{}/{}/v{latest}", r.kind.code(), r.period)) { "查看最新版" } }
            }
            (PreEscaped(&r.html))
            p.noprint {
                a href=(format!("/releases/{}/{}/v{}.xlsx", r.kind.code(), r.period, r.version)) { "下载表格（Excel）" }
                @for v in versions.iter().filter(|v| v.version != r.version) {
                    " · " a href=(format!("/releases/{}/{}/v{}", r.kind.code(), r.period, v.version)) { "第" (v.version) "版" }
                }
                " · " a href="/releases" { "全部发布" }
            }
        },
    ))
}
