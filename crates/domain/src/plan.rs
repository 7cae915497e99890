//! 《山西省生活性服务业发展行动方案》 as data: its task groups, the 41 numbered tasks,
//! the responsible units, the quantitative indicators and the implementation paragraphs.
//!
//! The plan ships as `data/plan.json`, extracted once from the official text (kept verbatim,
//! corruption included, in `data/plan-source.txt` so the tests can check every text against it).
//! Two kinds of corruption in that copy are repaired in the data: a stray advertising string
//! `中欧体育` in three places, and the leader's name dropped from two preamble sentences.
//!
//! Identifiers:
//! - tasks: [`Task::number`] runs 1..=41 across the whole plan; the text itself restarts its
//!   numbering in each group, kept as [`Task::number_in_group`];
//! - units: [`UnitId`] codes `U01`, `U02`, … in order of first appearance in the text. Codes are
//!   append-only: a new unit gets the next free code and existing codes never change meaning;
//! - indicators: [`IndicatorId`] `T{task:02}-{k}` (k-th indicator of the task, in text order), or
//!   `P-{k}` for plan-wide goals stated in the preamble.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

const SHIPPED_JSON: &str = include_str!("../data/plan.json");

/// The whole action plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// 山西省生活性服务业发展行动方案
    pub title: String,
    /// Title of the issuing notice (山西省人民政府办公厅关于印发…的通知).
    pub notice_title: String,
    /// Body of the issuing notice.
    pub notice: String,
    /// Purpose, guiding thought and overall goals, one string per paragraph.
    pub preamble: Vec<String>,
    pub groups: Vec<Group>,
    /// The numbered tasks, ordered by [`Task::number`].
    pub tasks: Vec<Task>,
    pub units: Vec<Unit>,
    pub indicators: Vec<Indicator>,
    /// 组织实施: department duties, city governments' responsibility, statistics, publicity.
    pub implementation: Vec<Paragraph>,
}

/// A group of tasks (重点任务的一个方面). Titles are in the plan's register; the source copy
/// lost its headings, so they are editorial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// 1-based, in text order.
    pub number: u8,
    /// Short topic label, e.g. 文化旅游.
    pub topic: String,
    /// Heading, e.g. 推动文化旅游业提质升级.
    pub title: String,
    /// Unnumbered body of a group that has no numbered tasks (the emergency-support paragraph).
    pub paragraph: Option<Paragraph>,
}

/// One numbered task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Plan-wide number, 1..=41.
    pub number: u8,
    /// [`Group::number`] of the task's group.
    pub group: u8,
    /// The number the text gives it within its group.
    pub number_in_group: u8,
    /// First sentence of the task, e.g. 实施A级旅游景区倍增计划.
    pub title: String,
    /// Full text without the number and the (责任单位:…) clause; starts with the title.
    pub text: String,
    /// Lead unit first, then the others in the text's order.
    pub responsible_units: Vec<UnitId>,
    /// Indicators extracted from this task, in text order.
    pub indicators: Vec<IndicatorId>,
    /// True when the task states no quantitative target (policy parameters do not count), so
    /// progress is tracked as a milestone rather than against a number.
    pub milestone: bool,
}

/// An unnumbered paragraph with its responsible units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paragraph {
    /// Stable ASCII key, e.g. `emergency`, `statistics`.
    pub key: String,
    /// Editorial heading in the plan's register.
    pub title: String,
    pub text: String,
    pub responsible_units: Vec<UnitId>,
}

/// A responsible unit as the plan names it (省文旅厅, 人行太原中心支行, 各市政府, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
    /// The body's official name (山西省文化和旅游厅 for 省文旅厅), which people search by;
    /// absent for 各相关部门, which names no body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// True for a class of bodies rather than one body (各市政府, 各相关部门).
    pub collective: bool,
}

/// Code of a [`Unit`], `U01`, `U02`, ….
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(String);

/// Code of an [`Indicator`], `T01-2` or `P-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IndicatorId(String);

macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_id!(UnitId);
string_id!(IndicatorId);

/// A quantitative statement of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: IndicatorId,
    /// Plan-wide task number; `None` for a goal of the preamble (总体目标).
    pub task: Option<u8>,
    /// What is counted, in Chinese.
    pub name: String,
    /// Unit of measure as the text writes it: 家, 个, 项, 所, 部, %, 倍, 年, 平方米, 万元.
    pub unit: String,
    /// Lower bound; equal to `max` when the text gives a single number. Percentages are in
    /// percent (10 means 10%).
    pub min: Option<f64>,
    /// Upper bound; `None` for 不低于 / 以上 style targets.
    pub max: Option<f64>,
    pub scope: Scope,
    pub kind: IndicatorKind,
    /// 2025-12-31 unless the text dates it otherwise.
    pub deadline: Date,
    /// The exact phrase of the (cleaned) text the indicator was read from.
    pub source_phrase: String,
    /// Reading notes where the text is terse (no baseline, 力争, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Indicator {
    /// Whether this is a target to reach, as opposed to a [`IndicatorKind::Parameter`].
    pub fn is_target(&self) -> bool {
        self.kind != IndicatorKind::Parameter
    }
}

