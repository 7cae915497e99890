//! Statistics and monitoring (统计监测): indicators by NBS category, division
//! and period, built from the records' own dates.
//!
//! - [`cube`]: the pre-aggregated monthly cells and the job that keeps them current
//! - [`indicators`]: what each indicator's columns mean and how they are computed
//! - [`warnings`]: the trend-warning rules; [`watch`]: the warnings for the plan office
//! - [`charts`]: server-side SVG charts
//! - [`releases`]: the monthly and quarterly releases (信息定期发布)
//! - this file: the selection a request makes, the API and the dashboard

pub mod charts;
pub mod cube;
mod dashboard;
pub mod indicators;
pub mod releases;
pub mod warnings;
pub mod watch;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::map::format_value;
use crate::portal::{Ctx, render};
use crate::reference::Reference;
use crate::tabular::{Table, respond};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Datelike;
use indicators::{Column, Granularity, Indicator, Row};
use lifeservice_domain::division_changes::{self, DivisionChange};
use lifeservice_domain::{DivisionCode, Level, MajorCategory, ServiceType};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stats", get(page))
        .route("/api/v1/stats", get(api))
        .route("/api/v1/stats/areas", get(areas_api))
        .route("/stats/warnings", get(watch::page))
        .route("/api/v1/stats/warnings", get(watch::api))
        .merge(releases::routes())
}

/// The statistics part of `/api/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(api, areas_api))]
pub struct StatsApi;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    // The doc comments below are the API's parameter descriptions, in Chinese like the rest of it.
    /// entities（市场主体，默认）、outlets、penalties、designations、satisfaction、rectification
    pub indicator: Option<String>,
    /// 区划代码：14（全省，默认）、市4位、县6位；地区表列出其下级
    pub division: Option<String>,
    /// month、quarter、year（默认）
    pub period: Option<String>,
    /// 大类代码（如01）或服务类型代码（如0101）
    pub category: Option<String>,
    /// 统计截至的年月 YYYY-MM，默认上一个完整月份，最晚本月
    pub until: Option<String>,
    /// json（默认）、csv、xlsx
    pub format: Option<String>,
    /// The interface language switch, read by the layout.
    #[serde(rename = "lang")]
    #[param(ignore)]
    pub _lang: Option<String>,
}

/// All categories, an NBS major category, or one service type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    All,
    Major(MajorCategory),
    Type(ServiceType),
}

impl Category {
    pub fn parse(s: &str) -> Option<Category> {
        match s.len() {
            0 => Some(Category::All),
            2 => MajorCategory::parse(s).map(Category::Major),
            _ => ServiceType::parse(s).map(Category::Type),
        }
    }

    pub fn code(self) -> String {
        match self {
            Category::All => String::new(),
            Category::Major(m) => m.code(),
            Category::Type(t) => t.code().to_string(),
        }
    }

    pub fn zh(self) -> String {
        match self {
            Category::All => "全部类别".into(),
            Category::Major(m) => m.zh().into(),
            Category::Type(t) => t.zh().into(),
        }
    }
}

/// A validated request: what to show, where, by which period.
#[derive(Debug, Clone)]
pub struct Selection {
    pub indicator: Indicator,
    pub division: DivisionCode,
    pub granularity: Granularity,
    pub category: Category,
    /// The last month counted (`YYYY-MM`).
    pub until: String,
    /// A retired code the request named, counted under `division` now.
    pub mapped_from: Option<&'static DivisionChange>,
}

/// The last full month, Asia/Shanghai.
pub fn last_full_month() -> String {
    let today = crate::time::today();
    let first = today.with_day0(0).expect("day one");
    (first - chrono::Days::new(1)).format("%Y-%m").to_string()
}

