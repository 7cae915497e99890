//! Exports of the registry in its public view (personal data masked), or in
//! the import template's columns for the department that keeps it, as CSV
//! with a BOM (so Excel reads the Chinese), XLSX or JSON.

use super::fields::{Field, RecordKind};
use super::store;
use super::{Designation, Entity, Outlet};
use crate::auth::Principal;
use crate::storage::Db;
use lifeservice_domain::{DivisionCode, OutletStatus, ServiceType};

pub struct ExportTable {
    pub headers: Vec<&'static str>,
    pub records: Vec<Vec<String>>,
}

impl ExportTable {
    pub fn to_json(&self) -> serde_json::Value {
        self.records
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    self.headers
                        .iter()
                        .zip(r)
                        .map(|(h, v)| (h.to_string(), v.clone().into()))
                        .collect(),
                )
            })
            .collect()
    }
}

/// Calls `f` on every outlet, with its designations, in id order; one page
/// in memory at a time.
async fn each_outlet(db: &Db, mut f: impl FnMut(Outlet)) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    let mut after = 0;
    loop {
        let ids = store::outlet_ids_page(&mut conn, after, 5000).await?;
        let Some(&last) = ids.last() else { break };
        after = last;
        store::outlets_by_ids(&mut conn, &ids)
            .await?
            .into_iter()
            .for_each(&mut f);
    }
    Ok(())
}

/// Calls `f` on every entity, in id order.
async fn each_entity(db: &Db, mut f: impl FnMut(Entity)) -> anyhow::Result<()> {
    let mut conn = db.pool().acquire().await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM entities ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    for chunk in ids.chunks(5000) {
        store::entities_by_ids(&mut conn, chunk)
            .await?
            .into_iter()
            .for_each(&mut f);
    }
    Ok(())
}

fn yes_no(flag: bool) -> String {
    if flag { "是" } else { "否" }.into()
}

fn outlet_status_zh(status: &str) -> String {
    OutletStatus::parse(status).map_or(status.to_string(), |s| s.zh().to_string())
}

