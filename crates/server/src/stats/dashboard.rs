//! The `/stats` dashboard: selection form, headline figures with their change,
//! trend, table, bars by category, county map and (for staff) warnings.

use super::charts;
use super::watch::Warning;
use super::{AreaValue, Selection, Series, list_href, list_label, period_label, warnings};
use crate::portal::Ctx;
use crate::portal::map::{choropleth_of, format_value};
use crate::reference::Reference;
use lifeservice_domain::{DivisionCode, Level, MajorCategory};
use maud::{Markup, html};

pub struct View<'a> {
    pub sel: &'a Selection,
    pub series: &'a Series,
    pub area: &'a DivisionCode,
    pub areas: &'a [AreaValue],
    pub by_category: &'a [(String, Option<f64>, String)],
    /// Share of community population inside a complete 15-minute circle, per county.
    pub coverage: &'a [AreaValue],
    /// Shown to staff only; `None` for the public.
    pub warnings: Option<&'a [Warning]>,
}

pub fn render(ctx: &Ctx, v: &View) -> Markup {
    let s = v.series;
    let (headline, _) = v.sel.indicator.headline();
    let column = s
        .columns
        .iter()
        .position(|c| c.key == headline)
        .expect("headline column");
    let unit = s.columns[column].unit;
    let recent = &s.rows[s.rows.len().saturating_sub(24)..];
    let trend: Vec<(String, Option<f64>)> = recent
        .iter()
        .map(|r| (r.period.clone(), r.values[column]))
        .collect();
    let api = format!(
        "/api/v1/stats?indicator={}&division={}&category={}&period={}&until={}",
        s.indicator.code(),
        s.division,
        s.category,
        s.granularity.code(),
        s.until
    );
    let period = v.sel.granularity.period_of(&v.sel.until);
    html! {
        h1 { "统计监测：" (s.indicator_zh) }
        (form(v.sel))
        p { strong { (s.division_name) } " · " (s.category_zh) " · 按" (s.granularity.zh()) " · 截至" (s.until) }
        @for note in &s.division_notes { p.note { "区划调整：" (note) } }
        (freshness(s))
        (headlines(s))
        @if let Some(warnings) = v.warnings {
            section aria-labelledby="warnings" {
                h2 #warnings { "趋势预警（仅工作人员可见）" }
                @if warnings.is_empty() {
                    p { "本期没有逆目标方向变化或明显落后于同级地区的情况。" }
                } @else {
                    ul { @for w in warnings { li { "⚠ " a href=(w.href) { (w.text) } } } }
                }
                p.muted { (warnings::RULE_TEXT) " " a href=(format!("/stats/warnings?division={}&until={}", v.area, s.until)) { "全部指标的预警" } }
            }
        }
        section aria-labelledby="trend" {
            h2 #trend { (s.columns[column].zh) "趋势" }
            (charts::trend(s.columns[column].zh, unit, &trend))
        }
        section aria-labelledby="table" {
            h2 #table { "各期数据" }
            p { "下载：" a href=(format!("{api}&format=csv")) { "CSV" } " · " a href=(format!("{api}&format=xlsx")) { "Excel" } " · " a href=(api) { "JSON" } }
            div.table-scroll {
                table {
                    thead { tr { th scope="col" { "报告期" } @for c in s.columns { th scope="col" { (c.zh) "（" (c.unit) "）" } } } }
                    tbody {
                        @for r in s.rows.iter().rev() {
                            tr {
                                th scope="row" { (period_label(&r.period, r.partial, &s.until)) }
                                @for value in &r.values { td.num { (value.map_or("—".to_string(), format_value)) } }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="categories" {
            h2 #categories { "按大类（" (period) "）：" (s.columns[column].zh) }
            (charts::bars(s.columns[column].zh, unit, v.by_category, !ctx.elder))
            @if ctx.elder {
                ul.links { @for (label, value, href) in v.by_category {
                    li { a href=(href) { (label) "：" (value.map_or("无数据".to_string(), format_value)) } }
                } }
            }
        }
        section aria-labelledby="map" {
            h2 #map { "各县（市、区）" (s.columns[column].zh) "（" (period) "）" }
            (choropleth_of(v.area, |c| v.areas.iter().find(|a| a.code == c.as_str()).and_then(|a| a.value), s.columns[column].zh, |c| (!ctx.elder).then(|| v.sel.href(c.as_str(), &s.category))))
            details {
                summary { "各县（市、区）数值表" }
                table {
                    thead { tr { th scope="col" { "地区" } th scope="col" { (s.columns[column].zh) "（" (unit) "）" } th scope="col" { "明细" } } }
                    tbody { @for a in v.areas {
                        tr {
                            th scope="row" { a href=(v.sel.href(&a.code, &s.category)) { (a.name) } }
                            td.num { (a.value.map_or("无数据".to_string(), format_value)) }
                            td { a href=(list_href(s.indicator, &a.code, &s.category)) { (list_label(s.indicator, &a.name)) } }
                        }
                    } }
                }
            }
        }
        section aria-labelledby="coverage" {
            h2 #coverage { "一刻钟便民生活圈覆盖率（当前）" }
            @if v.coverage.iter().all(|a| a.value.is_none()) {
                p { "本地区尚无已定位社区和步行路网，暂不能计算覆盖率。" a href="/circles" { "了解生活圈" } }
            } @else {
                table {
                    thead { tr { th scope="col" { "地区" } th scope="col" { "覆盖人口比例（%）" } } }
                    tbody { @for a in v.coverage.iter().filter(|a| a.value.is_some()) {
                        tr { th scope="row" { a href=(format!("/circles/{}", a.code)) { (a.name) } } td.num { (a.value.map_or(String::new(), format_value)) } }
                    } }
                }
                p.muted { "口径：社区人口中，一刻钟生活圈达到基础型及以上（非“未达标”）的社区人口所占比例；按当前网点和路网计算，不回溯历史。" }
            }
        }
        section aria-labelledby="method" {
            h2 #method { "口径与来源" }
            p { (s.definition) "。" }
            p { "数据来源：平台登记库（市场主体、服务网点、认定称号）、信用信息归集的行政处罚记录、好差评记录；按记录自身的日期（成立、注销、开业、决定、评价日期）回溯，可重建任一历史时期。统计分类：国家统计局《生活性服务业统计分类》大类。区划：现行区划代码，区划调整前的代码按对照表归并。演示数据为合成数据。" }
            p { a href=(list_href(s.indicator, &s.division, &s.category)) { (list_label(s.indicator, "本地区")) } " · " a href="/releases" { "定期发布" } }
        }
    }
}

fn freshness(s: &Series) -> Markup {
    let stale = s.freshness.iter().any(|f| f.stale);
    let built: Vec<&str> = s
        .freshness
        .iter()
        .filter_map(|f| f.built_at.as_deref())
        .collect();
    html! {
        p.muted {
            @if let Some(at) = built.iter().min() { "汇总数据生成于 " (crate::time::minute_text(at)) "（北京时间）" }
            @if stale { "；新的数据正在汇总，稍后刷新即可看到" }
        }
    }
}

/// The last complete period's figures, each with its change on the period before.
fn headlines(s: &Series) -> Markup {
    let complete: Vec<_> = s.rows.iter().filter(|r| !r.partial).collect();
    let Some(last) = complete.last() else {
        return html! { p { "该地区和类别暂无数据。" } };
    };
    let previous = complete.len().checked_sub(2).map(|i| complete[i]);
    html! {
        dl.figures {
            @for (i, c) in s.columns.iter().enumerate() {
                div {
                    dt { (c.zh) "（" (last.period) "）" }
                    dd {
                        strong { (last.values[i].map_or("—".to_string(), format_value)) } " " (c.unit)
                        @if let (Some(now), Some(before)) = (last.values[i], previous.and_then(|p| p.values[i])) {
                            br;
                            small { "比上期" (change(now - before)) }
                        }
                    }
                }
            }
        }
    }
}

/// A change written in words and sign, never by colour alone.
fn change(delta: f64) -> String {
    let d = super::indicators::round2(delta);
    if d > 0.0 {
        format!("增加 {}", format_value(d))
    } else if d < 0.0 {
        format!("减少 {}", format_value(-d))
    } else {
        "持平".into()
    }
}

fn form(sel: &Selection) -> Markup {
    let reference = Reference::shipped();
    let city = match sel.division.level() {
        Level::Province => None,
        _ => sel.division.ancestor(Level::City),
    };
    let major = match sel.category {
        super::Category::Major(m) => Some(m),
        super::Category::Type(t) => Some(t.major()),
        super::Category::All => None,
    };
    html! {
        form.search method="get" action="/stats" {
            label { "指标 " select name="indicator" {
                @for i in super::Indicator::ALL { option value=(i.code()) selected[i == sel.indicator] { (i.zh()) } }
            } }
            label { "地区 " select name="division" {
                option value="14" selected[sel.division.level() == Level::Province] { "山西省" }
                @for c in reference.cities() {
                    option value=(c) selected[sel.division == *c] { (reference.name(c)) }
                    @if city.as_ref() == Some(c) {
                        @for county in reference.children(c).iter().filter(|d| d.level() == Level::County) {
                            option value=(county) selected[sel.division == *county] { "　" (reference.name(county)) }
                        }
                    }
                }
            } }
            label { "类别 " select name="category" {
                option value="" { "全部类别" }
                @for m in MajorCategory::all() {
                    option value=(m.code()) selected[sel.category == super::Category::Major(m)] { (m.zh()) }
                    @if major == Some(m) {
                        @for t in lifeservice_domain::ServiceType::all().filter(|t| t.major() == m) {
                            option value=(t.code()) selected[sel.category == super::Category::Type(t)] { "　" (t.zh()) }
                        }
                    }
                }
            } }
            label { "周期 " select name="period" {
                @for g in [super::Granularity::Year, super::Granularity::Quarter, super::Granularity::Month] {
                    option value=(g.code()) selected[g == sel.granularity] { (g.zh()) }
                }
            } }
            label { "截至 " input type="month" name="until" value=(sel.until); }
            button type="submit" { "查看" }
        }
    }
}
