//! Maximal covering: where to open new facilities so that the most residents
//! not yet served get one within walking distance.

use std::collections::{BinaryHeap, HashMap};

use rayon::prelude::*;

use crate::error::{AccessError, Result};
use crate::network::{NodeId, Snap};
use crate::query::check_distance;
use crate::search::{PointIndex, bounded_dijkstra, reach};
use crate::state::AccessState;

/// One chosen site of [`AccessState::maximal_covering`].
#[derive(Debug, Clone, PartialEq)]
pub struct CoverSite {
    /// The network node of the site.
    pub node: NodeId,
    /// Longitude of the site in degrees.
    pub lon: f64,
    /// Latitude of the site in degrees.
    pub lat: f64,
    /// Ids of the origins this site covers that neither existing facilities
    /// nor earlier sites cover, in origin order.
    pub newly_covered: Vec<String>,
    /// Sum of their weights.
    pub newly_covered_weight: f64,
}

impl AccessState {
    /// Ranks `candidates` greedily by the weight of origins they newly bring
    /// within `radius_m` network metres of a facility of `category`, and
    /// returns up to `k` sites, best first.
    ///
    /// `weights` gives each origin's weight (population), in origin order;
    /// `None` weighs every origin 1. Origins already within `radius_m` of an
    /// existing facility of the category count as covered. Coverage sets come
    /// from one bounded search per uncovered origin, so the cost does not
    /// depend on how many candidates there are. Selection stops early when no
    /// candidate adds weight.
    pub fn maximal_covering(
        &self,
        category: &str,
        candidates: &[NodeId],
        weights: Option<&[f64]>,
        radius_m: f64,
        k: usize,
    ) -> Result<Vec<CoverSite>> {
        check_distance("covering radius", radius_m)?;
        let category =
            self.category_index(category)
                .ok_or_else(|| AccessError::UnknownCategory {
                    path: Default::default(),
                    line: 0,
                    category: category.to_string(),
                    known: self.categories().join(", "),
                })?;
        let weights = self.checked_weights(weights)?;
        let net = self.network();
        if let Some(&bad) = candidates.iter().find(|&&n| n as usize >= net.node_count()) {
            return Err(AccessError::InvalidArgument(format!(
                "candidate node {bad} is not in the network of {} nodes",
                net.node_count()
            )));
        }
        let covered = self.covered_by(category, radius_m);
        let cover_sets = cover_sets(self, candidates, &covered, &weights, radius_m);
        let picks = greedy(&cover_sets, &weights, k);
        Ok(picks
            .into_iter()
            .map(|(candidate, origins, weight)| {
                let node = candidates[candidate];
                let (lon, lat) = net.node_lonlat(node);
                CoverSite {
                    node,
                    lon,
                    lat,
                    newly_covered: origins
                        .iter()
                        .map(|&o| self.origins()[o].id.clone())
                        .collect(),
                    newly_covered_weight: weight,
                }
            })
            .collect())
    }

    fn checked_weights(&self, weights: Option<&[f64]>) -> Result<Vec<f64>> {
        let n = self.origins().len();
        match weights {
            None => Ok(vec![1.0; n]),
            Some(w) if w.len() != n => Err(AccessError::InvalidArgument(format!(
                "{} weights for {n} origins",
                w.len()
            ))),
            Some(w) if w.iter().any(|x| !x.is_finite() || *x < 0.0) => Err(
                AccessError::InvalidArgument("weights must be finite and non-negative".into()),
            ),
            Some(w) => Ok(w.to_vec()),
        }
    }

