//! Batch queries: nearest facility of each category and facility counts per
//! walking level, for every origin.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{AccessError, Result};
use crate::geo::hilbert_key;
use crate::network::{Network, Snap};
use crate::search::{NO_LABEL, NearestField, PointIndex, bounded_dijkstra, reach, seeds_of};

/// Default walking speed in km/h.
pub const DEFAULT_SPEED_KMH: f64 = 4.0;

/// The walking levels, in minutes.
pub const LEVEL_MINUTES: [f64; 3] = [5.0, 10.0, 15.0];

/// A place whose residents walk: a community, a building, a grid cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// Caller's id, unique among origins.
    pub id: String,
    /// Longitude in degrees (WGS-84).
    pub lon: f64,
    /// Latitude in degrees (WGS-84).
    pub lat: f64,
}

/// A daily-life facility of some category (grocery, clinic, school...).
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Caller's id, unique among facilities.
    pub id: String,
    /// Category name.
    pub category: String,
    /// Longitude in degrees (WGS-84).
    pub lon: f64,
    /// Latitude in degrees (WGS-84).
    pub lat: f64,
}

/// Walking distance in metres of the 5, 10 and 15 minute levels at
/// `speed_kmh` (333.33, 666.67 and 1000 m at the default 4 km/h).
pub fn level_distances_m(speed_kmh: f64) -> [f64; 3] {
    LEVEL_MINUTES.map(|minutes| speed_kmh * 1000.0 * minutes / 60.0)
}

/// The distinct categories of `facilities`, sorted.
pub fn categories_of(facilities: &[Facility]) -> Vec<String> {
    let mut categories: Vec<String> = facilities.iter().map(|f| f.category.clone()).collect();
    categories.sort_unstable();
    categories.dedup();
    categories
}

/// Result of [`nearest`]: for each origin and category, the network distance
/// to the nearest facility of that category within the cutoff.
#[derive(Debug, Clone)]
pub struct NearestTable {
    categories: Vec<String>,
    /// Origin-major: entry `origin * categories + category`.
    distance: Vec<f64>,
    facility: Vec<u32>,
    unreachable_origins: Vec<usize>,
    unreachable_facilities: Vec<usize>,
}

impl NearestTable {
    /// The categories, in the order of their indexes.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// Number of origins.
    pub fn origin_count(&self) -> usize {
        self.distance.len() / self.categories.len().max(1)
    }

    /// Network metres from origin `origin` to the nearest facility of category
    /// index `category`, or `None` when there is none within the cutoff or the
    /// origin is outside the network.
    pub fn distance_m(&self, origin: usize, category: usize) -> Option<f64> {
        let d = self.distance[origin * self.categories.len() + category];
        d.is_finite().then_some(d)
    }

    /// Index (into the facilities given to [`nearest`]) of that nearest facility.
    pub fn nearest_facility(&self, origin: usize, category: usize) -> Option<usize> {
        let f = self.facility[origin * self.categories.len() + category];
        (f != NO_LABEL).then_some(f as usize)
    }

    /// Indexes of origins farther than the maximum snap distance from the network.
    pub fn unreachable_origins(&self) -> &[usize] {
        &self.unreachable_origins
    }

    /// Indexes of facilities farther than the maximum snap distance from the network.
    pub fn unreachable_facilities(&self) -> &[usize] {
        &self.unreachable_facilities
    }
}

/// For every origin and category, the network distance to the nearest
/// facility of that category, up to `cutoff_m` metres.
///
/// `categories` lists the categories to report; a facility of another
/// category is an [`AccessError::UnknownCategory`]. Points farther than
/// `max_snap_m` from every walkable edge are reported unreachable. Each
/// category gets the exact distances of one bounded multi-source Dijkstra,
/// categories in parallel, so the cost grows with the
/// network and the number of categories, not with origins × facilities.
pub fn nearest(
    net: &Network,
    origins: &[Origin],
    facilities: &[Facility],
    categories: &[String],
    cutoff_m: f64,
    max_snap_m: f64,
) -> Result<NearestTable> {
    check_distance("cutoff", cutoff_m)?;
    check_distance("maximum snap distance", max_snap_m)?;
    let category_of = category_indexes(facilities, categories)?;
    let origin_snaps = snap_all(net, origins.iter().map(|o| (o.lon, o.lat)), max_snap_m);
    let facility_snaps = snap_all(net, facilities.iter().map(|f| (f.lon, f.lat)), max_snap_m);
    let (origin_points, facility_points) = rayon::join(
        || Points::new(net, &origin_snaps),
        || Points::new(net, &facility_snaps),
    );
    let (distance, facility) = nearest_all(
        net,
        &origin_points,
        &facility_points,
        &category_of,
        categories.len(),
        cutoff_m,
    );
    Ok(NearestTable {
        categories: categories.to_vec(),
        distance,
        facility,
        unreachable_origins: missing(&origin_snaps),
        unreachable_facilities: missing(&facility_snaps),
    })
}

