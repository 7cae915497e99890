//! The demo dataset: reproducible (ChaCha8 from a seed), realistic and
//! labelled synthetic. Outlets are spread over the 11 cities in proportion to
//! the 2020 census, placed inside their county polygons, addressed with real
//! town and community names; entities carry valid credit codes whose division
//! digits match their county, some with several outlets (一照多址).

use crate::reference::{CountyShape, Reference};
use crate::registry::{DesignationInput, EntityInput, OutletInput, store};
use crate::storage::Db;
use geo::{Contains, Point};
use lifeservice_domain::credit_code::alphabet;
use lifeservice_domain::{
    Coordinates, CreditCode, DesignationKind, DivisionCode, EntityKind, EntityStatus, Level,
    OutletStatus, ServiceType,
};
use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};

pub const DEFAULT_OUTLETS: usize = 20_000;
pub const DEFAULT_SEED: u64 = 2025;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "郭", "武", "高", "梁", "韩", "田",
    "薛", "乔", "贾", "阎",
];
const GIVEN: &[&str] = &[
    "建国", "晓明", "丽华", "志强", "秀英", "海燕", "文斌", "玉兰", "俊杰", "晋生", "红梅", "永强",
    "慧敏", "国庆", "春花",
];
const BRANDS: &[&str] = &[
    "晋味", "汾河", "三晋", "龙城", "太行", "吕梁", "杏花", "华康", "惠民", "安心", "乐居", "福寿",
    "康宁", "顺达", "邻里", "阳光", "金穗", "晋善", "同心", "益家",
];
const STREETS: &[&str] = &[
    "建设路",
    "解放路",
    "新华街",
    "和平路",
    "迎宾路",
    "文化街",
    "人民路",
    "府东街",
    "滨河路",
    "朝阳街",
    "学府路",
    "长治路",
    "体育路",
    "胜利街",
    "南环路",
];

/// How common each service type is among outlets (relative weight).
fn type_weight(t: ServiceType) -> u32 {
    match t.code() {
        "0701" => 60,
        "0702" | "0703" | "0704" | "0705" | "0901" | "0103" | "0902" => 25,
        "0101" | "0105" | "1201" | "0102" | "0104" | "0903" | "0708" => 12,
        _ => 4,
    }
}

struct Generator {
    rng: ChaCha8Rng,
    reference: &'static Reference,
    types: Vec<(ServiceType, u32)>,
    total_weight: u32,
}

impl Generator {
    fn pick_type(&mut self, index: usize) -> ServiceType {
        // The first outlets cycle through every type so each is present.
        if index < self.types.len() {
            return self.types[index].0;
        }
        let mut roll = self.rng.random_range(0..self.total_weight);
        for (t, w) in &self.types {
            if roll < *w {
                return *t;
            }
            roll -= w;
        }
        self.types[0].0
    }

    fn point_in(&mut self, county: &CountyShape) -> Option<Coordinates> {
        for _ in 0..200 {
            let lon = self
                .rng
                .random_range(county.bbox.min().x..county.bbox.max().x);
            let lat = self
                .rng
                .random_range(county.bbox.min().y..county.bbox.max().y);
            if county.shape.contains(&Point::new(lon, lat)) {
                return Coordinates::new(lon, lat).ok();
            }
        }
        None
    }

    fn community_in(&mut self, county: &DivisionCode) -> Option<DivisionCode> {
        let towns = self.reference.children(county);
        let town = towns.choose(&mut self.rng)?;
        self.reference
            .children(town)
            .choose(&mut self.rng)
            .cloned()
            .or_else(|| Some(town.clone()))
    }

    fn credit_code(&mut self, kind: EntityKind, county: &DivisionCode) -> CreditCode {
        loop {
            let org: String = (0..9)
                .map(|_| *alphabet().choose(&mut self.rng).expect("alphabet") as char)
                .collect();
            if let Ok(code) =
                CreditCode::from_body(&format!("{}{}{org}", kind.registrant(), county.as_str()))
            {
                return code;
            }
        }
    }

    fn person(&mut self) -> String {
        format!(
            "{}{}",
            SURNAMES.choose(&mut self.rng).expect("names"),
            GIVEN.choose(&mut self.rng).expect("names")
        )
    }

