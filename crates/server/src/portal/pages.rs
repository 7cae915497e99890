//! Public pages: home, search, outlet, provider (一站式查询), division, categories.

use super::map::MapPoint;
use super::{Ctx, Lang, map, render};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::reference::Reference;
use crate::registry::api::{load_entity, run_outlet_search};
use crate::registry::{Outlet, store};
use crate::search::DocKind;
use crate::search::params::SearchParams;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use lifeservice_domain::{DivisionCode, Level, MajorCategory, ServiceType};
use maud::{Markup, html};
use std::collections::HashMap;

/// Shortcuts on the home page: the services residents ask for most.
const SHORTCUTS: &[(&str, &str, &str)] = &[
    ("养老", "Elderly care", "major=03"),
    ("托育", "Childcare", "type=0107"),
    ("家政", "Housekeeping", "type=0101"),
    ("维修", "Repairs", "type=0105"),
    ("便利店", "Convenience", "type=0701"),
    ("菜市场", "Markets", "type=0703"),
    ("药店", "Pharmacy", "type=0705"),
    ("早餐", "Breakfast", "type=0901"),
    ("社区食堂", "Canteens", "type=0303"),
    ("快递", "Parcels", "type=1201"),
];

fn search_form(l: Lang, q: &str) -> Markup {
    html! {
        form.search action="/search" method="get" role="search" {
            label for="q" class="muted" { (l.t("搜索服务", "Search services")) }
            input #q type="search" name="q" value=(q) placeholder=(l.t("如：家政 小店区、养老院、便利店", "e.g. 家政 小店区")) maxlength="100";
            button type="submit" { (l.t("搜索", "Search")) }
        }
    }
}

fn synthetic_notice(l: Lang, synthetic: bool) -> Markup {
    html! {
        @if synthetic {
            p.synthetic { (l.t("演示数据：本站当前展示的主体和网点为程序生成的合成数据，并非真实商户。", "Demo data: the providers shown are synthetic, not real businesses.")) }
        }
    }
}

async fn any_synthetic(state: &AppState) -> AppResult<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT id FROM outlets WHERE synthetic = 1 LIMIT 1")
        .fetch_optional(state.db.pool())
        .await?;
    Ok(n.is_some())
}

pub async fn home(State(state): State<AppState>, ctx: Ctx) -> Response {
    let result = async {
        let l = ctx.lang;
        let counts = state.county_counts().await?;
        let total: i64 = counts.values().sum();
        let reference = Reference::shipped();
        let city_total = |city: &DivisionCode| counts.iter().filter(|(k, _)| k.starts_with(city.as_str())).map(|(_, v)| v).sum::<i64>();
        let body = html! {
            h1 { (l.t("找身边放心的生活服务", "Find trusted services nearby")) }
            (synthetic_notice(l, any_synthetic(&state).await?))
            (search_form(l, ""))
            nav.shortcuts aria-label=(l.t("常用服务", "Common services")) {
                @for (zh, en, query) in SHORTCUTS { a href=(format!("/search?{query}")) { (l.t(zh, en)) } }
            }
            div.layout2 {
                section {
                    h2 { (l.t("全省服务网点分布", "Outlets across Shanxi")) }
                    (map::choropleth(&Reference::province(), |c| counts.get(c.as_str()).copied().unwrap_or(0), l.t("服务网点数", "outlets"), !ctx.elder))
                }
                section {
                    h2 { (l.t("各市", "Cities")) }
                    p { (l.t("全省在营服务网点 ", "Open outlets: ")) strong { (total) } }
                    table {
                        thead { tr { th { (l.t("城市", "City")) } th { (l.t("常住人口（2020）", "Population (2020)")) } th { (l.t("服务网点", "Outlets")) } } }
                        tbody {
                            @for city in reference.cities() {
                                tr {
                                    td { a href=(format!("/divisions/{city}")) { (reference.name(city)) } }
                                    td { (reference.city_population(city).map(|p| p.to_string()).unwrap_or_default()) }
                                    td { (city_total(city)) }
                                }
                            }
                        }
                    }
                    p.muted { (l.t("人口：", "Population: ")) (crate::reference::POPULATION_SOURCE) }
                }
            }
        };
        Ok((l.t("首页", "Home").to_string(), body))
    }
    .await;
    render(&ctx, result)
}

