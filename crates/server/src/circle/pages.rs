//! 生活圈 pages and API: an area's coverage and gaps, a community's formats.

use super::{AreaView, Circles, CommunityView};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::map::{MapPoint, county_map};
use crate::portal::{Ctx, render};
use crate::reference::Reference;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use lifeservice_access::CoverSite;
use lifeservice_domain::circle::Grade;
use lifeservice_domain::{DivisionCode, Level, ServiceType};
use maud::{Markup, html};
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/circles", get(index))
        .route("/circles/{code}", get(area_page))
        .route("/circles/community/{code}", get(community_page))
        .route("/api/v1/circles/{code}", get(area_api))
        .route("/api/v1/circles/{code}/gaps", get(gaps_api))
        .route("/api/v1/circles/communities/{code}", get(community_api))
}

const NO_NETWORK: &str = "尚未导入步行路网：请先运行 lifeservice import osm FILE.osm.pbf 和 lifeservice import communities FILE.csv";

fn grade_class(grade: Grade) -> &'static str {
    match grade {
        Grade::Unmet => "grade-unmet",
        Grade::Basic => "grade-basic",
        Grade::Enhanced => "grade-enhanced",
        Grade::Quality => "grade-quality",
    }
}

fn area_code(code: &str) -> AppResult<DivisionCode> {
    let code = DivisionCode::parse(code).map_err(|e| AppError::field("code", e.to_string()))?;
    if Reference::shipped().get(&code).is_none() {
        return Err(AppError::not_found(format!("区划“{code}”不存在")));
    }
    Ok(code)
}

fn parse_gap_query(raw: &HashMap<String, String>) -> AppResult<(Option<ServiceType>, usize)> {
    if let Some(unknown) = raw
        .keys()
        .find(|k| !["format", "k", "lang"].contains(&k.as_str()))
    {
        return Err(AppError::field(
            unknown,
            format!("未知的查询参数“{unknown}”，可用参数：format, k"),
        ));
    }
    let format = raw
        .get("format")
        .filter(|f| !f.is_empty())
        .map(|f| {
            ServiceType::parse(f)
                .filter(|t| t.circle().is_some())
                .ok_or_else(|| AppError::field("format", format!("“{f}”不是一刻钟便民生活圈业态")))
        })
        .transpose()?;
    let k = match raw.get("k") {
        Some(k) => k
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=20).contains(k))
            .ok_or_else(|| AppError::field("k", "k 应为1至20之间的整数"))?,
        None => 5,
    };
    Ok((format, k))
}

fn gaps(
    circles: &Circles,
    area: &DivisionCode,
    format: ServiceType,
    k: usize,
) -> AppResult<Vec<CoverSite>> {
    circles
        .gaps(area, format, k)
        .map_err(|e| AppError::invalid(e.to_string()))
}

