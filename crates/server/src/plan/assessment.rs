//! The city and county assessment (绩效考核): a weighted score on the plan's
//! indicators that the platform computes per area, with the formula shown,
//! a ranking, and the same computation through the API, CSV and XLSX.

use super::in_business_at_baseline;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::reference::Reference;
use lifeservice_domain::plan::{Period, Plan};
use lifeservice_domain::{DivisionCode, Level};
use serde::Serialize;
use std::collections::HashMap;

/// One scored criterion; `weight` is the default, overridable per request.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Criterion {
    pub id: &'static str,
    pub name: &'static str,
    /// The plan indicator or task it measures.
    pub basis: &'static str,
    pub weight: f64,
    pub formula: &'static str,
}

pub const CRITERIA: [Criterion; 5] = [
    Criterion {
        id: "entities",
        name: "市场主体倍增",
        basis: "总体目标 P-1（市场主体倍增）",
        weight: 0.25,
        formula: "min(存续市场主体数 ÷ 2021年末存量（截至2021年末成立且未退出的） ÷ 2, 1)",
    },
    Criterion {
        id: "elderly",
        name: "综合性养老机构",
        basis: "任务16 T16-8（每个县有一所综合性养老机构）",
        weight: 0.2,
        formula: "县：有在营养老机构（0301）记1，否则0；市：达到的县（市、区）占比",
    },
    Criterion {
        id: "circle",
        name: "一刻钟便民生活圈",
        basis: "任务21（提升社区便民服务供给：一刻钟便民生活圈）",
        weight: 0.2,
        formula: "已定位村（社区）中步行15分钟内达到基础型及以上的占比，按常住人口加权（有人口未知的按个数）；已定位的不到一半（多数尚无路网）的地区不计此项",
    },
    Criterion {
        id: "credit",
        name: "诚信经营",
        basis: "任务34（完善监管机制：信用监管）",
        weight: 0.15,
        formula: "公示期内无行政处罚的市场主体占比",
    },
    Criterion {
        id: "reported",
        name: "分地区填报指标",
        basis: "按每市、每县、每乡镇考核的指标（如T09-2、T09-3、T09-4、T26-1），由责任单位分地区填报",
        weight: 0.2,
        formula: "各项已有填报的分地区指标 min(最新填报值 ÷ 目标下限, 1) 的平均值；市、县的下级指标取所辖各地区的平均，未填报的地区计0",
    },
];

#[derive(Debug, Clone, Serialize)]
pub struct AreaScore {
    pub rank: usize,
    pub code: String,
    pub name: String,
    /// 0–100.
    pub score: f64,
    /// Criterion id → its 0–1 value; absent when the area has no data for it.
    pub values: HashMap<&'static str, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    pub level: &'static str,
    pub criteria: Vec<Criterion>,
    pub method: &'static str,
    pub areas: Vec<AreaScore>,
}

pub const METHOD: &str = "得分 = 100 × Σ(权重 × 分项值) ÷ Σ(适用分项的权重)；某地区缺少某分项数据时，该分项不计入，其余权重按比例放大；没有任何分项数据的地区不参与排名。县级排名为有边界的117个县（市、区），开发区不在其中。";

/// Parses `weights=entities:0.4,credit:0.1` over the defaults.
pub fn weights(spec: Option<&str>) -> AppResult<Vec<Criterion>> {
    let mut criteria = CRITERIA.to_vec();
    for pair in spec
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (id, value) = pair
            .split_once(':')
            .ok_or_else(|| AppError::field("weights", format!("“{pair}”应写作 分项:权重")))?;
        let weight: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| AppError::field("weights", format!("权重“{value}”应为非负数")))?;
        let criterion = criteria
            .iter_mut()
            .find(|c| c.id == id.trim())
            .ok_or_else(|| {
                let ids: Vec<&str> = CRITERIA.iter().map(|c| c.id).collect();
                AppError::field(
                    "weights",
                    format!("未知的分项“{id}”，可选：{}", ids.join("、")),
                )
            })?;
        criterion.weight = weight;
    }
    if criteria.iter().all(|c| c.weight == 0.0) {
        return Err(AppError::field("weights", "权重不能全为0"));
    }
    Ok(criteria)
}