fn outlet_line(l: Lang, o: &Outlet) -> Markup {
    let reference = Reference::shipped();
    let place = DivisionCode::parse(&o.division_code)
        .map(|c| reference.full_name(&c))
        .unwrap_or_default();
    html! {
        li {
            a href=(format!("/outlets/{}", o.id)) { strong { (o.name) } }
            " " span.tag { (o.service_type_zh) }
            @for d in &o.designations { span.tag { (d.kind_zh) (d.grade.as_deref().unwrap_or("")) } }
            @if let Some(d) = o.distance_m { " " span.muted { (l.t("距离", "distance ")) (format!("{d:.0}")) (l.t("米", " m")) } }
            div.meta { (o.address) " · " (place) " · " a href=(format!("/entities/{}", o.entity_code)) { (o.entity_name) } }
        }
    }
}

fn type_options(selected: Option<ServiceType>) -> Markup {
    html! {
        option value="" { "全部类型" }
        @for major in MajorCategory::all() {
            optgroup label=(major.zh()) {
                @for t in ServiceType::all().filter(|t| t.major() == major) {
                    option value=(t.code()) selected[selected == Some(t)] { (t.zh()) }
                }
            }
        }
    }
}

pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let l = ctx.lang;
        let params = SearchParams::parse(&raw, DocKind::Outlet)?;
        let page = run_outlet_search(&state, &params).await?;
        let reference = Reference::shipped();
        let q = raw.get("q").cloned().unwrap_or_default();
        let pages = page.total.div_ceil(params.per_page).max(1);
        let link = |p: usize| {
            let mut pairs: Vec<(String, String)> = raw.iter().filter(|(k, _)| k.as_str() != "page").map(|(k, v)| (k.clone(), v.clone())).collect();
            pairs.push(("page".into(), p.to_string()));
            pairs.sort();
            format!("/search?{}", pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&"))
        };
        let county = params.query.division.as_ref().and_then(|d| d.ancestor(Level::County));
        let body = html! {
            h1 { (l.t("找服务", "Find services")) }
            (search_form(l, &q))
            form.search action="/search" method="get" {
                input type="hidden" name="q" value=(q);
                label { (l.t("服务类型 ", "Type ")) select name="type" { (type_options(params.query.service_type)) } }
                label { (l.t("城市 ", "City ")) select name="division" {
                    option value="" { "全省" }
                    @for city in reference.cities() {
                        option value=(city) selected[params.query.division.as_ref() == Some(city)] { (reference.name(city)) }
                    }
                    @if let Some(d) = params.query.division.as_ref().filter(|d| d.level() != Level::City) {
                        option value=(d) selected { (reference.full_name(d)) }
                    }
                } }
                label { input type="checkbox" name="no_penalty" value="1" checked[params.query.no_penalty_on.is_some()]; " " (l.t("公示期内无行政处罚", "No penalty in disclosure period")) }
                label { (l.t("排序 ", "Sort ")) select name="sort" {
                    option value="relevance" { (l.t("相关度", "Relevance")) }
                    option value="quality" selected[params.query.sort == crate::search::Sort::Quality] { (l.t("好评优先（服务质量指数）", "Best rated first")) }
                } }
                button type="submit" { (l.t("筛选", "Filter")) }
            }
            @if let Some(d) = &params.query.division {
                p { (l.t("地区：", "Area: ")) a href=(format!("/divisions/{d}")) { (reference.full_name(d)) } }
            }
            p { (l.t("共找到 ", "Found ")) strong { (page.total) } (l.t(" 个服务网点", " outlets")) }
            @if page.total == 0 {
                p { (l.t("没有找到符合条件的服务网点，请换个关键词或扩大地区范围。", "No outlets found; try other words or a wider area.")) }
            } @else if params.page > pages {
                p { (l.t("没有这一页：结果共 ", "No such page: the results have ")) (pages) (l.t(" 页。", " pages. "))
                    a href=(link(pages)) { (l.t("转到最后一页", "Go to the last page")) } }
            }
            div.layout2 {
                ol.results start=(params.query.offset + 1) { @for o in &page.items { (outlet_line(l, o)) } }
                @if let Some(county) = &county {
                    section {
                        h2 { (l.t("地图", "Map")) }
                        (map::county_map(county, &page.items.iter().map(MapPoint::outlet).collect::<Vec<_>>(), !ctx.elder))
                    }
                }
            }
            nav.pager aria-label=(l.t("翻页", "Pages")) {
                @if params.page > 1 { a href=(link((params.page - 1).min(pages))) { (l.t("上一页", "Previous")) } }
                @if params.page <= pages { span { (params.page) " / " (pages) } }
                @if params.page < pages { a href=(link(params.page + 1)) { (l.t("下一页", "Next")) } }
            }
        };
        Ok((l.t("搜索结果", "Results").to_string(), body))
    }
    .await;
    render(&ctx, result)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn outlet_facts(l: Lang, o: &Outlet) -> Markup {
    let reference = Reference::shipped();
    let place = DivisionCode::parse(&o.division_code)
        .map(|c| reference.full_name(&c))
        .unwrap_or_default();
    html! {
        dl.facts {
            dt { (l.t("服务类型", "Type")) } dd { a href=(format!("/search?type={}", o.service_type)) { (o.service_type_zh) } " (" (o.service_type) ")" }
            dt { (l.t("地址", "Address")) } dd { (o.address) }
            dt { (l.t("所属地区", "Area")) } dd { a href=(format!("/divisions/{}", o.division_code)) { (place) } }
            dt { (l.t("联系电话", "Phone")) } dd { (o.phone.as_deref().unwrap_or("—")) }
            dt { (l.t("营业时间", "Hours")) } dd { (o.hours.as_deref().unwrap_or("—")) }
            dt { (l.t("坐标（WGS-84）", "Coordinates")) } dd { (format!("{:.6}, {:.6}", o.lon, o.lat)) }
            dt { (l.t("状态", "Status")) } dd {
                @if o.status == "open" { (l.t("在营", "Open")) } @else {
                    (l.t("已关闭", "Closed"))
                    @if let Some(day) = &o.closed_on { (l.t("（", " (")) (day) (l.t("关闭）", ")")) }
                }
            }
            @if let Some(day) = &o.opened_on { dt { (l.t("开业日期", "Opened")) } dd { (day) } }
        }
        @if !o.designations.is_empty() {
            h3 { (l.t("认定与等级", "Designations")) }
            table {
                thead { tr { th { "称号" } th { "等级" } th { "认定单位" } th { "认定日期" } } }
                tbody { @for d in &o.designations { tr { td { (d.kind_zh) } td { (d.grade.as_deref().unwrap_or("—")) } td { (d.granted_by) } td { (d.granted_on.as_deref().unwrap_or("—")) } } } }
            }
        }
    }
}

