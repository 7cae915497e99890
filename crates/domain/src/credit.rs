//! Credit disclosure (信用信息归集公示): the enumerations of the national
//! 双公示 data items, validity periods, penalty severity and the disclosure
//! windows that decide how long a penalty stays public.
//!
//! Sources of the rules, as the UI shows them:
//! - [`SOURCE_NDRC_36`] — 国家发展改革委《信用修复管理办法》(令第36号，2026-04-01施行)
//!   第二章 — 轻微失信信息原则上不予公示，确有必要的最长不超过3个月，法定责任履行完毕即可申请修复；
//!   一般失信信息最短公示3个月、最长1年；严重失信信息最短1年、最长3年；期限自文书认定之日起算；
//!   最短公示期届满后方可申请修复，最长公示期届满后自动停止公示。
//! - [`SOURCE_SAMR_13`] — 《市场监督管理行政处罚信息公示规定》(2021) 第二条、第十三条 — 仅受警告的不予公示；
//!   仅受通报批评或较低数额罚款的，届满三个月停止公示；其他届满三年停止公示。

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

pub const SOURCE_NDRC_36: &str =
    "国家发展改革委《信用修复管理办法》（令第36号，2026年4月1日起施行）";
pub const SOURCE_SAMR_13: &str = "《市场监督管理行政处罚信息公示规定》第二条、第十三条";

zh_enum!(
    /// Kinds of credit record kept under an entity's name.
    RecordKind {
        Licence => ("licence", "行政许可"),
        Penalty => ("penalty", "行政处罚"),
        Inspection => ("inspection", "抽查检查结果"),
        Listing => ("listing", "名录名单"),
        Pledge => ("pledge", "信用承诺"),
    }
);

zh_enum!(
    /// 行政相对人类别 of the 双公示 templates.
    SubjectCategory {
        Organisation => ("organisation", "法人及非法人组织"),
        NaturalPerson => ("natural_person", "自然人"),
        IndividualBusiness => ("individual_business", "个体工商户"),
    }
);

impl SubjectCategory {
    /// Natural persons and 个体工商户 are people: their ID numbers are never shown.
    pub fn is_person(self) -> bool {
        !matches!(self, SubjectCategory::Organisation)
    }
}

zh_enum!(
    /// 许可类别 of the licence template.
    LicenceCategory {
        Ordinary => ("ordinary", "普通"),
        Franchise => ("franchise", "特许"),
        Recognition => ("recognition", "认可"),
        Approval => ("approval", "核准"),
        Registration => ("registration", "登记"),
        Other => ("other", "其他"),
    }
);

zh_enum!(
    /// Severity of a penalty as dishonesty information (失信程度), 令第36号.
    Severity {
        Minor => ("minor", "轻微"),
        General => ("general", "一般"),
        Serious => ("serious", "严重"),
        SpecificSerious => ("specific_serious", "特定严重"),
    }
);

zh_enum!(
    /// The two lists an entity can be put on, with dates in and out.
    ListKind {
        Abnormal => ("abnormal", "经营异常名录"),
        SeriousDishonest => ("serious_dishonest", "严重违法失信名单"),
    }
);

/// The end of a validity period: a date, or 长期 (written `2099/12/31`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ValidUntil {
    On(NaiveDate),
    Indefinite,
}

impl ValidUntil {
    /// `2099/12/31` (and any later date) is the templates' way of writing 长期.
    pub fn from_date(date: NaiveDate) -> ValidUntil {
        if date >= indefinite_marker() {
            ValidUntil::Indefinite
        } else {
            ValidUntil::On(date)
        }
    }

    /// The storage form: ISO date, or `2099-12-31` for 长期 so that text order is date order.
    pub fn storage(self) -> String {
        match self {
            ValidUntil::On(d) => d.to_string(),
            ValidUntil::Indefinite => indefinite_marker().to_string(),
        }
    }

    pub fn zh(self) -> String {
        match self {
            ValidUntil::On(d) => d.format("%Y/%m/%d").to_string(),
            ValidUntil::Indefinite => "长期".to_string(),
        }
    }
}

fn indefinite_marker() -> NaiveDate {
    NaiveDate::from_ymd_opt(2099, 12, 31).expect("valid date")
}