pub fn parse_level(level: Option<&str>) -> AppResult<Level> {
    match level.unwrap_or("county") {
        "city" => Ok(Level::City),
        "county" => Ok(Level::County),
        other => Err(AppError::field(
            "level",
            format!("“{other}”无效：level 应为 city 或 county"),
        )),
    }
}

/// Counts per area code (4 digits for cities, 6 for counties).
async fn counts(
    state: &AppState,
    sql: &str,
    today: Option<&str>,
) -> AppResult<HashMap<String, (i64, i64)>> {
    let mut query = sqlx::query_as::<_, (String, i64, i64)>(sql);
    if let Some(today) = today {
        query = query.bind(today.to_string());
    }
    Ok(query
        .fetch_all(state.db.pool())
        .await?
        .into_iter()
        .map(|(code, a, b)| (code, (a, b)))
        .collect())
}

/// What an assessment reads from the registry and credit tables, per area
/// (4-digit city or 6-digit county codes).
pub struct Inputs {
    /// (active, in business at the baseline) entities.
    entities: HashMap<String, (i64, i64)>,
    /// (active entities with a public penalty, 0).
    penalised: HashMap<String, (i64, i64)>,
    /// Counties with an open 养老机构 (0301).
    elderly: Vec<String>,
}

/// Assessment inputs per level, kept while the change feed stands still on
/// the same day: every registry and credit write appends to the feed, and a
/// penalty leaves public view by date. At province scale the three scans
/// take seconds, and the plan pages read them on every view.
#[derive(Default)]
pub struct InputsCache(tokio::sync::Mutex<HashMap<usize, Fresh>>);

/// Inputs with the (change-feed sequence, date) they were read at.
type Fresh = ((i64, String), std::sync::Arc<Inputs>);

impl InputsCache {
    async fn get(&self, state: &AppState, digits: usize) -> AppResult<std::sync::Arc<Inputs>> {
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(state.db.pool())
            .await?;
        let key = (seq, crate::time::today().to_string());
        // Held while computing: concurrent views wait for one scan.
        let mut cache = self.0.lock().await;
        if let Some((at, inputs)) = cache.get(&digits)
            && *at == key
        {
            return Ok(inputs.clone());
        }
        let inputs = std::sync::Arc::new(Inputs::read(state, digits, &key.1).await?);
        cache.insert(digits, (key, inputs.clone()));
        Ok(inputs)
    }
}

impl Inputs {
    async fn read(state: &AppState, digits: usize, today: &str) -> AppResult<Inputs> {
        let entities = counts(
            state,
            &format!(
                "SELECT substr(division_code, 1, {digits}) AS area, \
                 SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), SUM(CASE WHEN {baseline} THEN 1 ELSE 0 END) \
                 FROM entities GROUP BY substr(division_code, 1, {digits})",
                baseline = in_business_at_baseline()
            ),
            None,
        )
        .await?;
        let penalised = counts(
            state,
            &format!(
                "SELECT substr(e.division_code, 1, {digits}) AS area, COUNT(*), 0 FROM entities e \
                 WHERE e.status = 'active' AND EXISTS (SELECT 1 FROM credit_records r WHERE r.entity_id = e.id \
                 AND r.kind = 'penalty' AND r.state = 'active' AND r.publish_until >= $1) GROUP BY substr(e.division_code, 1, {digits})"
            ),
            Some(today),
        )
        .await?;
        let elderly = sqlx::query_scalar(
            "SELECT DISTINCT county_code FROM outlets WHERE service_type = '0301' AND status = 'open'",
        )
        .fetch_all(state.db.pool())
        .await?;
        Ok(Inputs {
            entities,
            penalised,
            elderly,
        })
    }
}

