//! Views of the plan per responsible unit (`/plan/units/{id}`) and per city
//! (`/plan/cities/{code}`), and the attainment of the per-county targets the
//! platform measures from its own records, mapped by county.

use super::assessment::{self, AreaScore, CRITERIA};
use super::reports::{self, Due};
use super::{IndicatorView, cadence, indicator_table, indicator_view, observed};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::map::{choropleth_of, format_value};
use crate::portal::{Ctx, render};
use crate::reference::Reference;
use axum::extract::{Path, State};
use axum::response::Response;
use lifeservice_domain::plan::{Indicator, Period, Plan, Scope, Task, UnitId};
use lifeservice_domain::{DivisionCode, Level};
use maud::{Markup, html};
use std::collections::HashMap;

/// A per-county target of the plan that the platform counts from its records.
struct AreaMeasure {
    indicator: &'static str,
    formula: &'static str,
    /// `(county_code, count)` rows.
    sql: &'static str,
}

const AREA_MEASURES: [AreaMeasure; 2] = [
    AreaMeasure {
        indicator: "T16-8",
        formula: "县内在营养老机构（服务类型0301）数",
        sql: "SELECT county_code, COUNT(*) FROM outlets WHERE service_type = '0301' AND status = 'open' GROUP BY county_code",
    },
    AreaMeasure {
        indicator: "T03-3",
        formula: "县内获“老字号”认定的在营特色餐饮店（服务类型0902）数",
        sql: "SELECT o.county_code, COUNT(*) FROM outlets o JOIN designations d ON d.outlet_id = o.id \
              WHERE d.kind = 'time_honoured' AND o.service_type = '0902' AND o.status = 'open' GROUP BY o.county_code",
    },
];

/// Whether the platform counts the indicator per area from its own records.
pub(super) fn is_measured(indicator: &str) -> bool {
    AREA_MEASURES.iter().any(|m| m.indicator == indicator)
}

/// How the map's attainment is computed, as shown under it.
const ATTAINMENT_FORMULA: &str = "分县指标达成度 = 各项平台可计算的分县目标 min(县内数量 ÷ 目标下限, 1) 的平均值 × 100%；目前包括每县一所综合性养老机构（T16-8）和每县5–10家老字号精品旅游餐厅（T03-3）。";