pub(crate) fn check_distance(what: &str, metres: f64) -> Result<()> {
    if metres.is_finite() && metres >= 0.0 {
        Ok(())
    } else {
        Err(AccessError::InvalidArgument(format!(
            "{what} must be a finite non-negative number of metres, got {metres}"
        )))
    }
}

/// Category index of each facility, or the first unknown category.
pub(crate) fn category_indexes(facilities: &[Facility], categories: &[String]) -> Result<Vec<u32>> {
    let index: HashMap<&str, u32> = categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as u32))
        .collect();
    facilities
        .iter()
        .map(|f| {
            index
                .get(f.category.as_str())
                .copied()
                .ok_or_else(|| AccessError::UnknownCategory {
                    path: Default::default(),
                    line: 0,
                    category: f.category.clone(),
                    known: categories.join(", "),
                })
        })
        .collect()
}

/// Snaps points in parallel; `None` for those outside the network.
///
/// Points are snapped in Hilbert order so that consecutive ones query the
/// same part of the snapping index while it is in cache.
pub(crate) fn snap_all(
    net: &Network,
    points: impl Iterator<Item = (f64, f64)>,
    max_snap_m: f64,
) -> Vec<Option<Snap>> {
    let points: Vec<(f64, f64)> = points.collect();
    let bbox = points.iter().fold(
        [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
        |b, &(lon, lat)| [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)],
    );
    let mut order: Vec<(u64, usize)> = points
        .iter()
        .enumerate()
        .map(|(i, &(lon, lat))| (hilbert_key(lon, lat, bbox), i))
        .collect();
    order.sort_unstable();
    let snapped: Vec<(usize, Option<Snap>)> = order
        .par_iter()
        .map(|&(_, i)| (i, net.snap(points[i].0, points[i].1, max_snap_m)))
        .collect();
    let mut snaps = vec![None; points.len()];
    for (i, snap) in snapped {
        snaps[i] = snap;
    }
    snaps
}

fn index_points(net: &Network, snaps: &[Option<Snap>]) -> PointIndex {
    let mut index = PointIndex::new(net.node_count());
    for (i, snap) in snaps.iter().enumerate() {
        if let Some(snap) = snap {
            index.insert(i as u32, snap);
        }
    }
    index
}

fn missing(snaps: &[Option<Snap>]) -> Vec<usize> {
    (0..snaps.len()).filter(|&i| snaps[i].is_none()).collect()
}

/// Snapped facilities of each category as `(label, snap)`, the label being
/// the facility's index.
fn group_by_category(
    snaps: &[Option<Snap>],
    category_of: &[u32],
    category_count: usize,
) -> Vec<Vec<(u32, Snap)>> {
    let mut groups = vec![Vec::new(); category_count];
    for (i, snap) in snaps.iter().enumerate() {
        if let Some(snap) = snap {
            groups[category_of[i] as usize].push((i as u32, *snap));
        }
    }
    groups
}

/// Snapped points with their index.
pub(crate) struct Points<'a> {
    pub(crate) snaps: &'a [Option<Snap>],
    pub(crate) index: PointIndex,
}

impl<'a> Points<'a> {
    pub(crate) fn new(net: &Network, snaps: &'a [Option<Snap>]) -> Self {
        Points {
            snaps,
            index: index_points(net, snaps),
        }
    }
}