impl Selection {
    pub fn parse(q: &StatsQuery) -> AppResult<Selection> {
        let indicator = match q.indicator.as_deref().filter(|s| !s.is_empty()) {
            None => Indicator::Entities,
            Some(s) => Indicator::parse(s).ok_or_else(|| {
                let all: Vec<&str> = Indicator::ALL.iter().map(|i| i.code()).collect();
                AppError::field(
                    "indicator",
                    format!("未知的指标“{s}”，可选：{}", all.join("、")),
                )
            })?,
        };
        let (division, mapped_from) = parse_division(q.division.as_deref().unwrap_or("14"))?;
        let granularity = match q.period.as_deref().filter(|s| !s.is_empty()) {
            None => Granularity::Year,
            Some(s) => Granularity::parse(s).ok_or_else(|| {
                AppError::field(
                    "period",
                    format!("“{s}”无效：period 应为 year、quarter 或 month"),
                )
            })?,
        };
        let category = match q.category.as_deref() {
            None => Category::All,
            Some(c) => Category::parse(c).ok_or_else(|| {
                AppError::field(
                    "category",
                    format!("未知的类别“{c}”，应为大类代码（如01）或服务类型代码（如0101）"),
                )
            })?,
        };
        let until = match q.until.as_deref().filter(|s| !s.is_empty()) {
            None => last_full_month(),
            Some(u) => {
                if Granularity::Month.months(u).is_none() {
                    return Err(AppError::field(
                        "until",
                        format!("“{u}”无效：应为年月，如2025-06"),
                    ));
                }
                // Months to come have no records yet; counting them would
                // show the present stock as their figures.
                let this_month = crate::time::today().format("%Y-%m").to_string();
                let first_day = |month: &str| {
                    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()
                };
                if first_day(u) > first_day(&this_month) {
                    return Err(AppError::field(
                        "until",
                        format!("“{u}”尚未到来：统计最晚到本月（{this_month}）"),
                    ));
                }
                u.to_string()
            }
        };
        Ok(Selection {
            indicator,
            division,
            granularity,
            category,
            until,
            mapped_from,
        })
    }

    fn name(&self) -> String {
        division_name(&self.division)
    }

    /// The query string that selects this, with some parts replaced.
    fn href(&self, division: &str, category: &str) -> String {
        format!(
            "/stats?indicator={}&division={division}&category={category}&period={}&until={}",
            self.indicator.code(),
            self.granularity.code(),
            self.until
        )
    }
}

/// A province, city or county code; a retired county code (区划调整) is
/// accepted and counted under its successor, which the answer says.
fn parse_division(s: &str) -> AppResult<(DivisionCode, Option<&'static DivisionChange>)> {
    let code = DivisionCode::parse(s).map_err(|e| AppError::field("division", e.to_string()))?;
    let change = division_changes::all()
        .iter()
        .find(|c| c.old_code == code.as_str());
    let code = match change {
        Some(c) => DivisionCode::parse(&c.new_code).expect("shipped code"),
        None => code,
    };
    if Reference::shipped().get(&code).is_none() || code.level() > Level::County {
        return Err(AppError::field(
            "division",
            format!("“{s}”不是山西省的省、市或县级区划代码"),
        ));
    }
    Ok((code, change))
}

