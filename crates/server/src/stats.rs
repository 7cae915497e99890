//! Statistics and monitoring (统计监测): indicators computed from the records'
//! own dates, by division, NBS major category and period, as a time series
//! (`GET /api/v1/stats`, CSV with `format=csv`) and on the `/stats` page.

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, render};
use crate::reference::Reference;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lifeservice_domain::{DivisionCode, MajorCategory};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(page))
        .route("/api/v1/stats", get(api))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Market entities established in the period, and the stock at its end.
    Entities,
    /// Penalties decided in the period, per 1,000 entities in stock.
    Penalties,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Year,
    Quarter,
    Month,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    indicator: Option<String>,
    division: Option<String>,
    period: Option<String>,
    category: Option<String>,
    format: Option<String>,
    /// The interface language switch, read by the layout.
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub period: String,
    /// Entities: established in the period; penalties: decided in the period.
    pub new: i64,
    /// Entities in stock at the period's end (established by then).
    pub stock: i64,
    /// Penalties per 1,000 entities in stock; entities: growth over the
    /// previous period's stock, in %.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub indicator: Indicator,
    pub division: String,
    pub division_name: String,
    pub category: Option<String>,
    pub granularity: Granularity,
    pub definition: &'static str,
    pub points: Vec<Point>,
}

struct Parsed {
    indicator: Indicator,
    division: DivisionCode,
    granularity: Granularity,
    category: Option<MajorCategory>,
}

fn parse(q: &StatsQuery) -> AppResult<Parsed> {
    let indicator = match q.indicator.as_deref().unwrap_or("entities") {
        "entities" => Indicator::Entities,
        "penalties" => Indicator::Penalties,
        other => {
            return Err(AppError::field(
                "indicator",
                format!("未知的指标“{other}”，可选：entities、penalties"),
            ));
        }
    };
    let division = DivisionCode::parse(q.division.as_deref().unwrap_or("14"))
        .map_err(|e| AppError::field("division", e.to_string()))?;
    if Reference::shipped().get(&division).is_none() || division.as_str().len() > 6 {
        return Err(AppError::field(
            "division",
            format!("“{division}”不是省、市或县级区划代码"),
        ));
    }
    let granularity = match q.period.as_deref().unwrap_or("year") {
        "year" => Granularity::Year,
        "quarter" => Granularity::Quarter,
        "month" => Granularity::Month,
        other => {
            return Err(AppError::field(
                "period",
                format!("“{other}”无效：period 应为 year、quarter 或 month"),
            ));
        }
    };
    let category = q
        .category
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| {
            MajorCategory::parse(c)
                .ok_or_else(|| AppError::field("category", format!("未知的大类“{c}”")))
        })
        .transpose()?;
    Ok(Parsed {
        indicator,
        division,
        granularity,
        category,
    })
}

/// The period a date (`YYYY-MM-DD…`) falls in.
fn period_of(date: &str, g: Granularity) -> Option<String> {
    let year = date.get(0..4)?;
    let month: u32 = date.get(5..7)?.parse().ok()?;
    Some(match g {
        Granularity::Year => year.to_string(),
        Granularity::Quarter => format!("{year}-Q{}", (month - 1) / 3 + 1),
        Granularity::Month => format!("{year}-{month:02}"),
    })
}

/// Builds the series in memory from one pass over the dated records of the
/// area: the naive GROUP BY, fine at registry scale (see the figure
/// for the pre-aggregated form this will need at province scale).
pub async fn series(state: &AppState, q: &StatsQuery) -> AppResult<Series> {
    let p = parse(q)?;
    let prefix = format!("{}%", p.division.as_str());
    let category_filter = match p.category {
        Some(_) => {
            "AND EXISTS (SELECT 1 FROM outlets o WHERE o.entity_id = e.id AND o.service_type LIKE $2)"
        }
        None => "AND $2 = $2",
    };
    let category_like = p
        .category
        .map_or("%".to_string(), |c| format!("{}%", c.code()));
    let established: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT established FROM entities e WHERE established IS NOT NULL AND division_code LIKE $1 {category_filter} ORDER BY established"
    ))
    .bind(prefix.clone())
    .bind(category_like.clone())
    .fetch_all(state.db.pool())
    .await?;
    let decisions: Vec<String> = match p.indicator {
        Indicator::Entities => Vec::new(),
        Indicator::Penalties => sqlx::query_scalar(&format!(
            "SELECT r.decision_date FROM credit_records r JOIN entities e ON e.id = r.entity_id \
             WHERE r.kind = 'penalty' AND r.state <> 'withdrawn' AND e.division_code LIKE $1 {category_filter} ORDER BY r.decision_date"
        ))
        .bind(prefix)
        .bind(category_like)
        .fetch_all(state.db.pool())
        .await?,
    };
    let mut points: Vec<Point> = Vec::new();
    let mut counts: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for d in &established {
        if let Some(period) = period_of(d, p.granularity) {
            counts.entry(period).or_default().0 += 1;
        }
    }
    for d in &decisions {
        if let Some(period) = period_of(d, p.granularity) {
            counts.entry(period).or_default().1 += 1;
        }
    }
    let mut stock = 0;
    for (period, (founded, penalties)) in counts {
        let before = stock;
        stock += founded;
        let (new, rate) = match p.indicator {
            Indicator::Entities => (
                founded,
                (before > 0).then(|| 100.0 * founded as f64 / before as f64),
            ),
            Indicator::Penalties => (
                penalties,
                (stock > 0).then(|| 1000.0 * penalties as f64 / stock as f64),
            ),
        };
        points.push(Point {
            period,
            new,
            stock,
            rate: rate.map(|r| (r * 100.0).round() / 100.0),
        });
    }
    Ok(Series {
        indicator: p.indicator,
        division_name: Reference::shipped().full_name(&p.division),
        division: p.division.to_string(),
        category: p.category.map(|c| c.zh().to_string()),
        granularity: p.granularity,
        definition: match p.indicator {
            Indicator::Entities => {
                "新增：成立日期在本期的市场主体数；存量：成立日期不晚于期末的市场主体数（含已注销，登记库不记注销日期）；增长率：新增 ÷ 上期末存量"
            }
            Indicator::Penalties => {
                "行政处罚决定日期在本期的处罚数（不含撤回），每千户市场主体处罚数 = 处罚数 ÷ 期末存量 × 1000"
            }
        },
        points,
    })
}

