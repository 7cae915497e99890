//! Indicators: what the dashboard, the API and the releases show, each a
//! set of columns computed from the cube's monthly flows by period.

use super::cube::{Monthly, UNDATED};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Year,
    Quarter,
    Month,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "year" => Some(Granularity::Year),
            "quarter" => Some(Granularity::Quarter),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Granularity::Year => "year",
            Granularity::Quarter => "quarter",
            Granularity::Month => "month",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Granularity::Year => "年",
            Granularity::Quarter => "季度",
            Granularity::Month => "月",
        }
    }

    /// The period a month (`YYYY-MM`) falls in.
    pub fn period_of(self, month: &str) -> String {
        let year = &month[..4];
        let m: u32 = month[5..7].parse().unwrap_or(1);
        match self {
            Granularity::Year => year.to_string(),
            Granularity::Quarter => format!("{year}-Q{}", (m.max(1) - 1) / 3 + 1),
            Granularity::Month => month.to_string(),
        }
    }

    /// First and last month (`YYYY-MM`) of a period this granularity names.
    pub fn months(self, period: &str) -> Option<(String, String)> {
        let year: u32 = period.get(..4)?.parse().ok()?;
        match self {
            Granularity::Year if period.len() == 4 => {
                Some((format!("{year}-01"), format!("{year}-12")))
            }
            Granularity::Quarter => {
                let q: u32 = period.strip_prefix(&format!("{year}-Q"))?.parse().ok()?;
                (1..=4).contains(&q).then(|| {
                    (
                        format!("{year}-{:02}", q * 3 - 2),
                        format!("{year}-{:02}", q * 3),
                    )
                })
            }
            Granularity::Month if period.len() == 7 => {
                let m: u32 = period[5..].parse().ok()?;
                (1..=12)
                    .contains(&m)
                    .then(|| (period.to_string(), period.to_string()))
            }
            _ => None,
        }
    }

    /// The period before `period`.
    pub fn previous(self, period: &str) -> Option<String> {
        let (first, _) = self.months(period)?;
        let year: i32 = first[..4].parse().ok()?;
        let month: u32 = first[5..].parse().ok()?;
        let (y, m) = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
        Some(self.period_of(&format!("{y}-{m:02}")))
    }
}

/// Which way is good for an indicator's headline, for trend warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    Entities,
    Outlets,
    Penalties,
    Designations,
    Satisfaction,
    Rectification,
}

/// One column of an indicator's table.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub key: &'static str,
    pub zh: &'static str,
    pub unit: &'static str,
}

const fn col(key: &'static str, zh: &'static str, unit: &'static str) -> Column {
    Column { key, zh, unit }
}

/// New, closed, net, stock and growth on the baseline, counted in `unit`.
const fn stock_columns(unit: &'static str) -> [Column; 5] {
    [
        col("new", "新增", unit),
        col("closed", "退出", unit),
        col("net", "净增", unit),
        col("stock", "期末存量", unit),
        col("vs_baseline", "较2021年末增长", "%"),
    ]
}
const ENTITY_COLUMNS: &[Column] = &stock_columns("户");
const OUTLET_COLUMNS: &[Column] = &stock_columns("个");
const PENALTY_COLUMNS: &[Column] = &[
    col("penalties", "处罚数", "件"),
    col("per_1000", "每千户市场主体处罚数", "件/千户"),
];
const DESIGNATION_COLUMNS: &[Column] = &[
    col("inclusive", "普惠性生活服务机构", "家"),
    col("demonstration", "示范", "家"),
    col("leader", "领跑者", "家"),
    col("star", "星级", "家"),
    col("a_grade", "A级", "家"),
    col("time_honoured", "老字号", "家"),
];
const SATISFACTION_COLUMNS: &[Column] = &[
    col("reviews", "评价数", "条"),
    col("mean", "平均评分（5分制）", "分"),
    col("bad_rate", "差评率", "%"),
];
const RECTIFICATION_COLUMNS: &[Column] = &[
    col("cases", "差评整改事项", "件"),
    col("rectified", "已整改", "件"),
    col("rate", "整改率", "%"),
    col("followed", "已回访", "件"),
    col("followed_rate", "实名差评回访整改率", "%"),
    col("escalated", "逾期升级", "件"),
];