/// Counts per county of every [`AREA_MEASURES`] entry, by indicator id.
pub struct AreaValues(HashMap<&'static str, HashMap<String, i64>>);

impl AreaValues {
    pub async fn load(state: &AppState) -> AppResult<AreaValues> {
        let mut all = HashMap::new();
        for m in &AREA_MEASURES {
            let rows: Vec<(String, i64)> = sqlx::query_as(m.sql).fetch_all(state.db.pool()).await?;
            all.insert(m.indicator, rows.into_iter().collect());
        }
        Ok(AreaValues(all))
    }

    fn count(&self, indicator: &str, county: &DivisionCode) -> i64 {
        self.0
            .get(indicator)
            .and_then(|m| m.get(county.as_str()))
            .copied()
            .unwrap_or(0)
    }

    /// The county's attainment in percent ([`ATTAINMENT_FORMULA`]).
    pub fn attainment(&self, county: &DivisionCode) -> f64 {
        let plan = Plan::shipped();
        let shares: Vec<f64> = AREA_MEASURES
            .iter()
            .filter_map(|m| {
                let min = plan.indicator(m.indicator)?.min?;
                Some((self.count(m.indicator, county) as f64 / min).min(1.0))
            })
            .collect();
        // From +0.0: an empty f64 sum is -0.0.
        100.0 * shares.iter().fold(0.0, |sum, s| sum + s) / shares.len().max(1) as f64
    }
}

fn met(indicator: &Indicator, count: i64) -> bool {
    indicator.min.is_some_and(|min| count as f64 >= min)
}

fn counties_of(city: &DivisionCode) -> Vec<DivisionCode> {
    Reference::shipped()
        .children(city)
        .iter()
        .filter(|c| c.level() == Level::County)
        .cloned()
        .collect()
}

/// The province's counties coloured by attainment, each linking to its
/// city's view (a picture in 长辈模式, where the cities are listed as links).
pub fn province_map(ctx: &Ctx, values: &AreaValues) -> Markup {
    let reference = Reference::shipped();
    html! {
        (choropleth_of(&Reference::province(), |c| Some(values.attainment(c)), "分县指标达成度（%）", |c| {
            (!ctx.elder).then(|| c.ancestor(Level::City).map(|city| format!("/plan/cities/{city}"))).flatten()
        }))
        p.muted { small { (ATTAINMENT_FORMULA) } }
        p { "各市分地区进展：" @for city in reference.cities() { a href=(format!("/plan/cities/{city}")) { (reference.name(city)) } " " } }
    }
}

/// `GET /plan/units/{id}`: a responsible unit's tasks, indicators, reports and late reports.
pub(super) async fn unit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let plan = Plan::shipped();
        let unit = plan
            .unit(&UnitId::new(id.as_str()))
            .or_else(|| plan.unit_by_name(&id))
            .ok_or_else(|| AppError::not_found(format!("责任单位“{id}”不存在（方案共{}个责任单位）", plan.units.len())))?;
        let tasks: Vec<&Task> = plan.tasks.iter().filter(|t| t.responsible_units.contains(&unit.id)).collect();
        let (lead, co): (Vec<&Task>, Vec<&Task>) = tasks.iter().copied().partition(|t| t.responsible_units.first() == Some(&unit.id));
        let cadences = cadence::load(&state.db).await?;
        let missing: Vec<Due> = reports::missing(&state.db, &cadences, crate::time::today())
            .await?
            .into_iter()
            .filter(|d| d.unit == unit.id)
            .collect();
        let observed = observed(&state).await?;
        let indicators: Vec<IndicatorView> = tasks
            .iter()
            .flat_map(|t| plan.indicators_of(Some(t.number)))
            .filter(|i| i.is_target())
            .map(|i| indicator_view(i, &observed))
            .collect();
        let list = reports::list(&state.db, None, Some(&unit.id)).await?;
        let task_list = |tasks: &[&Task]| html! {
            @if tasks.is_empty() { p { "无。" } } @else { ul { @for t in tasks {
                li {
                    a href=(format!("/plan/tasks/{}", t.number)) { (t.number) ". " (t.title) }
                    " " small.muted { (cadences.of(t.number).zh()) "填报" }
                    @if missing.iter().any(|d| d.task == t.number) { " " span.tag.bad { "逾期未报" } }
                }
            } } }
        };
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › 责任单位" }
            h1 { (unit.name) }
            @if let Some(full) = &unit.full_name { p { "全称：" (full) } }
            @if unit.collective { p.muted { "该责任单位是一类机关的统称，不逐项填报进展。" } }
            h2 { "牵头的任务（" (lead.len()) "项）" }
            (task_list(&lead[..]))
            h2 { "配合的任务（" (co.len()) "项）" }
            (task_list(&co[..]))
            h2 { "指标达成情况" }
            @if indicators.is_empty() { p { "所负责的任务均为定性任务，按里程碑跟踪。" } } @else { (indicator_table(&indicators)) }
            @if !unit.collective {
                h2 { "到期未报（" (missing.len()) "项）" }
                @if missing.is_empty() { p.ok { "已按期填报全部任务。" } } @else { (super::desk::due_table(&missing.iter().collect::<Vec<_>>(), false)) }
            }
            h2 { "填报记录" }
            @if list.is_empty() { p { "尚无填报。" } } @else { (super::reports_table(&list[..list.len().min(200)], ctx.user.as_ref().is_some_and(super::attachments::can_read))) }
        };
        Ok((unit.name.clone(), body))
    }
    .await;
    render(&ctx, result)
}