pub async fn public_rows(db: &Db, kind: RecordKind) -> anyhow::Result<ExportTable> {
    let mut records = Vec::new();
    let headers = match kind {
        RecordKind::Outlets => {
            each_outlet(db, |o| {
                let o = o.public();
                let designations = o
                    .designations
                    .iter()
                    .map(|d| format!("{}{}", d.kind_zh, d.grade.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(";");
                records.push(vec![
                    o.id.to_string(),
                    o.entity_code,
                    o.entity_name,
                    o.name,
                    o.service_type,
                    o.service_type_zh,
                    o.address,
                    o.division_code,
                    degrees(o.lon),
                    degrees(o.lat),
                    o.phone.unwrap_or_default(),
                    o.hours.unwrap_or_default(),
                    outlet_status_zh(&o.status),
                    o.closed_on.unwrap_or_default(),
                    designations,
                    yes_no(o.synthetic),
                ]);
            })
            .await?;
            vec![
                "网点编号",
                "统一社会信用代码",
                "主体名称",
                "名称",
                "服务类型代码",
                "服务类型",
                "地址",
                "所属社区",
                "经度",
                "纬度",
                "联系电话",
                "营业时间",
                "状态",
                "关闭日期",
                "认定称号",
                "合成数据",
            ]
        }
        RecordKind::Entities => {
            each_entity(db, |e| {
                let e = e.public();
                records.push(vec![
                    e.credit_code,
                    e.name,
                    e.kind_zh,
                    e.legal_rep.unwrap_or_default(),
                    e.division_code,
                    e.established.unwrap_or_default(),
                    e.status_zh,
                    e.closed_on.unwrap_or_default(),
                    e.phone.unwrap_or_default(),
                    yes_no(e.synthetic),
                ]);
            })
            .await?;
            vec![
                "统一社会信用代码",
                "名称",
                "主体类型",
                "法定代表人",
                "登记区划",
                "成立日期",
                "登记状态",
                "注销日期",
                "联系电话",
                "合成数据",
            ]
        }
    };
    Ok(ExportTable { headers, records })
}

/// The registry as the submitting department edits it: the import
/// template's columns, nothing masked, an outlet on one row per designation
/// (an import row carries one). Imported back unchanged, it changes nothing.
///
/// It holds personal data: the command line writes all of it (`editor` is
/// `None`); a signed-in account gets only the rows it may write, the same
/// rule its imports pass.
pub async fn importable_rows(
    db: &Db,
    kind: RecordKind,
    editor: Option<&Principal>,
) -> anyhow::Result<ExportTable> {
    let headers = kind.columns().iter().map(|(_, names)| names[0]).collect();
    let mut records = Vec::new();
    match kind {
        RecordKind::Outlets => {
            each_outlet(db, |o| {
                if !editor.is_none_or(|p| may_write_outlet(p, &o)) {
                    return;
                }
                if o.designations.is_empty() {
                    records.push(outlet_cells(&o, None));
                }
                for d in &o.designations {
                    records.push(outlet_cells(&o, Some(d)));
                }
            })
            .await?
        }
        RecordKind::Entities => {
            each_entity(db, |e| {
                if editor.is_none_or(|p| may_write_entity(p, &e)) {
                    records.push(entity_cells(&e));
                }
            })
            .await?
        }
    }
    Ok(ExportTable { headers, records })
}

fn may_write_outlet(editor: &Principal, o: &Outlet) -> bool {
    match (
        ServiceType::parse(&o.service_type),
        DivisionCode::parse(&o.division_code),
    ) {
        (Some(service_type), Ok(division)) => {
            editor.may_write_outlet(service_type, &division).is_ok()
        }
        _ => false,
    }
}

fn may_write_entity(editor: &Principal, e: &Entity) -> bool {
    DivisionCode::parse(&e.division_code).is_ok_and(|d| editor.may_write_entity(&d).is_ok())
}

fn outlet_cells(o: &Outlet, d: Option<&Designation>) -> Vec<String> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    RecordKind::Outlets
        .columns()
        .iter()
        .map(|(field, _)| match field {
            Field::CreditCode => o.entity_code.clone(),
            Field::EntityName => o.entity_name.clone(),
            Field::Name => o.name.clone(),
            Field::ServiceType => o.service_type.clone(),
            Field::Address => o.address.clone(),
            Field::Community => o.division_code.clone(),
            Field::Lon => degrees(o.lon),
            Field::Lat => degrees(o.lat),
            Field::Phone => text(&o.phone),
            Field::Hours => text(&o.hours),
            Field::OpenedOn => text(&o.opened_on),
            Field::Status => outlet_status_zh(&o.status),
            Field::ClosedOn => text(&o.closed_on),
            Field::Designation => d.map(|d| d.kind_zh.clone()).unwrap_or_default(),
            Field::Grade => d.and_then(|d| d.grade.clone()).unwrap_or_default(),
            Field::GrantedBy => d.map(|d| d.granted_by.clone()).unwrap_or_default(),
            Field::GrantedOn => d.and_then(|d| d.granted_on.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .collect()
}

fn entity_cells(e: &Entity) -> Vec<String> {
    RecordKind::Entities
        .columns()
        .iter()
        .map(|(field, _)| match field {
            Field::CreditCode => e.credit_code.clone(),
            Field::Name => e.name.clone(),
            Field::Kind => e.kind_zh.clone(),
            Field::LegalRep => e.legal_rep.clone().unwrap_or_default(),
            Field::Division => e.division_code.clone(),
            Field::Established => e.established.clone().unwrap_or_default(),
            Field::ClosedOn => e.closed_on.clone().unwrap_or_default(),
            Field::Status => e.status_zh.clone(),
            Field::Phone => e.phone.clone().unwrap_or_default(),
            _ => String::new(),
        })
        .collect()
}

pub fn to_csv(table: &ExportTable) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer
        .write_record(&table.headers)
        .expect("in-memory write");
    for r in &table.records {
        writer.write_record(r).expect("in-memory write");
    }
    writer.into_inner().expect("in-memory write")
}

pub fn to_xlsx(table: &ExportTable, path: &std::path::Path) -> anyhow::Result<()> {
    workbook(table)?.save(path)?;
    Ok(())
}

/// The workbook as bytes, for a download.
pub fn xlsx_bytes(table: &ExportTable) -> anyhow::Result<Vec<u8>> {
    Ok(workbook(table)?.save_to_buffer()?)
}

/// Rows one worksheet holds below its header row (Excel's limit).
pub const XLSX_MAX_RECORDS: usize = 1_048_575;

fn workbook(table: &ExportTable) -> anyhow::Result<rust_xlsxwriter::Workbook> {
    anyhow::ensure!(
        table.records.len() <= XLSX_MAX_RECORDS,
        "共{}行，超过Excel单个工作表的上限（{XLSX_MAX_RECORDS}行），请改用CSV格式",
        table.records.len()
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in table.headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, record) in table.records.iter().enumerate() {
        for (c, v) in record.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, v)?;
        }
    }
    Ok(book)
}

/// A coordinate as stored: every digit the registry keeps, so that the file
/// imports back unchanged.
fn degrees(value: f64) -> String {
    format!("{value:.*}", lifeservice_domain::geo::DECIMALS as usize)
}
