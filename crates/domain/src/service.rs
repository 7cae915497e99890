//! Service categories.
//!
//! Major categories are the 12 of the NBS 《生活性服务业统计分类(2019)》.
//! Service types are the platform's own, each with a stable four-digit code
//! whose first two digits are its major category. They cover every format of
//! the Ministry of Commerce 《城市一刻钟便民生活圈建设指南》 (基本保障类 and
//! 品质提升类), the community facilities the Shanxi action plan lists, and the
//! other life services the plan names (hotels, scenic spots, 民宿, travel agencies...).

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the 12 NBS major categories of life services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MajorCategory(u8);

const MAJOR_NAMES: [(&str, &str); 12] = [
    ("居民和家庭服务", "Resident and household services"),
    ("健康服务", "Health services"),
    ("养老服务", "Elderly care services"),
    (
        "旅游游览和娱乐服务",
        "Tourism, sightseeing and entertainment",
    ),
    ("体育服务", "Sports services"),
    ("文化服务", "Cultural services"),
    (
        "居民零售和互联网销售服务",
        "Retail and online sales to residents",
    ),
    ("居民出行服务", "Resident travel services"),
    ("住宿餐饮服务", "Accommodation and catering"),
    ("教育培训服务", "Education and training"),
    ("居民住房服务", "Resident housing services"),
    ("其他生活性服务", "Other life services"),
];

impl MajorCategory {
    /// Parses `01`..`12` (or `1`..`12`).
    pub fn parse(s: &str) -> Option<Self> {
        let n: u8 = s.trim().parse().ok()?;
        (1..=12).contains(&n).then_some(Self(n))
    }

    pub fn all() -> impl Iterator<Item = MajorCategory> {
        (1..=12).map(MajorCategory)
    }

    pub fn code(self) -> String {
        format!("{:02}", self.0)
    }

    pub fn zh(self) -> &'static str {
        MAJOR_NAMES[(self.0 - 1) as usize].0
    }

    pub fn en(self) -> &'static str {
        MAJOR_NAMES[(self.0 - 1) as usize].1
    }
}

impl Serialize for MajorCategory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code())
    }
}

/// Where a service type stands in the 一刻钟便民生活圈 guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircleFormat {
    /// 基本保障类业态: every circle must have it.
    Basic,
    /// 品质提升类业态.
    Quality,
    /// Community public facilities the plan lists (幼儿园, 养老机构...).
    Facility,
}

impl CircleFormat {
    pub fn zh(self) -> &'static str {
        match self {
            CircleFormat::Basic => "基本保障类",
            CircleFormat::Quality => "品质提升类",
            CircleFormat::Facility => "社区公共服务设施",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            CircleFormat::Basic => "Basic needs",
            CircleFormat::Quality => "Quality",
            CircleFormat::Facility => "Community facility",
        }
    }
}

/// Static description of a service type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceTypeInfo {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Extra words residents search with (e.g. 家政 for 家政服务点).
    pub aliases: &'static [&'static str],
    pub circle: Option<CircleFormat>,
}

use CircleFormat::{Basic, Facility, Quality};

macro_rules! types {
    ($(($code:literal, $zh:literal, $en:literal, [$($alias:literal),*], $circle:expr)),* $(,)?) => {
        &[$(ServiceTypeInfo { code: $code, zh: $zh, en: $en, aliases: &[$($alias),*], circle: $circle }),*]
    };
}

