//! The one-stop credit profile (一站式信用查询) of an entity: what is public
//! today, masked for the public, with a plain-language summary; officers
//! also see what is no longer public, marked as such.

use super::CreditRecord;
use crate::error::AppResult;
use lifeservice_domain::credit::{LicenceState, RecordKind, ValidUntil, parse_template_date};
use serde::Serialize;
use sqlx::AnyConnection;

/// A record as a profile shows it: its items, and what the day makes of it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileRecord {
    #[serde(flatten)]
    pub record: CreditRecord,
    /// Licences: valid, expiring, expired or not yet valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_state: Option<LicenceState>,
    /// Officers see records that are no longer public, with `public: false`.
    pub public: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreditProfile {
    pub credit_code: String,
    pub name: String,
    pub licences: Vec<ProfileRecord>,
    pub penalties: Vec<ProfileRecord>,
    pub inspections: Vec<ProfileRecord>,
    pub listings: Vec<ProfileRecord>,
    pub pledges: Vec<ProfileRecord>,
    /// The profile in one paragraph of plain Chinese.
    pub summary: String,
}

/// Who is looking: the public sees public records, masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Public,
    Officer,
}

pub async fn load(
    state: &crate::app::AppState,
    entity_id: i64,
    credit_code: &str,
    name: &str,
    viewer: Viewer,
) -> AppResult<CreditProfile> {
    let records = state
        .pages
        .credit
        .get_or_load(entity_id, || async {
            let mut conn = state.db.pool().acquire().await?;
            super::store::records_of_entity(&mut conn, entity_id).await
        })
        .await?;
    Ok(build(
        records.as_ref().clone(),
        credit_code,
        name,
        viewer,
        crate::time::today(),
    ))
}

pub fn build(
    records: Vec<CreditRecord>,
    credit_code: &str,
    name: &str,
    viewer: Viewer,
    today: chrono::NaiveDate,
) -> CreditProfile {
    let mut profile = CreditProfile {
        credit_code: credit_code.to_string(),
        name: name.to_string(),
        licences: Vec::new(),
        penalties: Vec::new(),
        inspections: Vec::new(),
        listings: Vec::new(),
        pledges: Vec::new(),
        summary: String::new(),
    };
    for shown in records
        .into_iter()
        .filter_map(|record| view(record, viewer, today))
    {
        let list = match shown.record.kind {
            RecordKind::Licence => &mut profile.licences,
            RecordKind::Penalty => &mut profile.penalties,
            RecordKind::Inspection => &mut profile.inspections,
            RecordKind::Listing => &mut profile.listings,
            RecordKind::Pledge => &mut profile.pledges,
        };
        list.push(shown);
    }
    profile.summary = summary(&profile);
    profile
}

/// One record as `viewer` sees it on `today`: `None` when it is not for the
/// public to see (outside its disclosure window, withdrawn, repaired); else
/// masked for the public, with its last public day and licence standing.
/// Every public view of a record (profile, open data) goes through here.
pub fn view(
    mut record: CreditRecord,
    viewer: Viewer,
    today: chrono::NaiveDate,
) -> Option<ProfileRecord> {
    let public = record.is_public(&today.to_string());
    if !public && viewer == Viewer::Public {
        return None;
    }
    if let Some(until) = &record.publish_until {
        record
            .fields
            .insert("disclosure_until".into(), until.clone());
    }
    let licence_state = (record.kind == RecordKind::Licence).then(|| licence_state(&record, today));
    let record = match viewer {
        Viewer::Public => record.public(),
        Viewer::Officer => record,
    };
    Some(ProfileRecord {
        record,
        licence_state,
        public,
    })
}

fn licence_state(record: &CreditRecord, today: chrono::NaiveDate) -> LicenceState {
    let from = record.valid_from.as_deref().and_then(parse_template_date);
    let until = record
        .valid_until
        .as_deref()
        .and_then(parse_template_date)
        .map_or(ValidUntil::Indefinite, ValidUntil::from_date);
    LicenceState::on(today, from, until)
}

/// One paragraph that says, for each kind, what there is — or that there is none.
pub fn summary(p: &CreditProfile) -> String {
    let public = |list: &[ProfileRecord]| list.iter().filter(|r| r.public).count();
    let state_count = |s: LicenceState| {
        p.licences
            .iter()
            .filter(|r| r.public && r.licence_state == Some(s))
            .count()
    };
    let mut parts = Vec::new();
    let valid = state_count(LicenceState::Valid) + state_count(LicenceState::Expiring);
    parts.push(
        match (
            valid,
            state_count(LicenceState::Expiring),
            state_count(LicenceState::Expired),
        ) {
            (0, _, 0) => "无行政许可记录".to_string(),
            (v, 0, 0) => format!("有{v}项有效行政许可"),
            (v, e, x) => {
                let mut s = format!("有{v}项有效行政许可");
                if e > 0 {
                    s.push_str(&format!("（其中{e}项30日内到期）"));
                }
                if x > 0 {
                    s.push_str(&format!("，{x}项已过期"));
                }
                s
            }
        },
    );
    parts.push(match public(&p.penalties) {
        0 => "公示期内无行政处罚记录".to_string(),
        n => format!("公示期内有{n}项行政处罚"),
    });
    parts.push(match public(&p.inspections) {
        0 => "无抽查检查结果记录".to_string(),
        n => format!("有{n}项抽查检查结果"),
    });
    let listed: Vec<String> = p
        .listings
        .iter()
        .filter(|r| r.public)
        .filter_map(|r| r.record.fields.get("list_kind").cloned())
        .collect();
    parts.push(if listed.is_empty() {
        "未列入经营异常名录或严重违法失信名单".to_string()
    } else {
        format!("被列入{}", listed.join("、"))
    });
    parts.push(match public(&p.pledges) {
        0 => "无信用承诺记录".to_string(),
        n => format!("作出{n}项信用承诺"),
    });
    format!("{}：{}。", p.name, parts.join("；"))
}