pub async fn outlet(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = async {
        let l = ctx.lang;
        let id: i64 = id.parse().map_err(|_| AppError::not_found("服务网点不存在"))?;
        let view = state.pages.outlet(&state.db, id).await?;
        let o = &view.outlet;
        let county = DivisionCode::parse(&o.county_code).map_err(|e| anyhow::anyhow!("{e}"))?;
        let quality = crate::reviews::pages::outlet_block(&state, &ctx, &view).await?;
        let body = html! {
            p.muted { a href=(format!("/entities/{}", o.entity_code)) { (o.entity_name) } " › " (l.t("服务网点", "Outlet")) }
            h1 { (o.name) }
            (synthetic_notice(l, o.synthetic))
            div.layout2 {
                section { (outlet_facts(l, o)) p { a.button href=(format!("/entities/{}", o.entity_code)) { (l.t("查看主体信息（一站式查询）", "Provider profile")) } } }
                section { (map::county_map(&county, &[MapPoint::outlet(o)], !ctx.elder)) }
            }
            (quality)
        };
        Ok((o.name.clone(), body))
    }
    .await;
    render(&ctx, result)
}

pub async fn entity(State(state): State<AppState>, ctx: Ctx, Path(code): Path<String>) -> Response {
    let result = async {
        let l = ctx.lang;
        let view = load_entity(&state, &code).await?;
        let e = &view.entity;
        let reference = Reference::shipped();
        let division = DivisionCode::parse(&e.division_code).ok();
        let main_county = view.outlets.first().and_then(|o| DivisionCode::parse(&o.county_code).ok());
        let credit = crate::credit::pages::section(&state, &ctx, e).await?;
        let body = html! {
            p.muted { (l.t("一站式查询", "One-stop profile")) }
            h1 { (e.name) }
            (synthetic_notice(l, e.synthetic))
            div.layout2 {
                section {
                    h2 { (l.t("登记信息", "Registration")) }
                    dl.facts {
                        dt { (l.t("统一社会信用代码", "Credit code")) } dd { code { (e.credit_code) } }
                        dt { (l.t("主体类型", "Kind")) } dd { (e.kind_zh) }
                        dt { (l.t("法定代表人/经营者", "Representative")) } dd { (e.legal_rep.as_deref().unwrap_or("—")) }
                        dt { (l.t("登记地", "Registered in")) } dd {
                            @match &division { Some(d) if reference.get(d).is_some() => { (reference.full_name(d)) }, _ => { (e.division_code) } }
                        }
                        dt { (l.t("成立日期", "Established")) } dd { (e.established.as_deref().unwrap_or("—")) }
                        dt { (l.t("登记状态", "Status")) } dd { (e.status_zh) }
                    }
                }
                section {
                    @if let Some(county) = &main_county {
                        (map::county_map(county, &view.outlets.iter().filter(|o| o.county_code == county.as_str()).map(MapPoint::outlet).collect::<Vec<_>>(), !ctx.elder))
                    }
                }
            }
            (credit)
            h2 { (l.t("服务网点", "Outlets")) " (" (view.outlets.len()) ")" }
            ul.results { @for o in &view.outlets { (outlet_line(l, o)) } }
        };
        Ok((e.name.clone(), body))
    }
    .await;
    render(&ctx, result)
}

