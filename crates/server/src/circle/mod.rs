//! 一刻钟便民生活圈: for every located community, which circle formats its
//! residents reach on foot within 5, 10 and 15 minutes, its grade, coverage
//! by area, and where a new facility would serve the most uncovered people.
//!
//! The walking network is imported once (`lifeservice import osm`) and kept
//! as the engine's binary cache beside the database; communities are located
//! by `lifeservice import communities`; facilities are the registry's open
//! outlets whose type is a circle format. The engine state is built at start
//! and then follows the change feed: one outlet change updates only the
//! communities within its reach.

pub mod import;
pub mod pages;

use crate::registry::{Outlet, store};
use crate::storage::Db;
use lifeservice_access::{AccessConfig, AccessState, CoverSite, Facility, Network, Origin};
use lifeservice_domain::circle::{FormatReach, Grade, GradeRules, missing_basic};
use lifeservice_domain::{DivisionCode, Level, ServiceType};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The circle formats: every service type with a place in the guide.
pub fn formats() -> Vec<ServiceType> {
    ServiceType::all()
        .filter(|t| t.circle().is_some())
        .collect()
}

/// Where the walking network cache lives for a database URL.
pub fn network_path(db_url: &str) -> PathBuf {
    crate::app::default_index_dir(db_url).with_extension("network.bin")
}

/// A community that is an origin of the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Community {
    pub code: String,
    pub lon: f64,
    pub lat: f64,
    pub population: Option<i64>,
}

pub struct Circles {
    state: AccessState,
    communities: Vec<Community>,
    by_code: HashMap<String, usize>,
    grades: Vec<Grade>,
    rules: GradeRules,
    bbox: Extent,
    /// The last change of the feed applied.
    applied_seq: i64,
}

/// One community's circle, for pages and the API.
#[derive(Debug, Clone, Serialize)]
pub struct CommunityView {
    pub code: String,
    pub name: String,
    pub full_name: String,
    pub lon: f64,
    pub lat: f64,
    pub population: Option<i64>,
    pub grade: Grade,
    pub grade_zh: &'static str,
    pub missing_basic: Vec<String>,
    pub formats: Vec<FormatView>,
    pub reachable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormatView {
    pub code: &'static str,
    pub name: &'static str,
    pub class: &'static str,
    pub nearest_m: Option<f64>,
    pub within_5min: u32,
    pub within_10min: u32,
    pub within_15min: u32,
}

/// Coverage of an area: grades and, per format, the share of residents (or
/// of communities where population is unknown) with it within 15 minutes.
#[derive(Debug, Clone, Serialize)]
pub struct AreaView {
    pub code: String,
    pub name: String,
    pub communities: usize,
    pub unlocated: usize,
    pub population: i64,
    pub weighted_by: &'static str,
    pub grades: Vec<(Grade, &'static str, usize)>,
    pub covered_share: f64,
    pub formats: Vec<(String, &'static str, f64)>,
}

impl Circles {
    /// Builds the state from the network cache, located communities and open
    /// circle-format outlets. `None` when no network has been imported.
    pub async fn load(db: &Db, network: &Path) -> anyhow::Result<Option<Circles>> {
        if !network.exists() {
            return Ok(None);
        }
        let net = Network::load_cache(network)?;
        let bbox = network_extent(&net);
        let applied_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
            .fetch_one(db.pool())
            .await?;
        let communities = located_communities(db, bbox).await?;
        let outlets = circle_outlets(db, bbox).await?;
        let origins = communities
            .iter()
            .map(|c| Origin {
                id: c.code.clone(),
                lon: c.lon,
                lat: c.lat,
            })
            .collect();
        let facilities = outlets.iter().map(facility_of).collect();
        let categories = formats().iter().map(|t| t.code().to_string()).collect();
        let state = AccessState::new(
            Arc::new(net),
            origins,
            facilities,
            categories,
            AccessConfig::default(),
        )?;
        let by_code = communities
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.clone(), i))
            .collect();
        let mut circles = Circles {
            state,
            communities,
            by_code,
            grades: Vec::new(),
            rules: GradeRules::default(),
            bbox,
            applied_seq,
        };
        circles.grades = (0..circles.communities.len())
            .map(|i| circles.grade_of(i))
            .collect();
        Ok(Some(circles))
    }

    pub fn rules(&self) -> &GradeRules {
        &self.rules
    }

