//! The Excel workbook a unit fills in (进展填报模板): one row per task and
//! indicator (or 任务整体) the unit is responsible for, one per area for an
//! indicator assessed per city or county, consolidated rows (牵头汇总) on the
//! tasks the unit leads with others, with the unit's prior value prefilled and
//! an instructions sheet. Uploading it submits every filled
//! row through the same checks as the web form: bad rows are listed with row,
//! column and reason, good rows are stored, a re-upload amends with history.

use super::cadence::Cadences;
use super::reports::{self, ReportBody, ReportKey, UnitValues, consolidating_lead};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::reference::Reference;
use crate::registry::import::Table;
use crate::storage::Db;
use lifeservice_domain::plan::{Cadence, Indicator, Period, Plan, Task, Unit, parse_value};
use lifeservice_domain::{DivisionCode, Level};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;
use std::collections::HashMap;

/// The template's columns, in order; an upload finds them by name.
pub const COLUMNS: [&str; 11] = [
    "任务编号",
    "任务",
    "指标",
    "地区",
    "类型",
    "单位",
    "目标",
    "期间",
    "数值",
    "进展说明",
    "佐证材料",
];
/// Columns an upload cannot do without.
const REQUIRED: [&str; 5] = ["任务编号", "指标", "期间", "数值", "进展说明"];
/// What the 指标 column says on a row about the task as a whole.
const WHOLE_TASK: &str = "任务整体";
/// What the 类型 column says of a unit's own report and of a consolidated one.
const OWN: &str = "本单位";
const CONSOLIDATED: &str = "牵头汇总";

/// The period a task's row is for: the period of the task's cadence that
/// contains the last day of the requested one, or else the task's last ended
/// period.
pub fn row_period(cadence: Cadence, requested: Option<Period>, today: chrono::NaiveDate) -> Period {
    match requested {
        Some(p) => cadence.period_containing(p.end()),
        None => cadence.last_due(today),
    }
}

/// One row of a unit's template.
struct TemplateRow<'a> {
    task: &'a Task,
    indicator: Option<&'a Indicator>,
    division: Option<DivisionCode>,
    consolidated: bool,
    period: Period,
    prior: Option<f64>,
}

/// The areas a per-area indicator gets a row for: every city or county; none
/// for townships (too many to list: the unit adds rows for the ones it reports).
fn areas_of(indicator: Option<&Indicator>) -> Vec<Option<DivisionCode>> {
    let reference = Reference::shipped();
    match indicator.and_then(|i| i.scope.area_level()) {
        Some(Level::City) => reference.cities().iter().cloned().map(Some).collect(),
        Some(Level::County) => reference
            .cities()
            .iter()
            .flat_map(|c| reference.children(c))
            .filter(|d| d.level() == Level::County)
            .cloned()
            .map(Some)
            .collect(),
        _ => vec![None],
    }
}

fn template_rows<'a>(
    plan: &'a Plan,
    unit: &Unit,
    cadences: &Cadences,
    values: &UnitValues,
    requested: Option<Period>,
) -> Vec<TemplateRow<'a>> {
    let today = crate::time::today();
    let mut rows = Vec::new();
    for task in plan
        .tasks
        .iter()
        .filter(|t| t.responsible_units.contains(&unit.id))
    {
        let period = row_period(cadences.of(task.number), requested, today);
        let consolidated = consolidating_lead(plan, task).is_some_and(|l| l.id == unit.id);
        // Per-area targets the platform counts itself are not asked for.
        let targets = plan.indicators_of(Some(task.number)).filter(|i| {
            i.is_target()
                && !(i.scope.area_level().is_some() && super::views::is_measured(i.id.as_str()))
        });
        for indicator in targets.map(Some).chain([None]) {
            for division in areas_of(indicator) {
                let key = ReportKey {
                    task: task.number,
                    indicator: indicator.map_or(String::new(), |i| i.id.to_string()),
                    division: division.as_ref().map_or(String::new(), ToString::to_string),
                    consolidated,
                };
                rows.push(TemplateRow {
                    task,
                    indicator,
                    prior: values.latest(&key, period.end()),
                    division,
                    consolidated,
                    period,
                });
            }
        }
    }
    rows
}

/// The unit's template as XLSX bytes: the 填报 sheet first (an upload reads
/// the first sheet), then 填报说明.
pub async fn template(
    db: &Db,
    cadences: &Cadences,
    unit: &Unit,
    requested: Option<Period>,
) -> AppResult<Vec<u8>> {
    let plan = Plan::shipped();
    let values = UnitValues::load(db, &unit.id).await?;
    let rows = template_rows(plan, unit, cadences, &values, requested);
    write_template(unit, &rows).map_err(|e| anyhow::Error::from(e).into())
}