/// Parses the dates the templates write: `YYYY/MM/DD` or ISO `YYYY-MM-DD`
/// (one- or two-digit month and day).
pub fn parse_template_date(input: &str) -> Option<NaiveDate> {
    let s = input.trim();
    let sep = if s.contains('/') { '/' } else { '-' };
    let mut parts = s.split(sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() > 2 || d.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// A licence's standing on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceState {
    Valid,
    /// Valid, but ending within [`EXPIRING_DAYS`].
    Expiring,
    Expired,
    NotYetValid,
}

pub const EXPIRING_DAYS: u64 = 30;

impl LicenceState {
    pub fn on(today: NaiveDate, from: Option<NaiveDate>, until: ValidUntil) -> LicenceState {
        if from.is_some_and(|f| f > today) {
            return LicenceState::NotYetValid;
        }
        match until {
            ValidUntil::Indefinite => LicenceState::Valid,
            ValidUntil::On(end) if end < today => LicenceState::Expired,
            ValidUntil::On(end) if (end - today).num_days() <= EXPIRING_DAYS as i64 => {
                LicenceState::Expiring
            }
            ValidUntil::On(_) => LicenceState::Valid,
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            LicenceState::Valid => "有效",
            LicenceState::Expiring => "即将到期",
            LicenceState::Expired => "已过期",
            LicenceState::NotYetValid => "尚未生效",
        }
    }
}

/// What decides a penalty's disclosure window.
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltyTerms {
    pub decision_date: NaiveDate,
    /// 处罚类别, e.g. `警告;罚款`.
    pub categories: String,
    pub fine_wan_yuan: Option<f64>,
    /// The severity stated by the department, if any.
    pub severity: Option<Severity>,
    /// 处罚机关 is a market-regulation authority (市场监督管理).
    pub market_regulation: bool,
    /// 公示截止期 when the record states it.
    pub stated_until: Option<NaiveDate>,
}

/// The configurable rules; [`Default`] is the published national rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisclosureRules {
    /// Months a 轻微 penalty is published; 0 = not published (the default, "原则上不予公示").
    pub minor_months: u32,
    pub general_min_months: u32,
    pub general_max_months: u32,
    pub serious_min_months: u32,
    pub serious_max_months: u32,
    /// 市场监管 "较低数额罚款": at or below this many 万元 (set by each province).
    pub market_small_fine_wan: f64,
    pub market_short_months: u32,
    pub market_long_months: u32,
    /// A fine at or above this many 万元 makes an unstated severity 严重.
    pub serious_fine_wan: f64,
}

impl Default for DisclosureRules {
    fn default() -> Self {
        DisclosureRules {
            minor_months: 0,
            general_min_months: 3,
            general_max_months: 12,
            serious_min_months: 12,
            serious_max_months: 36,
            market_small_fine_wan: 1.0,
            market_short_months: 3,
            market_long_months: 36,
            serious_fine_wan: 100.0,
        }
    }
}

/// When a penalty stops being public and when its entity may apply for repair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    pub severity: Severity,
    /// Last day on which the record is public; `None`: never published.
    pub publish_until: Option<NaiveDate>,
    /// First day a credit repair application is accepted; `None`: not repairable.
    pub repairable_from: Option<NaiveDate>,
    /// The rule applied, in Chinese, with its source.
    pub rule: String,
}

impl DisclosureRules {
    /// The severity stated, else implied by what was imposed: revocation,
    /// closure or a bar from practice, or a very large fine, is 严重; a
    /// warning or public criticism alone is 轻微; anything else is 一般.
    pub fn severity(&self, terms: &PenaltyTerms) -> Severity {
        if let Some(s) = terms.severity {
            return s;
        }
        let c = terms.categories.as_str();
        let grave = [
            "吊销",
            "责令关闭",
            "限制从业",
            "限制开展生产经营活动",
            "行政拘留",
        ];
        if grave.iter().any(|g| c.contains(g))
            || terms
                .fine_wan_yuan
                .is_some_and(|f| f >= self.serious_fine_wan)
        {
            return Severity::Serious;
        }
        if only_reprimand(c) && terms.fine_wan_yuan.unwrap_or(0.0) == 0.0 {
            return Severity::Minor;
        }
        Severity::General
    }

    pub fn window(&self, terms: &PenaltyTerms) -> Window {
        let severity = self.severity(terms);
        let (min, max) = self.periods(severity);
        let repairable_from = match severity {
            Severity::SpecificSerious => None,
            _ => Some(add_months(terms.decision_date, min)),
        };
        let (publish_until, rule) = if let Some(stated) = terms.stated_until {
            (Some(stated), "按处罚决定载明的公示截止期".to_string())
        } else if terms.market_regulation {
            self.market_window(terms)
        } else if max == 0 {
            (
                None,
                format!(
                    "{}失信信息原则上不予公示（{SOURCE_NDRC_36}）",
                    severity.zh()
                ),
            )
        } else {
            let until = last_day(terms.decision_date, max);
            (
                Some(until),
                format!(
                    "{}失信信息公示{}，自处罚决定日期起算（{SOURCE_NDRC_36}）",
                    severity.zh(),
                    months_zh(max)
                ),
            )
        };
        Window {
            severity,
            publish_until,
            repairable_from,
            rule,
        }
    }

