//! Columns of the registry's tables and how a raw row becomes a validated
//! input. Import files and API bodies both go through here, so a rule is
//! written once and a bad value gets the same Chinese reason everywhere.

use super::{DesignationInput, EntityInput, OutletInput};
use crate::reference::Reference;
use lifeservice_domain::geo::Datum;
use lifeservice_domain::{
    Coordinates, CreditCode, DesignationKind, DivisionCode, EntityKind, EntityStatus, Level,
    OutletStatus, ServiceType,
};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    CreditCode,
    EntityName,
    Name,
    Kind,
    LegalRep,
    Division,
    Established,
    ClosedOn,
    Status,
    Phone,
    ServiceType,
    Address,
    Community,
    Lon,
    Lat,
    Hours,
    OpenedOn,
    Designation,
    Grade,
    GrantedBy,
    GrantedOn,
}

impl Field {
    /// The key the JSON API uses for this field.
    pub fn key(self) -> &'static str {
        match self {
            Field::CreditCode => "credit_code",
            Field::EntityName => "entity_name",
            Field::Name => "name",
            Field::Kind => "kind",
            Field::LegalRep => "legal_rep",
            Field::Division => "division_code",
            Field::Established => "established",
            Field::ClosedOn => "closed_on",
            Field::OpenedOn => "opened_on",
            Field::Status => "status",
            Field::Phone => "phone",
            Field::ServiceType => "service_type",
            Field::Address => "address",
            Field::Community => "community",
            Field::Lon => "lon",
            Field::Lat => "lat",
            Field::Hours => "hours",
            Field::Designation => "designation",
            Field::Grade => "grade",
            Field::GrantedBy => "granted_by",
            Field::GrantedOn => "granted_on",
        }
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Entities,
    Outlets,
}

impl RecordKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "entities" => Some(RecordKind::Entities),
            "outlets" => Some(RecordKind::Outlets),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Entities => "entities",
            RecordKind::Outlets => "outlets",
        }
    }

    /// Columns and the headers accepted for them; the first Chinese header is
    /// the one the template uses.
    pub fn columns(self) -> &'static [(Field, &'static [&'static str])] {
        use Field::*;
        match self {
            RecordKind::Entities => &[
                (CreditCode, &["统一社会信用代码", "credit_code"]),
                (Name, &["名称", "主体名称", "企业名称", "name"]),
                (Kind, &["主体类型", "市场主体类型", "kind"]),
                (
                    LegalRep,
                    &[
                        "法定代表人",
                        "负责人",
                        "经营者",
                        "legal_rep",
                        "legal_representative",
                    ],
                ),
                (Division, &["登记区划", "所属区划", "division_code"]),
                (Established, &["成立日期", "established"]),
                (ClosedOn, &["注销日期", "吊销日期", "迁出日期", "closed_on"]),
                (Status, &["登记状态", "经营状态", "status"]),
                (Phone, &["联系电话", "电话", "phone"]),
            ],
            RecordKind::Outlets => &[
                (
                    CreditCode,
                    &["统一社会信用代码", "credit_code", "entity_code"],
                ),
                (EntityName, &["主体名称", "entity_name"]),
                (Name, &["名称", "网点名称", "name", "outlet_name"]),
                (ServiceType, &["服务类型", "service_type"]),
                (Address, &["地址", "详细地址", "address"]),
                (
                    Community,
                    &[
                        "所属社区",
                        "所属村（社区）",
                        "所属村(社区)",
                        "community",
                        "division_code",
                    ],
                ),
                (Lon, &["经度", "lon", "longitude"]),
                (Lat, &["纬度", "lat", "latitude"]),
                (Phone, &["联系电话", "电话", "phone"]),
                (Hours, &["营业时间", "hours", "opening_hours"]),
                (OpenedOn, &["开业日期", "opened_on"]),
                (Status, &["状态", "营业状态", "网点状态", "status"]),
                (ClosedOn, &["关闭日期", "停业日期", "closed_on"]),
                (Designation, &["认定称号", "称号", "designation"]),
                (Grade, &["认定等级", "等级", "grade"]),
                (GrantedBy, &["认定单位", "授予单位", "granted_by"]),
                (GrantedOn, &["认定日期", "授予日期", "granted_on"]),
            ],
        }
    }

    pub fn required(self) -> &'static [Field] {
        match self {
            RecordKind::Entities => &[Field::CreditCode, Field::Name],
            RecordKind::Outlets => &[
                Field::CreditCode,
                Field::Name,
                Field::ServiceType,
                Field::Address,
                Field::Lon,
                Field::Lat,
            ],
        }
    }

    /// Maps a header cell to its field; case, spaces and a BOM are ignored.
    pub fn field_for_header(self, header: &str) -> Option<Field> {
        let h = header.trim().trim_start_matches('\u{feff}').to_lowercase();
        self.columns()
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == h))
            .map(|(f, _)| *f)
    }

    /// The header a rejects file and the template use for a field.
    pub fn header_of(self, field: Field) -> &'static str {
        self.columns()
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, n)| n[0])
            .unwrap_or("")
    }
}