impl Indicator {
    pub const ALL: [Indicator; 6] = [
        Indicator::Entities,
        Indicator::Outlets,
        Indicator::Penalties,
        Indicator::Designations,
        Indicator::Satisfaction,
        Indicator::Rectification,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Indicator::Entities => "entities",
            Indicator::Outlets => "outlets",
            Indicator::Penalties => "penalties",
            Indicator::Designations => "designations",
            Indicator::Satisfaction => "satisfaction",
            Indicator::Rectification => "rectification",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.code() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Indicator::Entities => "市场主体",
            Indicator::Outlets => "服务网点",
            Indicator::Penalties => "行政处罚",
            Indicator::Designations => "认定称号",
            Indicator::Satisfaction => "服务评价（好差评）",
            Indicator::Rectification => "差评整改",
        }
    }

    /// The cube measures the indicator is computed from.
    pub fn measures(self) -> &'static [&'static str] {
        match self {
            Indicator::Entities => &["entity_new", "entity_closed"],
            Indicator::Outlets => &["outlet_new", "outlet_closed"],
            Indicator::Penalties => &["penalty", "entity_new", "entity_closed"],
            Indicator::Designations => &[
                "designation:inclusive",
                "designation:demonstration",
                "designation:leader",
                "designation:star",
                "designation:a_grade",
                "designation:time_honoured",
            ],
            Indicator::Satisfaction => &["review_n", "review_rating_sum", "review_bad"],
            Indicator::Rectification => &[
                "case_opened",
                "case_rectified",
                "case_followed",
                "case_escalated",
            ],
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Indicator::Entities => ENTITY_COLUMNS,
            Indicator::Outlets => OUTLET_COLUMNS,
            Indicator::Penalties => PENALTY_COLUMNS,
            Indicator::Designations => DESIGNATION_COLUMNS,
            Indicator::Satisfaction => SATISFACTION_COLUMNS,
            Indicator::Rectification => RECTIFICATION_COLUMNS,
        }
    }

    /// The column charts and maps show, and which way is good for it.
    pub fn headline(self) -> (&'static str, Direction) {
        match self {
            Indicator::Entities | Indicator::Outlets => ("stock", Direction::Up),
            Indicator::Penalties => ("per_1000", Direction::Down),
            Indicator::Designations => ("inclusive", Direction::Up),
            Indicator::Satisfaction => ("bad_rate", Direction::Down),
            Indicator::Rectification => ("rate", Direction::Up),
        }
    }

    /// How each column is defined (口径), shown under every table.
    pub fn definition(self) -> &'static str {
        match self {
            Indicator::Entities => {
                "新增：成立日期在本期的市场主体；退出：注销、吊销或迁出日期在本期的（登记时未填日期的按登记库更新日期计）；净增 = 新增 − 退出；期末存量：截至期末成立且未退出的；较2021年末增长：期末存量 ÷ 2021年末存量 − 1（行动方案的基期）。按大类统计时，主体归入其第一个服务网点的服务类型（主营业务）"
            }
            Indicator::Outlets => {
                "新增：开业日期在本期的服务网点（未填开业日期的按录入登记库的日期计）；退出：停业日期在本期的；期末存量：截至期末开业且未停业的；较2021年末增长：期末存量 ÷ 2021年末存量 − 1"
            }
            Indicator::Penalties => {
                "处罚数：处罚决定日期在本期的行政处罚（不含已撤销的；当事人为自然人的不计入地区）；每千户市场主体处罚数 = 处罚数 ÷ 期末市场主体存量 × 1000"
            }
            Indicator::Designations => {
                "截至期末各类认定称号的累计数（按认定日期；未填日期的计入全部时期），按网点所在地区和服务类型统计"
            }
            Indicator::Satisfaction => {
                "本期公开的评价数（不含待审核和已删除的）；平均评分：非常满意 5 分至非常不满意 1 分的平均值；差评率：不满意和非常不满意所占比例"
            }
            Indicator::Rectification => {
                "本期产生的差评整改事项（不含撤回的），以及其中已整改（含已回访办结）、已回访评价人、逾期升级（超过联系或整改期限未完成而升级督办）的数量；整改率 = 已整改 ÷ 整改事项；实名差评回访整改率 = 已回访 ÷ 整改事项（目标100%）"
            }
        }
    }
}

/// One period's values, in the order of the indicator's columns.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub period: String,
    pub values: Vec<Option<f64>>,
}

/// Sums of each measure in each period, with the running total up to each
/// period's end (stocks): `(within, upto)`.
struct Flows {
    periods: Vec<String>,
    within: BTreeMap<(String, String), i64>,
    upto: BTreeMap<(String, String), i64>,
}