/// Where an indicator's bounds apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A total for the province.
    Province,
    /// In each city (每市).
    PerCity,
    /// In each county-level unit (每个县(市、区)).
    PerCounty,
    /// In each township (每乡镇); the text's 一乡镇一亮点.
    PerTownship,
}

impl Scope {
    pub fn zh(self) -> &'static str {
        match self {
            Scope::Province => "全省",
            Scope::PerCity => "每市",
            Scope::PerCounty => "每县(市、区)",
            Scope::PerTownship => "每乡镇",
        }
    }

    /// The division level each value of a per-area indicator is reported for;
    /// `None` for a province total.
    pub fn area_level(self) -> Option<crate::Level> {
        match self {
            Scope::Province => None,
            Scope::PerCity => Some(crate::Level::City),
            Scope::PerCounty => Some(crate::Level::County),
            Scope::PerTownship => Some(crate::Level::Town),
        }
    }
}

/// How an indicator's number is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// A number of things to create or reach.
    Count,
    /// A percentage.
    Share,
    /// A multiple of an (unstated) baseline, e.g. 倍增 = 2.
    Multiplier,
    /// Every unit of the scope has one (每个县有一所…, 一县一品牌); min = max = 1.
    Presence,
    /// A policy parameter (tax rate, threshold, transition period), not a target to track.
    Parameter,
}

impl IndicatorKind {
    pub fn zh(self) -> &'static str {
        match self {
            IndicatorKind::Count => "数量",
            IndicatorKind::Share => "比例",
            IndicatorKind::Multiplier => "倍数",
            IndicatorKind::Presence => "全覆盖",
            IndicatorKind::Parameter => "政策参数",
        }
    }
}

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    // Field order makes the derived ordering chronological.
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(Date { year, month, day })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }
}

impl FromStr for Date {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PlanError::Date(s.to_owned());
        let b = s.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return Err(err());
        }
        let year = s[0..4].parse().map_err(|_| err())?;
        let month = s[5..7].parse().map_err(|_| err())?;
        let day = s[8..10].parse().map_err(|_| err())?;
        Date::new(year, month, day).ok_or_else(err)
    }
}

impl TryFrom<String> for Date {
    type Error = PlanError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Why plan data is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("行动方案数据无法解析：{0}")]
    Json(String),
    #[error("日期“{0}”应为YYYY-MM-DD格式的有效日期")]
    Date(String),
    #[error("任务组编号不连续：第{expected}个任务组的编号为{found}")]
    GroupNumber { expected: usize, found: u8 },
    #[error("任务编号不连续：第{expected}个任务的编号为{found}")]
    TaskNumber { expected: usize, found: u8 },
    #[error("任务{task}所属任务组{group}不存在")]
    UnknownGroup { task: u8, group: u8 },
    #[error("任务{0}的分组或组内编号与前一任务不衔接")]
    GroupSequence(u8),
    #[error("任务组{0}既无任务也无段落")]
    EmptyGroup(u8),
    #[error("{0}的标题或正文为空，或正文不以标题开头")]
    Text(String),
    #[error("责任单位“{0}”的代码或名称重复")]
    DuplicateUnit(String),
    #[error("{owner}的责任单位为空或重复")]
    Responsible { owner: String },
    #[error("{owner}的责任单位“{unit}”不存在")]
    UnknownUnit { owner: String, unit: UnitId },
    #[error("指标代码“{0}”重复")]
    DuplicateIndicator(IndicatorId),
    #[error("指标{indicator}所属任务{task}不存在")]
    UnknownTask { indicator: IndicatorId, task: u8 },
    #[error("任务{0}的指标列表与指标表不一致")]
    IndicatorLinks(u8),
    #[error("指标{0}的上下限无效（缺失、为负、非有限数或下限大于上限）")]
    Bounds(IndicatorId),
    #[error("指标{0}为全覆盖类，上下限应均为1")]
    Presence(IndicatorId),
    #[error("指标{0}的原文短语不在其所属任务（或序言）原文中")]
    SourcePhrase(IndicatorId),
    #[error("任务{0}的milestone标记与其指标不一致")]
    Milestone(u8),
}