/// One problem with one value.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: Field,
    pub reason: String,
}

fn err(field: Field, reason: impl Into<String>) -> FieldError {
    FieldError {
        field,
        reason: reason.into(),
    }
}

/// A row as text cells keyed by field.
#[derive(Debug, Default, Clone)]
pub struct RawRow(pub HashMap<Field, String>);

impl RawRow {
    fn get(&self, field: Field) -> Option<&str> {
        self.0
            .get(&field)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    fn text(&self, field: Field, max_chars: usize, errors: &mut Vec<FieldError>) -> Option<String> {
        let value = self.get(field)?;
        if value.chars().count() > max_chars {
            errors.push(err(field, format!("内容过长（最多{max_chars}个字）")));
            return None;
        }
        if value.chars().any(|c| c.is_control()) {
            errors.push(err(field, "含有不可见的控制字符"));
            return None;
        }
        Some(value.to_string())
    }

    fn required_text(
        &self,
        field: Field,
        max_chars: usize,
        errors: &mut Vec<FieldError>,
    ) -> Option<String> {
        if self.get(field).is_none() {
            errors.push(err(field, "必填项为空"));
            return None;
        }
        self.text(field, max_chars, errors)
    }
}

fn credit_code(row: &RawRow, errors: &mut Vec<FieldError>) -> Option<CreditCode> {
    let Some(value) = row.get(Field::CreditCode) else {
        errors.push(err(Field::CreditCode, "必填项为空"));
        return None;
    };
    CreditCode::parse(value)
        .map_err(|e| errors.push(err(Field::CreditCode, e.to_string())))
        .ok()
}

fn phone(row: &RawRow, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = row.get(Field::Phone)?;
    let ok = value
        .chars()
        .all(|c| c.is_ascii_digit() || "-+ ()转".contains(c))
        && (7..=24).contains(&value.chars().filter(char::is_ascii_digit).count());
    if !ok {
        errors.push(err(Field::Phone, format!("联系电话“{value}”格式不正确")));
        return None;
    }
    Some(value.to_string())
}

fn date(row: &RawRow, field: Field, errors: &mut Vec<FieldError>) -> Option<chrono::NaiveDate> {
    let value = row.get(field)?;
    match crate::time::parse_date(value) {
        Some(d) if d > crate::time::today() => {
            errors.push(err(field, format!("日期“{value}”晚于今天")));
            None
        }
        Some(d) => Some(d),
        None => {
            errors.push(err(
                field,
                format!("日期“{value}”无法识别，请使用2024-03-01格式"),
            ));
            None
        }
    }
}

/// The day an entity left the register: only for one that has left, and
/// not before it was established.
fn closed_on(
    row: &RawRow,
    status: Option<EntityStatus>,
    established: Option<chrono::NaiveDate>,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDate> {
    let closed = date(row, Field::ClosedOn, errors)?;
    if status == Some(EntityStatus::Active) {
        errors.push(err(
            Field::ClosedOn,
            "登记状态为存续的主体不应填写注销（吊销、迁出）日期",
        ));
        return None;
    }
    if established.is_some_and(|e| closed < e) {
        errors.push(err(
            Field::ClosedOn,
            format!("注销日期{closed}早于成立日期"),
        ));
        return None;
    }
    Some(closed)
}

/// Validates an entity row; returns every problem found, not just the first.
pub fn parse_entity(row: &RawRow, reference: &Reference) -> Result<EntityInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let code = credit_code(row, &mut errors);
    let name = row.required_text(Field::Name, 100, &mut errors);
    let kind = match row.get(Field::Kind) {
        Some(k) => EntityKind::parse(k).or_else(|| {
            let names: Vec<&str> = EntityKind::ALL.iter().map(|k| k.zh()).collect();
            errors.push(err(
                Field::Kind,
                format!("未知的主体类型“{k}”，应为：{}", names.join("、")),
            ));
            None
        }),
        None => Some(
            code.as_ref()
                .and_then(|c| EntityKind::from_registrant(c.registrant()))
                .unwrap_or(EntityKind::Other),
        ),
    };
    let division = match row.get(Field::Division) {
        Some(d) => known_division(d, Field::Division, reference, &mut errors),
        // The code's own division digits record where it was issued, which may
        // predate a boundary change, so they are kept even when no longer current.
        None => code
            .as_ref()
            .and_then(|c| DivisionCode::parse(c.division_digits()).ok()),
    };
    let status = match row.get(Field::Status) {
        Some(s) => EntityStatus::parse(s).or_else(|| {
            errors.push(err(
                Field::Status,
                format!("未知的登记状态“{s}”，应为存续、吊销、注销或迁出"),
            ));
            None
        }),
        None => Some(EntityStatus::Active),
    };
    let legal_rep = row.text(Field::LegalRep, 50, &mut errors);
    let established = date(row, Field::Established, &mut errors);
    let closed_on = closed_on(row, status, established, &mut errors);
    let phone = phone(row, &mut errors);
    match (code, name, kind, division, status) {
        (Some(credit_code), Some(name), Some(kind), Some(division), Some(status))
            if errors.is_empty() =>
        {
            Ok(EntityInput {
                credit_code,
                name,
                kind,
                legal_rep,
                division,
                established,
                closed_on,
                status,
                phone,
            })
        }
        _ => Err(errors),
    }
}

fn known_division(
    value: &str,
    field: Field,
    reference: &Reference,
    errors: &mut Vec<FieldError>,
) -> Option<DivisionCode> {
    match DivisionCode::parse(value) {
        Ok(code) if reference.get(&code).is_some() => Some(code),
        Ok(code) => {
            errors.push(err(field, format!("区划代码“{code}”不在山西省现行区划中")));
            None
        }
        Err(e) => {
            errors.push(err(field, e.to_string()));
            None
        }
    }
}

/// Validates an outlet row: the point must fall inside a Shanxi county, and
/// the community (code or name) must exist there.
pub fn parse_outlet(
    row: &RawRow,
    datum: Datum,
    reference: &Reference,
) -> Result<OutletInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let entity = credit_code(row, &mut errors);
    let entity_name = row.text(Field::EntityName, 100, &mut errors);
    let name = row.required_text(Field::Name, 100, &mut errors);
    let service_type = match row.get(Field::ServiceType) {
        Some(t) => ServiceType::parse(t).or_else(|| {
            errors.push(err(
                Field::ServiceType,
                format!(
                    "未知的服务类型“{t}”，请填写服务类型代码（如0101）或标准名称（如家政服务点）"
                ),
            ));
            None
        }),
        None => {
            errors.push(err(Field::ServiceType, "必填项为空"));
            None
        }
    };
    let address = row.required_text(Field::Address, 200, &mut errors);
    let location = location(row, datum, &mut errors);
    let county = location.and_then(|p| match reference.county_at(p) {
        Some(shape) => Some(shape.code.clone()),
        None => {
            errors.push(err(
                Field::Lon,
                format!("坐标（{:.6}, {:.6}）不在山西省境内", p.lon(), p.lat()),
            ));
            None
        }
    });
    let division = county
        .as_ref()
        .and_then(|county| community(row, county, reference, &mut errors));
    let phone = phone(row, &mut errors);
    let hours = row.text(Field::Hours, 100, &mut errors);
    let opened_on = date(row, Field::OpenedOn, &mut errors);
    let (status, closed_on) = outlet_status(row, opened_on, &mut errors).unzip();
    let designation = designation(row, &mut errors);
    match (
        entity,
        name,
        service_type,
        address,
        location,
        division,
        status,
    ) {
        (
            Some(entity),
            Some(name),
            Some(service_type),
            Some(address),
            Some(location),
            Some(division),
            Some(status),
        ) if errors.is_empty() => {
            let county = division
                .ancestor(Level::County)
                .expect("division at county level or below");
            Ok(OutletInput {
                entity,
                entity_name,
                name,
                service_type,
                address,
                division,
                county,
                location,
                phone,
                hours,
                opened_on,
                status,
                closed_on: closed_on.flatten(),
                designation,
            })
        }
        _ => Err(errors),
    }
}