fn write_template(unit: &Unit, rows: &[TemplateRow]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    // Text cells, so that Excel keeps a typed 2026-10 as a period, not a date.
    let text = Format::new().set_num_format("@");
    let sheet = book.add_worksheet();
    sheet.set_name("填报")?;
    for (c, (name, width)) in COLUMNS
        .iter()
        .zip([8, 28, 30, 22, 10, 6, 10, 10, 10, 50, 30])
        .enumerate()
    {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *name, &bold)?;
        sheet.set_column_width(c, width)?;
    }
    for c in [3, 7, 9, 10] {
        sheet.set_column_format(c, &text)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (r, row) in rows.iter().enumerate() {
        write_row(sheet, r as u32 + 1, row, &text)?;
    }
    instructions(book.add_worksheet(), unit, &bold)?;
    book.save_to_buffer()
}

fn write_row(
    sheet: &mut Worksheet,
    r: u32,
    row: &TemplateRow,
    text: &Format,
) -> Result<(), XlsxError> {
    sheet.write_number(r, 0, row.task.number)?;
    sheet.write_string(r, 1, &row.task.title)?;
    match row.indicator {
        Some(i) => {
            sheet.write_string(r, 2, format!("{} {}", i.id, i.name))?;
            sheet.write_string(r, 5, &i.unit)?;
            sheet.write_string(
                r,
                6,
                format!("{}（{}）", super::bounds(i.min, i.max), i.scope.zh()),
            )?;
        }
        None => {
            sheet.write_string(r, 2, WHOLE_TASK)?;
        }
    }
    if let Some(d) = &row.division {
        let name = Reference::shipped().full_name(d);
        sheet.write_string_with_format(r, 3, format!("{d} {name}"), text)?;
    }
    sheet.write_string(r, 4, if row.consolidated { CONSOLIDATED } else { OWN })?;
    sheet.write_string_with_format(r, 7, row.period.to_string(), text)?;
    if let Some(prior) = row.prior {
        sheet.write_number(r, 8, prior)?;
    }
    Ok(())
}

fn instructions(sheet: &mut Worksheet, unit: &Unit, bold: &Format) -> Result<(), XlsxError> {
    sheet.set_name("填报说明")?;
    sheet.set_column_width(0, 100)?;
    sheet.write_string_with_format(0, 0, "《山西省生活性服务业发展行动方案》进展填报模板", bold)?;
    let lines = [
        format!("责任单位：{}（{}）", unit.name, unit.id),
        format!("生成日期：{}", crate::time::today()),
        "每行是本单位负责的一项任务的一个量化指标，或该任务的“任务整体”进展（定性任务只有这一行）。".into(),
        "请填写“数值”（按“单位”列的单位，只填数字；比例以百分数填写，10表示10%）、“进展说明”（必填，最多5000字）和“佐证材料”（文号、链接或文件名）。".into(),
        "“期间”按各任务的填报频次：按季度写作2026-Q3，按月写作2026-10；不能填报尚未开始的期间。".into(),
        "“数值”已预填本单位最近一次填报的数值：未填写进展说明、数值也未改动的行视为本期不填报，上传时跳过。".into(),
        "按市、按县考核的指标每个地区一行，“地区”列为区划代码和名称；按乡镇考核的指标请自行增加行，在“地区”列填写乡镇（街道）的9位区划代码。全省指标“地区”留空。".into(),
        "“类型”为“本单位”的行填报本单位负责的部分；本单位牵头、另有其他责任单位的任务为“牵头汇总”行：请综合各单位的填报（见平台任务页）填写汇总值，汇总值即为任务的正式进展。牵头单位也可另填“本单位”行。".into(),
        "请勿修改“任务编号”“指标”“地区”“类型”“单位”各列（按乡镇考核的指标可自行增加行）；不填报的行可以删除。同一期间再次上传即为更正，平台保留历史版本。".into(),
        "上传：登录平台后在“进展填报”页面（/plan/desk）上传本文件；出错的行会列出行号、列和原因，其余各行照常保存。".into(),
    ];
    for (r, line) in lines.iter().enumerate() {
        sheet.write_string(r as u32 + 2, 0, line)?;
    }
    Ok(())
}

/// A rejected row of an upload; `row` is the spreadsheet row (the header is row 1).
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UploadReport {
    /// Data rows read (blank rows not counted).
    pub rows: usize,
    pub created: usize,
    pub amended: usize,
    /// Rows left as the template had them.
    pub skipped: usize,
    pub errors: Vec<RowError>,
}