    fn phone(&mut self, kind: EntityKind, county: &DivisionCode) -> String {
        if kind == EntityKind::IndividualBusiness {
            format!(
                "1{}{:09}",
                self.rng.random_range(3..=9),
                self.rng.random_range(0..1_000_000_000u64)
            )
        } else {
            let area = match &county.as_str()[..4] {
                "1401" => "0351",
                "1402" => "0352",
                "1403" => "0353",
                "1404" => "0355",
                "1405" => "0356",
                "1406" => "0349",
                "1407" => "0354",
                "1408" => "0359",
                "1409" => "0350",
                "1410" => "0357",
                _ => "0358",
            };
            format!("{area}-{}", self.rng.random_range(2_000_000..8_999_999))
        }
    }

    fn designation(&mut self, t: ServiceType) -> Option<DesignationInput> {
        let (kind, grade, by) = match t.code() {
            "0904" if self.rng.random_bool(0.5) => (
                DesignationKind::StarRating,
                Some(self.rng.random_range(2..=5).to_string()),
                "省文化和旅游厅",
            ),
            "0401" if self.rng.random_bool(0.6) => (
                DesignationKind::AGrade,
                Some("A".repeat(self.rng.random_range(2..=5))),
                "省文化和旅游厅",
            ),
            "0301" | "0302" | "0107" | "0101" | "0303" if self.rng.random_bool(0.15) => {
                (DesignationKind::Inclusive, None, "省发展改革委")
            }
            _ if self.rng.random_bool(0.02) => (DesignationKind::Leader, None, "省市场监管局"),
            _ => return None,
        };
        let year = self.rng.random_range(2021..=2025);
        Some(DesignationInput {
            kind,
            grade,
            granted_by: by.to_string(),
            granted_on: chrono::NaiveDate::from_ymd_opt(year, 6, 30),
        })
    }
}

/// Generates `outlets` outlets (and their entities) into `db`.
pub async fn generate(
    db: &Db,
    outlets: usize,
    seed: u64,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<(usize, usize)> {
    let (entities, rows) = dataset(outlets, seed);
    write(db, &entities, &rows, progress).await?;
    Ok((entities.len(), rows.len()))
}

/// The same dataset as an outlets import file (UTF-8 CSV with Chinese headers),
/// for import benchmarks and for trying the importer.
pub fn write_outlets_csv(
    path: &std::path::Path,
    outlets: usize,
    seed: u64,
) -> anyhow::Result<usize> {
    let (entities, rows) = dataset(outlets, seed);
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record([
        "统一社会信用代码",
        "主体名称",
        "名称",
        "服务类型",
        "地址",
        "所属社区",
        "经度",
        "纬度",
        "联系电话",
        "营业时间",
    ])?;
    for (e, o) in &rows {
        writer.write_record([
            entities[*e].credit_code.as_str(),
            &entities[*e].name,
            &o.name,
            o.service_type.code(),
            &o.address,
            o.division.as_str(),
            &o.location.lon().to_string(),
            &o.location.lat().to_string(),
            o.phone.as_deref().unwrap_or(""),
            o.hours.as_deref().unwrap_or(""),
        ])?;
    }
    writer.flush()?;
    Ok(rows.len())
}

type Dataset = (Vec<EntityInput>, Vec<(usize, OutletInput)>);

fn dataset(outlets: usize, seed: u64) -> Dataset {
    let reference = Reference::shipped();
    let types: Vec<(ServiceType, u32)> = ServiceType::all().map(|t| (t, type_weight(t))).collect();
    let total_weight = types.iter().map(|(_, w)| w).sum();
    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(seed),
        reference,
        types,
        total_weight,
    };
    let mut data = DatasetBuilder::default();
    let mut index = 0;
    for (county, quota) in county_quotas(reference, outlets) {
        let shape = reference
            .county_shape(&county)
            .expect("quota only for counties with shapes");
        // Chains: an entity's next outlet of the same type in the county (一照多址).
        let mut last_entity_of_type: HashMap<&'static str, usize> = HashMap::new();
        for _ in 0..quota {
            let t = g.pick_type(index);
            index += 1;
            let Some(location) = g.point_in(shape) else {
                continue;
            };
            let entity = match last_entity_of_type
                .get(t.code())
                .copied()
                .filter(|_| g.rng.random_bool(0.2))
            {
                Some(existing) => existing,
                None => {
                    data.entities.push(g.entity(t, &county));
                    data.entities.len() - 1
                }
            };
            last_entity_of_type.insert(t.code(), entity);
            let outlet = g.outlet(&data.entities[entity], t, &county, location);
            data.push(entity, outlet);
        }
    }
    (data.entities, data.rows)
}