fn flows(monthly: &Monthly, g: Granularity, until: &str) -> Flows {
    let mut within: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut first: Option<String> = None;
    for (measure, months) in monthly {
        for (month, value) in months {
            if month.as_str() == UNDATED || month.as_str() > until {
                continue;
            }
            let period = g.period_of(month);
            if first.as_ref().is_none_or(|f| &period < f) {
                first = Some(period.clone());
            }
            *within.entry((measure.clone(), period)).or_default() += value;
        }
    }
    let last = g.period_of(until);
    let mut periods = Vec::new();
    if let Some(mut p) = first {
        while p <= last {
            periods.push(p.clone());
            p = next(g, &p);
        }
    }
    let mut upto = BTreeMap::new();
    for (measure, months) in monthly {
        let mut running = months.get(UNDATED).copied().unwrap_or(0);
        for p in &periods {
            running += within
                .get(&(measure.clone(), p.clone()))
                .copied()
                .unwrap_or(0);
            upto.insert((measure.clone(), p.clone()), running);
        }
    }
    Flows {
        periods,
        within,
        upto,
    }
}

fn next(g: Granularity, period: &str) -> String {
    let (_, last) = g.months(period).expect("a period this granularity made");
    let year: i32 = last[..4].parse().expect("year");
    let month: u32 = last[5..].parse().expect("month");
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    g.period_of(&format!("{y}-{m:02}"))
}

/// Stock of `new` minus `closed` up to the end of December 2021, the plan's
/// baseline (the year before it took effect).
fn baseline(monthly: &Monthly, new: &str, closed: &str) -> i64 {
    let upto = |m: &str| -> i64 {
        monthly
            .get(m)
            .map(|months| {
                months
                    .iter()
                    .filter(|(p, _)| p.as_str() <= crate::plan::BASELINE_MONTH)
                    .map(|(_, v)| v)
                    .sum()
            })
            .unwrap_or(0)
    };
    upto(new) - upto(closed)
}