/// Appends the entities to the change feed; the search index re-reads them
/// and their outlets, so that search follows their credit standing.
pub async fn record_entity_changes(
    conn: &mut AnyConnection,
    entity_ids: &[i64],
) -> Result<(), sqlx::Error> {
    crate::registry::store::record_changes(conn, "entity", entity_ids).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credit::RecordState;
    use std::collections::BTreeMap;

    fn record(kind: RecordKind, fields: &[(&str, &str)]) -> CreditRecord {
        CreditRecord {
            id: 1,
            kind,
            doc_no: "X".into(),
            entity_id: Some(1),
            subject_category: "individual_business".into(),
            credit_code: None,
            source_code: "S".into(),
            source_name: "某局".into(),
            submitted_by: "officer".into(),
            decision_date: Some("2026-01-01".into()),
            valid_from: Some("2026-01-01".into()),
            valid_until: None,
            publish_until: None,
            repairable_from: None,
            severity: None,
            state: RecordState::Active,
            version: 1,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            updated_at: "t".into(),
        }
    }

    fn day(s: &str) -> chrono::NaiveDate {
        parse_template_date(s).unwrap()
    }

    #[test]
    fn an_empty_profile_says_so_for_every_kind() {
        let p = build(Vec::new(), "C", "某店", Viewer::Public, day("2026-11-27"));
        assert_eq!(
            p.summary,
            "某店：无行政许可记录；公示期内无行政处罚记录；无抽查检查结果记录；未列入经营异常名录或严重违法失信名单；无信用承诺记录。"
        );
    }

    #[test]
    fn expired_penalties_leave_the_public_view_on_the_day_after() {
        let mut penalty = record(RecordKind::Penalty, &[("id_number", "140105199001011234")]);
        penalty.publish_until = Some("2026-11-27".into());
        let on_last_day = build(
            vec![penalty.clone()],
            "C",
            "某店",
            Viewer::Public,
            day("2026-11-27"),
        );
        assert_eq!(on_last_day.penalties.len(), 1);
        let shown = &on_last_day.penalties[0].record;
        assert_eq!(shown.fields["disclosure_until"], "2026-11-27");
        assert!(!shown.fields["id_number"].contains("19900101"), "ID masked");
        assert!(shown.submitted_by.is_empty());

        let next_day = build(
            vec![penalty.clone()],
            "C",
            "某店",
            Viewer::Public,
            day("2026-11-28"),
        );
        assert!(next_day.penalties.is_empty());
        assert!(next_day.summary.contains("公示期内无行政处罚记录"));

        let officer = build(
            vec![penalty],
            "C",
            "某店",
            Viewer::Officer,
            day("2026-11-28"),
        );
        assert_eq!(officer.penalties.len(), 1);
        assert!(!officer.penalties[0].public);
        assert_eq!(officer.penalties[0].record.submitted_by, "officer");
    }

    #[test]
    fn licences_are_graded_by_their_validity() {
        let mut soon = record(RecordKind::Licence, &[]);
        soon.valid_until = Some("2026-12-10".into());
        let mut gone = record(RecordKind::Licence, &[]);
        gone.valid_until = Some("2026-01-10".into());
        let long = record(RecordKind::Licence, &[]);
        let p = build(
            vec![soon, gone, long],
            "C",
            "某店",
            Viewer::Public,
            day("2026-11-27"),
        );
        let states: Vec<_> = p
            .licences
            .iter()
            .map(|r| r.licence_state.unwrap())
            .collect();
        assert_eq!(
            states,
            [
                LicenceState::Expiring,
                LicenceState::Expired,
                LicenceState::Valid
            ]
        );
        assert!(
            p.summary
                .contains("有2项有效行政许可（其中1项30日内到期），1项已过期")
        );
    }

    #[test]
    fn withdrawn_and_repaired_records_are_not_public() {
        let mut withdrawn = record(RecordKind::Inspection, &[]);
        withdrawn.state = RecordState::Withdrawn;
        let p = build(
            vec![withdrawn],
            "C",
            "某店",
            Viewer::Public,
            day("2026-11-27"),
        );
        assert!(p.inspections.is_empty());
    }
}
