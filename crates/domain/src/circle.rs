//! Grading of a community's 一刻钟便民生活圈 from what its residents reach on
//! foot. The formats and their classes (基本保障类, 品质提升类) come from the
//! Ministry of Commerce 《城市一刻钟便民生活圈建设指南》; the thresholds that
//! turn reach into a grade are the platform's defaults, configurable per
//! deployment and shown in the UI beside every grade.

use crate::service::{CircleFormat, ServiceType};
use serde::{Deserialize, Serialize};

/// The walking levels: 5, 10 and 15 minutes.
pub const LEVEL_MINUTES: [u32; 3] = [5, 10, 15];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Some basic format is missing within 15 minutes.
    Unmet,
    /// 基础型
    Basic,
    /// 提升型
    Enhanced,
    /// 品质型
    Quality,
}

impl Grade {
    pub fn zh(self) -> &'static str {
        match self {
            Grade::Unmet => "未达标",
            Grade::Basic => "基础型",
            Grade::Enhanced => "提升型",
            Grade::Quality => "品质型",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Grade::Unmet => "Below basic",
            Grade::Basic => "Basic",
            Grade::Enhanced => "Enhanced",
            Grade::Quality => "Premium",
        }
    }

    pub const ALL: [Grade; 4] = [Grade::Unmet, Grade::Basic, Grade::Enhanced, Grade::Quality];
}

/// What one community reaches of one format: facilities within 5, 10, 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormatReach {
    pub format: ServiceType,
    pub nearest_m: Option<f64>,
    pub counts: [u32; 3],
}

impl FormatReach {
    pub fn within(&self, minutes: u32) -> bool {
        LEVEL_MINUTES
            .iter()
            .position(|&m| m == minutes)
            .is_some_and(|level| self.counts[level] > 0)
    }
}

/// Thresholds of the grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeRules {
    /// 基础型: every basic format within this many minutes.
    pub basic_minutes: u32,
    /// 提升型: 基础型 and at least this many quality formats within 15 minutes.
    pub enhanced_quality_formats: usize,
    /// 品质型: every basic format within this many minutes, …
    pub quality_basic_minutes: u32,
    /// … at least this many quality formats within 15 minutes, …
    pub quality_quality_formats: usize,
    /// … and at least this many community facilities within 15 minutes.
    pub quality_facilities: usize,
}

impl Default for GradeRules {
    fn default() -> Self {
        GradeRules {
            basic_minutes: 15,
            enhanced_quality_formats: 6,
            quality_basic_minutes: 10,
            quality_quality_formats: 10,
            quality_facilities: 5,
        }
    }
}

impl GradeRules {
    pub fn grade(&self, reach: &[FormatReach]) -> Grade {
        let all_basic_within = |minutes| {
            ServiceType::all()
                .filter(|t| t.circle() == Some(CircleFormat::Basic))
                .all(|t| reach.iter().any(|r| r.format == t && r.within(minutes)))
        };
        let count_within = |class, minutes| {
            reach
                .iter()
                .filter(|r| r.format.circle() == Some(class) && r.within(minutes))
                .count()
        };
        if !all_basic_within(self.basic_minutes) {
            return Grade::Unmet;
        }
        let quality = count_within(CircleFormat::Quality, 15);
        if all_basic_within(self.quality_basic_minutes)
            && quality >= self.quality_quality_formats
            && count_within(CircleFormat::Facility, 15) >= self.quality_facilities
        {
            Grade::Quality
        } else if quality >= self.enhanced_quality_formats {
            Grade::Enhanced
        } else {
            Grade::Basic
        }
    }

    /// The rules in words, for the page that shows a grade.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "基础型：全部14类基本保障类业态在步行{}分钟内可达",
                self.basic_minutes
            ),
            format!(
                "提升型：达到基础型，且步行15分钟内至少有{}类品质提升类业态",
                self.enhanced_quality_formats
            ),
            format!(
                "品质型：全部基本保障类业态在步行{}分钟内可达，步行15分钟内至少有{}类品质提升类业态和{}类社区公共服务设施",
                self.quality_basic_minutes, self.quality_quality_formats, self.quality_facilities
            ),
            "未达标：步行15分钟内缺少任一基本保障类业态".to_string(),
        ]
    }
}

/// The basic formats a community lacks within 15 minutes.
pub fn missing_basic(reach: &[FormatReach]) -> Vec<ServiceType> {
    ServiceType::all()
        .filter(|t| t.circle() == Some(CircleFormat::Basic))
        .filter(|t| !reach.iter().any(|r| r.format == *t && r.within(15)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(class: CircleFormat, take: usize, counts: [u32; 3]) -> Vec<FormatReach> {
        ServiceType::all()
            .filter(|t| t.circle() == Some(class))
            .take(take)
            .map(|format| FormatReach {
                format,
                nearest_m: Some(100.0),
                counts,
            })
            .collect()
    }

    #[test]
    fn grades_follow_the_rules() {
        let rules = GradeRules::default();
        let near = [1, 1, 1];
        let far = [0, 0, 1];
        assert_eq!(
            rules.grade(&reach(CircleFormat::Basic, 13, near)),
            Grade::Unmet
        );
        assert_eq!(
            missing_basic(&reach(CircleFormat::Basic, 13, near)).len(),
            1
        );
        let basic = reach(CircleFormat::Basic, 14, far);
        assert_eq!(rules.grade(&basic), Grade::Basic);
        let enhanced = [basic.clone(), reach(CircleFormat::Quality, 6, far)].concat();
        assert_eq!(rules.grade(&enhanced), Grade::Enhanced);
        // Quality needs the basics within 10 minutes, not only 15.
        let not_quality = [
            basic,
            reach(CircleFormat::Quality, 10, far),
            reach(CircleFormat::Facility, 5, far),
        ]
        .concat();
        assert_eq!(rules.grade(&not_quality), Grade::Enhanced);
        let quality = [
            reach(CircleFormat::Basic, 14, near),
            reach(CircleFormat::Quality, 10, far),
            reach(CircleFormat::Facility, 5, far),
        ]
        .concat();
        assert_eq!(rules.grade(&quality), Grade::Quality);
        assert_eq!(rules.describe().len(), 4);
    }
}
