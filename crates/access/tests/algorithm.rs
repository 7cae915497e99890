//! The engine against a brute-force oracle on small random networks.
//!
//! The oracle inserts every snapped point into its edge as a node of its own
//! (splitting the edge), then runs a plain Dijkstra from each origin: an
//! independent way to get exact point-to-point network distances, including
//! points sharing an edge.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use lifeservice_access::{
    AccessConfig, AccessState, Facility, Network, Origin, Snap, level_distances_m, nearest,
};
use proptest::prelude::*;

const LON0: f64 = 112.55;
const LAT0: f64 = 37.87;
/// About 1 km in both directions.
const SPAN: f64 = 0.011;

#[derive(Debug, Clone)]
struct Case {
    coords: Vec<(f64, f64)>,
    edges: Vec<(u32, u32)>,
    origins: Vec<(f64, f64)>,
    facilities: Vec<(u32, f64, f64)>,
    cutoff: f64,
}

fn point() -> impl Strategy<Value = (f64, f64)> {
    (0.0..SPAN, 0.0..SPAN).prop_map(|(x, y)| (LON0 + x, LAT0 + y))
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..25).prop_flat_map(|n| {
        let n32 = n as u32;
        (
            prop::collection::vec(point(), n),
            prop::collection::vec((0..n32, 0..n32), 1..3 * n),
            prop::collection::vec(point(), 1..12),
            prop::collection::vec((0u32..3, point()), 0..15),
            100.0f64..2000.0,
        )
            .prop_map(|(coords, edges, origins, facilities, cutoff)| Case {
                coords,
                edges,
                origins,
                facilities: facilities
                    .into_iter()
                    .map(|(c, (x, y))| (c, x, y))
                    .collect(),
                cutoff,
            })
    })
}

fn categories() -> Vec<String> {
    (0..3).map(|c| format!("c{c}")).collect()
}

fn origins_of(case: &Case) -> Vec<Origin> {
    case.origins
        .iter()
        .enumerate()
        .map(|(i, &(lon, lat))| Origin {
            id: format!("o{i}"),
            lon,
            lat,
        })
        .collect()
}

fn facilities_of(case: &Case) -> Vec<Facility> {
    case.facilities
        .iter()
        .enumerate()
        .map(|(i, &(c, lon, lat))| Facility {
            id: format!("f{i}"),
            category: format!("c{c}"),
            lon,
            lat,
        })
        .collect()
}

/// All-pairs network distances between snapped points, by splitting edges.
struct Oracle {
    /// distance[i][j] between point i and point j (origins first).
    distance: Vec<Vec<f64>>,
}

impl Oracle {
    fn new(net: &Network, points: &[Option<Snap>]) -> Oracle {
        let n = net.node_count();
        let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n + points.len()];
        let link = |a: usize, b: usize, w: f64, adj: &mut Vec<Vec<(usize, f64)>>| {
            adj[a].push((b, w));
            adj[b].push((a, w));
        };
        for e in 0..net.edge_count() as u32 {
            let (a, b, len) = net.edge(e);
            // Points on this edge, ordered along it.
            let mut on: Vec<(f64, usize)> = points
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.filter(|s| s.edge == e).map(|s| (s.off_a, n + i)))
                .collect();
            on.sort_by(|x, y| x.0.total_cmp(&y.0));
            let mut prev = (0.0, a as usize);
            for &(off, node) in &on {
                link(prev.1, node, off - prev.0, &mut adj);
                prev = (off, node);
            }
            link(prev.1, b as usize, len - prev.0, &mut adj);
        }
        let distance = (0..points.len())
            .map(|i| {
                let from = dijkstra(&adj, n + i);
                (0..points.len()).map(|j| from[n + j]).collect()
            })
            .collect();
        Oracle { distance }
    }
}

fn dijkstra(adj: &[Vec<(usize, f64)>], source: usize) -> Vec<f64> {
    let mut dist = vec![f64::INFINITY; adj.len()];
    let mut heap = BinaryHeap::new();
    dist[source] = 0.0;
    heap.push(Reverse((0u64, source)));
    while let Some(Reverse((bits, u))) = heap.pop() {
        let d = f64::from_bits(bits);
        if d > dist[u] {
            continue;
        }
        for &(v, w) in &adj[u] {
            if d + w < dist[v] {
                dist[v] = d + w;
                heap.push(Reverse(((d + w).to_bits(), v)));
            }
        }
    }
    dist
}

const EPS: f64 = 1e-6;

/// Expected nearest distance and level counts of origin `o` for category `c`.
fn expected(
    case: &Case,
    oracle: &Oracle,
    o: usize,
    c: u32,
    levels: [f64; 3],
) -> (Option<f64>, [u32; 3]) {
    let n_origins = case.origins.len();
    let mut best: Option<f64> = None;
    let mut counts = [0; 3];
    for (f, fac) in case.facilities.iter().enumerate() {
        if fac.0 != c {
            continue;
        }
        let d = oracle.distance[o][n_origins + f];
        if d <= case.cutoff && best.is_none_or(|b| d < b) {
            best = Some(d);
        }
        for l in 0..3 {
            if d <= levels[l] {
                counts[l] += 1;
            }
        }
    }
    (best, counts)
}

