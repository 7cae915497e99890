//! Dataset `outlets`: every registered outlet in its public view
//! (`Outlet::public`), with its designations, ordered by outlet id.

use super::catalogue::{Field, FieldType as T, field};
use super::{Cell, Record, Summary};
use crate::app::AppState;
use crate::error::AppResult;
use crate::reference::Reference;
use crate::registry::{Designation, Outlet, store};
use lifeservice_domain::{DesignationKind, DivisionCode, ServiceType};

pub const FIELDS: &[Field] = &[
    field(
        "id",
        "网点编号",
        T::Integer,
        "平台内网点编号，记录按此排序（分页游标依据）",
    ),
    field("name", "网点名称", T::Text, "服务网点名称"),
    field("entity_name", "市场主体名称", T::Text, "网点所属的市场主体"),
    field(
        "credit_code",
        "统一社会信用代码",
        T::Code,
        "所属市场主体的统一社会信用代码（GB 32100）",
    ),
    field(
        "service_type",
        "服务类型代码",
        T::Code,
        "平台服务类型（业态）代码，前两位为大类代码",
    ),
    field(
        "service_type_name",
        "服务类型",
        T::Text,
        "服务类型（业态）名称",
    ),
    field(
        "major_category",
        "大类代码",
        T::Code,
        "国家统计局《生活性服务业统计分类(2019)》大类代码",
    ),
    field(
        "major_category_name",
        "大类名称",
        T::Text,
        "生活性服务业大类名称",
    ),
    field(
        "circle_format",
        "便民生活圈业态类别",
        T::Text,
        "《城市一刻钟便民生活圈建设指南》业态类别（基本保障类、品质提升类）；非生活圈业态为空",
    ),
    field("address", "地址", T::Text, "网点地址"),
    field(
        "division_code",
        "所属区划代码",
        T::Code,
        "网点所在的村（社区）代码，未填社区的为县级代码（GB/T 2260 + 统计用区划代码）",
    ),
    field(
        "county_code",
        "县级区划代码",
        T::Code,
        "网点所在县（市、区）的代码",
    ),
    field(
        "county_name",
        "县级区划名称",
        T::Text,
        "网点所在县（市、区），含所属市",
    ),
    field(
        "lon",
        "经度",
        T::Number,
        "WGS-84 经度（平台由 GCJ-02 等坐标换算后存储），6位小数",
    ),
    field("lat", "纬度", T::Number, "WGS-84 纬度，6位小数"),
    field(
        "phone",
        "联系电话",
        T::Text,
        "网点联系电话；手机号码脱敏（中间四位以*代替），固定电话完整开放",
    ),
    field("hours", "营业时间", T::Text, "营业时间，按登记原文"),
    field(
        "status",
        "状态",
        T::Text,
        "在营或已关闭（关闭的网点保留以供统计）",
    ),
    field(
        "inclusive",
        "普惠性生活服务机构",
        T::Boolean,
        "是否认定为普惠性生活服务机构",
    ),
    field("demonstration", "示范", T::Boolean, "是否获示范称号"),
    field("leader", "领跑者", T::Boolean, "是否获领跑者称号"),
    field(
        "star_rating",
        "星级",
        T::Text,
        "星级评定等级（1至5），未评定为空",
    ),
    field(
        "a_grade",
        "A级",
        T::Text,
        "A级评定等级（A至AAAAA，如旅游景区），未评定为空",
    ),
    field("time_honoured", "老字号", T::Boolean, "是否认定为老字号"),
    field(
        "designations",
        "认定称号明细",
        T::Text,
        "全部认定称号及等级、认定单位和认定日期，以“；”分隔",
    ),
    field(
        "synthetic",
        "合成数据",
        T::Boolean,
        "演示用的合成数据为“是”，不是真实网点",
    ),
];

/// Up to `n` outlets after the id `after`, in their public view. Outlets
/// are never deleted (closing keeps the row), so every id read is returned.
pub async fn fetch(state: &AppState, after: Option<&str>, n: usize) -> AppResult<Vec<Record>> {
    let after = super::id_key(after)?;
    let mut conn = state.db.pool().acquire().await?;
    let ids = store::outlet_ids_page(&mut conn, after, n as i64).await?;
    let outlets = store::outlets_by_ids(&mut conn, &ids).await?;
    Ok(outlets
        .into_iter()
        .map(Outlet::public)
        .map(record)
        .collect())
}

