//! Locating communities: a `code,lon,lat[,population]` file puts the
//! village/community-level divisions on the map (and gives their resident
//! population where known). Communities not in any file stay unlocated and
//! are listed as such, never guessed.

use crate::reference::Reference;
use crate::registry::import::{ImportError, ImportReport, Reject, Table};
use crate::storage::Db;
use lifeservice_domain::geo::Datum;
use lifeservice_domain::{Coordinates, DivisionCode, Level};

/// A located community, validated.
#[derive(Debug)]
pub struct Location {
    pub code: DivisionCode,
    pub point: Coordinates,
    pub population: Option<i64>,
}

/// Where locations came from, recorded beside them.
pub const SYNTHETIC: &str = "synthetic";

fn parse_row(cells: &[String], datum: Datum) -> Result<Location, (&'static str, String)> {
    let cell = |i: usize| cells.get(i).map(|s| s.trim()).unwrap_or("");
    let code = DivisionCode::parse(cell(0)).map_err(|e| ("code", e.to_string()))?;
    if code.level() != Level::Village {
        return Err((
            "code",
            format!("“{code}”不是村（社区）级区划代码（应为12位）"),
        ));
    }
    if Reference::shipped().get(&code).is_none() {
        return Err(("code", format!("区划代码“{code}”不在山西省现行区划中")));
    }
    let point = Coordinates::parse(cell(1), cell(2), datum).map_err(|e| ("lon", e.to_string()))?;
    let county = code.ancestor(Level::County).expect("village has a county");
    if let Some(shape) = Reference::shipped().county_at(point) {
        if shape.code.ancestor(Level::City) != county.ancestor(Level::City) {
            return Err((
                "lon",
                format!(
                    "坐标位于{}，与该社区所在的{}不一致",
                    Reference::shipped().full_name(&shape.code),
                    Reference::shipped().full_name(&county)
                ),
            ));
        }
    } else {
        return Err((
            "lon",
            format!(
                "坐标（{:.6}, {:.6}）不在山西省境内",
                point.lon(),
                point.lat()
            ),
        ));
    }
    let population = match cell(3) {
        "" => None,
        p => Some(
            p.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(("population", format!("人口“{p}”应为非负整数")))?,
        ),
    };
    Ok(Location {
        code,
        point,
        population,
    })
}

pub async fn write_locations(
    db: &Db,
    locations: &[Location],
    source: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for l in locations {
        sqlx::query("UPDATE divisions SET lon = $1, lat = $2, population = COALESCE($3, population), location_source = $4 WHERE code = $5")
            .bind(l.point.lon())
            .bind(l.point.lat())
            .bind(l.population)
            .bind(source.to_string())
            .bind(l.code.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Imports a communities file; bad rows are rejected with their reason.
pub async fn import_communities(
    db: &Db,
    table: &Table,
    datum: Datum,
    source: &str,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut good = Vec::new();
    for (row, cells) in table.rows().skip(1) {
        let cells =
            cells.map_err(|e| ImportError::Unreadable(format!("第{row}行无法解析（{e}）")))?;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        match parse_row(&cells, datum) {
            Ok(l) => good.push(l),
            Err((column, reason)) => {
                report.rejected_rows += 1;
                report.rejects.push(Reject {
                    row,
                    column: column.to_string(),
                    reason,
                });
            }
        }
    }
    write_locations(db, &good, source).await?;
    report.updated = good.len();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn validates_rows() {
        assert!(parse_row(&cells("140105001001,112.585,37.775,5000"), Datum::Wgs84).is_ok());
        assert_eq!(
            parse_row(&cells("140105001,112.585,37.775"), Datum::Wgs84)
                .unwrap_err()
                .0,
            "code"
        );
        assert_eq!(
            parse_row(&cells("140105001001,116.4,39.9"), Datum::Wgs84)
                .unwrap_err()
                .0,
            "lon"
        );
        assert_eq!(
            parse_row(&cells("140105001001,113.30,40.08"), Datum::Wgs84)
                .unwrap_err()
                .0,
            "lon"
        ); // 大同
        assert_eq!(
            parse_row(&cells("140105001001,112.585,37.775,-5"), Datum::Wgs84)
                .unwrap_err()
                .0,
            "population"
        );
    }
}