/// An outlet's 状态 and 关闭日期: a row lists an operating outlet unless it
/// says 已关闭 or gives a closing day; the day is neither set for one in
/// operation nor before it opened.
fn outlet_status(
    row: &RawRow,
    opened_on: Option<chrono::NaiveDate>,
    errors: &mut Vec<FieldError>,
) -> Option<(OutletStatus, Option<chrono::NaiveDate>)> {
    let closed_on = date(row, Field::ClosedOn, errors);
    let status = match row.get(Field::Status) {
        Some(s) => OutletStatus::parse(s).or_else(|| {
            errors.push(err(
                Field::Status,
                format!("未知的状态“{s}”，应为{}", OutletStatus::choices()),
            ));
            None
        })?,
        None if closed_on.is_some() => OutletStatus::Closed,
        None => OutletStatus::Open,
    };
    match closed_on {
        Some(_) if status == OutletStatus::Open => {
            errors.push(err(Field::ClosedOn, "状态为在营的网点不应填写关闭日期"));
            None
        }
        Some(closed) if opened_on.is_some_and(|o| closed < o) => {
            errors.push(err(
                Field::ClosedOn,
                format!("关闭日期{closed}早于开业日期"),
            ));
            None
        }
        _ => Some((status, closed_on)),
    }
}