fn record(o: Outlet) -> Record {
    let stype = ServiceType::parse(&o.service_type);
    let has = |kind: DesignationKind| o.designations.iter().any(|d| d.kind == kind.code());
    let grade = |kind: DesignationKind| {
        Cell::opt_text(
            o.designations
                .iter()
                .find(|d| d.kind == kind.code())
                .and_then(|d| d.grade.as_deref()),
        )
    };
    let county_name = DivisionCode::parse(&o.county_code)
        .map(|c| Reference::shipped().full_name(&c))
        .unwrap_or_default();
    let cells = vec![
        Cell::Int(o.id),
        Cell::text(&o.name),
        Cell::text(&o.entity_name),
        Cell::code(o.entity_code.clone()),
        Cell::code(o.service_type.clone()),
        Cell::code(o.service_type_zh.clone()),
        Cell::code(o.major_category.clone()),
        Cell::opt_code(stype.map(|t| t.major().zh())),
        Cell::opt_code(stype.and_then(|t| t.circle()).map(|c| c.zh())),
        Cell::text(&o.address),
        Cell::code(o.division_code.clone()),
        Cell::code(o.county_code.clone()),
        Cell::code(county_name),
        Cell::coordinate(o.lon),
        Cell::coordinate(o.lat),
        Cell::opt_text(o.phone.as_deref()),
        Cell::opt_text(o.hours.as_deref()),
        Cell::code(if o.status == "open" {
            "在营"
        } else {
            "已关闭"
        }),
        Cell::Bool(has(DesignationKind::Inclusive)),
        Cell::Bool(has(DesignationKind::Demonstration)),
        Cell::Bool(has(DesignationKind::Leader)),
        grade(DesignationKind::StarRating),
        grade(DesignationKind::AGrade),
        Cell::Bool(has(DesignationKind::TimeHonoured)),
        Cell::opt_text(Some(designation_details(&o.designations))),
        Cell::Bool(o.synthetic),
    ];
    Record {
        key: o.id.to_string(),
        cells,
        point: Some((o.lon, o.lat)),
    }
}

/// `星级4（省文化和旅游厅，2023-06-30）；普惠性生活服务机构（省发展改革委）`
fn designation_details(designations: &[Designation]) -> String {
    designations
        .iter()
        .map(|d| {
            let by: Vec<&str> = [Some(d.granted_by.as_str()), d.granted_on.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect();
            format!(
                "{}{}（{}）",
                d.kind_zh,
                d.grade.as_deref().unwrap_or(""),
                by.join("，")
            )
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// Every outlet is a record; the data change with outlets and their
/// entities (names); the sources are the departments that keep the registry.
pub async fn summary(state: &AppState) -> AppResult<Summary> {
    let records: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outlets")
        .fetch_one(state.db.pool())
        .await?;
    let stamps = super::max_stamps(
        state,
        &[
            "SELECT MAX(updated_at) FROM outlets",
            "SELECT MAX(e.updated_at) FROM entities e WHERE EXISTS (SELECT 1 FROM outlets o WHERE o.entity_id = e.id)",
        ],
    )
    .await?;
    Ok(Summary {
        records: records as u64,
        last_updated: super::latest(stamps.iter().map(String::as_str)),
        sources: registry_departments(state).await?,
    })
}

/// The departments that keep the registry: department accounts, by the
/// agency they act for where set. Without any, the platform itself.
async fn registry_departments(state: &AppState) -> AppResult<Vec<String>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(agency_name, display_name) FROM users WHERE role = 'department' ORDER BY 1",
    )
    .fetch_all(state.db.pool())
    .await?;
    Ok(if names.is_empty() {
        vec!["山西省生活服务平台（服务网点登记库）".to_string()]
    } else {
        names
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_has_a_cell_per_field() {
        let outlet = Outlet {
            id: 7,
            entity_id: 1,
            entity_code: "92140105MA0000000X".into(),
            entity_name: "张三便利店".into(),
            entity_kind: "individual_business".into(),
            name: "张三便利店（坞城路）".into(),
            service_type: "0701".into(),
            service_type_zh: "便利店".into(),
            major_category: "07".into(),
            division_code: "140105001001".into(),
            county_code: "140105".into(),
            address: "坞城路1号".into(),
            lon: 112.5,
            lat: 37.8,
            phone: Some("13912345678".into()),
            hours: None,
            opened_on: None,
            status: "open".into(),
            closed_on: None,
            synthetic: false,
            designations: Vec::new(),
            distance_m: None,
            quality: None,
        };
        let r = record(outlet.public());
        assert_eq!(r.cells.len(), FIELDS.len());
        let phone = FIELDS.iter().position(|f| f.key == "phone").unwrap();
        assert_eq!(r.cells[phone], Cell::Text("139****5678".into()));
        assert_eq!(r.point, Some((112.5, 37.8)));
    }

    #[test]
    fn designations_read_as_one_line() {
        let d = |kind: DesignationKind, grade: Option<&str>, on: Option<&str>| Designation {
            kind: kind.code().into(),
            kind_zh: kind.zh().into(),
            grade: grade.map(Into::into),
            granted_by: "省文化和旅游厅".into(),
            granted_on: on.map(Into::into),
        };
        assert_eq!(
            designation_details(&[
                d(DesignationKind::StarRating, Some("4"), Some("2023-06-30")),
                d(DesignationKind::Leader, None, None),
            ]),
            "星级4（省文化和旅游厅，2023-06-30）；领跑者（省文化和旅游厅）"
        );
    }
}