impl UploadReport {
    pub fn summary_zh(&self) -> String {
        format!(
            "共读取{}行：新填报{}行，更正{}行，未填写跳过{}行，出错{}行。",
            self.rows,
            self.created,
            self.amended,
            self.skipped,
            self.errors.len()
        )
    }

    fn reject(&mut self, row: usize, column: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            row,
            column: column.to_string(),
            reason: reason.into(),
        });
    }
}

/// Reads an uploaded template (XLSX, or CSV with the same columns) and
/// submits its filled rows as `principal` for `unit`, each through the checks
/// of [`reports::submit`] (which refuses a unit the account may not report
/// for). File-level problems store nothing.
pub async fn upload(
    db: &Db,
    principal: &Principal,
    unit: &Unit,
    bytes: &[u8],
) -> AppResult<UploadReport> {
    let table = Table::read(bytes).map_err(|e| AppError::field("file", e.to_string()))?;
    let header = table
        .header()
        .map_err(|e| AppError::field("file", e.to_string()))?;
    let columns = column_map(&header)?;
    let plan = Plan::shipped();
    let values = UnitValues::load(db, &unit.id).await?;
    let mut report = UploadReport::default();
    let mut seen: HashMap<(ReportKey, String), usize> = HashMap::new();
    for (row, cells) in table.rows().skip(1) {
        let cells = match cells {
            Ok(cells) => cells,
            Err(e) => {
                report.reject(row, "", format!("第{row}行无法解析：{e}"));
                break;
            }
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let cells = Cells {
            columns: &columns,
            cells: &cells,
        };
        let mut body = match read_row(plan, &cells, &values) {
            Ok(Some(body)) => body,
            Ok(None) => {
                report.skipped += 1;
                continue;
            }
            Err((column, reason)) => {
                report.reject(row, column, reason);
                continue;
            }
        };
        let period = Period::parse(&body.period).map_or(body.period.clone(), |p| p.to_string());
        let key = ReportKey {
            task: body.task,
            indicator: body.indicator.clone().unwrap_or_default(),
            division: body.division.clone().unwrap_or_default(),
            consolidated: body.consolidated,
        };
        if let Some(first) = seen.insert((key, period), row) {
            report.reject(
                row,
                "期间",
                format!("与第{first}行是同一任务、指标、地区、类型和期间的重复填报"),
            );
            continue;
        }
        body.unit = Some(unit.id.to_string());
        match reports::submit(db, principal, &body).await {
            Ok(r) if r.version > 1 => report.amended += 1,
            Ok(_) => report.created += 1,
            Err(AppError::Internal(e)) => return Err(AppError::Internal(e)),
            Err(e) => report.reject(row, column_of(&e), e.to_string()),
        }
    }
    Ok(report)
}

/// Column positions by header; names the missing required ones.
fn column_map(header: &[String]) -> AppResult<HashMap<&'static str, usize>> {
    let columns: HashMap<&'static str, usize> = COLUMNS
        .iter()
        .filter_map(|name| Some((*name, header.iter().position(|h| h.trim() == *name)?)))
        .collect();
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|c| !columns.contains_key(c))
        .collect();
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(AppError::field(
            "file",
            format!(
                "文件缺少必填列：{}（请使用平台生成的填报模板）",
                missing.join("、")
            ),
        ))
    }
}

/// The cells of a data row, by column name.
struct Cells<'r> {
    columns: &'r HashMap<&'static str, usize>,
    cells: &'r [String],
}

impl<'r> Cells<'r> {
    /// The trimmed cell of a column; empty when the file has no such column.
    fn get(&self, name: &str) -> &'r str {
        self.columns
            .get(name)
            .and_then(|&c| self.cells.get(c))
            .map_or("", |s| s.trim())
    }
}