    fn periods(&self, severity: Severity) -> (u32, u32) {
        match severity {
            Severity::Minor => (0, self.minor_months),
            Severity::General => (self.general_min_months, self.general_max_months),
            Severity::Serious | Severity::SpecificSerious => {
                (self.serious_min_months, self.serious_max_months)
            }
        }
    }

    fn market_window(&self, terms: &PenaltyTerms) -> (Option<NaiveDate>, String) {
        let c = terms.categories.as_str();
        let fine = terms.fine_wan_yuan.unwrap_or(0.0);
        if c.trim() == "警告" && fine == 0.0 {
            return (
                None,
                format!("仅受警告的行政处罚不予公示（{SOURCE_SAMR_13}）"),
            );
        }
        let short = only_reprimand_or_fine(c) && fine <= self.market_small_fine_wan;
        let months = if short {
            self.market_short_months
        } else {
            self.market_long_months
        };
        let what = if short {
            format!(
                "仅受通报批评或较低数额罚款（不超过{}万元）",
                self.market_small_fine_wan
            )
        } else {
            "其他行政处罚".to_string()
        };
        (
            Some(last_day(terms.decision_date, months)),
            format!("{what}公示{}（{SOURCE_SAMR_13}）", months_zh(months)),
        )
    }

    /// The rules in words, for the page that explains them.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "轻微：{}，法定责任履行完毕即可申请信用修复（{SOURCE_NDRC_36}）",
                if self.minor_months == 0 {
                    "原则上不予公示".to_string()
                } else {
                    format!("公示{}", months_zh(self.minor_months))
                }
            ),
            format!(
                "一般：最短公示{}，最长{}（{SOURCE_NDRC_36}）",
                months_zh(self.general_min_months),
                months_zh(self.general_max_months)
            ),
            format!(
                "严重：最短公示{}，最长{}；特定严重失信信息不可修复（{SOURCE_NDRC_36}）",
                months_zh(self.serious_min_months),
                months_zh(self.serious_max_months)
            ),
            format!(
                "市场监管部门的处罚：仅受警告的不予公示；仅受通报批评或不超过{}万元罚款的公示{}；其他公示{}（{SOURCE_SAMR_13}）",
                self.market_small_fine_wan,
                months_zh(self.market_short_months),
                months_zh(self.market_long_months)
            ),
            "处罚决定载明公示截止期的，以载明日期为准；期限自处罚决定日期起算，届满之日次日起不再公开".to_string(),
        ]
    }
}

fn only_reprimand(categories: &str) -> bool {
    split_categories(categories).all(|c| matches!(c, "警告" | "通报批评"))
}

fn only_reprimand_or_fine(categories: &str) -> bool {
    split_categories(categories).all(|c| matches!(c, "警告" | "通报批评" | "罚款"))
}