pub async fn assess(
    state: &AppState,
    level: Level,
    criteria: Vec<Criterion>,
) -> AppResult<Assessment> {
    let reference = Reference::shipped();
    let digits = if level == Level::City { 4 } else { 6 };
    // The counties the plan's per-county targets count (T16-8): the 117
    // with a boundary; development zones (开发区) are not among them.
    let is_county =
        |d: &DivisionCode| d.level() == Level::County && reference.county_shape(d).is_some();
    let areas: Vec<DivisionCode> = match level {
        Level::City => reference.cities().to_vec(),
        _ => reference
            .cities()
            .iter()
            .flat_map(|c| reference.children(c).iter().cloned())
            .filter(is_county)
            .collect(),
    };
    let inputs = state.assessment_inputs.get(state, digits).await?;
    let (entities, penalised, elderly) = (&inputs.entities, &inputs.penalised, &inputs.elderly);
    let reported = super::reports::area_values(&state.db).await?;
    let circles = state.circles.read().await;

    let mut scored: Vec<AreaScore> = areas
        .iter()
        .map(|area| {
            let mut values = HashMap::new();
            let (active, baseline) = entities.get(area.as_str()).copied().unwrap_or((0, 0));
            if baseline > 0 {
                values.insert("entities", (active as f64 / baseline as f64 / 2.0).min(1.0));
            }
            if active > 0 {
                let bad = penalised.get(area.as_str()).map_or(0, |(n, _)| *n);
                values.insert("credit", 1.0 - bad as f64 / active as f64);
            }
            let counties: Vec<&DivisionCode> = if level == Level::City {
                reference
                    .children(area)
                    .iter()
                    .filter(|d| is_county(d))
                    .collect()
            } else {
                vec![area]
            };
            if !counties.is_empty() {
                let with = counties
                    .iter()
                    .filter(|c| elderly.iter().any(|e| e == c.as_str()))
                    .count();
                values.insert("elderly", with as f64 / counties.len() as f64);
            }
            if let Some(value) = reported_attainment(&reported, area) {
                values.insert("reported", value);
            }
            if let Some(view) = circles
                .as_ref()
                .map(|c| c.area(area))
                .filter(|v| v.communities > v.unlocated)
            {
                values.insert("circle", view.covered_share);
            }
            let (sum, weight) =
                criteria
                    .iter()
                    .fold((0.0, 0.0), |(s, w), c| match values.get(c.id) {
                        Some(v) => (s + c.weight * v, w + c.weight),
                        None => (s, w),
                    });
            AreaScore {
                rank: 0,
                code: area.to_string(),
                name: reference.full_name(area),
                score: if weight > 0.0 {
                    (100.0 * sum / weight * 10.0).round() / 10.0
                } else {
                    0.0
                },
                values,
            }
        })
        // Nothing to score is not a score of 0: such an area is not ranked.
        .filter(|area| !area.values.is_empty())
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.code.cmp(&b.code)));
    for (i, area) in scored.iter_mut().enumerate() {
        area.rank = i + 1;
    }
    Ok(Assessment {
        level: if level == Level::City {
            "city"
        } else {
            "county"
        },
        criteria,
        method: METHOD,
        areas: scored,
    })
}

