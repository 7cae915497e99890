//! 生活圈 pages and API: an area's coverage and gaps, a community's formats.

use super::{AreaView, Circles, CommunityView};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::map::{MapPoint, county_map};
use crate::portal::{Ctx, Lang, render};
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

fn rules_box(l: Lang, circles: &Circles) -> Markup {
    html! {
        details {
            summary { (l.t("等级评定规则（平台默认，可配置）", "Grading rules (platform defaults, configurable)")) }
            ul { @for line in circles.rules().describe() { li { (line) } } }
            p.muted { (l.t("业态分类依据商务部《城市一刻钟便民生活圈建设指南》；步行速度按4公里/小时（适老），5/10/15分钟分别约333/667/1000米，按路网距离计算。",
                "Formats follow MOFCOM's guide to 15-minute convenient living circles; walking at 4 km/h (elderly-inclusive), 5/10/15 minutes are about 333/667/1000 m along the street network.")) }
        }
    }
}

fn legend(l: Lang) -> Markup {
    html! {
        p.legend {
            @for g in Grade::ALL { span.swatch class=(grade_class(g)) style=(swatch_style(g)) {} (l.t(g.zh(), g.en())) " " }
        }
    }
}

/// A format's name in the page's language.
fn format_name(l: Lang, code: &str) -> &'static str {
    ServiceType::parse(code).map_or("", |t| l.t(t.zh(), t.en()))
}

/// A format's class (基本保障类…) in the page's language.
fn class_name(l: Lang, code: &str) -> &'static str {
    ServiceType::parse(code)
        .and_then(|t| t.circle())
        .map_or("", |c| l.t(c.zh(), c.en()))
}

/// What an area's coverage is weighted by.
fn weighted_by(l: Lang, view: &AreaView) -> &'static str {
    if view.weighted_by == "常住人口" {
        l.t("常住人口", "resident population")
    } else {
        l.t(
            view.weighted_by,
            "number of communities (population unknown)",
        )
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
    let l = ctx.lang;
    let title = l.t("一刻钟便民生活圈", "15-minute living circles");
    let body = match guard.as_ref() {
        None => html! { h1 { (title) } p { (NO_NETWORK) } },
        Some(circles) => {
            let counties: Vec<DivisionCode> = reference
                .all()
                .filter(|d| d.level == Level::County && !circles.communities_in(&d.code).is_empty())
                .map(|d| d.code.clone())
                .collect();
            html! {
                h1 { (title) }
                (children_table(l, &circles.children(&Reference::province())))
                h2 { (l.t("已导入步行路网的县（市、区）", "Counties with a walking network")) }
                table {
                    thead { tr { th { (l.t("地区", "Area")) } th { (l.t("已定位村（社区）", "Located communities")) } th { (l.t("达到基础型及以上", "Basic grade or better")) } } }
                    tbody { @for c in &counties {
                        @let a = circles.area(c);
                        tr { td { a href=(format!("/circles/{c}")) { (a.name) } } td { (a.communities) } td { (share_cell(l, &a, a.covered_share)) } }
                    } }
                }
            }
        }
    };
    render(&ctx, Ok((title.into(), body)))
}