    fn reach(&self, origin: usize) -> Vec<FormatReach> {
        formats()
            .into_iter()
            .enumerate()
            .map(|(category, format)| FormatReach {
                format,
                nearest_m: self.state.nearest_m(origin, category),
                counts: self.state.counts(origin, category),
            })
            .collect()
    }

    fn grade_of(&self, origin: usize) -> Grade {
        self.rules.grade(&self.reach(origin))
    }

    fn in_bbox(&self, lon: f64, lat: f64) -> bool {
        self.bbox.contains(lon, lat)
    }

    /// Applies one outlet's current state: added, moved, retyped or closed.
    /// Returns how many communities changed.
    pub fn apply_outlet(&mut self, outlet: &Outlet) -> usize {
        let id = outlet.id.to_string();
        let wanted = outlet.status == "open"
            && ServiceType::parse(&outlet.service_type).is_some_and(|t| t.circle().is_some())
            && self.in_bbox(outlet.lon, outlet.lat);
        let existing = self.state.facility(&id).cloned();
        let change = match (existing, wanted) {
            (None, false) => return 0,
            (Some(_), false) => self.state.remove_facility(&id),
            (None, true) => self.state.add_facility(facility_of(outlet)),
            (Some(f), true) if f.category != outlet.service_type => {
                let removed = self.state.remove_facility(&id);
                let added = self.state.add_facility(facility_of(outlet));
                removed.and_then(|r| {
                    added.map(|a| lifeservice_access::Change {
                        origins: [r.origins, a.origins].concat(),
                    })
                })
            }
            (Some(f), true) if f.lon == outlet.lon && f.lat == outlet.lat => return 0,
            (Some(_), true) => self.state.move_facility(&id, outlet.lon, outlet.lat),
        };
        match change {
            Ok(change) => {
                for &origin in &change.origins {
                    self.grades[origin] = self.grade_of(origin);
                }
                change.origins.len()
            }
            Err(e) => {
                // An outlet off the walking network reaches nobody; it is not an error of the outlet.
                tracing::debug!(outlet = outlet.id, error = %e, "outlet not on the walking network");
                0
            }
        }
    }

    pub fn community(&self, code: &str) -> Option<CommunityView> {
        let &origin = self.by_code.get(code)?;
        let reference = crate::reference::Reference::shipped();
        let c = &self.communities[origin];
        let division = DivisionCode::parse(&c.code).ok()?;
        let reach = self.reach(origin);
        Some(CommunityView {
            code: c.code.clone(),
            name: reference.name(&division).to_string(),
            full_name: reference.full_name(&division),
            lon: c.lon,
            lat: c.lat,
            population: c.population,
            grade: self.grades[origin],
            grade_zh: self.grades[origin].zh(),
            missing_basic: missing_basic(&reach)
                .iter()
                .map(|t| t.zh().to_string())
                .collect(),
            formats: reach
                .iter()
                .map(|r| FormatView {
                    code: r.format.code(),
                    name: r.format.zh(),
                    class: r.format.circle().map(|c| c.zh()).unwrap_or(""),
                    nearest_m: r.nearest_m.map(|d| (d * 100.0).round() / 100.0),
                    within_5min: r.counts[0],
                    within_10min: r.counts[1],
                    within_15min: r.counts[2],
                })
                .collect(),
            reachable: self.state.origin_snap(origin).is_some(),
        })
    }

    /// Indexes of the located communities inside `area`.
    fn origins_in(&self, area: &DivisionCode) -> Vec<usize> {
        self.communities
            .iter()
            .enumerate()
            .filter(|(_, c)| c.code.starts_with(area.as_str()))
            .map(|(i, _)| i)
            .collect()
    }

    pub fn communities_in(&self, area: &DivisionCode) -> Vec<(&Community, Grade)> {
        self.origins_in(area)
            .into_iter()
            .map(|i| (&self.communities[i], self.grades[i]))
            .collect()
    }