fn split_categories(categories: &str) -> impl Iterator<Item = &str> {
    categories
        .split(['；', ';', '、', ',', '，', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The last public day of a window of `months` starting on `start`:
/// a one-year window from 2025-03-10 ends on 2026-03-09.
fn last_day(start: NaiveDate, months: u32) -> NaiveDate {
    add_months(start, months).pred_opt().unwrap_or(start)
}

fn months_zh(months: u32) -> String {
    if months.is_multiple_of(12) && months > 0 {
        format!("{}年", months / 12)
    } else {
        format!("{months}个月")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_template_date(s).unwrap()
    }

    fn terms(categories: &str, fine: Option<f64>) -> PenaltyTerms {
        PenaltyTerms {
            decision_date: d("2025/03/10"),
            categories: categories.into(),
            fine_wan_yuan: fine,
            severity: None,
            market_regulation: false,
            stated_until: None,
        }
    }

    #[test]
    fn template_dates_and_indefinite() {
        assert_eq!(d("2024/3/1"), d("2024-03-01"));
        assert_eq!(parse_template_date("2024/02/30"), None);
        assert_eq!(parse_template_date("24/02/03"), None);
        assert_eq!(parse_template_date("2024/02/03/01"), None);
        assert_eq!(
            ValidUntil::from_date(d("2099/12/31")),
            ValidUntil::Indefinite
        );
        assert_eq!(ValidUntil::Indefinite.zh(), "长期");
        assert!(ValidUntil::On(d("2030/01/01")) < ValidUntil::Indefinite);
        assert_eq!(ValidUntil::Indefinite.storage(), "2099-12-31");
    }

    #[test]
    fn licence_states() {
        let today = d("2026-11-27");
        let on = |s: &str| ValidUntil::On(d(s));
        assert_eq!(
            LicenceState::on(today, None, ValidUntil::Indefinite),
            LicenceState::Valid
        );
        assert_eq!(
            LicenceState::on(today, None, on("2026-11-26")),
            LicenceState::Expired
        );
        assert_eq!(
            LicenceState::on(today, None, on("2026-11-27")),
            LicenceState::Expiring
        );
        assert_eq!(
            LicenceState::on(today, None, on("2026-12-27")),
            LicenceState::Expiring
        );
        assert_eq!(
            LicenceState::on(today, None, on("2026-12-28")),
            LicenceState::Valid
        );
        assert_eq!(
            LicenceState::on(today, Some(d("2026-12-01")), on("2027-12-01")),
            LicenceState::NotYetValid
        );
    }

    #[test]
    fn severity_is_implied_by_what_was_imposed() {
        let rules = DisclosureRules::default();
        assert_eq!(rules.severity(&terms("警告", None)), Severity::Minor);
        assert_eq!(
            rules.severity(&terms("通报批评", Some(0.0))),
            Severity::Minor
        );
        assert_eq!(rules.severity(&terms("罚款", Some(0.5))), Severity::General);
        assert_eq!(
            rules.severity(&terms("罚款;吊销许可证件", Some(1.0))),
            Severity::Serious
        );
        assert_eq!(
            rules.severity(&terms("罚款", Some(150.0))),
            Severity::Serious
        );
        let mut stated = terms("警告", None);
        stated.severity = Some(Severity::General);
        assert_eq!(rules.severity(&stated), Severity::General);
    }

    #[test]
    fn windows_follow_ndrc_order_36() {
        let rules = DisclosureRules::default();
        let minor = rules.window(&terms("警告", None));
        assert_eq!(
            minor.publish_until, None,
            "轻微 is not published by default"
        );
        assert_eq!(minor.repairable_from, Some(d("2025-03-10")));

        let general = rules.window(&terms("罚款", Some(0.5)));
        assert_eq!(general.publish_until, Some(d("2026-03-09")));
        assert_eq!(general.repairable_from, Some(d("2025-06-10")));
        assert!(general.rule.contains("令第36号"));

        let serious = rules.window(&terms("吊销许可证件", None));
        assert_eq!(serious.publish_until, Some(d("2028-03-09")));
        assert_eq!(serious.repairable_from, Some(d("2026-03-10")));

        let mut specific = terms("罚款", Some(2.0));
        specific.severity = Some(Severity::SpecificSerious);
        let w = rules.window(&specific);
        assert_eq!(w.repairable_from, None);
        assert_eq!(w.publish_until, Some(d("2028-03-09")));
    }

    #[test]
    fn minor_may_be_published_briefly_by_configuration() {
        let rules = DisclosureRules {
            minor_months: 3,
            ..DisclosureRules::default()
        };
        assert_eq!(
            rules.window(&terms("警告", None)).publish_until,
            Some(d("2025-06-09"))
        );
    }

    #[test]
    fn market_regulation_follows_article_13() {
        let rules = DisclosureRules::default();
        let market = |c: &str, fine| PenaltyTerms {
            market_regulation: true,
            ..terms(c, fine)
        };
        let warning = rules.window(&market("警告", None));
        assert_eq!(warning.publish_until, None);
        assert!(warning.rule.contains("第十三条"));
        assert_eq!(
            rules.window(&market("罚款", Some(0.8))).publish_until,
            Some(d("2025-06-09"))
        );
        assert_eq!(
            rules.window(&market("通报批评", None)).publish_until,
            Some(d("2025-06-09"))
        );
        assert_eq!(
            rules
                .window(&market("罚款;没收违法所得", Some(0.8)))
                .publish_until,
            Some(d("2028-03-09"))
        );
        assert_eq!(
            rules.window(&market("罚款", Some(5.0))).publish_until,
            Some(d("2028-03-09"))
        );
    }

    #[test]
    fn a_stated_deadline_wins() {
        let mut t = terms("罚款", Some(0.5));
        t.stated_until = Some(d("2025-12-31"));
        assert_eq!(
            DisclosureRules::default().window(&t).publish_until,
            Some(d("2025-12-31"))
        );
    }

    #[test]
    fn month_ends_are_clamped() {
        let mut t = terms("罚款", Some(0.5));
        t.decision_date = d("2024-02-29");
        // One year on from 29 Feb is 28 Feb 2025 (clamped); the last public day is the day before.
        assert_eq!(
            DisclosureRules::default().window(&t).publish_until,
            Some(d("2025-02-27"))
        );
    }

    #[test]
    fn enumerations_parse_terms_and_codes() {
        assert_eq!(
            LicenceCategory::parse("核准"),
            Some(LicenceCategory::Approval)
        );
        assert_eq!(
            SubjectCategory::parse("个体工商户"),
            Some(SubjectCategory::IndividualBusiness)
        );
        assert!(SubjectCategory::NaturalPerson.is_person());
        assert_eq!(
            Severity::parse("specific_serious"),
            Some(Severity::SpecificSerious)
        );
        assert_eq!(LicenceCategory::parse("特别"), None);
        assert!(LicenceCategory::choices().contains("登记"));
    }
}