impl Plan {
    /// The plan shipped with the crate, parsed and validated on first use.
    ///
    /// Panics only if the shipped data is broken, which the tests rule out.
    pub fn shipped() -> &'static Plan {
        static PLAN: OnceLock<Plan> = OnceLock::new();
        PLAN.get_or_init(|| Plan::from_json(SHIPPED_JSON).expect("shipped plan.json is valid"))
    }

    /// Parses plan data in the shipped JSON layout and validates it.
    pub fn from_json(json: &str) -> Result<Plan, PlanError> {
        let plan: Plan = serde_json::from_str(json).map_err(|e| PlanError::Json(e.to_string()))?;
        plan.validate()?;
        Ok(plan)
    }

    pub fn group(&self, number: u8) -> Option<&Group> {
        self.groups.iter().find(|g| g.number == number)
    }

    /// Task by plan-wide number (1..=41).
    pub fn task(&self, number: u8) -> Option<&Task> {
        self.tasks.iter().find(|t| t.number == number)
    }

    pub fn tasks_in(&self, group: u8) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(move |t| t.group == group)
    }

    pub fn unit(&self, id: &UnitId) -> Option<&Unit> {
        self.units.iter().find(|u| &u.id == id)
    }

    /// The unit with this short or official name.
    pub fn unit_by_name(&self, name: &str) -> Option<&Unit> {
        let name = name.trim();
        self.units
            .iter()
            .find(|u| u.name == name || u.full_name.as_deref() == Some(name))
    }

    /// Names of the given units, in order; unknown ids are skipped (validated data has none).
    pub fn unit_names(&self, ids: &[UnitId]) -> Vec<&str> {
        ids.iter()
            .filter_map(|id| self.unit(id))
            .map(|u| u.name.as_str())
            .collect()
    }

    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id.as_str() == id)
    }

    /// Indicators of a task (`Some(n)`) or the plan-wide ones (`None`), in text order.
    pub fn indicators_of(&self, task: Option<u8>) -> impl Iterator<Item = &Indicator> {
        self.indicators.iter().filter(move |i| i.task == task)
    }

    /// Every paragraph with responsible units that is not a numbered task.
    pub fn paragraphs(&self) -> impl Iterator<Item = &Paragraph> {
        self.groups
            .iter()
            .filter_map(|g| g.paragraph.as_ref())
            .chain(&self.implementation)
    }

    /// Checks internal consistency: contiguous numbering, known units and tasks, indicator
    /// bounds, links between tasks and indicators, and that every source phrase occurs in the
    /// text it claims to come from.
    pub fn validate(&self) -> Result<(), PlanError> {
        for (i, g) in self.groups.iter().enumerate() {
            if usize::from(g.number) != i + 1 {
                return Err(PlanError::GroupNumber {
                    expected: i + 1,
                    found: g.number,
                });
            }
            if self.tasks_in(g.number).next().is_none() && g.paragraph.is_none() {
                return Err(PlanError::EmptyGroup(g.number));
            }
        }

        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for u in &self.units {
            let full_name_ok = u
                .full_name
                .as_deref()
                .is_none_or(|f| !f.trim().is_empty() && names.insert(f));
            if !ids.insert(&u.id)
                || !names.insert(u.name.as_str())
                || u.name.trim().is_empty()
                || !full_name_ok
            {
                return Err(PlanError::DuplicateUnit(u.name.clone()));
            }
        }
        let check_units = |owner: String, units: &[UnitId]| -> Result<(), PlanError> {
            let distinct: std::collections::HashSet<_> = units.iter().collect();
            if units.is_empty() || distinct.len() != units.len() {
                return Err(PlanError::Responsible { owner });
            }
            match units.iter().find(|id| !ids.contains(id)) {
                Some(unit) => Err(PlanError::UnknownUnit {
                    owner,
                    unit: unit.clone(),
                }),
                None => Ok(()),
            }
        };

        let mut previous: Option<&Task> = None;
        for (i, t) in self.tasks.iter().enumerate() {
            if usize::from(t.number) != i + 1 {
                return Err(PlanError::TaskNumber {
                    expected: i + 1,
                    found: t.number,
                });
            }
            if self.group(t.group).is_none() {
                return Err(PlanError::UnknownGroup {
                    task: t.number,
                    group: t.group,
                });
            }
            // The text restarts at 1 in each group and groups come in order.
            let follows = match previous {
                None => t.group == 1 && t.number_in_group == 1,
                Some(p) if p.group == t.group => t.number_in_group == p.number_in_group + 1,
                Some(p) => t.group > p.group && t.number_in_group == 1,
            };
            if !follows {
                return Err(PlanError::GroupSequence(t.number));
            }
            previous = Some(t);
            if t.title.is_empty() || !t.text.starts_with(&t.title) {
                return Err(PlanError::Text(format!("任务{}", t.number)));
            }
            check_units(format!("任务{}", t.number), &t.responsible_units)?;
        }
        for p in self.paragraphs() {
            if p.title.is_empty() || p.text.is_empty() {
                return Err(PlanError::Text(format!("段落{}", p.key)));
            }
            check_units(format!("段落{}", p.key), &p.responsible_units)?;
        }

        let mut seen = std::collections::HashSet::new();
        for ind in &self.indicators {
            if !seen.insert(&ind.id) {
                return Err(PlanError::DuplicateIndicator(ind.id.clone()));
            }
            let bounds_ok = (ind.min.is_some() || ind.max.is_some())
                && [ind.min, ind.max]
                    .iter()
                    .flatten()
                    .all(|v| v.is_finite() && *v >= 0.0)
                && match (ind.min, ind.max) {
                    (Some(lo), Some(hi)) => lo <= hi,
                    _ => true,
                };
            if !bounds_ok {
                return Err(PlanError::Bounds(ind.id.clone()));
            }
            if ind.kind == IndicatorKind::Presence && (ind.min, ind.max) != (Some(1.0), Some(1.0)) {
                return Err(PlanError::Presence(ind.id.clone()));
            }
            let source_found = match ind.task {
                Some(n) => match self.task(n) {
                    Some(t) => t.text.contains(&ind.source_phrase),
                    None => {
                        return Err(PlanError::UnknownTask {
                            indicator: ind.id.clone(),
                            task: n,
                        });
                    }
                },
                None => self.preamble.iter().any(|p| p.contains(&ind.source_phrase)),
            };
            if ind.source_phrase.is_empty() || !source_found {
                return Err(PlanError::SourcePhrase(ind.id.clone()));
            }
        }
        for t in &self.tasks {
            let own: Vec<&IndicatorId> =
                self.indicators_of(Some(t.number)).map(|i| &i.id).collect();
            if own != t.indicators.iter().collect::<Vec<_>>() {
                return Err(PlanError::IndicatorLinks(t.number));
            }
            if t.milestone == self.indicators_of(Some(t.number)).any(Indicator::is_target) {
                return Err(PlanError::Milestone(t.number));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = include_str!("../data/plan-source.txt");
    const STRAY: &str = "中欧体育";

    /// The seed text with its known corruption repaired, as the data was made from it.
    fn cleaned_source() -> String {
        SOURCE
            .replace(STRAY, "")
            .replace(
                "以习新时代中国特色社会主义思想",
                "以习近平新时代中国特色社会主义思想",
            )
            .replace(
                "深入贯彻落实习考察调研山西重要指示精神",
                "深入贯彻落实习近平总书记考察调研山西重要指示精神",
            )
    }

    /// Units of every (责任单位:…) clause, in text order; either width of bracket, colon and comma.
    fn responsibility_clauses(text: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("责任单位") {
            let after = &rest[start + "责任单位".len()..];
            let after = after
                .strip_prefix(':')
                .or_else(|| after.strip_prefix('：'))
                .expect("colon after 责任单位");
            let end = after.find([')', '）']).expect("closing bracket");
            out.push(
                after[..end]
                    .split(['、', ',', '，'])
                    .map(|u| u.replace(STRAY, "").trim().to_owned())
                    .filter(|u| !u.is_empty())
                    .collect(),
            );
            rest = &after[end..];
        }
        out
    }

    fn plan() -> &'static Plan {
        Plan::shipped()
    }

    fn bounds(id: &str) -> (Option<f64>, Option<f64>, Scope) {
        let i = plan()
            .indicator(id)
            .unwrap_or_else(|| panic!("indicator {id}"));
        (i.min, i.max, i.scope)
    }

    fn by_name(name: &str) -> &'static Indicator {
        let mut found = plan().indicators.iter().filter(|i| i.name == name);
        let first = found.next().unwrap_or_else(|| panic!("indicator {name}"));
        assert!(found.next().is_none(), "{name} is ambiguous");
        first
    }

    #[test]
    fn shipped_plan_is_valid() {
        assert_eq!(plan().validate(), Ok(()));
    }

    #[test]
    fn counts_follow_the_text() {
        let p = plan();
        assert_eq!(p.groups.len(), 15);
        assert_eq!(p.tasks.len(), 41);
        let per_group: Vec<usize> = p
            .groups
            .iter()
            .map(|g| p.tasks_in(g.number).count())
            .collect();
        assert_eq!(per_group, [4, 3, 3, 2, 3, 3, 3, 3, 2, 3, 2, 4, 3, 3, 0]);
        assert_eq!(p.groups[0].title, "推动文化旅游业提质升级");
        let emergency = p.groups[14]
            .paragraph
            .as_ref()
            .expect("emergency paragraph");
        assert!(
            emergency
                .text
                .starts_with("健全重大疫情、灾难、事故等应急救助机制")
        );
        let keys: Vec<&str> = p.implementation.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "department_duties",
                "city_responsibility",
                "statistics",
                "publicity"
            ]
        );
        assert_eq!(p.units.len(), 37);
        assert_eq!(p.indicators.len(), 35);
        assert_eq!(p.indicators.iter().filter(|i| i.is_target()).count(), 30);
        assert_eq!(p.tasks.iter().filter(|t| t.milestone).count(), 31);
    }

    #[test]
    fn task_titles_and_numbers() {
        let p = plan();
        assert_eq!(p.task(1).unwrap().title, "实施A级旅游景区倍增计划");
        let t = p.task(5).unwrap();
        assert_eq!((t.group, t.number_in_group), (2, 1));
        assert_eq!(t.title, "打造新型消费商圈");
        assert_eq!(
            p.task(41).unwrap().title,
            "优化建设工程消防审查验收备案手续"
        );
    }

    #[test]
    fn named_targets_have_the_texts_values() {
        let one = |v: f64| (Some(v), Some(v), Scope::Province);
        assert_eq!(bounds("T01-2"), (Some(1.0), Some(3.0), Scope::Province));
        assert_eq!(by_name("新创建国家5A级旅游景区").id.as_str(), "T01-2");
        assert_eq!(bounds("T01-3"), one(25.0));
        assert_eq!(by_name("新创建国家4A级旅游景区").unit, "家");
        assert_eq!(bounds("T01-4"), (Some(1.0), Some(2.0), Scope::Province));
        assert_eq!(bounds("T01-5"), (Some(1.0), Some(3.0), Scope::Province));
        assert_eq!(bounds("T01-6"), one(50.0));
        assert_eq!(bounds("T02-1"), (Some(3.0), Some(5.0), Scope::Province));
        assert_eq!(by_name("建设精品民宿").min, Some(1000.0));
        let restaurants = by_name("培育老字号精品旅游餐厅");
        assert_eq!(
            (restaurants.min, restaurants.max, restaurants.scope),
            (Some(5.0), Some(10.0), Scope::PerCounty)
        );
        assert_eq!(
            restaurants.source_phrase,
            "每个县(市、区)培育5-10家老字号精品旅游餐厅"
        );
        let events = by_name("全民健身品牌活动数量");
        assert_eq!((events.min, events.unit.as_str()), (Some(15.0), "项"));
        // 431工程
        assert_eq!(by_name("养老服务模范市").min, Some(4.0));
        assert_eq!(by_name("养老服务模范县(市、区)").min, Some(30.0));
        assert_eq!(by_name("养老服务模范机构").min, Some(100.0));
        let share = by_name("新建社区商业和综合服务设施面积占社区总建筑面积比例");
        assert_eq!(
            (share.min, share.max, share.unit.as_str(), share.kind),
            (Some(10.0), None, "%", IndicatorKind::Share)
        );
        let elderly = by_name("综合性养老机构");
        assert_eq!(
            (elderly.kind, elderly.scope, elderly.unit.as_str()),
            (IndicatorKind::Presence, Scope::PerCounty, "所")
        );
        let entities = plan().indicator("P-1").unwrap();
        assert_eq!(entities.task, None);
        assert_eq!(
            (entities.kind, entities.min, entities.unit.as_str()),
            (IndicatorKind::Multiplier, Some(2.0), "倍")
        );
        assert_eq!(entities.deadline.to_string(), "2025-12-31");
        let tax = plan().indicator("T37-1").unwrap();
        assert_eq!(
            (tax.kind, tax.deadline),
            (IndicatorKind::Parameter, Date::new(2022, 12, 31).unwrap())
        );
    }

    #[test]
    fn no_stray_advertising_anywhere() {
        assert!(!SHIPPED_JSON.contains(STRAY));
        let json = serde_json::to_string(plan()).unwrap();
        assert!(!json.contains(STRAY));
        assert_eq!(
            SOURCE.matches(STRAY).count(),
            3,
            "seed copy should keep its corruption"
        );
    }

    #[test]
    fn preamble_has_the_leaders_name_restored() {
        let goals = &plan().preamble[1];
        assert!(goals.starts_with("以习近平新时代中国特色社会主义思想为指导"));
        assert!(goals.contains("深入贯彻落实习近平总书记考察调研山西重要指示精神"));
    }

    #[test]
    fn every_text_is_in_the_cleaned_source() {
        let source = cleaned_source();
        let p = plan();
        let texts = [&p.notice_title, &p.notice]
            .into_iter()
            .chain(&p.preamble)
            .chain(p.tasks.iter().map(|t| &t.text))
            .chain(p.paragraphs().map(|t| &t.text))
            .chain(p.indicators.iter().map(|i| &i.source_phrase));
        for text in texts {
            assert!(source.contains(text.as_str()), "not in source: {text}");
        }
    }

    #[test]
    fn responsible_units_match_every_clause_of_the_source() {
        let p = plan();
        let expected = responsibility_clauses(SOURCE);
        let actual: Vec<Vec<String>> = p
            .tasks
            .iter()
            .map(|t| &t.responsible_units)
            .chain(p.paragraphs().map(|g| &g.responsible_units))
            .map(|ids| p.unit_names(ids).into_iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(actual, expected);
        assert_eq!(
            p.unit_names(&p.task(1).unwrap().responsible_units),
            ["省文旅厅", "省林草局"]
        );
        // The one clause the text separates with a comma rather than 、.
        assert_eq!(
            p.unit_names(&p.task(36).unwrap().responsible_units),
            ["省财政厅", "各市政府"]
        );
        assert!(p.unit_by_name("各市政府").unwrap().collective);
        assert!(!p.unit_by_name("省卫健委").unwrap().collective);
    }

    #[test]
    fn clause_parser_accepts_full_width_punctuation() {
        let clauses =
            responsibility_clauses("…。（责任单位：省民政厅、 中欧体育省卫健委，省文旅厅）");
        assert_eq!(clauses, [["省民政厅", "省卫健委", "省文旅厅"]]);
    }

    #[test]
    fn validate_rejects_inconsistencies() {
        let base = plan().clone();

        let mut p = base.clone();
        p.tasks.remove(10);
        assert!(matches!(
            p.validate(),
            Err(PlanError::TaskNumber {
                expected: 11,
                found: 12
            })
        ));

        let mut p = base.clone();
        p.tasks[0].responsible_units.push(UnitId::new("U99"));
        assert!(matches!(p.validate(), Err(PlanError::UnknownUnit { .. })));

        let mut p = base.clone();
        p.indicators[2].min = Some(9.0);
        assert_eq!(
            p.validate(),
            Err(PlanError::Bounds(IndicatorId::new("T01-2")))
        );

        let mut p = base.clone();
        p.indicators[2].task = Some(42);
        assert!(matches!(
            p.validate(),
            Err(PlanError::UnknownTask { task: 42, .. })
        ));

        let mut p = base.clone();
        p.indicators[2].source_phrase = "新创建9家国家5A级旅游景区".into();
        assert!(matches!(p.validate(), Err(PlanError::SourcePhrase(_))));

        let mut p = base.clone();
        p.tasks[3].milestone = false;
        assert_eq!(p.validate(), Err(PlanError::Milestone(4)));

        let mut p = base;
        p.tasks[0].indicators.pop();
        assert_eq!(p.validate(), Err(PlanError::IndicatorLinks(1)));
    }

    #[test]
    fn json_round_trips() {
        let json = serde_json::to_string(plan()).unwrap();
        assert_eq!(&Plan::from_json(&json).unwrap(), plan());
        assert!(matches!(Plan::from_json("{}"), Err(PlanError::Json(_))));
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(
            "2025-12-31".parse::<Date>().unwrap(),
            Date::new(2025, 12, 31).unwrap()
        );
        assert!("2024-02-29".parse::<Date>().is_ok());
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "2025/12/31",
            "",
            "２０２５-12-31",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!(Date::new(2022, 12, 31) < Date::new(2025, 1, 1));
    }
}