/// The catalogue. Codes are stable: never renumber, only append.
pub const SERVICE_TYPES: &[ServiceTypeInfo] = types![
    // 01 居民和家庭服务
    (
        "0101",
        "家政服务点",
        "Housekeeping service point",
        ["家政", "保洁", "保姆", "月嫂", "育儿嫂"],
        Some(Basic)
    ),
    (
        "0102",
        "洗染店",
        "Laundry and dyeing",
        ["洗衣", "干洗"],
        Some(Basic)
    ),
    (
        "0103",
        "美容美发店",
        "Beauty and hairdressing",
        ["理发", "美发", "美容"],
        Some(Basic)
    ),
    (
        "0104",
        "照相文印店",
        "Photo and print shop",
        ["打印", "复印", "照相"],
        Some(Basic)
    ),
    (
        "0105",
        "维修点",
        "Repair point",
        ["维修", "修理", "家电维修", "修鞋", "配钥匙"],
        Some(Basic)
    ),
    (
        "0106",
        "幼儿托管点",
        "Childminding point",
        ["托管", "看护"],
        Some(Quality)
    ),
    (
        "0107",
        "托育机构",
        "Childcare institution (0-3)",
        ["托育", "托儿所", "早教"],
        Some(Facility)
    ),
    (
        "0108",
        "宠物服务站",
        "Pet services",
        ["宠物"],
        Some(Quality)
    ),
    (
        "0109",
        "婚庆服务",
        "Wedding services",
        ["婚庆", "婚介"],
        None
    ),
    ("0110", "殡葬服务", "Funeral services", ["殡葬"], None),
    // 02 健康服务
    (
        "0201",
        "社区卫生服务中心(站)",
        "Community health service centre",
        ["卫生服务站", "卫生院", "社区医院"],
        Some(Facility)
    ),
    ("0202", "诊所", "Clinic", ["门诊", "医务室"], None),
    (
        "0203",
        "保健养生店",
        "Wellness and health care shop",
        ["养生", "推拿", "足疗", "康养"],
        Some(Quality)
    ),
    ("0204", "医院", "Hospital", ["医院"], None),
    // 03 养老服务
    (
        "0301",
        "养老机构",
        "Elderly care institution",
        ["养老院", "敬老院", "综合性养老机构"],
        Some(Facility)
    ),
    (
        "0302",
        "社区养老服务机构",
        "Community elderly care centre",
        ["日间照料", "养老服务站", "居家养老"],
        Some(Quality)
    ),
    (
        "0303",
        "社区食堂/助餐点",
        "Community canteen / meal service",
        ["老年餐桌", "助餐", "食堂"],
        Some(Facility)
    ),
    // 04 旅游游览和娱乐服务
    (
        "0401",
        "旅游景区",
        "Scenic spot",
        ["景区", "景点", "A级景区"],
        None
    ),
    ("0402", "旅行社", "Travel agency", ["旅行社", "旅游"], None),
    (
        "0403",
        "旅游服务点",
        "Tourist service point",
        ["游客中心", "旅游咨询"],
        Some(Quality)
    ),
    (
        "0404",
        "休闲娱乐场所",
        "Leisure and entertainment venue",
        ["娱乐", "KTV", "影院"],
        None
    ),
    // 05 体育服务
    (
        "0501",
        "运动健身房",
        "Fitness gym",
        ["健身", "健身房", "瑜伽"],
        Some(Quality)
    ),
    (
        "0502",
        "体育健身设施",
        "Public fitness facility",
        ["健身路径", "体育公园", "球场"],
        Some(Facility)
    ),
    (
        "0503",
        "体育场馆",
        "Sports venue",
        ["体育馆", "游泳馆"],
        None
    ),
    // 06 文化服务
    (
        "0601",
        "新式书店",
        "Modern bookstore",
        ["书店", "书吧"],
        Some(Quality)
    ),
    (
        "0602",
        "公共阅读空间",
        "Public reading space",
        ["图书馆", "阅览室", "农家书屋"],
        Some(Facility)
    ),
    (
        "0603",
        "文化场馆",
        "Cultural venue",
        ["博物馆", "文化馆", "纪念馆"],
        None
    ),
    // 07 居民零售和互联网销售服务
    (
        "0701",
        "便利店",
        "Convenience store",
        ["小超市", "便利"],
        Some(Basic)
    ),
    (
        "0702",
        "综合超市",
        "Supermarket",
        ["超市", "商超"],
        Some(Basic)
    ),
    (
        "0703",
        "菜市场",
        "Wet market",
        ["农贸市场", "菜场"],
        Some(Basic)
    ),
    (
        "0704",
        "生鲜超市(菜店)",
        "Fresh food store",
        ["生鲜", "菜店", "水果"],
        Some(Basic)
    ),
    ("0705", "药店", "Pharmacy", ["药房", "买药"], Some(Basic)),
    (
        "0706",
        "前置仓",
        "Forward warehouse (instant delivery)",
        ["即时配送", "到家"],
        Some(Basic)
    ),
    (
        "0707",
        "鲜花礼品店",
        "Flowers and gifts",
        ["鲜花", "礼品"],
        Some(Quality)
    ),
    (
        "0708",
        "蛋糕烘焙店",
        "Cake and bakery",
        ["蛋糕", "面包", "烘焙"],
        Some(Quality)
    ),
    (
        "0709",
        "老字号商店",
        "Time-honoured brand shop",
        ["老字号"],
        None
    ),
    // 08 居民出行服务
    (
        "0801",
        "汽车维修养护",
        "Car repair and maintenance",
        ["汽修", "洗车", "保养"],
        None
    ),
    (
        "0802",
        "充电站",
        "EV charging station",
        ["充电桩", "充电"],
        None
    ),
    // 09 住宿餐饮服务
    (
        "0901",
        "早餐店",
        "Breakfast shop",
        ["早点", "早餐"],
        Some(Basic)
    ),
    (
        "0902",
        "特色餐饮店",
        "Speciality restaurant",
        ["餐厅", "饭店", "面馆", "小吃"],
        Some(Quality)
    ),
    (
        "0903",
        "茶艺咖啡馆",
        "Tea house and café",
        ["咖啡", "茶馆", "茶艺"],
        Some(Quality)
    ),
    ("0904", "酒店", "Hotel", ["宾馆", "星级酒店", "住宿"], None),
    (
        "0905",
        "民宿",
        "Homestay (minsu)",
        ["精品民宿", "客栈"],
        None
    ),
    // 10 教育培训服务
    (
        "1001",
        "幼儿园",
        "Kindergarten",
        ["幼儿园", "学前教育"],
        Some(Facility)
    ),
    (
        "1002",
        "培训教育点",
        "Training and tutoring point",
        ["培训", "辅导", "兴趣班"],
        Some(Quality)
    ),
    (
        "1003",
        "职业技能培训机构",
        "Vocational skills training",
        ["技能培训", "职业培训"],
        None
    ),
    // 11 居民住房服务
    ("1101", "物业服务", "Property management", ["物业"], None),
    (
        "1102",
        "房地产中介",
        "Real estate agency",
        ["中介", "租房"],
        None
    ),
    (
        "1103",
        "家装服务",
        "Home decoration",
        ["装修", "家装"],
        None
    ),
    // 12 其他生活性服务
    (
        "1201",
        "邮政快递综合服务点",
        "Post and express service point",
        ["快递", "邮政", "驿站"],
        Some(Basic)
    ),
    (
        "1202",
        "再生资源回收点",
        "Recycling point",
        ["回收", "废品"],
        Some(Basic)
    ),
    (
        "1203",
        "社区综合服务设施",
        "Community service complex",
        ["党群服务中心", "社区服务站"],
        Some(Facility)
    ),
];