/// Nearest facility per origin and category, origin-major: distances
/// (infinite when none within the cutoff) and facility labels.
///
/// Both ways of computing it are exact; the cheaper one runs. One bounded
/// multi-source search per category costs about the network area within the
/// cutoff of that category's facilities; one bounded search per origin costs
/// the origins times the size of one neighbourhood. On a city with facilities
/// everywhere the first wins; on a province with few communities per square
/// kilometre the second is several times cheaper.
pub(crate) fn nearest_all(
    net: &Network,
    origins: &Points,
    facilities: &Points,
    category_of: &[u32],
    category_count: usize,
    cutoff_m: f64,
) -> (Vec<f64>, Vec<u32>) {
    let groups = group_by_category(facilities.snaps, category_of, category_count);
    let ball = mean_ball_size(net, origins.snaps, cutoff_m);
    let from_origins = origins.snaps.iter().flatten().count() as f64 * ball;
    let by_category: f64 = groups
        .iter()
        .map(|g| (2.0 * g.len() as f64 * ball).min(net.node_count() as f64))
        .sum();
    if from_origins < by_category {
        nearest_from_origins(
            net,
            origins.snaps,
            &facilities.index,
            category_of,
            category_count,
            cutoff_m,
        )
    } else {
        nearest_by_category(net, origins, &groups, cutoff_m)
    }
}

/// Average number of nodes within `radius` of a few origins, sampled evenly.
fn mean_ball_size(net: &Network, snaps: &[Option<Snap>], radius: f64) -> f64 {
    const SAMPLES: usize = 16;
    let reachable: Vec<&Snap> = snaps.iter().flatten().collect();
    let step = (reachable.len() / SAMPLES).max(1);
    let sample: Vec<&Snap> = reachable
        .iter()
        .step_by(step)
        .take(SAMPLES)
        .copied()
        .collect();
    let settled: usize = net.with_workspace(|ws| {
        sample
            .iter()
            .map(|snap| {
                let mut count = 0;
                bounded_dijkstra(net, ws, seeds_of(snap, NO_LABEL), radius, |_, _, _| {
                    count += 1
                });
                count
            })
            .sum()
    });
    (settled as f64 / sample.len().max(1) as f64).max(1.0)
}

/// Nearest facility per origin and category by one bounded search per origin.
///
/// Origins are searched in node (Hilbert) order rather than input order, so
/// that consecutive searches find the previous one's neighbourhood in cache.
fn nearest_from_origins(
    net: &Network,
    origin_snaps: &[Option<Snap>],
    facilities: &PointIndex,
    category_of: &[u32],
    category_count: usize,
    cutoff_m: f64,
) -> (Vec<f64>, Vec<u32>) {
    let mut order: Vec<(u32, usize, &Snap)> = origin_snaps
        .iter()
        .enumerate()
        .filter_map(|(o, snap)| snap.as_ref().map(|s| (s.node_a.min(s.node_b), o, s)))
        .collect();
    order.sort_unstable_by_key(|&(node, o, _)| (node, o));
    let found: Vec<(usize, Vec<(u32, f64)>)> = order
        .par_iter()
        .map(|&(_, o, snap)| {
            let found =
                net.with_workspace(|ws| reach(net, ws, snap, cutoff_m, facilities, |_| true));
            (o, found)
        })
        .collect();
    let mut distance = vec![f64::INFINITY; origin_snaps.len() * category_count];
    let mut label = vec![NO_LABEL; origin_snaps.len() * category_count];
    for (o, found) in found {
        for (f, dist) in found {
            let cell = o * category_count + category_of[f as usize] as usize;
            if dist < distance[cell] {
                distance[cell] = dist;
                label[cell] = f;
            }
        }
    }
    (distance, label)
}

/// Nearest labelled facility per origin and category, origin-major, by one
/// exact multi-source search per category, each run as a [`NearestField`]
/// fed the category's facilities in node (Hilbert) order.
///
/// Categories run in parallel, one contiguous share per thread, so that each
/// thread allocates one field and reuses it: a field per category would cost a
/// page fault every 4 KiB of a megabyte per category, and a single field stays
/// in the core's cache from one category to the next.
fn nearest_by_category(
    net: &Network,
    origins: &Points,
    groups: &[Vec<(u32, Snap)>],
    cutoff_m: f64,
) -> (Vec<f64>, Vec<u32>) {
    let share = groups.len().div_ceil(rayon::current_num_threads()).max(1);
    let columns: Vec<(Vec<f64>, Vec<u32>)> = groups
        .par_iter()
        .with_min_len(share)
        .map_init(
            || NearestField::new(net.node_count(), cutoff_m),
            |field, group| {
                field.clear();
                let mut sources: Vec<&(u32, Snap)> = group.iter().collect();
                sources.sort_unstable_by_key(|(f, snap)| (snap.node_a.min(snap.node_b), *f));
                for (f, snap) in sources {
                    let seeds = [(snap.node_a, snap.off_a), (snap.node_b, snap.off_b)];
                    field.add_source(net, *f, seeds);
                }
                column(field, origins, group, cutoff_m)
            },
        )
        .collect();
    transpose(&columns, origins.snaps.len())
}