/// A reporting period of a progress report: a month (`2026-11`) or a quarter (`2026-Q3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
}

impl Period {
    /// Reads `2026-11`, `2026-1`, `2026-Q3` or `2026Q3` (either case).
    pub fn parse(text: &str) -> Result<Period, String> {
        let text = text.trim();
        let bad = || format!("报告期“{text}”无效：应写作 2026-11（月）或 2026-Q3（季度）");
        let (year, rest) = match text.find(['Q', 'q']) {
            Some(q) => (text[..q].trim_end_matches('-'), &text[q..]),
            None => text.split_once('-').ok_or_else(bad)?,
        };
        let year: i32 = year
            .parse()
            .ok()
            .filter(|y| (2000..=2100).contains(y))
            .ok_or_else(bad)?;
        if let Some(q) = rest.strip_prefix(['Q', 'q']) {
            let quarter: u32 = q
                .parse()
                .ok()
                .filter(|q| (1..=4).contains(q))
                .ok_or_else(bad)?;
            return Ok(Period::Quarter { year, quarter });
        }
        let month: u32 = rest
            .parse()
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or_else(bad)?;
        Ok(Period::Month { year, month })
    }

    /// The first day of the period.
    pub fn start(self) -> chrono::NaiveDate {
        let (year, month) = match self {
            Period::Month { year, month } => (year, month),
            Period::Quarter { year, quarter } => (year, quarter * 3 - 2),
        };
        chrono::NaiveDate::from_ymd_opt(year, month, 1).expect("valid period start")
    }

