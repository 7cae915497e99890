//! The data resource catalogue (数据资源目录) as data: what each open dataset
//! holds, field by field, who the data comes from, how often it changes and
//! under which licence it is open. What changes with the data (record count,
//! last update, the source departments actually present) is computed by
//! [`super::summary`].

use super::{Source, circle, credit, outlets, plan, statistics};
use serde::Serialize;

/// How a field's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    /// A validated code (统一社会信用代码, 区划代码, 服务类型代码): kept as text, never masked.
    Code,
    Integer,
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339, Asia/Shanghai (`+08:00`).
    DateTime,
    Boolean,
}

impl FieldType {
    pub fn zh(self) -> &'static str {
        match self {
            FieldType::Text => "文本",
            FieldType::Code => "代码",
            FieldType::Integer => "整数",
            FieldType::Number => "数值",
            FieldType::Date => "日期（YYYY-MM-DD）",
            FieldType::DateTime => "日期时间（RFC 3339，北京时间）",
            FieldType::Boolean => "是/否",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    /// The key in JSON and GeoJSON properties.
    pub key: &'static str,
    /// The column header of CSV and XLSX (中文名).
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub description: &'static str,
}

pub const fn field(
    key: &'static str,
    name: &'static str,
    ty: FieldType,
    description: &'static str,
) -> Field {
    Field {
        key,
        name,
        ty,
        description,
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Licence {
    pub id: &'static str,
    pub name: &'static str,
    pub url: &'static str,
    /// What the licence asks of a re-user, and why this one was chosen.
    pub summary: &'static str,
}

/// The licence of every dataset. The data are the platform's own compilation
/// (registry, computed statistics and coverage, plan indicators) or
/// information the law already requires to be public (双公示). CC BY rather
/// than CC0: attribution keeps the source department with each re-use, which
/// is what 谁产生、谁提供、谁负责 asks of credit information.
pub const CC_BY_4: Licence = Licence {
    id: "CC-BY-4.0",
    name: "知识共享署名 4.0 国际许可协议（CC BY 4.0）",
    url: "https://creativecommons.org/licenses/by/4.0/deed.zh-hans",
    summary: "可自由复制、分发、改编和商业利用，须注明来源“山西省生活服务平台”及数据来源单位，并说明是否作过修改。",
};

/// One open dataset.
#[derive(Debug, Serialize)]
pub struct Dataset {
    pub id: &'static str,
    /// 中文名称
    pub name: &'static str,
    pub name_en: &'static str,
    pub description: &'static str,
    pub fields: &'static [Field],
    /// How the data come about, and who answers for them.
    pub source_basis: &'static str,
    /// 更新频率
    pub update_frequency: &'static str,
    pub licence: Licence,
    /// Conditions beyond the licence, where the law sets them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms: Option<&'static str>,
    /// How personal information is kept out of this dataset.
    pub privacy: &'static str,
    /// Whether records have a location (GeoJSON is offered).
    pub geometry: bool,
    #[serde(skip)]
    pub source: Source,
}

impl Dataset {
    pub fn formats(&self) -> Vec<super::export::Format> {
        super::export::Format::ALL
            .into_iter()
            .filter(|f| self.geometry || *f != super::export::Format::GeoJson)
            .collect()
    }
}

/// The note on personal numbers that holds for every dataset.
pub const MASKING_NOTE: &str = "所有文本中的手机号码（含+86、分段写法）和18位身份证号码在开放前一律脱敏（手机号保留前3后4位，身份证号保留前3后2位）；固定电话照常开放。";

pub static DATASETS: [Dataset; 5] = [
    Dataset {
        id: "outlets",
        name: "生活服务网点及认定称号",
        name_en: "Life-service outlets with designations",
        description: "全省登记的生活服务网点：所属市场主体、服务类型（国家统计局《生活性服务业统计分类(2019)》大类和平台业态）、地址和WGS-84坐标、营业时间、状态，以及普惠性生活服务机构、示范、领跑者、星级、A级等认定称号及其认定单位和日期。含已关闭网点（状态为“已关闭”）。",
        fields: outlets::FIELDS,
        source_basis: "各行业主管部门报送、导入或在平台登记的服务网点；认定称号由认定单位提供。",
        update_frequency: "实时：部门报送或登记变更后即时更新",
        licence: CC_BY_4,
        terms: None,
        privacy: "不含法定代表人、经营者姓名和证件号码；个体工商户的联系手机号码脱敏。",
        geometry: true,
        source: Source::Outlets,
    },
    Dataset {
        id: "credit-records",
        name: "公示期内的信用记录",
        name_en: "Credit records within their disclosure period",
        description: "记于市场主体名下、今日仍在公示的双公示信用记录：行政许可、公示期内的行政处罚、抽查检查结果、经营异常名录和严重违法失信名单、信用承诺。是否公示按平台信用信息公示规则逐条判定（与主体页面相同），公示期届满、撤回或信用修复的记录不在其中。",
        fields: credit::FIELDS,
        source_basis: "各部门按“谁产生、谁提供、谁负责”报送；每条记录注明数据来源单位。",
        update_frequency: "每日：部门报送后即时更新，处罚公示期届满次日起不再包含",
        licence: CC_BY_4,
        terms: Some(
            "信用记录以公示期为限：再利用者应定期以最新数据替换旧数据，对已停止公示的记录不得继续公开（国家发展改革委《信用修复管理办法》、《市场监督管理行政处罚信息公示规定》）。",
        ),
        privacy: "证件类型和证件号码不开放；个体工商户等自然人的法定代表人（经营者）姓名只保留姓；自然人（非市场主体）的记录不在本数据集中。",
        geometry: false,
        source: Source::Credit,
    },
    Dataset {
        id: "statistics",
        name: "市场主体与行政处罚统计（县×年×大类）",
        name_en: "Entities and penalties by county, year and category",
        description: "按县级区划、年份和国家统计局生活性服务业大类汇总的新设市场主体数和行政处罚数。主体按其第一个服务网点的服务类型（主营业务）归入一个大类，与统计监测页面口径一致；没有服务网点的主体计入“无服务网点”；区划调整前的代码按现行区划归并。",
        fields: statistics::FIELDS,
        source_basis: "本平台根据市场主体登记库（成立日期）和各部门报送的行政处罚记录（处罚决定日期）汇总计算。",
        update_frequency: "实时计算：随登记库和信用记录变化",
        licence: CC_BY_4,
        terms: None,
        privacy: "只有汇总数，不含任何单个主体或个人的信息。",
        geometry: false,
        source: Source::Statistics,
    },
    Dataset {
        id: "circle-coverage",
        name: "一刻钟便民生活圈社区覆盖",
        name_en: "15-minute life circle coverage by community",
        description: "每个已定位的村（社区）步行5、10、15分钟可达的便民生活圈业态，按《城市一刻钟便民生活圈建设指南》评定的等级，以及缺少的基本保障类业态。",
        fields: circle::FIELDS,
        source_basis: "本平台计算：导入的步行路网、村（社区）位置和人口，以及登记库中在营的生活圈业态网点。",
        update_frequency: "实时：随网点开业、迁址、关闭增量更新",
        licence: CC_BY_4,
        terms: None,
        privacy: "以村（社区）为单位，不含个人信息。",
        geometry: true,
        source: Source::Circles,
    },
    Dataset {
        id: "plan-indicators",
        name: "行动方案指标及进展",
        name_en: "Action plan indicators and progress",
        description: "《山西省生活性服务业发展行动方案》的量化指标：目标、单位、适用范围、完成时限、责任单位，平台根据登记数据计算的当前值，以及责任单位最新填报的进展值。",
        fields: plan::FIELDS,
        source_basis: "指标取自山西省人民政府办公厅印发的行动方案；进展值由责任单位按季度填报，当前值由本平台根据登记库计算。",
        update_frequency: "按季度：责任单位填报后即时更新；平台计算值实时更新",
        licence: CC_BY_4,
        terms: None,
        privacy: "不含填报人账号等个人信息。",
        geometry: false,
        source: Source::Plan,
    },
];

pub fn find(id: &str) -> Option<&'static Dataset> {
    DATASETS.iter().find(|d| d.id == id)
}

/// `outlets、credit-records、…`, for error messages.
pub fn ids() -> String {
    DATASETS.iter().map(|d| d.id).collect::<Vec<_>>().join("、")
}