fn ratio(a: i64, b: i64, scale: f64) -> Option<f64> {
    (b != 0).then(|| round2(a as f64 / b as f64 * scale))
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The indicator's rows for every period from the first with data up to the
/// one containing the month `until` (`YYYY-MM`).
pub fn rows(indicator: Indicator, monthly: &Monthly, g: Granularity, until: &str) -> Vec<Row> {
    let f = flows(monthly, g, until);
    let w = |m: &str, p: &String| {
        f.within
            .get(&(m.to_string(), p.clone()))
            .copied()
            .unwrap_or(0)
    };
    let u = |m: &str, p: &String| {
        f.upto
            .get(&(m.to_string(), p.clone()))
            .copied()
            .unwrap_or(0)
    };
    f.periods
        .iter()
        .map(|p| {
            let values: Vec<Option<f64>> = match indicator {
                Indicator::Entities | Indicator::Outlets => {
                    let (new, closed) = match indicator {
                        Indicator::Entities => ("entity_new", "entity_closed"),
                        _ => ("outlet_new", "outlet_closed"),
                    };
                    let stock = u(new, p) - u(closed, p);
                    let base = baseline(monthly, new, closed);
                    vec![
                        Some(w(new, p) as f64),
                        Some(w(closed, p) as f64),
                        Some((w(new, p) - w(closed, p)) as f64),
                        Some(stock as f64),
                        ratio(stock - base, base, 100.0),
                    ]
                }
                Indicator::Penalties => {
                    let stock = u("entity_new", p) - u("entity_closed", p);
                    vec![
                        Some(w("penalty", p) as f64),
                        ratio(w("penalty", p), stock, 1000.0),
                    ]
                }
                Indicator::Designations => indicator
                    .measures()
                    .iter()
                    .map(|m| Some(u(m, p) as f64))
                    .collect(),
                Indicator::Satisfaction => {
                    let n = w("review_n", p);
                    vec![
                        Some(n as f64),
                        ratio(w("review_rating_sum", p), n, 1.0),
                        ratio(w("review_bad", p), n, 100.0),
                    ]
                }
                Indicator::Rectification => {
                    let (cases, done) = (w("case_opened", p), w("case_rectified", p));
                    let followed = w("case_followed", p);
                    vec![
                        Some(cases as f64),
                        Some(done as f64),
                        ratio(done, cases, 100.0),
                        Some(followed as f64),
                        ratio(followed, cases, 100.0),
                        Some(w("case_escalated", p) as f64),
                    ]
                }
            };
            Row {
                period: p.clone(),
                values,
            }
        })
        .collect()
}

/// The headline value of one area from its `(upto, within)` sums per
/// measure, for maps and league tables.
pub fn headline_value(indicator: Indicator, sums: impl Fn(&str) -> (i64, i64)) -> Option<f64> {
    let stock = |new: &str, closed: &str| sums(new).0 - sums(closed).0;
    match indicator {
        Indicator::Entities => Some(stock("entity_new", "entity_closed") as f64),
        Indicator::Outlets => Some(stock("outlet_new", "outlet_closed") as f64),
        Indicator::Penalties => ratio(
            sums("penalty").1,
            stock("entity_new", "entity_closed"),
            1000.0,
        ),
        Indicator::Designations => Some(sums("designation:inclusive").0 as f64),
        Indicator::Satisfaction => ratio(sums("review_bad").1, sums("review_n").1, 100.0),
        Indicator::Rectification => ratio(sums("case_rectified").1, sums("case_opened").1, 100.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monthly(rows: &[(&str, &str, i64)]) -> Monthly {
        let mut m = Monthly::new();
        for (measure, period, v) in rows {
            m.entry(measure.to_string())
                .or_default()
                .insert(period.to_string(), *v);
        }
        m
    }

    #[test]
    fn periods_and_their_months() {
        assert_eq!(Granularity::Quarter.period_of("2024-05"), "2024-Q2");
        assert_eq!(
            Granularity::Quarter.months("2024-Q4"),
            Some(("2024-10".into(), "2024-12".into()))
        );
        assert_eq!(Granularity::Month.previous("2024-01").unwrap(), "2023-12");
        assert_eq!(Granularity::Quarter.previous("2024-Q1").unwrap(), "2023-Q4");
        assert_eq!(Granularity::Year.previous("2024").unwrap(), "2023");
        assert_eq!(Granularity::Quarter.months("2024-Q5"), None);
        assert_eq!(Granularity::Month.months("2024-13"), None);
    }

    #[test]
    fn stocks_count_undated_records_and_subtract_closures() {
        let m = monthly(&[
            ("entity_new", UNDATED, 2),
            ("entity_new", "2021-03", 4),
            ("entity_new", "2022-02", 3),
            ("entity_closed", "2022-11", 1),
        ]);
        let rows = rows(Indicator::Entities, &m, Granularity::Year, "2022-12");
        assert_eq!(rows.len(), 2, "2021 and 2022, gapless");
        assert_eq!(rows[0].values[3], Some(6.0), "2 undated + 4");
        let y2022 = &rows[1].values;
        assert_eq!(y2022[..4], [Some(3.0), Some(1.0), Some(2.0), Some(8.0)]);
        assert_eq!(y2022[4], Some(33.33), "8 against the 2021 baseline of 6");
    }

    #[test]
    fn rates_are_empty_where_the_denominator_is_zero() {
        let m = monthly(&[("review_n", "2024-01", 0), ("case_opened", "2024-02", 0)]);
        let r = rows(Indicator::Satisfaction, &m, Granularity::Month, "2024-02");
        assert_eq!(r[0].values, [Some(0.0), None, None]);
        let m = monthly(&[
            ("review_n", "2024-01", 4),
            ("review_rating_sum", "2024-01", 14),
            ("review_bad", "2024-01", 1),
        ]);
        let r = rows(Indicator::Satisfaction, &m, Granularity::Month, "2024-01");
        assert_eq!(r[0].values, [Some(4.0), Some(3.5), Some(25.0)]);
    }

    #[test]
    fn penalties_per_thousand_use_the_stock_at_period_end() {
        let m = monthly(&[("entity_new", "2023-01", 2000), ("penalty", "2023-06", 3)]);
        let r = rows(Indicator::Penalties, &m, Granularity::Year, "2023-12");
        assert_eq!(r[0].values, [Some(3.0), Some(1.5)]);
    }

    #[test]
    fn periods_after_until_are_left_out() {
        let m = monthly(&[("outlet_new", "2024-01", 1), ("outlet_new", "2024-09", 1)]);
        let r = rows(Indicator::Outlets, &m, Granularity::Quarter, "2024-06");
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].values[3], Some(1.0));
    }
}