/// A service type that exists in [`SERVICE_TYPES`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceType(&'static ServiceTypeInfo);

impl ServiceType {
    /// Parses a type code (`0101`) or its Chinese or English name.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        SERVICE_TYPES
            .iter()
            .find(|t| t.code == s || t.zh == s || t.en.eq_ignore_ascii_case(s))
            .map(ServiceType)
    }

    pub fn all() -> impl Iterator<Item = ServiceType> {
        SERVICE_TYPES.iter().map(ServiceType)
    }

    pub fn code(self) -> &'static str {
        self.0.code
    }

    pub fn zh(self) -> &'static str {
        self.0.zh
    }

    pub fn en(self) -> &'static str {
        self.0.en
    }

    pub fn aliases(self) -> &'static [&'static str] {
        self.0.aliases
    }

    pub fn circle(self) -> Option<CircleFormat> {
        self.0.circle
    }

    pub fn major(self) -> MajorCategory {
        MajorCategory::parse(&self.0.code[..2])
            .expect("catalogue codes start with a major category")
    }
}

impl fmt::Debug for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceType({} {})", self.0.code, self.0.zh)
    }
}

impl Serialize for ServiceType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for ServiceType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ServiceType::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("未知的服务类型“{s}”")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every format of the 一刻钟便民生活圈 guide, as the issue lists them.
    const BASIC: [&str; 14] = [
        "便利店",
        "综合超市",
        "菜市场",
        "生鲜超市(菜店)",
        "早餐店",
        "洗染店",
        "美容美发店",
        "照相文印店",
        "家政服务点",
        "维修点",
        "药店",
        "邮政快递综合服务点",
        "再生资源回收点",
        "前置仓",
    ];
    const QUALITY: [&str; 12] = [
        "社区养老服务机构",
        "特色餐饮店",
        "蛋糕烘焙店",
        "新式书店",
        "运动健身房",
        "幼儿托管点",
        "培训教育点",
        "旅游服务点",
        "保健养生店",
        "鲜花礼品店",
        "茶艺咖啡馆",
        "宠物服务站",
    ];
    const FACILITIES: [&str; 7] = [
        "幼儿园",
        "托育机构",
        "养老机构",
        "社区卫生服务中心(站)",
        "社区食堂/助餐点",
        "体育健身设施",
        "公共阅读空间",
    ];

    #[test]
    fn covers_every_circle_format_with_the_right_class() {
        for (names, class) in [
            (&BASIC[..], Basic),
            (&QUALITY[..], Quality),
            (&FACILITIES[..], Facility),
        ] {
            for name in names {
                let t = ServiceType::parse(name).unwrap_or_else(|| panic!("missing {name}"));
                assert_eq!(t.circle(), Some(class), "{name}");
            }
        }
        let basic = ServiceType::all()
            .filter(|t| t.circle() == Some(Basic))
            .count();
        assert_eq!(basic, BASIC.len());
    }

    #[test]
    fn codes_are_unique_and_prefixed_by_their_major_category() {
        let mut seen = HashSet::new();
        for t in ServiceType::all() {
            assert!(seen.insert(t.code()), "duplicate {}", t.code());
            assert_eq!(t.code().len(), 4);
            assert_eq!(t.major().code(), &t.code()[..2]);
        }
        for major in MajorCategory::all() {
            assert!(
                ServiceType::all().any(|t| t.major() == major),
                "{} has no type",
                major.zh()
            );
        }
    }

    #[test]
    fn parses_code_and_names() {
        assert_eq!(ServiceType::parse("0101").unwrap().zh(), "家政服务点");
        assert_eq!(ServiceType::parse("药店").unwrap().code(), "0705");
        assert_eq!(ServiceType::parse("pharmacy").unwrap().code(), "0705");
        assert!(ServiceType::parse("不存在").is_none());
        assert_eq!(MajorCategory::parse("03").unwrap().zh(), "养老服务");
        assert!(MajorCategory::parse("13").is_none());
    }
}