/// `GET /plan/cities/{code}`: the per-city and per-county targets for a city
/// and its counties, their measured values, and the city's assessment.
pub(super) async fn city_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Response {
    let result = async {
        let reference = Reference::shipped();
        let city = DivisionCode::parse(&code)
            .ok()
            .filter(|c| c.level() == Level::City && reference.get(c).is_some())
            .ok_or_else(|| AppError::not_found(format!("设区市“{code}”不存在（应为4位市级区划代码，如1401）")))?;
        let counties = counties_of(&city);
        let values = AreaValues::load(&state).await?;
        let reported = reports::area_values(&state.db).await?;
        let cities = assessment::assess(&state, Level::City, CRITERIA.to_vec()).await?;
        let county_scores = assessment::assess(&state, Level::County, CRITERIA.to_vec()).await?;
        let score = cities.areas.iter().find(|a| a.code == city.as_str());
        let scored: Vec<&AreaScore> = county_scores.areas.iter().filter(|a| counties.iter().any(|c| c.as_str() == a.code)).collect();
        let name = reference.name(&city);
        let body = html! {
            p.muted { a href="/plan" { "行动方案" } " › 分地区进展" }
            h1 { (name) "：行动方案分地区进展" }
            (choropleth_of(&city, |c| Some(values.attainment(c)), "分县指标达成度（%）", |c| (!ctx.elder).then(|| format!("/divisions/{c}"))))
            p.muted { small { (ATTAINMENT_FORMULA) } }
            h2 { "平台可计算的分县指标" }
            (measured_table(&values, &counties))
            h2 { "责任单位分地区填报的指标" }
            (reported_tables(&city, &counties, &reported))
            h2 { "绩效考核" }
            @if let Some(s) = score {
                p { (name) "得分 " strong { (format!("{:.1}", s.score)) } "，在11个设区市中排第" (s.rank) "名。"
                    " " a href="/plan/assessment?level=city" { "各市排名与计分方法" } }
            }
            table {
                thead { tr { th { "县（市、区）" } th { "得分" } th { "全省排名" } } }
                tbody { @for s in &scored { tr { td { a href=(format!("/divisions/{}", s.code)) { (s.name) } } td { (format!("{:.1}", s.score)) } td { (s.rank) " / " (county_scores.areas.len()) } } } }
            }
            p { a href="/plan/assessment?level=county" { "全省各县（市、区）排名" } }
        };
        Ok((format!("{name}分地区进展"), body))
    }
    .await;
    render(&ctx, result)
}

/// One row per county: each measured target's count and whether it is met.
fn measured_table(values: &AreaValues, counties: &[DivisionCode]) -> Markup {
    let plan = Plan::shipped();
    let reference = Reference::shipped();
    let measures: Vec<(&AreaMeasure, &Indicator)> = AREA_MEASURES
        .iter()
        .filter_map(|m| Some((m, plan.indicator(m.indicator)?)))
        .collect();
    html! {
        table {
            thead { tr {
                th { "县（市、区）" }
                @for (_, i) in &measures { th { (i.name) "（目标" (super::bounds(i.min, i.max)) (i.unit) "）" } }
                th { "达成度" }
            } }
            tbody {
                @for county in counties { tr {
                    td { a href=(format!("/divisions/{county}")) { (reference.name(county)) } }
                    @for (m, i) in &measures {
                        @let n = values.count(m.indicator, county);
                        td { (n) " " @if met(i, n) { span.tag.ok { "已达标" } } @else { span.tag.warn { "未达标" } } }
                    }
                    td { (format_value(values.attainment(county).round())) "%" }
                } }
                tr {
                    td { strong { "达标县数" } }
                    @for (m, i) in &measures {
                        td { (counties.iter().filter(|c| met(i, values.count(m.indicator, c))).count()) " / " (counties.len()) }
                    }
                    td {}
                }
            }
        }
        ul { @for (m, i) in &measures { li { small.muted { (i.id) " " (i.name) "：" (m.formula) "（平台服务网点登记库）" } } } }
    }
}