    pub fn area(&self, area: &DivisionCode) -> AreaView {
        let reference = crate::reference::Reference::shipped();
        let origins = self.origins_in(area);
        let weighted = origins
            .iter()
            .all(|&o| self.communities[o].population.is_some())
            && !origins.is_empty();
        let weight = |o: usize| {
            if weighted {
                self.communities[o].population.unwrap_or(0) as f64
            } else {
                1.0
            }
        };
        let total: f64 = origins.iter().map(|&o| weight(o)).sum();
        let share = |pred: &dyn Fn(usize) -> bool| {
            if total == 0.0 {
                0.0
            } else {
                origins
                    .iter()
                    .filter(|&&o| pred(o))
                    .map(|&o| weight(o))
                    // From +0.0: an empty f64 sum is -0.0, shown as "-0.0%".
                    .fold(0.0, |sum, w| sum + w)
                    / total
            }
        };
        let formats: Vec<(String, &'static str, f64)> = formats()
            .into_iter()
            .enumerate()
            .map(|(category, t)| {
                (
                    t.code().to_string(),
                    t.zh(),
                    share(&|o| self.state.counts(o, category)[2] > 0),
                )
            })
            .collect();
        let all_villages = count_villages(reference, area);
        AreaView {
            code: area.to_string(),
            name: reference.full_name(area),
            communities: origins.len(),
            unlocated: all_villages.saturating_sub(origins.len()),
            population: origins
                .iter()
                .filter_map(|&o| self.communities[o].population)
                .sum(),
            weighted_by: if weighted {
                "常住人口"
            } else {
                "社区个数（人口未知）"
            },
            grades: Grade::ALL
                .iter()
                .map(|&g| {
                    (
                        g,
                        g.zh(),
                        origins.iter().filter(|&&o| self.grades[o] == g).count(),
                    )
                })
                .collect(),
            covered_share: share(&|o| self.grades[o] != Grade::Unmet),
            formats,
        }
    }

    /// The views of the divisions one level below `area` that have located
    /// communities (the cities of the province, the counties of a city, the
    /// towns of a county), each weighted as [`Circles::area`] weighs: by
    /// population where every community's is known.
    pub fn children(&self, area: &DivisionCode) -> Vec<AreaView> {
        crate::reference::Reference::shipped()
            .children(area)
            .iter()
            .filter(|c| c.level() < Level::Village)
            .filter(|c| {
                self.communities
                    .iter()
                    .any(|x| x.code.starts_with(c.as_str()))
            })
            .map(|c| self.area(c))
            .collect()
    }

    /// Greedy maximal covering for `format` in `area`: candidate sites are
    /// the network nodes inside the area's located communities' extent;
    /// residents outside the area weigh nothing.
    pub fn gaps(
        &self,
        area: &DivisionCode,
        format: ServiceType,
        k: usize,
    ) -> anyhow::Result<Vec<CoverSite>> {
        let origins = self.origins_in(area);
        anyhow::ensure!(!origins.is_empty(), "该地区没有已定位的村（社区）");
        let inside: std::collections::HashSet<usize> = origins.iter().copied().collect();
        let weights: Vec<f64> = (0..self.communities.len())
            .map(|o| {
                if inside.contains(&o) {
                    self.communities[o]
                        .population
                        .map(|p| p as f64)
                        .unwrap_or(1.0)
                } else {
                    0.0
                }
            })
            .collect();
        let extent = Extent::of(
            origins
                .iter()
                .map(|&o| (self.communities[o].lon, self.communities[o].lat)),
        );
        let net = self.state.network();
        let candidates: Vec<u32> = (0..net.node_count() as u32)
            .filter(|&n| {
                let (lon, lat) = net.node_lonlat(n);
                extent.contains(lon, lat)
            })
            .collect();
        let radius = lifeservice_access::level_distances_m(AccessConfig::default().speed_kmh)[2];
        Ok(self
            .state
            .maximal_covering(format.code(), &candidates, Some(&weights), radius, k)?)
    }

    pub fn network_summary(&self) -> (usize, usize) {
        (
            self.state.network().node_count(),
            self.state.network().edge_count(),
        )
    }
}

fn count_villages(reference: &crate::reference::Reference, area: &DivisionCode) -> usize {
    reference
        .all()
        .filter(|d| d.level == lifeservice_domain::Level::Village && area.contains(&d.code))
        .count()
}

fn facility_of(o: &Outlet) -> Facility {
    Facility {
        id: o.id.to_string(),
        category: o.service_type.clone(),
        lon: o.lon,
        lat: o.lat,
    }
}

/// A longitude/latitude box.
#[derive(Debug, Clone, Copy)]
struct Extent {
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
}

impl Extent {
    /// The smallest box holding every point.
    fn of(points: impl Iterator<Item = (f64, f64)>) -> Extent {
        let empty = Extent {
            min_lon: f64::MAX,
            min_lat: f64::MAX,
            max_lon: f64::MIN,
            max_lat: f64::MIN,
        };
        points.fold(empty, |e, (lon, lat)| Extent {
            min_lon: e.min_lon.min(lon),
            min_lat: e.min_lat.min(lat),
            max_lon: e.max_lon.max(lon),
            max_lat: e.max_lat.max(lat),
        })
    }