#[derive(Default)]
struct DatasetBuilder {
    entities: Vec<EntityInput>,
    rows: Vec<(usize, OutletInput)>,
    keys: HashSet<(usize, String, String)>,
}

impl DatasetBuilder {
    /// Adds an outlet unless its natural key is taken (a rare collision of
    /// random street numbers), as an upsert would merge them anyway.
    fn push(&mut self, entity: usize, outlet: OutletInput) {
        if self
            .keys
            .insert((entity, outlet.name.clone(), outlet.address.clone()))
        {
            self.rows.push((entity, outlet));
        }
    }
}

impl Generator {
    fn entity(&mut self, t: ServiceType, county: &DivisionCode) -> EntityInput {
        let county_name = self.reference.name(county).to_string();
        let stem = county_name.trim_end_matches(['区', '县', '市']);
        let kind = match t.circle() {
            Some(lifeservice_domain::CircleFormat::Facility) => EntityKind::SocialOrganisation,
            _ if self.rng.random_bool(0.55) => EntityKind::IndividualBusiness,
            _ => EntityKind::Enterprise,
        };
        let brand = *BRANDS.choose(&mut self.rng).expect("brands");
        let business = t
            .zh()
            .trim_end_matches('点')
            .replace("(菜店)", "")
            .replace("(站)", "")
            .replace('/', "");
        let name = match kind {
            EntityKind::IndividualBusiness => format!(
                "{stem}{}记{business}",
                SURNAMES.choose(&mut self.rng).expect("names")
            ),
            EntityKind::SocialOrganisation => format!("{county_name}{brand}{business}"),
            _ => format!("山西{brand}{business}有限公司"),
        };
        let established = chrono::NaiveDate::from_ymd_opt(
            self.rng.random_range(2000..=2025),
            self.rng.random_range(1..=12),
            self.rng.random_range(1..=28),
        );
        let credit_code = self.credit_code(kind, county);
        let closed_on = established.and_then(|from| closure(credit_code.as_str(), from));
        EntityInput {
            credit_code,
            name,
            kind,
            legal_rep: Some(self.person()),
            division: county.clone(),
            established,
            closed_on,
            status: if closed_on.is_some() {
                EntityStatus::Deregistered
            } else {
                EntityStatus::Active
            },
            phone: Some(self.phone(kind, county)),
        }
    }

    fn outlet(
        &mut self,
        entity: &EntityInput,
        t: ServiceType,
        county: &DivisionCode,
        location: Coordinates,
    ) -> OutletInput {
        let division = self.community_in(county).unwrap_or_else(|| county.clone());
        self.outlet_in(entity, t, county, division, location)
    }

    /// An outlet in the community `division`, which its name and the town of
    /// its address are taken from.
    fn outlet_in(
        &mut self,
        entity: &EntityInput,
        t: ServiceType,
        county: &DivisionCode,
        division: DivisionCode,
        location: Coordinates,
    ) -> OutletInput {
        let reference = self.reference;
        let place = reference
            .name(&division)
            .trim_end_matches("居委会")
            .trim_end_matches("村委会")
            .to_string();
        let town = division
            .ancestor(Level::Town)
            .map(|t| reference.name(&t).to_string())
            .unwrap_or_default();
        let city = county.ancestor(Level::City).expect("county in a city");
        let street = STREETS.choose(&mut self.rng).expect("streets");
        let address = format!(
            "{}{}{town}{street}{}号",
            reference.name(&city),
            reference.name(county),
            self.rng.random_range(1..300)
        );
        OutletInput {
            entity: entity.credit_code.clone(),
            entity_name: Some(entity.name.clone()),
            name: format!("{}（{place}店）", entity.name.trim_end_matches("有限公司")),
            service_type: t,
            address,
            division,
            county: county.clone(),
            location,
            phone: Some(self.phone(entity.kind, county)),
            opened_on: entity.established.map(|from| {
                let days = fnv(entity.credit_code.as_str()) % 180;
                (from + chrono::Days::new(days))
                    .min(entity.closed_on.unwrap_or_else(crate::time::today))
            }),
            hours: Some(if t.code() == "0901" {
                "06:00-10:30".into()
            } else {
                "08:00-21:00".into()
            }),
            // A deregistered entity's outlets closed the day it left the register.
            status: match entity.closed_on {
                Some(_) => OutletStatus::Closed,
                None => OutletStatus::Open,
            },
            closed_on: entity.closed_on,
            designation: self.designation(t),
        }
    }
}