fn location(row: &RawRow, datum: Datum, errors: &mut Vec<FieldError>) -> Option<Coordinates> {
    let (Some(lon), Some(lat)) = (row.get(Field::Lon), row.get(Field::Lat)) else {
        for field in [Field::Lon, Field::Lat] {
            if row.get(field).is_none() {
                errors.push(err(field, "必填项为空"));
            }
        }
        return None;
    };
    Coordinates::parse(lon, lat, datum)
        .map_err(|e| {
            let field = if matches!(e, lifeservice_domain::GeoError::Latitude(_)) {
                Field::Lat
            } else {
                Field::Lon
            };
            errors.push(err(field, e.to_string()))
        })
        .ok()
}

/// The community where given (by 12-digit code or by name within the point's
/// county), else the county itself. A code in another city than the point is
/// an error; a neighbouring county of the same city is tolerated because the
/// shipped boundaries are coarse.
fn community(
    row: &RawRow,
    county: &DivisionCode,
    reference: &Reference,
    errors: &mut Vec<FieldError>,
) -> Option<DivisionCode> {
    let Some(value) = row.get(Field::Community) else {
        return Some(county.clone());
    };
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let code = known_division(value, Field::Community, reference, errors)?;
        if code.level() < Level::County {
            errors.push(err(
                Field::Community,
                format!(
                    "“{code}”是{}级区划，应填写县级及以下区划",
                    code.level().zh()
                ),
            ));
            return None;
        }
        if code.ancestor(Level::City) != county.ancestor(Level::City) {
            errors.push(err(
                Field::Community,
                format!(
                    "所属社区“{}”与坐标所在的{}不一致",
                    reference.full_name(&code),
                    reference.full_name(county)
                ),
            ));
            return None;
        }
        return Some(code);
    }
    match reference.village_by_name(county, value).as_slice() {
        [one] => Some(one.clone()),
        [] => {
            errors.push(err(
                Field::Community,
                format!(
                    "在{}未找到名为“{value}”的村（社区）",
                    reference.full_name(county)
                ),
            ));
            None
        }
        many => {
            errors.push(err(
                Field::Community,
                format!(
                    "“{value}”在{}有{}个同名村（社区），请填写12位区划代码",
                    reference.full_name(county),
                    many.len()
                ),
            ));
            None
        }
    }
}

