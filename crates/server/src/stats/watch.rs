//! 趋势预警 for the plan office: an indicator moving against its target, or
//! a county falling behind its peers (the rules are in [`super::warnings`]).
//! The dashboard shows the warnings of its selection; `/stats/warnings`
//! gathers every indicator's for an area and its cities or counties, so the
//! plan office need not look through each view.

use super::indicators::{self, Direction, Granularity, Indicator};
use super::{AreaValue, Category, Selection, Series, areas, division_name, series, warnings};
use crate::app::AppState;
use crate::auth::{MaybeUser, Principal, Role};
use crate::error::{AppError, AppResult};
use crate::portal::map::format_value;
use crate::portal::{Ctx, render};
use crate::reference::Reference;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lifeservice_domain::{DivisionCode, Level};
use maud::html;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The headline's recent trend runs against the target direction.
    AgainstTarget,
    /// A county's headline lies outside its peers' Tukey fence.
    BehindPeers,
}

/// A warning line for the plan office.
#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub indicator: Indicator,
    pub division: String,
    pub text: String,
    pub href: String,
}

/// The warnings of one dashboard selection: its own trend and its
/// counties against each other.
pub async fn for_selection(
    state: &AppState,
    sel: &Selection,
    s: &Series,
    peers: &[AreaValue],
) -> AppResult<Vec<Warning>> {
    let mut out: Vec<Warning> = against_target(sel, s).into_iter().collect();
    out.extend(behind_peers(state, sel, s, peers).await?);
    Ok(out)
}

fn headline_column(s: &Series) -> usize {
    let (headline, _) = s.indicator.headline();
    s.columns
        .iter()
        .position(|c| c.key == headline)
        .expect("headline column")
}

fn against_target(sel: &Selection, s: &Series) -> Option<Warning> {
    let (_, direction) = sel.indicator.headline();
    let column = headline_column(s);
    let recent: Vec<f64> = s
        .rows
        .iter()
        .filter(|r| !r.partial)
        .filter_map(|r| r.values[column])
        .collect();
    let slope = warnings::against_target(&recent, direction)?;
    Some(Warning {
        kind: WarningKind::AgainstTarget,
        indicator: sel.indicator,
        division: s.division_name.clone(),
        text: format!(
            "{}的{}近{}期{}（平均每期{}{}），与目标方向相反",
            s.division_name,
            s.columns[column].zh,
            warnings::TREND_PERIODS,
            if direction == Direction::Up {
                "下降"
            } else {
                "上升"
            },
            per_period(slope.abs()),
            s.columns[column].unit
        ),
        href: sel.href(sel.division.as_str(), &sel.category.code()),
    })
}

async fn behind_peers(
    state: &AppState,
    sel: &Selection,
    s: &Series,
    peers: &[AreaValue],
) -> AppResult<Vec<Warning>> {
    let (_, direction) = sel.indicator.headline();
    let headline = &s.columns[headline_column(s)];
    let column = headline.zh;
    // Peers compare growth for stocks (big and small counties alike) and
    // the rate itself for rates.
    let comparable = match sel.indicator {
        Indicator::Entities | Indicator::Outlets | Indicator::Designations => {
            growth_by_county(state, sel, peers).await?
        }
        _ => peers
            .iter()
            .filter_map(|a| a.value.map(|v| (a.code.clone(), v)))
            .collect(),
    };
    let Some((fence, behind)) = warnings::behind_peers(&comparable, direction) else {
        return Ok(Vec::new());
    };
    // A growth's label already says "（%）"; a rate takes its column's unit.
    let unit = match sel.indicator {
        Indicator::Entities | Indicator::Outlets | Indicator::Designations => "",
        _ => headline.unit,
    };
    Ok(behind
        .into_iter()
        .map(|(code, value)| {
            let code = DivisionCode::parse(code).expect("stored code");
            Warning {
                kind: WarningKind::BehindPeers,
                indicator: sel.indicator,
                division: division_name(&code),
                text: format!(
                    "{}{}为{}{unit}，落后于同级地区（四分位界限{}{unit}）",
                    division_name(&code),
                    growth_label(sel.indicator, column),
                    format_value(*value),
                    format_value(indicators::round2(fence)),
                    unit = unit,
                ),
                href: sel.href(code.as_str(), &sel.category.code()),
            }
        })
        .collect())
}

/// A trend's change per period: rounded to hundredths, but never to a 0 that
/// would contradict the rise or fall it reports.
fn per_period(step: f64) -> String {
    let rounded = indicators::round2(step);
    if rounded == 0.0 {
        "不到0.01".into()
    } else {
        format_value(rounded)
    }
}

fn growth_label(indicator: Indicator, column: &str) -> String {
    match indicator {
        Indicator::Entities | Indicator::Outlets | Indicator::Designations => {
            format!("{column}近一年增长率（%）")
        }
        _ => column.to_string(),
    }
}

