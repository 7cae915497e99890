//! Exports of the registry in its public view (personal data masked), as
//! CSV with a BOM (so Excel reads the Chinese), XLSX or JSON.

use super::fields::RecordKind;
use super::store;
use crate::storage::Db;
use lifeservice_domain::OutletStatus;

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

pub async fn public_rows(db: &Db, kind: RecordKind) -> anyhow::Result<ExportTable> {
    let mut conn = db.pool().acquire().await?;
    let mut records = Vec::new();
    let headers = match kind {
        RecordKind::Outlets => {
            let mut after = 0;
            loop {
                let ids = store::outlet_ids_page(&mut conn, after, 5000).await?;
                let Some(&last) = ids.last() else { break };
                after = last;
                for o in store::outlets_by_ids(&mut conn, &ids)
                    .await?
                    .into_iter()
                    .map(super::Outlet::public)
                {
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
                        OutletStatus::parse(&o.status)
                            .map_or(o.status.clone(), |s| s.zh().to_string()),
                        o.closed_on.unwrap_or_default(),
                        designations,
                        if o.synthetic {
                            "是".into()
                        } else {
                            "否".into()
                        },
                    ]);
                }
            }
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
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM entities ORDER BY id")
                .fetch_all(&mut *conn)
                .await?;
            for chunk in ids.chunks(5000) {
                for e in store::entities_by_ids(&mut conn, chunk)
                    .await?
                    .into_iter()
                    .map(super::Entity::public)
                {
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
                        if e.synthetic {
                            "是".into()
                        } else {
                            "否".into()
                        },
                    ]);
                }
            }
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
    book.save(path)?;
    Ok(())
}

/// A coordinate as stored: every digit the registry keeps, so that the file
/// imports back unchanged.
fn degrees(value: f64) -> String {
    format!("{value:.*}", lifeservice_domain::geo::DECIMALS as usize)
}