    /// The last day of the period.
    pub fn end(self) -> chrono::NaiveDate {
        let months = match self {
            Period::Month { .. } => 1,
            Period::Quarter { .. } => 3,
        };
        let next = self.start() + chrono::Months::new(months);
        next.pred_opt().expect("a day before")
    }

    /// A period has begun once its first day has come; reports for later
    /// periods are refused.
    pub fn has_begun(self, today: chrono::NaiveDate) -> bool {
        self.start() <= today
    }

    /// The cadence this period belongs to.
    pub fn cadence(self) -> Cadence {
        match self {
            Period::Month { .. } => Cadence::Monthly,
            Period::Quarter { .. } => Cadence::Quarterly,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
        }
    }
}

/// How often the responsible units of a task report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Monthly,
    Quarterly,
}

impl Cadence {
    /// The plan sets no reporting frequency (its 统计监测 paragraph asks only for
    /// 定期发布), so every task reports quarterly until an administrator says otherwise.
    pub const DEFAULT: Cadence = Cadence::Quarterly;
    pub const ALL: [Cadence; 2] = [Cadence::Monthly, Cadence::Quarterly];

    /// `monthly`/`quarterly`, or the Chinese a form or a spreadsheet writes (按月、季度…).
    pub fn parse(text: &str) -> Option<Cadence> {
        match text.trim() {
            "monthly" | "月" | "按月" | "月报" | "每月" => Some(Cadence::Monthly),
            "quarterly" | "季度" | "按季度" | "季报" | "每季度" => {
                Some(Cadence::Quarterly)
            }
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Cadence::Monthly => "按月",
            Cadence::Quarterly => "按季度",
        }
    }