fn area_body(
    l: Lang,
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
            label: format!("{}：{}", name_of(&c.code), l.t(g.zh(), g.en())),
            href: format!("/circles/community/{}", c.code),
            class: grade_class(*g),
        })
        .collect();
    points.extend(sites.iter().enumerate().map(|(i, s)| MapPoint {
        lon: s.lon,
        lat: s.lat,
        label: match l {
            Lang::Zh => format!(
                "建议选址{}：可新覆盖{}个村（社区）",
                i + 1,
                s.newly_covered.len()
            ),
            Lang::En => format!(
                "Suggested site {}: covers {} more communities",
                i + 1,
                s.newly_covered.len()
            ),
        },
        href: format!("#site-{}", i + 1),
        class: "site",
    }));
    html! {
        h1 { (view.name) " · " (l.t("一刻钟便民生活圈", "15-minute living circle")) }
        p.synthetic { (l.t("演示环境的路网、社区位置和人口为合成数据。", "The demo's street network, community locations and populations are synthetic.")) }
        @if view.communities == 0 { p.notice role="status" { (l.t(NO_DATA_NOTE, "No walking network or located community here yet: no living-circle data (which is not 0 % coverage).")) } }
        div.layout2 {
            section {
                @if let Some(county) = &county { (county_map(county, &points, links)) }
                (legend(l))
                @if !sites.is_empty() { p { span.swatch style="background:#1565c0" {} (l.t("建议选址", "Suggested sites")) } }
                details #communities {
                    summary { (l.t("各村（社区）等级（文字列表）", "Grade of each community (list)")) " (" (communities.len()) ")" }
                    table {
                        thead { tr { th { (l.t("村（社区）", "Community")) } th { (l.t("等级", "Grade")) } } }
                        tbody { @for (c, g) in &communities { tr {
                            td { a href=(format!("/circles/community/{}", c.code)) { (name_of(&c.code)) } }
                            td { (l.t(g.zh(), g.en())) }
                        } } }
                    }
                }
            }
            section {
                table {
                    tbody {
                        tr { th { (l.t("已定位村（社区）", "Located communities")) } td { (view.communities) } }
                        tr { th { (l.t("未定位村（社区）", "Communities not located")) } td { (view.unlocated) } }
                        tr { th { (l.t("人口（已知部分）", "Population (where known)")) } td { (view.population) } }
                        tr { th { (l.t("达到基础型及以上", "Basic grade or better")) } td { (share_cell(l, view, view.covered_share)) @if view.communities > 0 { (l.t("（按", " (weighted by ")) (weighted_by(l, view)) (l.t("加权）", ")")) } } }
                        @for (g, _, n) in &view.grades { tr { th { span.swatch style=(swatch_style(*g)) {} (l.t(g.zh(), g.en())) } td { (n) } } }
                    }
                }
                (rules_box(l, circles))
            }
        }
        h2 { (l.t("各业态15分钟覆盖率", "15-minute coverage by format")) }
        table {
            thead { tr { th { (l.t("业态", "Format")) } th { (l.t("类别", "Class")) } th { (l.t("覆盖率", "Coverage")) } th { "" } } }
            tbody { @for (code, _, share) in &view.formats {
                tr {
                    td { (format_name(l, code)) }
                    td { (class_name(l, code)) }
                    td { (share_cell(l, view, *share)) }
                    td { a href=(format!("/circles/{}?format={code}#gaps", view.code)) { (l.t("查看缺口与建议选址", "Gaps and suggested sites")) } }
                }
            } }
        }
        (children_table(l, &circles.children(area)))
        @if let Some(format) = format {
            h2 #gaps { (l.t(format.zh(), format.en())) (l.t("：缺口与建议选址", ": gaps and suggested sites")) }
            p.muted { (l.t("贪心最大覆盖：在路网节点中依次选出能让最多尚未覆盖的居民（人口未知时按社区个数）步行15分钟内到达该业态的位置。",
                "Greedy maximal covering: street-network nodes picked one by one where a new facility would bring the most uncovered residents (communities where population is unknown) within a 15-minute walk.")) }
            @if sites.is_empty() { p { (l.t("该地区已全部覆盖，或没有可新增覆盖的位置。", "The area is fully covered, or no site would cover more.")) } }
            ol { @for (i, s) in sites.iter().enumerate() {
                li #(format!("site-{}", i + 1)) {
                    (format!("{:.5}, {:.5}", s.lon, s.lat)) (l.t("：可新覆盖", ": covers ")) (s.newly_covered.len()) (l.t("个村（社区），", " more communities, ")) (format!("{:.0}", s.newly_covered_weight)) (l.t("人 — ", " residents — "))
                    (s.newly_covered.iter().filter_map(|c| DivisionCode::parse(c).ok()).map(|c| reference.name(&c).to_string()).collect::<Vec<_>>().join("、"))
                }
            } }
        }
    }
}

