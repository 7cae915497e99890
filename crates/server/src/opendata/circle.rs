//! Dataset `circle-coverage`: what the life-circle state computes for each
//! located community (formats within 5, 10 and 15 minutes, grade, missing
//! basic formats), ordered by community code. Empty until a walking network
//! has been imported.

use super::catalogue::{Field, FieldType as T, field};
use super::{Cell, Record, Summary};
use crate::app::AppState;
use crate::circle::{CommunityView, FormatView};
use crate::error::AppResult;
use crate::reference::Reference;

pub const FIELDS: &[Field] = &[
    field(
        "community_code",
        "村（社区）代码",
        T::Code,
        "国家统计局12位统计用区划代码，记录按此排序（分页游标依据）",
    ),
    field(
        "community_name",
        "村（社区）名称",
        T::Text,
        "村（社区）名称，含所属市、县、乡镇（街道）",
    ),
    field(
        "county_code",
        "县级区划代码",
        T::Code,
        "所在县（市、区）代码",
    ),
    field("lon", "经度", T::Number, "村（社区）位置的 WGS-84 经度"),
    field("lat", "纬度", T::Number, "村（社区）位置的 WGS-84 纬度"),
    field(
        "population",
        "常住人口",
        T::Integer,
        "导入的常住人口，未导入为空；演示数据为合成值",
    ),
    field(
        "grade",
        "等级代码",
        T::Code,
        "unmet、basic、enhanced 或 quality",
    ),
    field(
        "grade_name",
        "生活圈等级",
        T::Text,
        "未达标、基础型、提升型或品质型（评定规则见 /circles）",
    ),
    field(
        "formats_5min",
        "5分钟可达业态数",
        T::Integer,
        "步行5分钟内有至少一个在营网点的生活圈业态数",
    ),
    field(
        "formats_10min",
        "10分钟可达业态数",
        T::Integer,
        "步行10分钟内有至少一个在营网点的生活圈业态数",
    ),
    field(
        "formats_15min",
        "15分钟可达业态数",
        T::Integer,
        "步行15分钟内有至少一个在营网点的生活圈业态数",
    ),
    field(
        "formats_15min_list",
        "15分钟可达业态",
        T::Text,
        "步行15分钟内可达的业态名称，以“；”分隔",
    ),
    field(
        "missing_basic",
        "缺少的基本保障类业态",
        T::Text,
        "步行15分钟内没有的基本保障类业态，以“；”分隔",
    ),
    field(
        "reachable",
        "接入步行路网",
        T::Boolean,
        "村（社区）位置能否接入步行路网；为“否”时各业态均不可达",
    ),
];

/// Communities with a code after `after`, with what the circle state computes.
pub async fn fetch(state: &AppState, after: Option<&str>, n: usize) -> AppResult<Vec<Record>> {
    let guard = state.circles.read().await;
    let Some(circles) = guard.as_ref() else {
        return Ok(Vec::new());
    };
    let after = after.unwrap_or("");
    Ok(circles
        .communities_in(&Reference::province())
        .into_iter()
        .filter(|(c, _)| c.code.as_str() > after)
        .filter_map(|(c, _)| circles.community(&c.code))
        .take(n)
        .map(|view| record(&view))
        .collect())
}

fn record(c: &CommunityView) -> Record {
    let within =
        |count: fn(&FormatView) -> u32| c.formats.iter().filter(|f| count(f) > 0).count() as i64;
    let reached: Vec<&str> = c
        .formats
        .iter()
        .filter(|f| f.within_15min > 0)
        .map(|f| f.name)
        .collect();
    let grade = serde_json::to_value(c.grade)
        .ok()
        .and_then(|g| g.as_str().map(str::to_string))
        .unwrap_or_default();
    Record {
        key: c.code.clone(),
        cells: vec![
            Cell::code(c.code.clone()),
            Cell::code(c.full_name.clone()),
            Cell::code(c.code.get(..6).unwrap_or_default()),
            Cell::coordinate(c.lon),
            Cell::coordinate(c.lat),
            c.population.map_or(Cell::Null, Cell::Int),
            Cell::code(grade),
            Cell::code(c.grade_zh),
            Cell::Int(within(|f| f.within_5min)),
            Cell::Int(within(|f| f.within_10min)),
            Cell::Int(within(|f| f.within_15min)),
            Cell::code(reached.join("；")),
            Cell::code(c.missing_basic.join("；")),
            Cell::Bool(c.reachable),
        ],
        point: Some((c.lon, c.lat)),
    }
}

/// The circle state follows outlet changes as they happen, so the data
/// change with the outlets of circle formats.
pub async fn summary(state: &AppState) -> AppResult<Summary> {
    let records = match state.circles.read().await.as_ref() {
        Some(circles) => circles.communities_in(&Reference::province()).len() as u64,
        None => 0,
    };
    let codes: Vec<String> = crate::circle::formats()
        .iter()
        .map(|t| format!("'{}'", t.code()))
        .collect();
    // Type codes come from the catalogue, never from input.
    let sql = format!(
        "SELECT MAX(updated_at) FROM outlets WHERE service_type IN ({})",
        codes.join(",")
    );
    let stamps = if records > 0 {
        super::max_stamps(state, &[sql.as_str()]).await?
    } else {
        Vec::new()
    };
    Ok(Summary {
        records,
        last_updated: super::latest(stamps.iter().map(String::as_str)),
        sources: vec![
            "山西省生活服务平台（据步行路网、村（社区）位置和服务网点登记库计算）".into(),
        ],
    })
}