    fn contains(&self, lon: f64, lat: f64) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }

    /// The values for `lon BETWEEN $1 AND $2 AND lat BETWEEN $3 AND $4`.
    fn between_values(self) -> [f64; 4] {
        [self.min_lon, self.max_lon, self.min_lat, self.max_lat]
    }
}

fn network_extent(net: &Network) -> Extent {
    Extent::of((0..net.node_count() as u32).map(|n| net.node_lonlat(n)))
}

async fn located_communities(db: &Db, bbox: Extent) -> anyhow::Result<Vec<Community>> {
    let mut query = sqlx::query(
        "SELECT code, lon, lat, population FROM divisions WHERE level = 'village' AND lon IS NOT NULL \
         AND lon BETWEEN $1 AND $2 AND lat BETWEEN $3 AND $4 ORDER BY code",
    );
    for value in bbox.between_values() {
        query = query.bind(value);
    }
    let rows = query.fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok(Community {
                code: r.try_get("code")?,
                lon: r.try_get("lon")?,
                lat: r.try_get("lat")?,
                population: r.try_get("population")?,
            })
        })
        .collect()
}

async fn circle_outlets(db: &Db, bbox: Extent) -> anyhow::Result<Vec<Outlet>> {
    let codes: Vec<String> = formats()
        .iter()
        .map(|t| format!("'{}'", t.code()))
        .collect();
    // Type codes come from the catalogue, never from input.
    let sql = format!(
        "SELECT id FROM outlets WHERE status = 'open' AND service_type IN ({}) AND lon BETWEEN $1 AND $2 AND lat BETWEEN $3 AND $4 ORDER BY id",
        codes.join(",")
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql);
    for value in bbox.between_values() {
        query = query.bind(value);
    }
    let ids = query.fetch_all(db.pool()).await?;
    Ok(store::outlets_by_ids(&mut *db.pool().acquire().await?, &ids).await?)
}

/// The shared, lazily loaded circle state of a server process.
#[derive(Clone, Default)]
pub struct CircleService {
    inner: Arc<tokio::sync::RwLock<Option<Circles>>>,
    network: Arc<PathBuf>,
}

impl CircleService {
    pub fn new(network: PathBuf) -> Self {
        CircleService {
            inner: Arc::default(),
            network: Arc::new(network),
        }
    }

    /// (Re)builds the whole state, e.g. at start or after a network or community import.
    pub async fn rebuild(&self, db: &Db) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let circles = Circles::load(db, &self.network).await?;
        if let Some(c) = &circles {
            let (nodes, edges) = c.network_summary();
            tracing::info!(
                nodes,
                edges,
                communities = c.communities.len(),
                ms = started.elapsed().as_millis() as u64,
                "life circles computed"
            );
        }
        *self.inner.write().await = circles;
        Ok(())
    }

    pub fn network_path(&self) -> &Path {
        &self.network
    }

    pub async fn read(&self) -> tokio::sync::RwLockReadGuard<'_, Option<Circles>> {
        self.inner.read().await
    }

    /// Applies outlet changes recorded since the last call.
    pub async fn follow(&self, db: &Db) -> anyhow::Result<usize> {
        let mut guard = self.inner.write().await;
        let Some(circles) = guard.as_mut() else {
            return Ok(0);
        };
        let rows = sqlx::query("SELECT seq, object_id FROM changes WHERE seq > $1 AND object_type = 'outlet' ORDER BY seq LIMIT 10000")
            .bind(circles.applied_seq)
            .fetch_all(db.pool())
            .await?;
        let Some(last) = rows.last() else {
            return Ok(0);
        };
        circles.applied_seq = last.try_get("seq")?;
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("object_id"))
            .collect::<Result<_, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        let outlets = store::outlets_by_ids(&mut *db.pool().acquire().await?, &ids).await?;
        Ok(outlets.iter().map(|o| circles.apply_outlet(o)).sum())
    }
}