async fn area_api(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<Value>> {
    let area = area_code(&code)?;
    let guard = state.circles.read().await;
    let circles = guard
        .as_ref()
        .ok_or_else(|| AppError::not_found(NO_NETWORK))?;
    let communities: Vec<Value> = circles
        .communities_in(&area)
        .iter()
        .map(|(c, g)| json!({"code": c.code, "lon": c.lon, "lat": c.lat, "population": c.population, "grade": g}))
        .collect();
    Ok(Json(
        json!({"area": circles.area(&area), "children": circles.children(&area), "rules": circles.rules().describe(), "communities": communities}),
    ))
}

async fn gaps_api(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> AppResult<Json<Value>> {
    let area = area_code(&code)?;
    let (format, k) = parse_gap_query(&raw)?;
    let format = format.ok_or_else(|| AppError::field("format", "请指定业态 format，如 0701"))?;
    let guard = state.circles.read().await;
    let circles = guard
        .as_ref()
        .ok_or_else(|| AppError::not_found(NO_NETWORK))?;
    let sites: Vec<Value> = gaps(circles, &area, format, k)?
        .into_iter()
        .map(|s| json!({"lon": s.lon, "lat": s.lat, "newly_covered": s.newly_covered, "newly_covered_weight": s.newly_covered_weight}))
        .collect();
    Ok(Json(
        json!({"area": area, "format": format.code(), "radius_m": 1000.0, "sites": sites}),
    ))
}

async fn community_api(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<Json<CommunityView>> {
    let guard = state.circles.read().await;
    let circles = guard
        .as_ref()
        .ok_or_else(|| AppError::not_found(NO_NETWORK))?;
    circles
        .community(&code)
        .map(Json)
        .ok_or_else(|| AppError::not_found(format!("村（社区）“{code}”未定位或不在路网范围内")))
}

fn rules_box(circles: &Circles) -> Markup {
    html! {
        details {
            summary { "等级评定规则（平台默认，可配置）" }
            ul { @for line in circles.rules().describe() { li { (line) } } }
            p.muted { "业态分类依据商务部《城市一刻钟便民生活圈建设指南》；步行速度按4公里/小时（适老），5/10/15分钟分别约333/667/1000米，按路网距离计算。" }
        }
    }
}

fn legend() -> Markup {
    html! {
        p.legend {
            @for g in Grade::ALL { span.swatch class=(grade_class(g)) style=(swatch_style(g)) {} (g.zh()) " " }
        }
    }
}

fn swatch_style(g: Grade) -> &'static str {
    match g {
        Grade::Unmet => "background:#d32f2f",
        Grade::Basic => "background:#f9a825",
        Grade::Enhanced => "background:#7cb342",
        Grade::Quality => "background:#1b5e20",
    }
}

async fn index(State(state): State<AppState>, ctx: Ctx) -> Response {
    let guard = state.circles.read().await;
    let reference = Reference::shipped();
    let body = match guard.as_ref() {
        None => html! { h1 { "一刻钟便民生活圈" } p { (NO_NETWORK) } },
        Some(circles) => {
            let counties: Vec<DivisionCode> = reference
                .all()
                .filter(|d| d.level == Level::County && !circles.communities_in(&d.code).is_empty())
                .map(|d| d.code.clone())
                .collect();
            html! {
                h1 { "一刻钟便民生活圈" }
                (children_table(&circles.children(&Reference::province())))
                h2 { "已导入步行路网的县（市、区）" }
                table {
                    thead { tr { th { "地区" } th { "已定位村（社区）" } th { "达到基础型及以上" } } }
                    tbody { @for c in &counties {
                        @let a = circles.area(c);
                        tr { td { a href=(format!("/circles/{c}")) { (a.name) } } td { (a.communities) } td { (share_cell(&a, a.covered_share)) } }
                    } }
                }
            }
        }
    };
    render(&ctx, Ok(("一刻钟便民生活圈".into(), body)))
}

fn area_body(
    circles: &Circles,
    area: &DivisionCode,
    view: &AreaView,
    format: Option<ServiceType>,
    sites: &[CoverSite],
    links: bool,
) -> Markup {
    let reference = Reference::shipped();
    let county = area.ancestor(Level::County);
    let name_of = |code: &str| {
        DivisionCode::parse(code)
            .map(|d| reference.name(&d).to_string())
            .unwrap_or_default()
    };
    let communities = circles.communities_in(area);
    let mut points: Vec<MapPoint> = communities
        .iter()
        .map(|(c, g)| MapPoint {
            lon: c.lon,
            lat: c.lat,
            label: format!("{}：{}", name_of(&c.code), g.zh()),
            href: format!("/circles/community/{}", c.code),
            class: grade_class(*g),
        })
        .collect();
    points.extend(sites.iter().enumerate().map(|(i, s)| MapPoint {
        lon: s.lon,
        lat: s.lat,
        label: format!(
            "建议选址{}：可新覆盖{}个村（社区）",
            i + 1,
            s.newly_covered.len()
        ),
        href: format!("#site-{}", i + 1),
        class: "site",
    }));
    html! {
        h1 { (view.name) " · 一刻钟便民生活圈" }
        p.synthetic { "演示环境的路网、社区位置和人口为合成数据。" }
        @if view.communities == 0 { p.notice role="status" { (NO_DATA_NOTE) } }
        div.layout2 {
            section {
                @if let Some(county) = &county { (county_map(county, &points, links)) }
                (legend())
                @if !sites.is_empty() { p { span.swatch style="background:#1565c0" {} "建议选址" } }
                details #communities {
                    summary { "各村（社区）等级（文字列表）" " (" (communities.len()) ")" }
                    table {
                        thead { tr { th { "村（社区）" } th { "等级" } } }
                        tbody { @for (c, g) in &communities { tr {
                            td { a href=(format!("/circles/community/{}", c.code)) { (name_of(&c.code)) } }
                            td { (g.zh()) }
                        } } }
                    }
                }
            }
            section {
                table {
                    tbody {
                        tr { th { "已定位村（社区）" } td { (view.communities) } }
                        tr { th { "未定位村（社区）" } td { (view.unlocated) } }
                        tr { th { "人口（已知部分）" } td { (view.population) } }
                        tr { th { "达到基础型及以上" } td { (share_cell(view, view.covered_share)) @if view.communities > 0 { "（按" (view.weighted_by) "加权）" } } }
                        @for (g, zh, n) in &view.grades { tr { th { span.swatch style=(swatch_style(*g)) {} (zh) } td { (n) } } }
                    }
                }
                (rules_box(circles))
            }
        }
        h2 { "各业态15分钟覆盖率" }
        table {
            thead { tr { th { "业态" } th { "类别" } th { "覆盖率" } th { "" } } }
            tbody { @for (code, name, share) in &view.formats {
                tr {
                    td { (name) }
                    td { (ServiceType::parse(code).and_then(|t| t.circle()).map(|c| c.zh()).unwrap_or("")) }
                    td { (share_cell(view, *share)) }
                    td { a href=(format!("/circles/{}?format={code}#gaps", view.code)) { "查看缺口与建议选址" } }
                }
            } }
        }
        (children_table(&circles.children(area)))
        @if let Some(format) = format {
            h2 #gaps { (format.zh()) "：缺口与建议选址" }
            p.muted { "贪心最大覆盖：在路网节点中依次选出能让最多尚未覆盖的居民（人口未知时按社区个数）步行15分钟内到达该业态的位置。" }
            @if sites.is_empty() { p { "该地区已全部覆盖，或没有可新增覆盖的位置。" } }
            ol { @for (i, s) in sites.iter().enumerate() {
                li #(format!("site-{}", i + 1)) {
                    (format!("经度{:.5}，纬度{:.5}", s.lon, s.lat)) "：可新覆盖" (s.newly_covered.len()) "个村（社区），" (format!("{:.0}", s.newly_covered_weight)) "人 — "
                    (s.newly_covered.iter().filter_map(|c| DivisionCode::parse(c).ok()).map(|c| reference.name(&c).to_string()).collect::<Vec<_>>().join("、"))
                }
            } }
        }
    }
}