/// Nearest facility of one category for every origin, from its field: through
/// either end of the origin's edge, or straight along an edge it shares with a
/// facility.
fn column(
    field: &NearestField,
    origins: &Points,
    group: &[(u32, Snap)],
    cutoff_m: f64,
) -> (Vec<f64>, Vec<u32>) {
    let mut best = vec![f64::INFINITY; origins.snaps.len()];
    let mut label = vec![NO_LABEL; origins.snaps.len()];
    let mut offer = |origin: usize, dist: f64, from: u32| {
        if dist <= cutoff_m && dist < best[origin] {
            best[origin] = dist;
            label[origin] = from;
        }
    };
    for (o, snap) in origins.snaps.iter().enumerate() {
        let Some(snap) = snap else { continue };
        for (node, off) in [(snap.node_a, snap.off_a), (snap.node_b, snap.off_b)] {
            let (dist, from) = field.at(node);
            offer(o, dist + off, from);
        }
    }
    for (f, snap) in group {
        for &(origin, off_a) in origins.index.on_edge(snap.edge) {
            offer(origin as usize, (snap.off_a - off_a).abs(), *f);
        }
    }
    (best, label)
}

fn transpose(columns: &[(Vec<f64>, Vec<u32>)], origin_count: usize) -> (Vec<f64>, Vec<u32>) {
    let width = columns.len();
    let mut distance = vec![f64::INFINITY; origin_count * width];
    let mut label = vec![NO_LABEL; origin_count * width];
    for (c, (best, from)) in columns.iter().enumerate() {
        for o in 0..origin_count {
            distance[o * width + c] = best[o];
            label[o * width + c] = from[o];
        }
    }
    (distance, label)
}

/// Number of facilities of each category within each level, origin-major.
///
/// Enumerates (origin, facility) pairs within the largest level by bounded
/// searches out of whichever side has fewer points, so the work is the
/// smaller set times the size of a 15-minute neighbourhood.
pub(crate) fn count_within(
    net: &Network,
    origins: &Points,
    facilities: &Points,
    category_of: &[u32],
    category_count: usize,
    levels: [f64; 3],
) -> Vec<[u32; 3]> {
    let mut counts = vec![[0u32; 3]; origins.snaps.len() * category_count];
    let reachable = |snaps: &[Option<Snap>]| snaps.iter().flatten().count();
    let radius = levels[2];
    if reachable(origins.snaps) <= reachable(facilities.snaps) {
        counts
            .par_chunks_mut(category_count.max(1))
            .zip(origins.snaps.par_iter())
            .for_each(|(row, snap)| {
                let Some(snap) = snap else { return };
                let found = net
                    .with_workspace(|ws| reach(net, ws, snap, radius, &facilities.index, |_| true));
                for (f, dist) in found {
                    add_level(&mut row[category_of[f as usize] as usize], dist, levels, 1);
                }
            });
    } else {
        let pairs: Vec<(u32, u32, f64)> = facilities
            .snaps
            .par_iter()
            .enumerate()
            .filter_map(|(f, snap)| snap.as_ref().map(|s| (f, s)))
            .flat_map_iter(|(f, snap)| {
                let found =
                    net.with_workspace(|ws| reach(net, ws, snap, radius, &origins.index, |_| true));
                found.into_iter().map(move |(o, dist)| (o, f as u32, dist))
            })
            .collect();
        for (o, f, dist) in pairs {
            let cell = o as usize * category_count + category_of[f as usize] as usize;
            add_level(&mut counts[cell], dist, levels, 1);
        }
    }
    counts
}