/// FNV-1a: demo choices keyed by a value, drawn apart from the generator's
/// stream so adding one does not reshuffle everything generated after it.
fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// About one demo entity in twenty has since left the register (注销), some
/// day between its establishment and last month, so series show closures.
fn closure(code: &str, established: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
    let h = fnv(code);
    let last = crate::time::today() - chrono::Days::new(31);
    let span = (last - established).num_days();
    (h.is_multiple_of(20) && span > 30)
        .then(|| established + chrono::Days::new((h >> 8) % span as u64))
}

/// Outlets per county: cities by census population, counties within a city
/// weighted towards urban districts (区 ×3).
fn county_quotas(reference: &Reference, outlets: usize) -> Vec<(DivisionCode, usize)> {
    let province_population: i64 = reference
        .cities()
        .iter()
        .filter_map(|c| reference.city_population(c))
        .sum();
    let mut plan = Vec::new();
    for city in reference.cities() {
        let share =
            reference.city_population(city).unwrap_or(0) as f64 / province_population as f64;
        let city_outlets = (outlets as f64 * share).round() as usize;
        let counties: Vec<&DivisionCode> = reference
            .children(city)
            .iter()
            .filter(|c| reference.county_shape(c).is_some())
            .collect();
        let weight = |c: &DivisionCode| {
            if reference.name(c).ends_with('区') {
                3.0
            } else {
                1.0
            }
        };
        let total: f64 = counties.iter().map(|c| weight(c)).sum();
        for county in counties {
            plan.push((
                county.clone(),
                (city_outlets as f64 * weight(county) / total).round() as usize,
            ));
        }
    }
    plan
}

async fn write(
    db: &Db,
    entities: &[EntityInput],
    rows: &[(usize, OutletInput)],
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<()> {
    let now = crate::time::now_text();
    let mut ids = Vec::with_capacity(entities.len());
    for chunk in entities.chunks(500) {
        let mut tx = db.begin_write().await?;
        let touched = store::upsert_entities(&mut tx, chunk, &now, true).await?;
        store::record_changes(
            &mut tx,
            "entity",
            &touched.iter().map(|t| t.id()).collect::<Vec<_>>(),
        )
        .await?;
        let codes: Vec<&str> = chunk.iter().map(|e| e.credit_code.as_str()).collect();
        let found = store::entity_ids(&mut tx, &codes).await?;
        ids.extend(codes.iter().map(|c| found[*c]));
        tx.commit().await?;
    }
    for chunk in rows.chunks(500) {
        let mut tx = db.begin_write().await?;
        let batch: Vec<(i64, &OutletInput)> = chunk.iter().map(|(e, o)| (ids[*e], o)).collect();
        store::write_outlets(&mut tx, &batch, &now, true).await?;
        tx.commit().await?;
        if let Some(bar) = progress {
            bar.inc(chunk.len() as u64);
        }
    }
    Ok(())
}

/// Districts that get a generated street network in the demo: 小店区 and 迎泽区 (太原).
pub const NETWORK_COUNTIES: [&str; 2] = ["140105", "140106"];
/// Street spacing of the generated network, in degrees of latitude (~140 m).
const STREET_SPACING_DEG: f64 = 0.00125;

/// The demo's 一刻钟便民生活圈 data: a jittered street grid clipped to each
/// district, every real community of the districts placed inside it with a
/// synthetic population, and outlets of circle formats around communities so
/// that grades vary. Everything here is synthetic and labelled so.
pub async fn generate_circles(
    db: &Db,
    network_path: &std::path::Path,
    seed: u64,
) -> anyhow::Result<usize> {
    let reference = Reference::shipped();
    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
        reference,
        types: Vec::new(),
        total_weight: 0,
    };
    let mut coords = Vec::new();
    let mut edges = Vec::new();
    let mut locations = Vec::new();
    let mut data = DatasetBuilder::default();
    for code in NETWORK_COUNTIES {
        let county = DivisionCode::parse(code)?;
        let shape = reference
            .county_shape(&county)
            .ok_or_else(|| anyhow::anyhow!("no boundary for {code}"))?;
        street_grid(&mut g, shape, &mut coords, &mut edges);
        for town in reference.children(&county) {
            for village in reference.children(town) {
                let Some(point) = g.point_in(shape) else {
                    continue;
                };
                locations.push(crate::circle::import::Location {
                    code: village.clone(),
                    point,
                    population: Some(g.rng.random_range(1500..15000)),
                });
                for format in crate::circle::formats() {
                    let p = match format.circle() {
                        Some(lifeservice_domain::CircleFormat::Basic) => 0.8,
                        Some(lifeservice_domain::CircleFormat::Quality) => 0.45,
                        _ => 0.5,
                    };
                    if !g.rng.random_bool(p) {
                        continue;
                    }
                    let Some(location) = g.point_near(shape, point, 700.0) else {
                        continue;
                    };
                    data.entities.push(g.entity(format, &county));
                    let entity = data.entities.len() - 1;
                    let outlet = g.outlet_in(
                        &data.entities[entity],
                        format,
                        &county,
                        village.clone(),
                        location,
                    );
                    data.push(entity, outlet);
                }
            }
        }
    }
    let network = lifeservice_access::Network::from_edges(&coords, &edges)?;
    if let Some(dir) = network_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    network.save_cache(network_path)?;
    crate::circle::import::write_locations(db, &locations, crate::circle::import::SYNTHETIC)
        .await?;
    write(db, &data.entities, &data.rows, None).await?;
    Ok(locations.len())
}