/// Latest reported value per (indicator, area), as [`reports::area_values`] gives them.
type Reported = HashMap<(String, String), (Period, f64)>;

/// The plan's per-area targets that no platform record measures, with each
/// area's latest reported value: the city's own, and per county its own or,
/// for per-township targets, how many of its townships meet them.
fn reported_tables(city: &DivisionCode, counties: &[DivisionCode], reported: &Reported) -> Markup {
    let plan = Plan::shipped();
    let reference = Reference::shipped();
    let scoped: Vec<&Indicator> = plan
        .indicators
        .iter()
        .filter(|i| i.scope.area_level().is_some() && !is_measured(i.id.as_str()))
        .collect();
    let of_city: Vec<&Indicator> = scoped
        .iter()
        .copied()
        .filter(|i| i.scope == Scope::PerCity)
        .collect();
    let below: Vec<&Indicator> = scoped
        .iter()
        .copied()
        .filter(|i| i.scope != Scope::PerCity)
        .collect();
    html! {
        @if !of_city.is_empty() {
            table {
                thead { tr { th { "按市考核的指标" } th { "目标" } th { (reference.name(city)) } } }
                tbody { @for i in &of_city { tr {
                    td { a href=(format!("/plan/tasks/{}", i.task.unwrap_or(0))) { (i.id) } " " (i.name) }
                    td { (super::bounds(i.min, i.max)) (i.unit) }
                    td { (reported_cell(i, reported.get(&(i.id.to_string(), city.to_string())))) }
                } } }
            }
        }
        @if !below.is_empty() {
            table {
                thead { tr {
                    th { "县（市、区）" }
                    @for i in &below { th { (i.id) " " (i.name) "（" (i.scope.zh()) (super::bounds(i.min, i.max)) (i.unit) "）" } }
                } }
                tbody { @for county in counties { tr {
                    td { a href=(format!("/divisions/{county}")) { (reference.name(county)) } }
                    @for i in &below {
                        td { @if i.scope == Scope::PerTownship { (township_cell(i, county, reported)) }
                             @else { (reported_cell(i, reported.get(&(i.id.to_string(), county.to_string())))) } }
                    }
                } } }
            }
        }
        p.muted { small { "数据来源：责任单位分地区进展填报（各地区最近一次填报值；牵头单位已汇总的取汇总值）。未填报的地区不计入绩效考核的“分地区填报指标”分项。" } }
    }
}

fn reported_met(indicator: &Indicator, value: f64) -> bool {
    indicator.min.is_none_or(|min| value >= min)
}

fn reported_cell(indicator: &Indicator, value: Option<&(Period, f64)>) -> Markup {
    html! {
        @match value {
            Some((period, v)) => {
                (format_value(*v)) " "
                @if reported_met(indicator, *v) { span.tag.ok { "已达标" } } @else { span.tag.warn { "未达标" } }
                " " small.muted { (period) }
            }
            None => { span.muted { "未填报" } }
        }
    }
}

/// Townships of a county meeting a per-township target, of those reported and of all.
fn township_cell(indicator: &Indicator, county: &DivisionCode, reported: &Reported) -> Markup {
    let towns = Reference::shipped()
        .children(county)
        .iter()
        .filter(|t| t.level() == Level::Town)
        .count();
    let values: Vec<f64> = reported
        .iter()
        .filter(|((id, code), _)| id == indicator.id.as_str() && code.starts_with(county.as_str()))
        .map(|(_, (_, v))| *v)
        .collect();
    let met = values
        .iter()
        .filter(|v| reported_met(indicator, **v))
        .count();
    html! {
        @if values.is_empty() { span.muted { "未填报" } }
        @else { "达标乡镇 " (met) " / " (towns) " " small.muted { "（已填报" (values.len()) "个）" } }
    }
}
