//! Service quality reviews (好差评): the rules, with no IO.
//!
//! - [`Rating`]: the five levels of the national 政务服务好差评 scale; 不满意 and
//!   非常不满意 are 差评 (bad reviews).
//! - [`Aspect`] and [`aspects_for`]: what is rated for each NBS major category.
//! - [`WorkCalendar`]: working days from the State Council's 法定节假日 and 调休
//!   make-up workdays, and the rectification [`Deadlines`] computed from it.
//! - [`bayesian_average`] / [`QualityFormula`]: the quality score, with its formula as text.
//! - [`shingles`] / [`jaccard`] / [`near_duplicate`]: near-duplicate text detection.
//! - [`BurstRule`]: an outlet suddenly receiving many reviews.
//! - [`normalize_mobile`], [`phone_key`], [`pseudonym`]: reviewer identity that never
//!   reveals the phone number.
//! - [`validate_text`]: the bounds of a review's text.

use crate::service::MajorCategory;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeSet;

zh_enum!(
    /// The five levels, best first (5 to 1).
    Rating {
        VerySatisfied => ("5", "非常满意", "Very satisfied"),
        Satisfied => ("4", "满意", "Satisfied"),
        Fair => ("3", "基本满意", "Fairly satisfied"),
        Dissatisfied => ("2", "不满意", "Dissatisfied"),
        VeryDissatisfied => ("1", "非常不满意", "Very dissatisfied"),
    }
);

impl Rating {
    /// 5 for 非常满意 down to 1 for 非常不满意.
    pub fn value(self) -> u8 {
        match self {
            Rating::VerySatisfied => 5,
            Rating::Satisfied => 4,
            Rating::Fair => 3,
            Rating::Dissatisfied => 2,
            Rating::VeryDissatisfied => 1,
        }
    }

    pub fn from_value(v: i64) -> Option<Rating> {
        Rating::ALL
            .iter()
            .copied()
            .find(|r| i64::from(r.value()) == v)
    }

    /// 差评: 不满意 or 非常不满意.
    pub fn is_bad(self) -> bool {
        self.value() <= 2
    }
}

zh_enum!(
    /// What a review can rate besides the overall level.
    Aspect {
        Attitude => ("attitude", "服务态度", "Attitude"),
        Skill => ("skill", "专业水平", "Professional skill"),
        Price => ("price", "价格透明", "Transparent prices"),
        Hygiene => ("hygiene", "环境卫生", "Cleanliness"),
        Punctuality => ("punctuality", "守时", "Punctuality"),
        Safety => ("safety", "安全保障", "Safety"),
        GoodsQuality => ("goods", "商品质量", "Quality of goods"),
        Care => ("care", "照护质量", "Quality of care"),
        Food => ("food", "菜品质量", "Food"),
        Efficiency => ("efficiency", "办事效率", "Efficiency"),
    }
);

/// The aspects rated for outlets of a major category, most important first.
pub fn aspects_for(major: MajorCategory) -> &'static [Aspect] {
    use Aspect::*;
    match major.code().as_str() {
        // 居民和家庭服务: housekeeping, laundry, hairdressing, repair, childcare
        "01" => &[Attitude, Skill, Price, Punctuality, Hygiene],
        // 健康服务
        "02" => &[Attitude, Skill, Hygiene, Price, Efficiency],
        // 养老服务
        "03" => &[Care, Attitude, Safety, Hygiene, Food, Price],
        // 旅游游览和娱乐, 体育, 文化
        "04" | "05" | "06" => &[Attitude, Safety, Hygiene, Price],
        // 零售
        "07" => &[GoodsQuality, Price, Attitude, Hygiene],
        // 出行
        "08" => &[Punctuality, Safety, Attitude, Price],
        // 住宿餐饮
        "09" => &[Food, Hygiene, Attitude, Price],
        // 教育培训
        "10" => &[Skill, Attitude, Safety, Price],
        // 住房 (物业, 中介)
        "11" => &[Attitude, Efficiency, Price, Punctuality],
        _ => &[Attitude, Skill, Price, Punctuality],
    }
}

/// The bounds of a review's text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
pub const MIN_TEXT_CHARS: usize = 2;