fn designation(row: &RawRow, errors: &mut Vec<FieldError>) -> Option<DesignationInput> {
    let value = row.get(Field::Designation)?;
    let Some(kind) = DesignationKind::parse(value) else {
        let names: Vec<&str> = DesignationKind::ALL.iter().map(|k| k.zh()).collect();
        errors.push(err(
            Field::Designation,
            format!("未知的认定称号“{value}”，应为：{}", names.join("、")),
        ));
        return None;
    };
    let grade = row.get(Field::Grade).map(str::to_string);
    if let Some(g) = &grade {
        if let Err(reason) = kind.validate_grade(g) {
            errors.push(err(Field::Grade, reason));
        }
    } else if matches!(kind, DesignationKind::StarRating | DesignationKind::AGrade) {
        errors.push(err(Field::Grade, format!("{}须填写等级", kind.zh())));
    }
    let granted_by = row.required_text(Field::GrantedBy, 100, errors)?;
    let granted_on = date(row, Field::GrantedOn, errors);
    Some(DesignationInput {
        kind,
        grade,
        granted_by,
        granted_on,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(Field, &str)]) -> RawRow {
        RawRow(pairs.iter().map(|(f, v)| (*f, v.to_string())).collect())
    }

    fn good_outlet() -> Vec<(Field, &'static str)> {
        vec![
            (Field::CreditCode, "91350200776049653A"),
            (Field::Name, "小店家政服务部"),
            (Field::ServiceType, "家政服务点"),
            (Field::Address, "太原市小店区坞城路92号"),
            (Field::Community, "师范街社区"),
            (Field::Lon, "112.585"),
            (Field::Lat, "37.775"),
        ]
    }

    #[test]
    fn parses_a_good_outlet_and_resolves_the_community_by_name() {
        let outlet =
            parse_outlet(&row(&good_outlet()), Datum::Wgs84, Reference::shipped()).unwrap();
        assert_eq!(outlet.division.as_str(), "140105001001");
        assert_eq!(outlet.county.as_str(), "140105");
        assert_eq!(outlet.service_type.code(), "0101");
    }

    #[test]
    fn reports_every_bad_field() {
        let mut pairs = good_outlet();
        pairs[0].1 = "91350200776049653B";
        pairs[2].1 = "算命";
        pairs[5].1 = "116.4"; // Beijing
        pairs[6].1 = "39.9";
        let errors = parse_outlet(&row(&pairs), Datum::Wgs84, Reference::shipped()).unwrap_err();
        let fields: Vec<Field> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            vec![Field::CreditCode, Field::ServiceType, Field::Lon]
        );
        assert!(errors[0].reason.contains("校验位"));
        assert!(errors[2].reason.contains("不在山西省境内"));
    }

    #[test]
    fn status_and_closing_day_agree_with_each_other_and_the_opening_day() {
        let parse = |extra: &[(Field, &'static str)]| {
            let mut pairs = good_outlet();
            pairs.extend_from_slice(extra);
            parse_outlet(&row(&pairs), Datum::Wgs84, Reference::shipped())
        };
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let open = parse(&[]).unwrap();
        assert_eq!((open.status, open.closed_on), (OutletStatus::Open, None));
        let closed = parse(&[(Field::ClosedOn, "2024-05-01")]).unwrap();
        assert_eq!(
            (closed.status, closed.closed_on),
            (OutletStatus::Closed, Some(day("2024-05-01"))),
            "a closing day closes the outlet"
        );
        let closed = parse(&[(Field::Status, "已关闭")]).unwrap();
        assert_eq!(
            (closed.status, closed.closed_on),
            (OutletStatus::Closed, None)
        );

        let reason = |extra: &[(Field, &'static str)]| {
            let errors = parse(extra).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            (errors[0].field, errors[0].reason.clone())
        };
        assert_eq!(
            reason(&[(Field::Status, "停业")]),
            (
                Field::Status,
                "未知的状态“停业”，应为在营、已关闭".to_string()
            )
        );
        assert_eq!(
            reason(&[(Field::Status, "在营"), (Field::ClosedOn, "2024-05-01")]),
            (
                Field::ClosedOn,
                "状态为在营的网点不应填写关闭日期".to_string()
            )
        );
        assert_eq!(
            reason(&[
                (Field::OpenedOn, "2024-06-01"),
                (Field::ClosedOn, "2024-05-01")
            ]),
            (
                Field::ClosedOn,
                "关闭日期2024-05-01早于开业日期".to_string()
            )
        );
    }

    #[test]
    fn rejects_unknown_community_and_community_in_another_city() {
        let mut pairs = good_outlet();
        pairs[4].1 = "不存在社区";
        let errors = parse_outlet(&row(&pairs), Datum::Wgs84, Reference::shipped()).unwrap_err();
        assert!(errors[0].reason.contains("未找到"));
        pairs[4].1 = "140202001001"; // 大同
        let errors = parse_outlet(&row(&pairs), Datum::Wgs84, Reference::shipped()).unwrap_err();
        assert_eq!(errors[0].field, Field::Community);
    }

    #[test]
    fn entity_defaults_come_from_the_code() {
        let entity = parse_entity(
            &row(&[
                (Field::CreditCode, "91350200776049653A"),
                (Field::Name, "某公司"),
            ]),
            Reference::shipped(),
        )
        .unwrap();
        assert_eq!(entity.kind, EntityKind::Enterprise);
        assert_eq!(entity.division.as_str(), "3502");
        assert_eq!(entity.status, EntityStatus::Active);
    }

    #[test]
    fn headers_in_chinese_and_english() {
        assert_eq!(
            RecordKind::Outlets.field_for_header("\u{feff}统一社会信用代码"),
            Some(Field::CreditCode)
        );
        assert_eq!(
            RecordKind::Outlets.field_for_header(" Longitude "),
            Some(Field::Lon)
        );
        assert_eq!(
            RecordKind::Outlets.field_for_header("所属村（社区）"),
            Some(Field::Community)
        );
        assert_eq!(RecordKind::Entities.field_for_header("不知道"), None);
    }
}