/// Adds `delta` to every level whose distance `dist` is within.
pub(crate) fn add_level(cell: &mut [u32; 3], dist: f64, levels: [f64; 3], delta: i32) {
    for (count, &limit) in cell.iter_mut().zip(&levels) {
        if dist <= limit {
            *count = count.wrapping_add_signed(delta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    /// A 20 × 20 street grid about 100 m apart with random points on it.
    type Scene = (Network, Vec<Option<Snap>>, Vec<Option<Snap>>, Vec<u32>);

    fn grid_with_points(seed: u64) -> Scene {
        let mut coords = Vec::new();
        let mut edges = Vec::new();
        for r in 0..20u32 {
            for c in 0..20u32 {
                coords.push((112.5 + f64::from(c) * 0.0011, 37.8 + f64::from(r) * 0.0009));
                let id = r * 20 + c;
                if c > 0 {
                    edges.push((id - 1, id));
                }
                if r > 0 {
                    edges.push((id - 20, id));
                }
            }
        }
        let net = Network::from_edges(&coords, &edges).unwrap();
        let mut rng = Rng::new(seed);
        let mut points = |n: usize| -> Vec<Option<Snap>> {
            (0..n)
                .map(|_| {
                    net.snap(
                        112.5 + rng.next_f64() * 0.021,
                        37.8 + rng.next_f64() * 0.017,
                        200.0,
                    )
                })
                .collect()
        };
        let (origins, facilities) = (points(60), points(90));
        let category_of = (0..90).map(|i| i % 4).collect();
        (net, origins, facilities, category_of)
    }

    #[test]
    fn both_nearest_strategies_agree() {
        for seed in 0..5 {
            let (net, origin_snaps, facility_snaps, category_of) = grid_with_points(seed);
            let origins = Points::new(&net, &origin_snaps);
            let facilities = Points::new(&net, &facility_snaps);
            let groups = group_by_category(&facility_snaps, &category_of, 4);
            let (d1, _) = nearest_by_category(&net, &origins, &groups, 700.0);
            let (d2, _) = nearest_from_origins(
                &net,
                &origin_snaps,
                &facilities.index,
                &category_of,
                4,
                700.0,
            );
            assert!(d1.iter().any(|d| d.is_finite()) && d1.iter().any(|d| d.is_infinite()));
            for (a, b) in d1.iter().zip(&d2) {
                assert!(a == b || (a - b).abs() < 1e-6, "{a} vs {b}");
            }
        }
    }
}

/// Both strategies on random small networks: many facilities per node, points
/// sharing edges, duplicate and zero-length edges, disconnected parts. With
/// three categories one thread's share holds them all, so the reuse of a
/// nearest field from one category to the next is exercised too.
#[cfg(test)]
mod strategy_props {
    use super::*;
    use proptest::prelude::*;

    type LonLat = (f64, f64);
    /// Node coordinates, edges, origins, `(category, point)` facilities, cutoff.
    type Scene = (
        Vec<LonLat>,
        Vec<(u32, u32)>,
        Vec<LonLat>,
        Vec<(u32, LonLat)>,
        f64,
    );

    fn scene() -> impl Strategy<Value = Scene> {
        (2usize..30).prop_flat_map(|n| {
            let point = || (0.0..0.012f64, 0.0..0.009f64).prop_map(|(x, y)| (112.5 + x, 37.8 + y));
            (
                prop::collection::vec(point(), n),
                prop::collection::vec((0..n as u32, 0..n as u32), 1..3 * n),
                prop::collection::vec(point(), 1..20),
                prop::collection::vec((0u32..3, point()), 0..40),
                50.0f64..1500.0,
            )
        })
    }

    proptest! {
        #[test]
        fn by_category_matches_from_origins((coords, edges, origins, facilities, cutoff) in scene()) {
            let Ok(net) = Network::from_edges(&coords, &edges) else { return Ok(()) };
            let origin_snaps: Vec<Option<Snap>> =
                origins.iter().map(|&(x, y)| net.snap(x, y, 300.0)).collect();
            let facility_snaps: Vec<Option<Snap>> =
                facilities.iter().map(|&(_, (x, y))| net.snap(x, y, 300.0)).collect();
            let category_of: Vec<u32> = facilities.iter().map(|f| f.0).collect();
            let origin_points = Points::new(&net, &origin_snaps);
            let facility_points = Points::new(&net, &facility_snaps);
            let groups = group_by_category(&facility_snaps, &category_of, 3);
            let (d1, l1) = nearest_by_category(&net, &origin_points, &groups, cutoff);
            let (d2, _) = nearest_from_origins(
                &net, &origin_snaps, &facility_points.index, &category_of, 3, cutoff,
            );
            for (i, (a, b)) in d1.iter().zip(&d2).enumerate() {
                prop_assert!(a == b || (a - b).abs() < 1e-6, "{} vs {}", a, b);
                // The label names a facility of the right category.
                prop_assert_eq!(l1[i] == NO_LABEL, a.is_infinite());
                if l1[i] != NO_LABEL {
                    prop_assert_eq!(category_of[l1[i] as usize] as usize, i % 3);
                }
            }
        }
    }
}