/// A jittered grid of streets clipped to the district's boundary.
fn street_grid(
    g: &mut Generator,
    shape: &CountyShape,
    coords: &mut Vec<(f64, f64)>,
    edges: &mut Vec<(u32, u32)>,
) {
    let (min, max) = (shape.bbox.min(), shape.bbox.max());
    let dlat = STREET_SPACING_DEG;
    let dlon = dlat / ((min.y + max.y) / 2.0).to_radians().cos();
    let (rows, cols) = (
        ((max.y - min.y) / dlat) as usize + 1,
        ((max.x - min.x) / dlon) as usize + 1,
    );
    let mut ids = vec![None; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let lon = min.x + c as f64 * dlon + g.rng.random_range(-0.2..0.2) * dlon;
            let lat = min.y + r as f64 * dlat + g.rng.random_range(-0.2..0.2) * dlat;
            if shape.shape.contains(&Point::new(lon, lat)) {
                ids[r * cols + c] = Some(coords.len() as u32);
                coords.push((lon, lat));
            }
        }
    }
    for r in 0..rows {
        for c in 0..cols {
            let Some(a) = ids[r * cols + c] else { continue };
            let right = (c + 1 < cols).then(|| ids[r * cols + c + 1]).flatten();
            let up = (r + 1 < rows).then(|| ids[(r + 1) * cols + c]).flatten();
            edges.extend([right, up].into_iter().flatten().map(|b| (a, b)));
        }
    }
}

impl Generator {
    /// A point inside the county within `radius_m` of `centre`.
    fn point_near(
        &mut self,
        county: &CountyShape,
        centre: Coordinates,
        radius_m: f64,
    ) -> Option<Coordinates> {
        let dlat = radius_m / 111_195.0;
        let dlon = dlat / centre.lat().to_radians().cos();
        for _ in 0..50 {
            let lon = centre.lon() + self.rng.random_range(-dlon..dlon);
            let lat = centre.lat() + self.rng.random_range(-dlat..dlat);
            if county.shape.contains(&Point::new(lon, lat)) {
                return Coordinates::new(lon, lat).ok();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_realistic() {
        let (entities, rows) = dataset(2000, 1);
        let (again, rows_again) = dataset(2000, 1);
        assert_eq!(entities.len(), again.len());
        assert_eq!(
            rows.iter().map(|(_, o)| &o.name).collect::<Vec<_>>(),
            rows_again.iter().map(|(_, o)| &o.name).collect::<Vec<_>>()
        );
        assert!((1900..=2100).contains(&rows.len()), "{}", rows.len());
        for t in ServiceType::all() {
            assert!(
                rows.iter().any(|(_, o)| o.service_type == t),
                "type {} missing",
                t.zh()
            );
        }
        let reference = Reference::shipped();
        for (e, o) in &rows {
            let entity = &entities[*e];
            assert_eq!(
                entity.credit_code.division_digits(),
                o.county.as_str(),
                "credit code division matches county"
            );
            assert_eq!(
                reference.county_at(o.location).map(|c| &c.code),
                Some(&o.county),
                "point inside its county"
            );
            assert!(o.county.contains(&o.division) && reference.get(&o.division).is_some());
        }
        let cities: HashSet<_> = rows
            .iter()
            .map(|(_, o)| o.county.ancestor(Level::City))
            .collect();
        assert_eq!(cities.len(), 11);
        assert!(
            entities.len() < rows.len(),
            "some entities have several outlets"
        );
    }
}