pub fn division_name(code: &DivisionCode) -> String {
    let reference = Reference::shipped();
    match code.level() {
        Level::Province => reference.name(code).to_string(),
        _ => reference.full_name(code),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SeriesRow {
    pub period: String,
    /// The period runs past `until`: only part of it is counted.
    pub partial: bool,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub indicator: Indicator,
    pub indicator_zh: &'static str,
    pub division: String,
    pub division_name: String,
    pub category: String,
    pub category_zh: String,
    pub granularity: Granularity,
    pub until: String,
    pub columns: &'static [Column],
    pub definition: &'static str,
    /// 区划调整: the retired codes counted in this division.
    pub division_notes: Vec<String>,
    pub rows: Vec<SeriesRow>,
    pub freshness: Vec<cube::Freshness>,
}

pub async fn series(state: &AppState, sel: &Selection) -> AppResult<Series> {
    let monthly = cube::monthly(
        &state.db,
        sel.division.as_str(),
        &sel.category.code(),
        sel.indicator.measures(),
    )
    .await?;
    let rows = indicators::rows(sel.indicator, &monthly, sel.granularity, &sel.until)
        .into_iter()
        .map(|Row { period, values }| SeriesRow {
            partial: sel
                .granularity
                .months(&period)
                .is_some_and(|(_, last)| last > sel.until),
            period,
            values,
        })
        .collect();
    Ok(Series {
        indicator: sel.indicator,
        indicator_zh: sel.indicator.zh(),
        division: sel.division.to_string(),
        division_name: sel.name(),
        category: sel.category.code(),
        category_zh: sel.category.zh(),
        granularity: sel.granularity,
        until: sel.until.clone(),
        columns: sel.indicator.columns(),
        definition: sel.indicator.definition(),
        division_notes: division_notes(sel),
        rows,
        freshness: cube::freshness(&state.db).await?,
    })
}

/// What the 区划调整 mapping does for this division and request.
fn division_notes(sel: &Selection) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(c) = sel.mapped_from {
        notes.push(format!(
            "{}（{}）已于{}年调整（{}），按现区划{}（{}）统计",
            c.old_name, c.old_code, c.year, c.note, c.new_name, c.new_code
        ));
    }
    let inside: Vec<&DivisionChange> = division_changes::all()
        .iter()
        .filter(|c| {
            sel.division
                .contains(&DivisionCode::parse(&c.new_code).expect("shipped"))
        })
        .collect();
    if !inside.is_empty() {
        let list: Vec<String> = inside
            .iter()
            .map(|c| format!("{}{}→{}", c.year, c.old_name, c.new_name))
            .collect();
        notes.push(format!(
            "区划调整前的记录已按现区划归并，历年数据可比：{}",
            list.join("；")
        ));
    }
    notes
}

/// One child division's headline value in a period.
#[derive(Debug, Clone, Serialize)]
pub struct AreaValue {
    pub code: String,
    pub name: String,
    pub value: Option<f64>,
}

/// The headline of every county under the selection's division (or, for a
/// county, every county of its city) in the period containing `until`.
pub async fn areas(state: &AppState, sel: &Selection) -> AppResult<(DivisionCode, Vec<AreaValue>)> {
    let area = match sel.division.level() {
        Level::County => sel
            .division
            .ancestor(Level::City)
            .expect("county in a city"),
        _ => sel.division.clone(),
    };
    let (start, _) = sel
        .granularity
        .months(&sel.granularity.period_of(&sel.until))
        .expect("a period of until");
    let sums = cube::by_division(
        &state.db,
        area.as_str(),
        6,
        &sel.category.code(),
        sel.indicator.measures(),
        (&start, &sel.until),
    )
    .await?;
    let reference = Reference::shipped();
    let counties: Vec<_> = reference
        .all()
        .filter(|d| d.code.level() == Level::County && area.contains(&d.code))
        .filter(|d| reference.county_shape(&d.code).is_some())
        .collect();
    // Several cities have a 城区: in a list of more than one city's counties
    // such a name says its city.
    let shared = |name: &str| counties.iter().filter(|d| d.name == name).count() > 1;
    let values = counties
        .iter()
        .map(|d| AreaValue {
            code: d.code.to_string(),
            name: match d.code.ancestor(Level::City).filter(|_| shared(&d.name)) {
                Some(city) => format!("{}{}", reference.name(&city), d.name),
                None => d.name.clone(),
            },
            value: indicators::headline_value(sel.indicator, |m| {
                sums.get(&(d.code.to_string(), m.to_string()))
                    .copied()
                    .unwrap_or((0, 0))
            }),
        })
        .collect();
    Ok((area, values))
}

#[utoipa::path(get, path = "/api/v1/stats", tag = "statistics", params(StatsQuery),
    responses((status = 200, description = "{indicator, division, granularity, until, columns, definition, rows: [{period, partial, values}]}"),
        (status = 400, description = "参数无效（error.field 指明是哪一个）")))]
async fn api(State(state): State<AppState>, Query(q): Query<StatsQuery>) -> AppResult<Response> {
    let sel = Selection::parse(&q)?;
    let s = series(&state, &sel).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(s).into_response()),
        format => respond(
            format,
            &format!("stats-{}-{}-{}", s.indicator.code(), s.division, s.until),
            &series_table(&s),
        ),
    }
}

#[utoipa::path(get, path = "/api/v1/stats/areas", tag = "statistics", params(StatsQuery),
    responses((status = 200, description = "下级各地区在截至期的数值"), (status = 400, description = "参数无效")))]
async fn areas_api(
    State(state): State<AppState>,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    let sel = Selection::parse(&q)?;
    let (area, values) = areas(&state, &sel).await?;
    Ok(Json(serde_json::json!({
        "indicator": sel.indicator,
        "headline": sel.indicator.headline().0,
        "area": area.as_str(),
        "period": sel.granularity.period_of(&sel.until),
        "until": sel.until,
        "areas": values,
    }))
    .into_response())
}