    /// Whether each origin has a facility of `category` within `radius_m`,
    /// by one multi-source search, whatever the state's cutoff.
    fn covered_by(&self, category: usize, radius_m: f64) -> Vec<bool> {
        let net = self.network();
        let snaps = self.origin_snaps();
        let mut covered = vec![false; snaps.len()];
        let mut node_dist: HashMap<NodeId, f64> = HashMap::new();
        let facilities = self.facilities_of(category);
        let seeds = facilities
            .iter()
            .flat_map(|(_, s)| [(s.node_a, s.off_a, 0), (s.node_b, s.off_b, 0)]);
        net.with_workspace(|ws| {
            bounded_dijkstra(net, ws, seeds, radius_m, |node, dist, _| {
                node_dist.insert(node, dist);
            });
        });
        let by_edge: HashMap<u32, Vec<&Snap>> =
            facilities.iter().fold(HashMap::new(), |mut map, (_, s)| {
                map.entry(s.edge).or_default().push(s);
                map
            });
        for (o, snap) in snaps.iter().enumerate() {
            let Some(s) = snap else { continue };
            let via = |node, off| node_dist.get(&node).map_or(f64::INFINITY, |d| d + off);
            let direct = by_edge
                .get(&s.edge)
                .into_iter()
                .flatten()
                .map(|f| (f.off_a - s.off_a).abs())
                .fold(f64::INFINITY, f64::min);
            covered[o] = via(s.node_a, s.off_a)
                .min(via(s.node_b, s.off_b))
                .min(direct)
                <= radius_m;
        }
        covered
    }
}

/// For each candidate, the uncovered origins with positive weight within
/// `radius_m` of it, in origin order.
fn cover_sets(
    state: &AccessState,
    candidates: &[NodeId],
    covered: &[bool],
    weights: &[f64],
    radius_m: f64,
) -> Vec<Vec<usize>> {
    let net = state.network();
    let mut sites = PointIndex::new(net.node_count());
    for (i, &node) in candidates.iter().enumerate() {
        sites.insert_node(i as u32, node);
    }
    let reached: Vec<(usize, Vec<(u32, f64)>)> = state
        .origin_snaps()
        .par_iter()
        .enumerate()
        .filter(|&(o, snap)| snap.is_some() && !covered[o] && weights[o] > 0.0)
        .filter_map(|(o, snap)| snap.as_ref().map(|s| (o, s)))
        .map(|(o, snap)| {
            let found = net.with_workspace(|ws| reach(net, ws, snap, radius_m, &sites, |_| true));
            (o, found)
        })
        .collect();
    let mut sets = vec![Vec::new(); candidates.len()];
    for (o, found) in reached {
        for (candidate, _) in found {
            sets[candidate as usize].push(o);
        }
    }
    sets
}

/// Lazy greedy selection: a candidate's gain only shrinks as others are
/// chosen, so a stale gain at the top of the heap is re-evaluated and pushed
/// back, and a fresh one is the true maximum. Equal gains go to the lower
/// candidate index.
fn greedy(sets: &[Vec<usize>], weights: &[f64], k: usize) -> Vec<(usize, Vec<usize>, f64)> {
    let mut covered = vec![false; weights.len()];
    let gain = |set: &[usize], covered: &[bool]| -> f64 {
        set.iter()
            .filter(|&&o| !covered[o])
            .map(|&o| weights[o])
            .sum()
    };
    let mut heap: BinaryHeap<(u64, std::cmp::Reverse<usize>)> = sets
        .iter()
        .enumerate()
        .map(|(c, set)| (gain(set, &covered).to_bits(), std::cmp::Reverse(c)))
        .collect();
    let mut picks = Vec::new();
    while picks.len() < k {
        let Some((bits, std::cmp::Reverse(c))) = heap.pop() else {
            break;
        };
        let current = gain(&sets[c], &covered);
        if current <= 0.0 {
            continue;
        }
        if current.to_bits() != bits {
            heap.push((current.to_bits(), std::cmp::Reverse(c)));
            continue;
        }
        let newly: Vec<usize> = sets[c].iter().copied().filter(|&o| !covered[o]).collect();
        for &o in &newly {
            covered[o] = true;
        }
        picks.push((c, newly, current));
    }
    picks
}