/// The areas one level down, each with its weighted coverage, grades and
/// weakest basic format: where a city or county should look first.
fn children_table(children: &[AreaView]) -> Markup {
    html! {
        @if !children.is_empty() {
            h2 { "下级地区覆盖情况" }
            p.muted { "覆盖率按常住人口加权（某地区有社区人口未知时按社区个数计）；最薄弱的基本保障类业态为步行15分钟覆盖率最低的一项。" }
            table {
                thead { tr {
                    th { "地区" } th { "已定位村（社区）" } th { "人口（已知部分）" } th { "达到基础型及以上" }
                    @for g in Grade::ALL { th { (g.zh()) } }
                    th { "最薄弱的基本保障类业态" }
                } }
                tbody { @for c in children { tr {
                    td { a href=(format!("/circles/{}", c.code)) { (c.name) } }
                    td { (c.communities) }
                    td { (c.population) }
                    td { (share_cell(c, c.covered_share)) @if c.communities > 0 { " " small.muted { "按" (c.weighted_by) } } }
                    @for (_, _, n) in &c.grades { td { (n) } }
                    td { @if let Some((code, name, share)) = weakest_basic(c).filter(|_| c.communities > 0) {
                        a href=(format!("/circles/{}?format={code}#gaps", c.code)) { (name) } " " (format!("{:.1}%", share * 100.0))
                    } }
                } } }
            }
        }
    }
}