pub fn series_table(s: &Series) -> Table {
    let mut headers = vec!["报告期".to_string()];
    headers.extend(s.columns.iter().map(|c| format!("{}（{}）", c.zh, c.unit)));
    Table {
        headers,
        rows: s
            .rows
            .iter()
            .map(|r| {
                let mut row = vec![period_label(&r.period, r.partial, &s.until)];
                row.extend(
                    r.values
                        .iter()
                        .map(|v| v.map(format_value).unwrap_or_default()),
                );
                row
            })
            .collect(),
    }
}

fn period_label(period: &str, partial: bool, until: &str) -> String {
    if partial {
        format!("{period}（截至{until}）")
    } else {
        period.to_string()
    }
}

/// Where the list behind a figure is: the outlets or entities it counts.
/// What the link of [`list_href`] opens, named as it is: the search lists an
/// area's open outlets, which an entity count does not equal.
fn list_label(indicator: Indicator, area: &str) -> String {
    match indicator {
        Indicator::Satisfaction | Indicator::Rectification => format!("查看{area}的好差评"),
        _ => format!("查看{area}的在营服务网点"),
    }
}

fn list_href(indicator: Indicator, division: &str, category: &str) -> String {
    let filter = match category.len() {
        0 => String::new(),
        2 => format!("&major={category}"),
        _ => format!("&type={category}"),
    };
    match indicator {
        Indicator::Satisfaction | Indicator::Rectification => {
            format!("/quality?division={division}")
        }
        _ => format!("/search?division={division}{filter}"),
    }
}

async fn page(State(state): State<AppState>, ctx: Ctx, Query(q): Query<StatsQuery>) -> Response {
    let result = async {
        let sel = Selection::parse(&q)?;
        let s = series(&state, &sel).await?;
        let (area, values) = areas(&state, &sel).await?;
        let by_category = category_bars(&state, &sel).await?;
        let coverage = circle_coverage(&state, &area, &values).await;
        let staff = ctx
            .user
            .as_ref()
            .is_some_and(|u| !matches!(u.role, crate::auth::Role::Entity(_)));
        let warnings = if staff {
            watch::for_selection(&state, &sel, &s, &values).await?
        } else {
            Vec::new()
        };
        Ok((
            format!("统计监测：{}", sel.indicator.zh()),
            dashboard::render(
                &ctx,
                &dashboard::View {
                    sel: &sel,
                    series: &s,
                    area: &area,
                    areas: &values,
                    by_category: &by_category,
                    coverage: &coverage,
                    warnings: staff.then_some(warnings.as_slice()),
                },
            ),
        ))
    }
    .await;
    render(&ctx, result)
}

/// 15-minute circle coverage of each county now (a snapshot: the circle
/// state is current), as the share of community population covered.
async fn circle_coverage(
    state: &AppState,
    area: &DivisionCode,
    counties: &[AreaValue],
) -> Vec<AreaValue> {
    let circles = state.circles.read().await;
    counties
        .iter()
        .map(|c| AreaValue {
            code: c.code.clone(),
            name: c.name.clone(),
            value: circles.as_ref().and_then(|circles| {
                let code = DivisionCode::parse(&c.code).ok()?;
                let view = circles.area(&code);
                (view.communities > view.unlocated)
                    .then(|| indicators::round2(view.covered_share * 100.0))
            }),
        })
        .filter(|_| area.level() <= Level::City)
        .collect()
}

/// The headline by NBS major category in the selected period, linking to each list.
async fn category_bars(
    state: &AppState,
    sel: &Selection,
) -> AppResult<Vec<(String, Option<f64>, String)>> {
    let (start, _) = sel
        .granularity
        .months(&sel.granularity.period_of(&sel.until))
        .expect("a period of until");
    let majors: Vec<String> = MajorCategory::all().map(|m| m.code()).collect();
    let mut sums = std::collections::HashMap::new();
    for m in sel.indicator.measures() {
        for (category, v) in cube::by_category(
            &state.db,
            sel.division.as_str(),
            m,
            &majors,
            (&start, &sel.until),
        )
        .await?
        {
            sums.insert((category, m.to_string()), v);
        }
    }
    Ok(MajorCategory::all()
        .map(|major| {
            let code = major.code();
            let value = indicators::headline_value(sel.indicator, |m| {
                sums.get(&(code.clone(), m.to_string()))
                    .copied()
                    .unwrap_or((0, 0))
            });
            (
                major.zh().to_string(),
                value,
                sel.href(sel.division.as_str(), &code),
            )
        })
        .collect())
}