/// Each county's headline growth over the twelve months to `until`, in %,
/// from its headline now (`now`, the selection's areas) and a year before.
async fn growth_by_county(
    state: &AppState,
    sel: &Selection,
    now: &[AreaValue],
) -> AppResult<Vec<(String, f64)>> {
    let year: i32 = sel.until[..4].parse().expect("checked year");
    let mut before = sel.clone();
    before.until = format!("{}{}", year - 1, &sel.until[4..]);
    let (_, then) = areas(state, &before).await?;
    Ok(now
        .iter()
        .zip(&then)
        .filter_map(|(n, t)| match (n.value, t.value) {
            (Some(v), Some(b)) if b > 0.0 => {
                Some((n.code.clone(), indicators::round2((v / b - 1.0) * 100.0)))
            }
            _ => None,
        })
        .collect())
}

/// Every indicator's warnings for `area` by quarter: the area's own trend
/// and each child's (cities of the province, counties of a city), and the
/// counties against their peers.
pub async fn overview(
    state: &AppState,
    area: &DivisionCode,
    until: &str,
) -> AppResult<Vec<Warning>> {
    let children: Vec<DivisionCode> = Reference::shipped()
        .all()
        .filter(|d| d.code.parent().as_ref() == Some(area) && d.code.level() <= Level::County)
        .map(|d| d.code.clone())
        .collect();
    let mut out = Vec::new();
    for indicator in Indicator::ALL {
        let selection = |division: &DivisionCode| Selection {
            indicator,
            division: division.clone(),
            granularity: Granularity::Quarter,
            category: Category::All,
            until: until.to_string(),
            mapped_from: None,
        };
        let sel = selection(area);
        let s = series(state, &sel).await?;
        let (_, peers) = areas(state, &sel).await?;
        out.extend(for_selection(state, &sel, &s, &peers).await?);
        for child in &children {
            let sel = selection(child);
            out.extend(against_target(&sel, &series(state, &sel).await?));
        }
    }
    Ok(out)
}

/// The area a staff account watches: its own division for local officials
/// (a county's warnings are its city's), the province or the one asked for
/// otherwise. Entity accounts and the public see none.
fn watched_area(user: &Principal, asked: Option<&str>) -> AppResult<DivisionCode> {
    let asked = match asked.filter(|s| !s.is_empty()) {
        Some(s) => Some(super::parse_division(s)?.0),
        None => None,
    };
    match &user.role {
        Role::Entity(_) => Err(AppError::Forbidden("趋势预警仅向政府工作人员提供".into())),
        Role::Division(scope) => {
            let own = match scope.level() {
                Level::Province | Level::City => scope.clone(),
                _ => scope.ancestor(Level::City).expect("county in a city"),
            };
            match asked {
                Some(a) if !own.contains(&a) => Err(AppError::Forbidden(format!(
                    "无权限：{}不在本账号负责的区划（{own}）内",
                    a
                ))),
                Some(a) => Ok(a),
                None => Ok(own),
            }
        }
        Role::Admin | Role::Department(_) => {
            Ok(asked.unwrap_or_else(|| DivisionCode::parse("14").expect("the province")))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchQuery {
    pub division: Option<String>,
    pub until: Option<String>,
    #[serde(rename = "lang")]
    pub _lang: Option<String>,
}

fn until_of(q: &WatchQuery) -> AppResult<String> {
    match q.until.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(super::last_full_month()),
        Some(u) if Granularity::Month.months(u).is_some() => Ok(u.to_string()),
        Some(u) => Err(AppError::field(
            "until",
            format!("“{u}”无效：应为年月，如2025-06"),
        )),
    }
}

pub async fn api(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Query(q): Query<WatchQuery>,
) -> AppResult<Json<serde_json::Value>> {
    let user = user.ok_or(AppError::Unauthenticated)?;
    let area = watched_area(&user, q.division.as_deref())?;
    let until = until_of(&q)?;
    let list = overview(&state, &area, &until).await?;
    Ok(Json(serde_json::json!({
        "division": area.to_string(),
        "division_name": division_name(&area),
        "until": until,
        "warnings": list,
    })))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<WatchQuery>,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/login").into_response();
    };
    let result = async {
        let area = watched_area(&user, q.division.as_deref())?;
        let until = until_of(&q)?;
        let list = overview(&state, &area, &until).await?;
        let name = division_name(&area);
        let body = html! {
            h1 { "趋势预警：" (name) }
            p { "截至" (until) "，按季度，全部类别。共" (list.len()) "条。每条链接到对应的统计视图。" }
            @for indicator in Indicator::ALL {
                @let own: Vec<&Warning> = list.iter().filter(|w| w.indicator == indicator).collect();
                section {
                    h2 { (indicator.zh()) " " span.muted { "（" (own.len()) "条）" } }
                    @if own.is_empty() {
                        p { "没有逆目标方向变化或明显落后于同级地区的情况。" }
                    } @else {
                        ul { @for w in own { li { "⚠ " a href=(w.href) { (w.text) } } } }
                    }
                }
            }
            p.muted { (warnings::RULE_TEXT) }
        };
        Ok((format!("趋势预警：{name}"), body))
    }
    .await;
    render(&ctx, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_never_reads_as_zero_change() {
        assert_eq!(per_period(0.004), "不到0.01");
        assert_eq!(per_period(0.006), "0.01");
        assert_eq!(per_period(2.0), "2");
    }
}