fn snaps(net: &Network, case: &Case) -> Vec<Option<Snap>> {
    case.origins
        .iter()
        .map(|&(lon, lat)| (lon, lat))
        .chain(case.facilities.iter().map(|&(_, lon, lat)| (lon, lat)))
        .map(|(lon, lat)| net.snap(lon, lat, 200.0))
        .collect()
}

/// Fails unless `d` is within `EPS` of `e`, unless one is on a boundary
/// (cutoff), where rounding legitimately decides.
fn close(d: Option<f64>, e: Option<f64>) -> bool {
    match (d, e) {
        (Some(x), Some(y)) => (x - y).abs() < EPS,
        (None, None) => true,
        _ => false,
    }
}

fn check_state(state: &AccessState, case: &Case, net: &Network) -> Result<(), TestCaseError> {
    let oracle = Oracle::new(net, &snaps(net, case));
    let levels = state.levels_m();
    for o in 0..case.origins.len() {
        for c in 0..3u32 {
            let (best, counts) = expected(case, &oracle, o, c, levels);
            let got = state.nearest_m(o, c as usize);
            prop_assert!(close(got, best), "origin {o} cat {c}: {got:?} vs {best:?}");
            prop_assert_eq!(
                state.counts(o, c as usize),
                counts,
                "origin {} cat {}",
                o,
                c
            );
            if let Some(id) = state.nearest_facility(o, c as usize) {
                let f: usize = id[1..].parse().unwrap();
                let d = oracle.distance[o][case.origins.len() + f];
                prop_assert!((d - got.unwrap()).abs() < EPS);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn nearest_matches_brute_force(case in case()) {
        let net = Network::from_edges(&case.coords, &case.edges).unwrap();
        let oracle = Oracle::new(&net, &snaps(&net, &case));
        let table = nearest(&net, &origins_of(&case), &facilities_of(&case), &categories(), case.cutoff, 200.0).unwrap();
        for o in 0..case.origins.len() {
            for c in 0..3u32 {
                let (best, _) = expected(&case, &oracle, o, c, [0.0; 3]);
                let got = table.distance_m(o, c as usize);
                prop_assert!(close(got, best), "origin {o} cat {c}: {got:?} vs {best:?}");
            }
        }
    }

    #[test]
    fn state_matches_brute_force(case in case(), speed in 1.0f64..8.0) {
        let net = Arc::new(Network::from_edges(&case.coords, &case.edges).unwrap());
        let config = AccessConfig { cutoff_m: case.cutoff, speed_kmh: speed, ..AccessConfig::default() };
        let state = AccessState::new(net.clone(), origins_of(&case), facilities_of(&case), categories(), config).unwrap();
        prop_assert_eq!(state.levels_m(), level_distances_m(speed));
        check_state(&state, &case, &net)?;
    }

    #[test]
    fn incremental_updates_stay_exact(
        case in case(),
        ops in prop::collection::vec((0u8..3, 0usize..20, 0u32..3, point()), 1..12),
    ) {
        let net = Arc::new(Network::from_edges(&case.coords, &case.edges).unwrap());
        let config = AccessConfig { cutoff_m: case.cutoff, ..AccessConfig::default() };
        let mut state = AccessState::new(net.clone(), origins_of(&case), facilities_of(&case), categories(), config).unwrap();
        // The oracle's view: facility i is `live[i]`, at `case.facilities[i]`.
        let mut case = case;
        let mut live = vec![true; case.facilities.len()];
        for (kind, pick, category, (lon, lat)) in ops {
            let snapped = net.snap(lon, lat, 200.0).is_some();
            match kind {
                0 => {
                    let id = format!("f{}", case.facilities.len());
                    let added = state.add_facility(Facility { id, category: format!("c{category}"), lon, lat });
                    prop_assert_eq!(added.is_ok(), snapped);
                    case.facilities.push((category, lon, lat));
                    live.push(snapped);
                }
                1 if !case.facilities.is_empty() => {
                    let f = pick % case.facilities.len();
                    let removed = state.remove_facility(&format!("f{f}"));
                    prop_assert_eq!(removed.is_ok(), live[f]);
                    live[f] = false;
                }
                2 if !case.facilities.is_empty() => {
                    let f = pick % case.facilities.len();
                    let moved = state.move_facility(&format!("f{f}"), lon, lat);
                    prop_assert_eq!(moved.is_ok(), live[f] && snapped);
                    if moved.is_ok() {
                        case.facilities[f].1 = lon;
                        case.facilities[f].2 = lat;
                    }
                }
                _ => {}
            }
            // Compare with the oracle over live facilities only.
            let mut view = case.clone();
            view.facilities = case.facilities.iter().zip(&live).filter(|x| *x.1).map(|x| *x.0).collect();
            let ids: Vec<usize> = (0..live.len()).filter(|&i| live[i]).collect();
            let fresh = AccessState::new(
                net.clone(),
                origins_of(&view),
                view.facilities.iter().zip(&ids).map(|(&(c, lon, lat), &i)| Facility {
                    id: format!("f{i}"), category: format!("c{c}"), lon, lat,
                }).collect(),
                categories(),
                config,
            ).unwrap();
            for o in 0..view.origins.len() {
                for c in 0..3 {
                    prop_assert!(close(state.nearest_m(o, c), fresh.nearest_m(o, c)));
                    prop_assert_eq!(state.counts(o, c), fresh.counts(o, c));
                }
            }
        }
    }
}

#[test]
fn same_edge_points_use_the_direct_stretch() {
    // One long street; origin and shop both near its middle.
    let net = Network::from_edges(&[(112.0, 37.0), (112.02, 37.0)], &[(0, 1)]).unwrap();
    let origins = vec![Origin {
        id: "o".into(),
        lon: 112.010,
        lat: 37.0,
    }];
    let facilities = vec![Facility {
        id: "f".into(),
        category: "c".into(),
        lon: 112.011,
        lat: 37.0,
    }];
    let table = nearest(&net, &origins, &facilities, &["c".into()], 1000.0, 200.0).unwrap();
    let direct = lifeservice_access::haversine_m(112.0, 37.0, 112.02, 37.0) / 20.0;
    assert!((table.distance_m(0, 0).unwrap() - direct).abs() < 0.01);
}

#[test]
fn far_points_are_unreachable_not_snapped() {
    let net = Network::from_edges(&[(112.0, 37.0), (112.001, 37.0)], &[(0, 1)]).unwrap();
    let origins = vec![
        Origin {
            id: "near".into(),
            lon: 112.0005,
            lat: 37.0001,
        },
        Origin {
            id: "far".into(),
            lon: 112.0005,
            lat: 37.01,
        },
    ];
    let facilities = vec![Facility {
        id: "f".into(),
        category: "c".into(),
        lon: 112.0,
        lat: 37.0,
    }];
    let table = nearest(&net, &origins, &facilities, &["c".into()], 1000.0, 200.0).unwrap();
    assert!(table.distance_m(0, 0).is_some());
    assert_eq!(table.distance_m(1, 0), None);
    assert_eq!(table.unreachable_origins(), &[1]);
}

#[test]
fn maximal_covering_picks_the_heaviest_uncovered_cluster() {
    // A straight street of 11 nodes 100 m apart (about 0.001134° at 37°N).
    let step = 0.001_134;
    let coords: Vec<(f64, f64)> = (0..11).map(|i| (112.0 + i as f64 * step, 37.0)).collect();
    let edges: Vec<(u32, u32)> = (0..10).map(|i| (i, i + 1)).collect();
    let net = Arc::new(Network::from_edges(&coords, &edges).unwrap());
    let at = |i: f64| 112.0 + i * step;
    let origins = vec![
        Origin {
            id: "west".into(),
            lon: at(0.0),
            lat: 37.0,
        },
        Origin {
            id: "mid".into(),
            lon: at(5.0),
            lat: 37.0,
        },
        Origin {
            id: "east1".into(),
            lon: at(9.0),
            lat: 37.0,
        },
        Origin {
            id: "east2".into(),
            lon: at(10.0),
            lat: 37.0,
        },
    ];
    // An existing shop at the west end covers "west" within 150 m.
    let facilities = vec![Facility {
        id: "s".into(),
        category: "shop".into(),
        lon: at(0.0),
        lat: 37.0,
    }];
    let state = AccessState::new(
        net,
        origins,
        facilities,
        vec!["shop".into()],
        AccessConfig::default(),
    )
    .unwrap();
    let candidates: Vec<u32> = (0..11)
        .map(|i| {
            state
                .network()
                .nearest_node(at(i as f64), 37.0, 1.0)
                .unwrap()
        })
        .collect();
    let weights = [5.0, 1.0, 2.0, 2.0];
    let sites = state
        .maximal_covering("shop", &candidates, Some(&weights), 150.0, 3)
        .unwrap();
    assert_eq!(sites.len(), 2, "{sites:?}");
    assert_eq!(
        sites[0].newly_covered,
        vec!["east1".to_string(), "east2".to_string()]
    );
    assert_eq!(sites[0].newly_covered_weight, 4.0);
    assert_eq!(sites[1].newly_covered, vec!["mid".to_string()]);
    assert!(
        state
            .maximal_covering("bank", &candidates, None, 150.0, 1)
            .is_err()
    );
}