/// Why an area shows no coverage: without a walking network or located
/// communities there is nothing measured, which is not 0 %.
const NO_DATA_NOTE: &str =
    "本地区尚未导入步行路网或没有已定位的村（社区），暂无生活圈数据（不是覆盖率为0）。";

/// A coverage share, or 无数据 where the area has no located community.
fn share_cell(view: &AreaView, share: f64) -> String {
    if view.communities == 0 {
        "无数据".into()
    } else {
        format!("{:.1}%", share * 100.0)
    }
}

fn weakest_basic(view: &AreaView) -> Option<&(String, &'static str, f64)> {
    view.formats
        .iter()
        .filter(|(code, _, _)| {
            ServiceType::parse(code).and_then(|t| t.circle())
                == Some(lifeservice_domain::CircleFormat::Basic)
        })
        .min_by(|a, b| a.2.total_cmp(&b.2))
}

async fn area_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let guard = state.circles.read().await;
    let result = (|| {
        let area = area_code(&code)?;
        let (format, k) = parse_gap_query(&raw)?;
        let circles = guard
            .as_ref()
            .ok_or_else(|| AppError::not_found(NO_NETWORK))?;
        let view = circles.area(&area);
        let sites = match format {
            Some(f) if view.communities > 0 => gaps(circles, &area, f, k)?,
            _ => Vec::new(),
        };
        Ok((
            format!("{} 生活圈", view.name),
            area_body(circles, &area, &view, format, &sites, !ctx.elder),
        ))
    })();
    render(&ctx, result)
}

async fn community_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Response {
    let guard = state.circles.read().await;
    let result = (|| {
        let circles = guard
            .as_ref()
            .ok_or_else(|| AppError::not_found(NO_NETWORK))?;
        let view = circles.community(&code).ok_or_else(|| {
            AppError::not_found(format!("村（社区）“{code}”未定位或不在路网范围内"))
        })?;
        let body = html! {
            p.muted { a href=(format!("/circles/{}", &view.code[..6])) { "返回本区生活圈" } }
            h1 { (view.name) " " small.muted { (view.full_name) } }
            p { "等级：" strong { span.swatch style=(swatch_style(view.grade)) {} (view.grade_zh) }
                @if let Some(p) = view.population { " · 人口 " (p) } }
            @if !view.reachable { p.error { "该社区位置距离步行路网超过200米，无法计算（请核实位置或补充路网）。" } }
            @if !view.missing_basic.is_empty() { p.error { "15分钟内缺少的基本保障类业态：" (view.missing_basic.join("、")) } }
            (rules_box(circles))
            table {
                thead { tr { th { "业态" } th { "类别" } th { "最近距离（米）" } th { "5分钟内" } th { "10分钟内" } th { "15分钟内" } } }
                tbody { @for f in &view.formats { tr {
                    td { a href=(format!("/search?type={}&near={},{}&radius_m=1500", f.code, view.lat, view.lon)) { (f.name) } }
                    td { (f.class) }
                    td { (f.nearest_m.map(|d| format!("{d:.0}")).unwrap_or_else(|| "超过1000".into())) }
                    td { (f.within_5min) } td { (f.within_10min) } td { (f.within_15min) }
                } } }
            }
        };
        Ok((view.name.clone(), body))
    })();
    render(&ctx, result)
}