    /// How a period of this cadence is written, for error messages.
    pub fn example(self) -> &'static str {
        match self {
            Cadence::Monthly => "2026-11",
            Cadence::Quarterly => "2026-Q3",
        }
    }

    /// The period of this cadence that contains `day`.
    pub fn period_containing(self, day: chrono::NaiveDate) -> Period {
        use chrono::Datelike;
        let year = day.year();
        match self {
            Cadence::Monthly => Period::Month {
                year,
                month: day.month(),
            },
            Cadence::Quarterly => Period::Quarter {
                year,
                quarter: (day.month() - 1) / 3 + 1,
            },
        }
    }

    /// The last period that has ended on `today`: the one whose reports are due.
    pub fn last_due(self, today: chrono::NaiveDate) -> Period {
        let current = self.period_containing(today).start();
        self.period_containing(current.pred_opt().expect("a day before"))
    }
}

/// Reads a reported value as a form or a spreadsheet cell writes it: a number,
/// optionally with thousands separators and followed by the indicator's `unit`
/// (12家, 1,000, 10%). A different unit is refused rather than converted.
pub fn parse_value(text: &str, unit: &str) -> Result<f64, String> {
    let normal: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '，'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '％' => '%',
            c => c,
        })
        .collect();
    let split = normal
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+')))
        .unwrap_or(normal.len());
    let (number, suffix) = (&normal[..split], normal[split..].trim());
    let value: f64 = number
        .parse()
        .map_err(|_| format!("数值“{}”应为数字", text.trim()))?;
    if !suffix.is_empty() && suffix != unit {
        return Err(format!(
            "数值“{}”的单位“{suffix}”与指标的单位“{unit}”不符：请按“{unit}”填写",
            text.trim()
        ));
    }
    Ok(value)
}