/// Checks a review's text: not empty, not oversized, no control characters.
/// HTML is allowed as text: it is stored as written and always shown escaped.
pub fn validate_text(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let n = trimmed.chars().count();
    if n < MIN_TEXT_CHARS {
        return Err(format!("评价内容不能为空（至少{MIN_TEXT_CHARS}个字）"));
    }
    if n > MAX_TEXT_CHARS {
        return Err(format!("评价内容过长：{n}个字，最多{MAX_TEXT_CHARS}个字"));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("评价内容含有不可见的控制字符".into());
    }
    Ok(trimmed.to_string())
}

// ---------------------------------------------------------------------------
// Working days

/// The official calendars shipped with the platform (2025 and 2026).
pub const SHIPPED_CALENDAR: &str = include_str!("../data/holidays-cn.txt");

/// Working days: Monday to Friday, except 法定节假日 and 调休 days off, plus
/// 调休 make-up workdays on weekends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// The State Council calendars for 2025 and 2026.
    pub fn shipped() -> WorkCalendar {
        WorkCalendar::parse(SHIPPED_CALENDAR).expect("shipped calendar is valid")
    }

    /// Parses `YYYY-MM-DD holiday|workday` lines (`#` comments, blank lines;
    /// 放假 and 上班 are accepted too).
    pub fn parse(text: &str) -> Result<WorkCalendar, String> {
        let mut cal = WorkCalendar::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(date), Some(kind), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("第{}行应为“日期 holiday|workday”：{line}", i + 1));
            };
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| format!("第{}行日期“{date}”无效", i + 1))?;
            match kind {
                "holiday" | "放假" => cal.add_holiday(date),
                "workday" | "上班" => cal.add_workday(date),
                other => return Err(format!("第{}行类型“{other}”应为 holiday 或 workday", i + 1)),
            }
        }
        Ok(cal)
    }

    pub fn add_holiday(&mut self, d: NaiveDate) {
        self.workdays.remove(&d);
        self.holidays.insert(d);
    }

    pub fn add_workday(&mut self, d: NaiveDate) {
        self.holidays.remove(&d);
        self.workdays.insert(d);
    }

    /// The years the calendar has official data for.
    pub fn years(&self) -> BTreeSet<i32> {
        self.holidays
            .iter()
            .chain(&self.workdays)
            .map(|d| d.year())
            .collect()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The `n`-th working day after `from` (`from` itself never counts, so a
    /// case opened on a Friday evening with n = 1 is due the next Monday).
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in `(from, to]`; 0 when `to <= from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut d = from;
        let mut n = 0;
        while d < to {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

/// Rectification deadlines in working days (default: contact within 1,
/// rectify within 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    pub contact_days: u32,
    pub rectify_days: u32,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            contact_days: 1,
            rectify_days: 15,
        }
    }
}

impl Deadlines {
    /// `(contact_due, rectify_due)` for a case opened on `opened`.
    pub fn due(&self, cal: &WorkCalendar, opened: NaiveDate) -> (NaiveDate, NaiveDate) {
        (
            cal.add_working_days(opened, self.contact_days),
            cal.add_working_days(opened, self.rectify_days),
        )
    }
}

/// Whether a step due on `due` and not yet done (`done == None`) or done on
/// `done` is overdue as of `today`.
pub fn is_overdue(due: NaiveDate, done: Option<NaiveDate>, today: NaiveDate) -> bool {
    match done {
        Some(d) => d > due,
        None => today > due,
    }
}

// ---------------------------------------------------------------------------
// Quality score

/// The Bayesian average of `count` ratings summing to `sum`, shrunk towards
/// `prior` with the weight of `weight` imaginary ratings:
/// `(weight × prior + sum) / (weight + count)`.
pub fn bayesian_average(sum: f64, count: f64, prior: f64, weight: f64) -> f64 {
    if weight + count <= 0.0 {
        return prior;
    }
    (weight * prior + sum) / (weight + count)
}

/// The inputs of an outlet's score, to compute it and show how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityFormula {
    /// Weight C of the prior, in ratings.
    pub weight: f64,
    /// Prior m: the mean rating of the outlet's service type.
    pub prior: f64,
    /// Sum of the outlet's ratings.
    pub sum: f64,
    /// Number n of the outlet's ratings.
    pub count: f64,
}

impl QualityFormula {
    pub fn score(&self) -> f64 {
        bayesian_average(self.sum, self.count, self.prior, self.weight)
    }

    /// The formula with its numbers, e.g.
    /// `(C×m + Σr) ÷ (C + n) = (5×4.20 + 38) ÷ (5 + 9) = 4.21`.
    pub fn display(&self) -> String {
        format!(
            "(C×m + Σr) ÷ (C + n) = ({}×{:.2} + {}) ÷ ({} + {}) = {:.2}",
            trim_number(self.weight),
            self.prior,
            trim_number(self.sum),
            trim_number(self.weight),
            trim_number(self.count),
            self.score()
        )
    }
}

fn trim_number(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

/// The prior when a service type has no ratings yet: the scale's midpoint.
pub const NEUTRAL_PRIOR: f64 = 3.0;

// ---------------------------------------------------------------------------
// Near-duplicate text

/// Normalises text for comparison: letters and digits only, lower case.
fn normalise(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A text's hashed shingles as a set: sorted, each once, so that two sets
/// are compared in one merge, without hashing them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shingles(Vec<u64>);

impl Shingles {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// |self ∩ other|.
    fn common(&self, other: &Shingles) -> usize {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut n) = (0, 0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    n += 1;
                    i += 1;
                    j += 1;
                }
            }
        }
        n
    }
}

/// The set of `k`-character shingles (hashed) of the normalised text; a text
/// shorter than `k` is its own single shingle.
pub fn shingles(text: &str, k: usize) -> Shingles {
    let chars = normalise(text);
    let k = k.max(1);
    let hash = |w: &[char]| {
        // FNV-1a: stable across platforms and versions.
        let mut h: u64 = 0xcbf29ce484222325;
        for c in w {
            for b in (*c as u32).to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x100000001b3);
            }
        }
        h
    };
    let mut hashes: Vec<u64> = if chars.is_empty() {
        Vec::new()
    } else if chars.len() < k {
        vec![hash(&chars)]
    } else {
        chars.windows(k).map(hash).collect()
    };
    hashes.sort_unstable();
    hashes.dedup();
    Shingles(hashes)
}

/// Jaccard similarity |A∩B| / |A∪B|; two empty sets are identical.
pub fn jaccard(a: &Shingles, b: &Shingles) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.common(b);
    let union = a.len() + b.len() - inter;
    inter as f64 / union as f64
}

/// Shingle size and threshold of the near-duplicate rule.
pub const SHINGLE_K: usize = 3;
pub const DUPLICATE_THRESHOLD: f64 = 0.8;

/// Whether two texts are near-duplicates (3-character shingles, Jaccard ≥ 0.8).
pub fn near_duplicate(a: &str, b: &str) -> bool {
    similar_shingles(&shingles(a, SHINGLE_K), &shingles(b, SHINGLE_K))
}

/// The near-duplicate rule on texts already shingled with [`SHINGLE_K`], for
/// comparing one text with many without shingling it again.
pub fn similar_shingles(a: &Shingles, b: &Shingles) -> bool {
    // |A∩B| ≤ the smaller size and |A∪B| ≥ the larger, so sets whose sizes
    // differ too much cannot reach the threshold: no need to compare them.
    let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
    if large > 0 && (small as f64 / large as f64) < DUPLICATE_THRESHOLD {
        return false;
    }
    jaccard(a, b) >= DUPLICATE_THRESHOLD
}

// ---------------------------------------------------------------------------
// Burst detection

/// An outlet is bursting when the reviews of the last `window_hours` exceed
/// both `min_count` and `factor` times its usual number per window, measured
/// over the `baseline_days` before the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BurstRule {
    pub window_hours: u32,
    pub baseline_days: u32,
    pub min_count: u32,
    pub factor: f64,
}

impl Default for BurstRule {
    fn default() -> Self {
        BurstRule {
            window_hours: 24,
            baseline_days: 30,
            min_count: 10,
            factor: 5.0,
        }
    }
}

impl BurstRule {
    /// `recent`: reviews in the window (including the new one); `baseline`:
    /// reviews in the baseline period before the window.
    pub fn is_burst(&self, recent: u64, baseline: u64) -> bool {
        let windows =
            (f64::from(self.baseline_days) * 24.0 / f64::from(self.window_hours.max(1))).max(1.0);
        let usual = baseline as f64 / windows;
        recent as f64 > f64::from(self.min_count) && recent as f64 > self.factor * usual
    }
}

// ---------------------------------------------------------------------------
// Reviewer identity

/// A mainland mobile number as 11 digits (`+86`, spaces and dashes removed).
pub fn normalize_mobile(input: &str) -> Result<String, String> {
    let digits: String = input
        .trim()
        .trim_start_matches("+86")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let b = digits.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        Ok(digits)
    } else {
        Err(format!(
            "手机号码“{}”无效，应为11位大陆手机号",
            input.trim()
        ))
    }
}

fn hmac_hex(key: &[u8], domain: &str, data: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(data.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored identity of a phone number: a keyed hash, so that the table of
/// reviewers cannot be reversed by hashing all 10^10 numbers without the key.
pub fn phone_key(key: &[u8], mobile: &str) -> String {
    hmac_hex(key, "lifeservice/reviewer-phone", mobile)
}

/// The public name of a reviewer: stable (same reviewer, same name on every
/// outlet) and derived from the phone key by a second keyed hash, so it says
/// nothing about the number. E.g. `居民·7K3QX9`.
pub fn pseudonym(key: &[u8], phone_key: &str) -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let h = hmac_hex(key, "lifeservice/pseudonym", phone_key);
    let n = u64::from_str_radix(&h[..16], 16).unwrap_or_default();
    let tag: String = (0..6)
        .map(|i| ALPHABET[((n >> (i * 5)) & 31) as usize] as char)
        .collect();
    format!("居民·{tag}")
}

/// A reviewer's phone as an officer may see it in the audited view: masked.
pub fn masked_mobile(mobile: &str) -> String {
    crate::privacy::mask_phone(mobile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ratings() {
        assert_eq!(Rating::from_value(5), Some(Rating::VerySatisfied));
        assert_eq!(Rating::from_value(0), None);
        assert_eq!(Rating::from_value(6), None);
        assert_eq!(Rating::parse("基本满意"), Some(Rating::Fair));
        let bad: Vec<u8> = Rating::ALL
            .iter()
            .filter(|r| r.is_bad())
            .map(|r| r.value())
            .collect();
        assert_eq!(bad, vec![2, 1]);
        assert_eq!(Rating::Dissatisfied.zh(), "不满意");
    }

    #[test]
    fn aspects_per_category() {
        for major in MajorCategory::all() {
            let a = aspects_for(major);
            assert!(a.len() >= 3, "{major:?}");
            let unique: HashSet<_> = a.iter().collect();
            assert_eq!(unique.len(), a.len());
        }
        assert!(aspects_for(MajorCategory::parse("03").unwrap()).contains(&Aspect::Care));
        assert_eq!(Aspect::parse("服务态度"), Some(Aspect::Attitude));
    }

    #[test]
    fn text_bounds() {
        assert!(validate_text("  ").is_err());
        assert!(validate_text(&"好".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(validate_text("很好\u{0}").is_err());
        assert_eq!(validate_text(" <b>好</b> ").unwrap(), "<b>好</b>");
    }

    #[test]
    fn shipped_calendar_2025_2026() {
        let cal = WorkCalendar::shipped();
        assert_eq!(cal.years(), [2025, 2026].into_iter().collect());
        // 2025 春节: 1/28–2/4 off, Sunday 1/26 and Saturday 2/8 worked.
        assert!(!cal.is_working_day(d(2025, 1, 28)));
        assert!(!cal.is_working_day(d(2025, 2, 4)));
        assert!(cal.is_working_day(d(2025, 1, 26)));
        assert!(cal.is_working_day(d(2025, 2, 8)));
        // 2026 国庆: 10/1–10/7 off, 9/20 and 10/10 worked.
        assert!(!cal.is_working_day(d(2026, 10, 7)));
        assert!(cal.is_working_day(d(2026, 10, 10)));
        assert!(cal.is_working_day(d(2026, 9, 20)));
        // An ordinary weekend and weekday.
        assert!(!cal.is_working_day(d(2026, 11, 28)));
        assert!(cal.is_working_day(d(2026, 11, 27)));
        // 2026 元旦: Sunday 1/4 is worked.
        assert!(cal.is_working_day(d(2026, 1, 4)));
    }

    #[test]
    fn deadlines_skip_holidays_and_count_makeup_days() {
        let cal = WorkCalendar::shipped();
        let dl = Deadlines::default();
        // Opened Friday 2026-11-27: contact by Monday 11-30.
        assert_eq!(dl.due(&cal, d(2026, 11, 27)).0, d(2026, 11, 30));
        // Opened 2026-09-30 (Wed): 10/1–10/7 off, 10/8 Thu is the first working day.
        assert_eq!(dl.due(&cal, d(2026, 9, 30)).0, d(2026, 10, 8));
        // Opened 2026-02-13 (Fri): Saturday 2/14 is a make-up workday.
        assert_eq!(dl.due(&cal, d(2026, 2, 13)).0, d(2026, 2, 14));
        // 15 working days from 2026-09-30: 10/8, 9, 10 (Sat, worked), 12–16, 19–23, 26, 27.
        let (_, rectify) = dl.due(&cal, d(2026, 9, 30));
        assert_eq!(cal.working_days_between(d(2026, 9, 30), rectify), 15);
        assert_eq!(rectify, d(2026, 10, 27));
        assert!(is_overdue(d(2026, 10, 8), None, d(2026, 10, 9)));
        assert!(!is_overdue(d(2026, 10, 8), None, d(2026, 10, 8)));
        assert!(is_overdue(
            d(2026, 10, 8),
            Some(d(2026, 10, 9)),
            d(2026, 10, 9)
        ));
        assert!(!is_overdue(
            d(2026, 10, 8),
            Some(d(2026, 10, 8)),
            d(2027, 1, 1)
        ));
    }

    #[test]
    fn calendar_parse_errors() {
        assert!(WorkCalendar::parse("2025-13-01 holiday").is_err());
        assert!(WorkCalendar::parse("2025-01-01 party").is_err());
        assert!(WorkCalendar::parse("2025-01-01").is_err());
        let cal = WorkCalendar::parse("# c\n\n2030-01-01 放假\n2030-01-05 上班").unwrap();
        assert!(!cal.is_working_day(d(2030, 1, 1)));
        assert!(cal.is_working_day(d(2030, 1, 5)));
    }

    #[test]
    fn bayesian_formula() {
        let f = QualityFormula {
            weight: 5.0,
            prior: 4.2,
            sum: 38.0,
            count: 9.0,
        };
        assert!((f.score() - (5.0 * 4.2 + 38.0) / 14.0).abs() < 1e-12);
        assert_eq!(
            f.display(),
            "(C×m + Σr) ÷ (C + n) = (5×4.20 + 38) ÷ (5 + 9) = 4.21"
        );
        assert_eq!(bayesian_average(0.0, 0.0, 4.0, 5.0), 4.0);
        assert_eq!(bayesian_average(0.0, 0.0, 4.0, 0.0), 4.0);
    }

    #[test]
    fn duplicates() {
        assert!(near_duplicate(
            "服务很好，师傅很专业，准时上门！",
            "服务很好,师傅很专业,准时上门"
        ));
        assert!(!near_duplicate(
            "服务很好，师傅很专业，准时上门",
            "价格太贵了，态度也不好"
        ));
        assert!(near_duplicate("GOOD service", "good  service!"));
    }

    #[test]
    fn bursts() {
        let rule = BurstRule::default();
        // 30 days × 1 window/day; 60 reviews usual = 2 per day.
        assert!(!rule.is_burst(5, 60));
        assert!(!rule.is_burst(10, 0), "at most min_count is never a burst");
        assert!(rule.is_burst(11, 0));
        assert!(!rule.is_burst(11, 90), "usual 3/day × 5 = 15");
        assert!(rule.is_burst(16, 90));
    }

    #[test]
    fn identity() {
        assert_eq!(
            normalize_mobile("+86 138-1234-5678").unwrap(),
            "13812345678"
        );
        assert!(normalize_mobile("12812345678").is_err());
        assert!(normalize_mobile("1381234567").is_err());
        assert!(normalize_mobile("1381234567a").is_err());
        let key = b"k1";
        let pk = phone_key(key, "13812345678");
        assert_eq!(pk.len(), 64);
        assert_ne!(pk, phone_key(b"k2", "13812345678"));
        let name = pseudonym(key, &pk);
        assert_eq!(name, pseudonym(key, &pk));
        assert!(name.starts_with("居民·"));
        assert!(!name.contains("5678"));
        assert_eq!(masked_mobile("13812345678"), "138****5678");
    }

    /// Jaccard and the near-duplicate rule as this module computes them.
    fn judged(a: &str, b: &str) -> (f64, bool) {
        let (sa, sb) = (shingles(a, SHINGLE_K), shingles(b, SHINGLE_K));
        (jaccard(&sa, &sb), similar_shingles(&sa, &sb))
    }

    /// The same from the definition, on hash sets of the same shingles.
    fn judged_as_sets(a: &str, b: &str) -> (f64, bool) {
        let set = |t: &str| -> HashSet<u64> { shingles(t, SHINGLE_K).0.into_iter().collect() };
        let (ha, hb) = (set(a), set(b));
        let union = ha.union(&hb).count();
        let j = if union == 0 {
            1.0
        } else {
            ha.intersection(&hb).count() as f64 / union as f64
        };
        (j, j >= DUPLICATE_THRESHOLD)
    }

    proptest! {
        #[test]
        fn bayes_lies_between_prior_and_mean(n in 1u32..1000, mean in 1.0f64..=5.0, prior in 1.0f64..=5.0, w in 0.0f64..50.0) {
            let sum = mean * f64::from(n);
            let s = bayesian_average(sum, f64::from(n), prior, w);
            prop_assert!(s >= mean.min(prior) - 1e-9 && s <= mean.max(prior) + 1e-9);
        }

        #[test]
        fn working_days_roundtrip(offset in 0u64..700, n in 0u32..40) {
            let cal = WorkCalendar::shipped();
            let from = d(2025, 1, 1) + Days::new(offset);
            let due = cal.add_working_days(from, n);
            prop_assert_eq!(cal.working_days_between(from, due), n);
            prop_assert!(n == 0 || cal.is_working_day(due));
            prop_assert!(due >= from);
        }

        #[test]
        fn jaccard_is_symmetric_and_reflexive(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            let (sa, sb) = (shingles(&a, 3), shingles(&b, 3));
            prop_assert!((jaccard(&sa, &sb) - jaccard(&sb, &sa)).abs() < 1e-12);
            prop_assert_eq!(jaccard(&sa, &sa), 1.0);
            prop_assert!(near_duplicate(&a, &a));
        }

        #[test]
        fn jaccard_and_the_rule_match_the_set_definition(a in "[a-c甲乙]{0,30}", b in "[a-c甲乙]{0,30}") {
            prop_assert_eq!(judged(&a, &b), judged_as_sets(&a, &b));
        }

        /// Near copies are where the rule says yes and the size bound matters.
        #[test]
        fn near_copies_are_judged_by_the_set_definition(a in "[a-z甲乙丙]{5,60}", at in 0usize..60, inserted in "[a-z]{0,8}") {
            let at = a.char_indices().map(|(i, _)| i).nth(at).unwrap_or(a.len());
            let b = format!("{}{inserted}{}", &a[..at], &a[at..]);
            prop_assert_eq!(judged(&a, &b), judged_as_sets(&a, &b));
        }

        #[test]
        fn pseudonym_never_shows_digits_of_phone(p in "1[3-9][0-9]{9}") {
            let name = pseudonym(b"key", &phone_key(b"key", &p));
            prop_assert_eq!(name.chars().count(), 9);
            prop_assert!(!name.contains(&p[7..]));
        }
    }
}