pub async fn division(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> Response {
    let result = async {
        let l = ctx.lang;
        let reference = Reference::shipped();
        let code = DivisionCode::parse(&code).map_err(|e| AppError::field("code", e.to_string()))?;
        let d = reference.get(&code).ok_or_else(|| AppError::not_found(format!("区划“{code}”不存在")))?;
        let counts = state.county_counts().await?;
        let count_in = |c: &DivisionCode| counts.iter().filter(|(k, _)| k.starts_with(c.as_str())).map(|(_, v)| v).sum::<i64>();
        let mut params = SearchParams::parse(&HashMap::from([("division".to_string(), code.to_string())]), DocKind::Outlet)?;
        params.query.limit = 50;
        params.per_page = 50;
        let sample = run_outlet_search(&state, &params).await?;
        let body = html! {
            nav.muted aria-label="breadcrumb" {
                @for (i, c) in code.lineage().iter().enumerate() {
                    @if i > 0 { " › " }
                    a href=(format!("/divisions/{c}")) { (reference.name(c)) }
                }
            }
            h1 { (d.name) " " small.muted { (d.level.zh()) " · " (code) } }
            div.layout2 {
                section {
                    @match d.level {
                        Level::Province | Level::City => { (map::choropleth(&code, |c| counts.get(c.as_str()).copied().unwrap_or(0), l.t("服务网点数", "outlets"), !ctx.elder)) },
                        _ => {
                            @if let Some(county) = code.ancestor(Level::County) {
                                (map::county_map(&county, &sample.items.iter().map(MapPoint::outlet).collect::<Vec<_>>(), !ctx.elder))
                            }
                        },
                    }
                }
                section {
                    @if d.level < Level::Town {
                        h2 { (l.t("下辖区划", "Subdivisions")) }
                        table {
                            thead { tr { th { (l.t("名称", "Name")) } th { (l.t("代码", "Code")) } @if d.level < Level::County { th { (l.t("服务网点", "Outlets")) } } } }
                            tbody { @for c in reference.children(&code) { tr {
                                td { a href=(format!("/divisions/{c}")) { (reference.name(c)) } }
                                td { (c) }
                                @if d.level < Level::County { td { (count_in(c)) } }
                            } } }
                        }
                    } @else {
                        @if !reference.children(&code).is_empty() {
                            details { summary { (l.t("下辖村（社区）", "Communities")) " (" (reference.children(&code).len()) ")" }
                                ul { @for c in reference.children(&code) { li { a href=(format!("/divisions/{c}")) { (reference.name(c)) } } } }
                            }
                        }
                    }
                }
            }
            h2 { (l.t("本地服务网点", "Outlets here")) " (" (sample.total) ")" }
            p { a href=(format!("/search?division={code}")) { (l.t("搜索本地区的服务", "Search this area")) } }
            ul.results { @for o in &sample.items { (outlet_line(l, o)) } }
        };
        Ok((d.name.clone(), body))
    }
    .await;
    render(&ctx, result)
}

pub async fn service_types(ctx: Ctx) -> Response {
    let l = ctx.lang;
    let body = html! {
        h1 { (l.t("服务分类", "Service categories")) }
        p.muted { "大类依据国家统计局《生活性服务业统计分类(2019)》；业态依据商务部《城市一刻钟便民生活圈建设指南》及《山西省生活性服务业发展行动方案》。" }
        @for major in MajorCategory::all() {
            h2 { (major.code()) " " (major.zh()) }
            table {
                thead { tr { th { "代码" } th { "名称" } th { "English" } th { "一刻钟便民生活圈" } } }
                tbody { @for t in ServiceType::all().filter(|t| t.major() == major) { tr {
                    td { (t.code()) } td { a href=(format!("/search?type={}", t.code())) { (t.zh()) } } td { (t.en()) }
                    td { (t.circle().map(|c| c.zh()).unwrap_or("—")) }
                } } }
            }
        }
    };
    render(&ctx, Ok((l.t("服务分类", "Categories").to_string(), body)))
}

/// Open outlets per county, cached briefly: the home page and maps need them
/// on every view and they change slowly.
pub async fn county_counts(db: &crate::storage::Db) -> AppResult<HashMap<String, i64>> {
    Ok(store::open_outlets_per_county(&mut *db.pool().acquire().await?).await?)
}