async fn api(State(state): State<AppState>, Query(q): Query<StatsQuery>) -> AppResult<Response> {
    let s = series(&state, &q).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(s).into_response()),
        "csv" => {
            let mut out = String::from("\u{feff}报告期,新增,期末存量,比率\n");
            for p in &s.points {
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    p.period,
                    p.new,
                    p.stock,
                    p.rate.map_or(String::new(), |r| r.to_string())
                ));
            }
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"stats-{}-{}.csv\"",
                            s.division,
                            crate::time::today()
                        ),
                    ),
                ],
                out,
            )
                .into_response())
        }
        other => Err(AppError::field(
            "format",
            format!("未知的格式“{other}”，应为 json 或 csv"),
        )),
    }
}

/// A bar chart of `new` with the values written on the bars (no colour-only cue).
fn chart(s: &Series) -> Markup {
    let points = &s.points[s.points.len().saturating_sub(30)..];
    let max = points.iter().map(|p| p.new).max().unwrap_or(0).max(1) as f64;
    let (w, h, bar) = (720.0, 220.0, 720.0 / points.len().max(1) as f64);
    html! {
        svg viewBox=(format!("0 0 {w} {}", h + 40.0)) width="100%" role="img" aria-label=(format!("{}各期新增柱状图", s.division_name)) {
            @for (i, p) in points.iter().enumerate() {
                @let height = h * p.new as f64 / max;
                @let x = i as f64 * bar;
                rect x=(x + 2.0) y=(h - height) width=(bar - 4.0) height=(height) fill="#b3261e" {}
                text x=(x + bar / 2.0) y=(h - height - 4.0) font-size="11" text-anchor="middle" { (p.new) }
                text x=(x + bar / 2.0) y=(h + 16.0) font-size="10" text-anchor="middle" { (p.period) }
            }
        }
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, Query(q): Query<StatsQuery>) -> Response {
    let result = async {
        let s = series(&state, &q).await?;
        let reference = Reference::shipped();
        let title = match s.indicator {
            Indicator::Entities => "市场主体新增与存量",
            Indicator::Penalties => "行政处罚（每千户市场主体）",
        };
        let body = html! {
            h1 { "统计监测：" (title) }
            form.search method="get" action="/stats" {
                label { "指标 " select name="indicator" {
                    option value="entities" selected[s.indicator == Indicator::Entities] { "市场主体" }
                    option value="penalties" selected[s.indicator == Indicator::Penalties] { "行政处罚" }
                } }
                label { "地区 " select name="division" {
                    option value="14" { "全省" }
                    @for city in reference.cities() { option value=(city) selected[s.division == city.as_str()] { (reference.name(city)) } }
                    @if s.division.len() > 4 { option value=(s.division) selected { (s.division_name) } }
                } }
                label { "大类 " select name="category" {
                    option value="" { "全部" }
                    @for m in MajorCategory::all() { option value=(m.code()) selected[s.category.as_deref() == Some(m.zh())] { (m.zh()) } }
                } }
                label { "周期 " select name="period" {
                    option value="year" selected[s.granularity == Granularity::Year] { "年" }
                    option value="quarter" selected[s.granularity == Granularity::Quarter] { "季度" }
                    option value="month" selected[s.granularity == Granularity::Month] { "月" }
                } }
                button type="submit" { "查看" }
            }
            p { (s.division_name) @if let Some(c) = &s.category { " · " (c) } }
            (chart(&s))
            p.muted { "口径：" (s.definition) "。数据来源：平台登记库和信用记录；演示数据为合成数据。" }
            table {
                thead { tr { th { "报告期" } th { "新增" } th { "期末存量" } th { (if s.indicator == Indicator::Entities { "增长率（%）" } else { "每千户处罚数" }) } } }
                tbody { @for p in s.points.iter().rev() { tr {
                    td { (p.period) } td { (p.new) } td { (p.stock) } td { @if let Some(r) = p.rate { (r) } @else { "—" } }
                } } }
            }
        };
        Ok(("统计监测".to_string(), body))
    }
    .await;
    render(&ctx, result)
}