/// Checks a reported value against its indicator: a finite, non-negative
/// number, and a percentage written as percent (at most 100).
pub fn check_value(indicator: &Indicator, value: f64) -> Result<(), String> {
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "数值{value}无效：应为非负数，单位为“{}”",
            indicator.unit
        ));
    }
    if indicator.kind == IndicatorKind::Share && value > 100.0 {
        return Err(format!("数值{value}超过100：比例以百分数填写（10表示10%）"));
    }
    Ok(())
}

#[cfg(test)]
mod period_tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn periods_parse_print_and_know_when_they_are_due() {
        assert_eq!(Period::parse("2026-q3").unwrap().to_string(), "2026-Q3");
        assert_eq!(Period::parse("2026Q3").unwrap().to_string(), "2026-Q3");
        assert_eq!(Period::parse("2026-1").unwrap().to_string(), "2026-01");
        for bad in [
            "2026",
            "2026-13",
            "2026-Q5",
            "26-Q1",
            "下季度",
            "Q3",
            "2026-Q",
        ] {
            assert!(Period::parse(bad).unwrap_err().contains("无效"), "{bad}");
        }
        let today = day(2026, 11, 27);
        assert!(Period::parse("2026-Q4").unwrap().has_begun(today));
        assert!(!Period::parse("2027-Q1").unwrap().has_begun(today));
        assert!(!Period::parse("2026-12").unwrap().has_begun(today));
        assert_eq!(Cadence::Quarterly.last_due(today).to_string(), "2026-Q3");
        assert_eq!(Cadence::Monthly.last_due(today).to_string(), "2026-10");
        let january = day(2027, 1, 5);
        assert_eq!(Cadence::Quarterly.last_due(january).to_string(), "2026-Q4");
        assert_eq!(Cadence::Monthly.last_due(january).to_string(), "2026-12");
        assert_eq!(
            Cadence::Quarterly.period_containing(day(2026, 8, 31)),
            Period::Quarter {
                year: 2026,
                quarter: 3
            }
        );
    }

    #[test]
    fn cadences_read_both_languages_and_own_their_periods() {
        assert_eq!(Cadence::parse("按月"), Some(Cadence::Monthly));
        assert_eq!(Cadence::parse("quarterly"), Some(Cadence::Quarterly));
        assert_eq!(Cadence::parse("weekly"), None);
        assert_eq!(
            Period::parse("2026-10").unwrap().cadence(),
            Cadence::Monthly
        );
        assert_eq!(
            Period::parse("2026Q3").unwrap().cadence(),
            Cadence::Quarterly
        );
    }

    #[test]
    fn values_are_read_in_the_indicators_unit_only() {
        assert_eq!(parse_value("12", "家"), Ok(12.0));
        assert_eq!(parse_value(" 12 家", "家"), Ok(12.0));
        assert_eq!(parse_value("1,000", "家"), Ok(1000.0));
        assert_eq!(parse_value("１２％", "%"), Ok(12.0));
        assert_eq!(parse_value("-3", "家"), Ok(-3.0));
        let wrong = parse_value("12个", "家").unwrap_err();
        assert!(wrong.contains("“个”") && wrong.contains("“家”"), "{wrong}");
        assert!(parse_value("十二", "家").unwrap_err().contains("应为数字"));
        assert!(parse_value("", "家").is_err());

        let plan = Plan::shipped();
        let count = plan.indicator("T16-1").unwrap();
        assert_eq!(check_value(count, 13.0), Ok(()));
        assert!(check_value(count, -1.0).unwrap_err().contains("非负数"));
        assert!(check_value(count, f64::NAN).is_err());
        let share = plan.indicator("T21-1").unwrap();
        assert_eq!(check_value(share, 12.5), Ok(()));
        assert!(check_value(share, 120.0).unwrap_err().contains("百分数"));
        assert!(check_value(count, 120.0).is_ok());
    }

    #[test]
    fn units_are_found_by_short_or_official_name() {
        let plan = Plan::shipped();
        assert_eq!(plan.unit_by_name("省文旅厅").unwrap().id.as_str(), "U01");
        assert_eq!(
            plan.unit_by_name("山西省文化和旅游厅").unwrap().id.as_str(),
            "U01"
        );
        assert_eq!(
            plan.unit_by_name("山西省发展和改革委员会").unwrap().name,
            "省发展改革委"
        );
        assert!(plan.unit_by_name("各相关部门").unwrap().full_name.is_none());
        let mut broken = plan.clone();
        broken.units[1].full_name = broken.units[0].full_name.clone();
        assert!(matches!(
            broken.validate(),
            Err(PlanError::DuplicateUnit(_))
        ));
    }
}