/// The areas one level down, each with its weighted coverage, grades and
/// weakest basic format: where a city or county should look first.
fn children_table(l: Lang, children: &[AreaView]) -> Markup {
    html! {
        @if !children.is_empty() {
            h2 { (l.t("下级地区覆盖情况", "Coverage of the areas below")) }
            p.muted { (l.t("覆盖率按常住人口加权（某地区有社区人口未知时按社区个数计）；最薄弱的基本保障类业态为步行15分钟覆盖率最低的一项。",
                "Coverage is weighted by resident population (by number of communities where some population is unknown); the weakest basic format is the one with the lowest 15-minute coverage.")) }
            table {
                thead { tr {
                    th { (l.t("地区", "Area")) } th { (l.t("已定位村（社区）", "Located communities")) } th { (l.t("人口（已知部分）", "Population (where known)")) } th { (l.t("达到基础型及以上", "Basic grade or better")) }
                    @for g in Grade::ALL { th { (l.t(g.zh(), g.en())) } }
                    th { (l.t("最薄弱的基本保障类业态", "Weakest basic format")) }
                } }
                tbody { @for c in children { tr {
                    td { a href=(format!("/circles/{}", c.code)) { (c.name) } }
                    td { (c.communities) }
                    td { (c.population) }
                    td { (share_cell(l, c, c.covered_share)) @if c.communities > 0 { " " small.muted { (l.t("按", "by ")) (weighted_by(l, c)) } } }
                    @for (_, _, n) in &c.grades { td { (n) } }
                    td { @if let Some((code, _, share)) = weakest_basic(c).filter(|_| c.communities > 0) {
                        a href=(format!("/circles/{}?format={code}#gaps", c.code)) { (format_name(l, code)) } " " (format!("{:.1}%", share * 100.0))
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
fn share_cell(l: Lang, view: &AreaView, share: f64) -> String {
    if view.communities == 0 {
        l.t("无数据", "no data").into()
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
            format!("{} {}", view.name, ctx.lang.t("生活圈", "living circle")),
            area_body(ctx.lang, circles, &area, &view, format, &sites, !ctx.elder),
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
        let l = ctx.lang;
        let grade = l.t(view.grade.zh(), view.grade.en());
        let missing: Vec<&str> = view
            .missing_basic
            .iter()
            .map(|name| match l {
                Lang::Zh => name.as_str(),
                Lang::En => view
                    .formats
                    .iter()
                    .find(|f| f.name == name.as_str())
                    .map_or(name.as_str(), |f| format_name(l, f.code)),
            })
            .collect();
        let body = html! {
            p.muted { a href=(format!("/circles/{}", &view.code[..6])) { (l.t("返回本区生活圈", "Back to the district's living circles")) } }
            h1 { (view.name) " " small.muted { (view.full_name) } }
            p { (l.t("等级：", "Grade: ")) strong { span.swatch style=(swatch_style(view.grade)) {} (grade) }
                @if let Some(p) = view.population { (l.t(" · 人口 ", " · population ")) (p) } }
            @if !view.reachable { p.error { (l.t("该社区位置距离步行路网超过200米，无法计算（请核实位置或补充路网）。", "This community lies more than 200 m from the walking network and cannot be measured (check its location or extend the network).")) } }
            @if !missing.is_empty() { p.error { (l.t("15分钟内缺少的基本保障类业态：", "Basic formats missing within 15 minutes: ")) (missing.join(l.t("、", ", "))) } }
            (rules_box(l, circles))
            table {
                thead { tr { th { (l.t("业态", "Format")) } th { (l.t("类别", "Class")) } th { (l.t("最近距离（米）", "Nearest (m)")) } th { (l.t("5分钟内", "Within 5 min")) } th { (l.t("10分钟内", "Within 10 min")) } th { (l.t("15分钟内", "Within 15 min")) } } }
                tbody { @for f in &view.formats { tr {
                    td { a href=(format!("/search?type={}&near={},{}&radius_m=1500", f.code, view.lat, view.lon)) { (format_name(l, f.code)) } }
                    td { (class_name(l, f.code)) }
                    td { (f.nearest_m.map(|d| format!("{d:.0}")).unwrap_or_else(|| l.t("超过1000", "over 1000").into())) }
                    td { (f.within_5min) } td { (f.within_10min) } td { (f.within_15min) }
                } } }
            }
        };
        Ok((view.name.clone(), body))
    })();
    render(&ctx, result)
}