/// The "reported" criterion of an area. Each per-area indicator that has any
/// report is scored in the areas at its level within the area (the area
/// itself for its own level): min(value ÷ lower bound, 1), an area without a
/// report counting 0, so that reporting a shortfall never scores below
/// staying silent. The criterion is the mean over those indicators; absent
/// when none applies. Indicators the platform counts itself (T16-8, T03-3)
/// are scored by their own criteria or the map.
fn reported_attainment(
    reported: &HashMap<(String, String), (Period, f64)>,
    area: &DivisionCode,
) -> Option<f64> {
    let (plan, reference) = (Plan::shipped(), Reference::shipped());
    let per_indicator: Vec<f64> = plan
        .indicators
        .iter()
        .filter(|i| !super::views::is_measured(i.id.as_str()))
        .filter_map(|i| {
            let level = i.scope.area_level().filter(|l| *l >= area.level())?;
            let min = i.min.filter(|m| *m > 0.0)?;
            if !reported.keys().any(|(id, _)| id == i.id.as_str()) {
                return None;
            }
            let areas = areas_at(reference, area, level);
            let sum: f64 = areas
                .iter()
                .filter_map(|a| reported.get(&(i.id.to_string(), a.to_string())))
                .map(|(_, value)| (value / min).min(1.0))
                // From +0.0: an empty f64 sum is -0.0, shown as "-0%".
                .fold(0.0, |sum, v| sum + v);
            (!areas.is_empty()).then(|| sum / areas.len() as f64)
        })
        .collect();
    (!per_indicator.is_empty())
        .then(|| per_indicator.iter().sum::<f64>() / per_indicator.len() as f64)
}

/// The divisions at `level` within `area` (the area itself at its own level).
fn areas_at(reference: &Reference, area: &DivisionCode, level: Level) -> Vec<DivisionCode> {
    let mut out = vec![area.clone()];
    while out.first().is_some_and(|d| d.level() < level) {
        out = out
            .iter()
            .flat_map(|d| reference.children(d).iter().cloned())
            .filter(|d| d.level() <= level)
            .collect();
    }
    out.retain(|d| d.level() == level);
    out
}

impl Assessment {
    /// The ranking as rows: rank, code, name, score, then each criterion's value (blank: no data).
    pub fn rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut headers: Vec<String> = ["排名", "区划代码", "地区", "得分"]
            .map(String::from)
            .to_vec();
        headers.extend(
            self.criteria
                .iter()
                .map(|c| format!("{}（权重{}）", c.name, c.weight)),
        );
        let rows = self
            .areas
            .iter()
            .map(|a| {
                let mut row = vec![
                    a.rank.to_string(),
                    a.code.clone(),
                    a.name.clone(),
                    format!("{:.1}", a.score),
                ];
                row.extend(self.criteria.iter().map(|c| {
                    a.values
                        .get(c.id)
                        .map_or(String::new(), |v| format!("{v:.3}"))
                }));
                row
            })
            .collect();
        (headers, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_override_the_defaults_and_bad_ones_are_named() {
        let w = weights(Some("entities:0.5, credit:0")).unwrap();
        assert_eq!(w.iter().find(|c| c.id == "entities").unwrap().weight, 0.5);
        assert_eq!(w.iter().find(|c| c.id == "credit").unwrap().weight, 0.0);
        assert!(
            weights(Some("speed:1"))
                .unwrap_err()
                .to_string()
                .contains("未知的分项“speed”")
        );
        assert!(weights(Some("entities:-1")).is_err());
        assert!(weights(Some("entities:0,elderly:0,circle:0,credit:0,reported:0")).is_err());
        assert_eq!(parse_level(Some("city")).unwrap(), Level::City);
        assert!(parse_level(Some("town")).is_err());
    }

    #[test]
    fn a_county_without_reports_scores_zero_not_minus_zero() {
        let per_county = Plan::shipped()
            .indicators
            .iter()
            .find(|i| {
                i.scope.area_level() == Some(Level::County)
                    && i.min.is_some_and(|m| m > 0.0)
                    && !super::super::views::is_measured(i.id.as_str())
            })
            .expect("a per-county indicator");
        let period = Period::Month {
            year: 2026,
            month: 6,
        };
        let reported = HashMap::from([(
            (per_county.id.to_string(), "140106".to_string()),
            (period, per_county.min.unwrap()),
        )]);
        let score = |code: &str| {
            reported_attainment(&reported, &DivisionCode::parse(code).unwrap()).unwrap()
        };
        assert_eq!(score("140106"), 1.0);
        let silent = score("140105");
        assert!(silent == 0.0 && silent.is_sign_positive(), "{silent}");
    }
}