/// Where an indicator is heading, from its reported values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outlook {
    OnTrack,
    AtRisk,
    OffTrack,
}

impl Outlook {
    pub fn zh(self) -> &'static str {
        match self {
            Outlook::OnTrack => "按期可达",
            Outlook::AtRisk => "存在风险",
            Outlook::OffTrack => "难以达标",
        }
    }
}

/// How [`project`] and [`outlook`] decide, as shown next to the status.
pub const OUTLOOK_METHOD: &str = "按各报告期数值做最小二乘线性拟合，外推到期限日；外推值不低于目标下限为“按期可达”，不低于下限的80%为“存在风险”，否则为“难以达标”。只有一个数据点时按当前值判断。";

/// The value a least-squares line through `series` (day, value) reaches on `deadline`.
pub fn project(series: &[(chrono::NaiveDate, f64)], deadline: chrono::NaiveDate) -> Option<f64> {
    let x = |d: chrono::NaiveDate| (d - deadline).num_days() as f64;
    match series {
        [] => None,
        [(_, v)] => Some(*v),
        _ => {
            let n = series.len() as f64;
            let mean_x = series.iter().map(|(d, _)| x(*d)).sum::<f64>() / n;
            let mean_y = series.iter().map(|(_, v)| v).sum::<f64>() / n;
            let sxx: f64 = series.iter().map(|(d, _)| (x(*d) - mean_x).powi(2)).sum();
            if sxx == 0.0 {
                return Some(mean_y);
            }
            let sxy: f64 = series
                .iter()
                .map(|(d, v)| (x(*d) - mean_x) * (v - mean_y))
                .sum();
            // At the deadline x = 0: the intercept.
            Some(mean_y - sxy / sxx * mean_x)
        }
    }
}

pub fn outlook(projected: f64, min: f64) -> Outlook {
    if projected >= min {
        Outlook::OnTrack
    } else if projected >= 0.8 * min {
        Outlook::AtRisk
    } else {
        Outlook::OffTrack
    }
}

#[cfg(test)]
mod outlook_tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 1).unwrap()
    }

    #[test]
    fn a_straight_line_is_extrapolated_exactly() {
        let series = [(d(2024, 1), 10.0), (d(2025, 1), 20.0)];
        let p = project(&series, d(2026, 1)).unwrap();
        assert!((p - 30.0).abs() < 0.1, "{p}");
        assert_eq!(outlook(p, 25.0), Outlook::OnTrack);
        assert_eq!(outlook(p, 36.0), Outlook::AtRisk);
        assert_eq!(outlook(p, 40.0), Outlook::OffTrack);
        assert_eq!(project(&[(d(2025, 1), 7.0)], d(2026, 1)), Some(7.0));
        assert_eq!(project(&[], d(2026, 1)), None);
    }
}