/// A row's report, `None` for a row left as the template had it, or the
/// column and reason it cannot be read.
fn read_row(
    plan: &Plan,
    row: &Cells,
    values: &UnitValues,
) -> Result<Option<ReportBody>, (&'static str, String)> {
    let cell = |name: &str| row.get(name);
    let number = cell("任务编号");
    let task = number
        .parse::<u8>()
        .ok()
        .and_then(|n| plan.task(n))
        .ok_or_else(|| {
            (
                "任务编号",
                format!(
                    "任务编号“{number}”无效：应为1至{}的任务编号",
                    plan.tasks.len()
                ),
            )
        })?;
    let indicator = indicator_of(plan, task, cell("指标"))?;
    let unit = indicator.map_or("", |i| i.unit.as_str());
    let value = match cell("数值") {
        "" => None,
        text => Some(parse_value(text, unit).map_err(|e| ("数值", e))?),
    };
    // The template writes `140105 小店区`; the code is what counts.
    let division = cell("地区").split_whitespace().next().unwrap_or("");
    let consolidated = match cell("类型") {
        "" | OWN => false,
        CONSOLIDATED => true,
        other => {
            return Err((
                "类型",
                format!("类型“{other}”无效：应为“{OWN}”或“{CONSOLIDATED}”"),
            ));
        }
    };
    let (narrative, evidence) = (cell("进展说明"), cell("佐证材料"));
    if narrative.is_empty() && evidence.is_empty() {
        let key = ReportKey {
            task: task.number,
            indicator: indicator.map_or(String::new(), |i| i.id.to_string()),
            division: division.to_string(),
            consolidated,
        };
        let prior = Period::parse(cell("期间"))
            .ok()
            .and_then(|p| values.latest(&key, p.end()));
        if value.is_none() || value == prior {
            return Ok(None);
        }
    }
    Ok(Some(ReportBody {
        task: task.number,
        indicator: indicator.map(|i| i.id.to_string()),
        period: cell("期间").to_string(),
        value,
        value_unit: Some(cell("单位").to_string()).filter(|u| !u.is_empty()),
        narrative: narrative.to_string(),
        evidence: evidence.to_string(),
        unit: None,
        division: Some(division.to_string()).filter(|d| !d.is_empty()),
        consolidated,
    }))
}

/// The indicator a 指标 cell names: `T16-1 养老服务模范市` as the template
/// writes it, the id or the name alone, or none for 任务整体.
fn indicator_of<'a>(
    plan: &'a Plan,
    task: &Task,
    text: &str,
) -> Result<Option<&'a Indicator>, (&'static str, String)> {
    if text.is_empty() || text == WHOLE_TASK {
        return Ok(None);
    }
    let id = text.split_whitespace().next().unwrap_or(text);
    plan.indicators_of(Some(task.number))
        .find(|i| i.id.as_str() == id || i.name == text)
        .map(Some)
        .ok_or_else(|| {
            let choices: Vec<String> = plan
                .indicators_of(Some(task.number))
                .map(|i| format!("{} {}", i.id, i.name))
                .chain([WHOLE_TASK.to_string()])
                .collect();
            (
                "指标",
                format!(
                    "指标“{text}”不属于任务{}（可填：{}）",
                    task.number,
                    choices.join("、")
                ),
            )
        })
}

/// The template column a submission error is about.
fn column_of(error: &AppError) -> &'static str {
    match error.field_name() {
        Some("indicator") => "指标",
        Some("period") => "期间",
        Some("value") => "数值",
        Some("value_unit") => "单位",
        Some("narrative") => "进展说明",
        Some("evidence") => "佐证材料",
        Some("division") => "地区",
        Some("consolidated") => "类型",
        _ => "任务编号",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_take_the_tasks_own_period() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let august = Period::parse("2026-08").ok();
        assert_eq!(
            row_period(Cadence::Quarterly, august, today).to_string(),
            "2026-Q3"
        );
        assert_eq!(
            row_period(Cadence::Monthly, august, today).to_string(),
            "2026-08"
        );
        let q2 = Period::parse("2026-Q2").ok();
        assert_eq!(
            row_period(Cadence::Monthly, q2, today).to_string(),
            "2026-06"
        );
        assert_eq!(
            row_period(Cadence::Monthly, None, today).to_string(),
            "2026-10"
        );
    }

    #[test]
    fn columns_are_found_by_name_and_missing_ones_named() {
        let header: Vec<String> = ["进展说明", "任务编号", " 指标 ", "期间", "数值"]
            .map(String::from)
            .to_vec();
        let columns = column_map(&header).unwrap();
        assert_eq!((columns["任务编号"], columns["指标"]), (1, 2));
        let err = column_map(&header[..3]).unwrap_err().to_string();
        assert!(err.contains("期间、数值"), "{err}");
    }

    #[test]
    fn indicators_are_read_by_id_or_name() {
        let plan = Plan::shipped();
        let task = plan.task(16).unwrap();
        let id = |text| indicator_of(plan, task, text).map(|i| i.map(|i| i.id.to_string()));
        assert_eq!(id("T16-1 养老服务模范市"), Ok(Some("T16-1".into())));
        assert_eq!(id("综合性养老机构"), Ok(Some("T16-8".into())));
        assert_eq!(id(WHOLE_TASK), Ok(None));
        let (column, reason) = id("T01-2").unwrap_err();
        assert!(
            column == "指标" && reason.contains("T16-8 综合性养老机构"),
            "{reason}"
        );
    }
}
