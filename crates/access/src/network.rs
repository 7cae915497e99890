//! The walking network: a compact undirected graph in CSR form, built from an
//! OSM PBF extract or a network cache, with snapping of points onto edges.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use rayon::prelude::*;
use rstar::{AABB, Envelope, RTree, RTreeObject};

use crate::error::{AccessError, Result};
use crate::geo::{LocalFrame, haversine_m, hilbert_key};
use crate::pbf::{RawExtract, read_extract};
use crate::radix::radix_sort;
use crate::search::Workspace;

/// Index of a node in a [`Network`], from `0` to `node_count() - 1`.
pub type NodeId = u32;

/// One direction of an edge: the node it leads to and the edge's length.
/// Packed into 12 bytes (as a tuple it pads to 16), so a cache line holds more
/// of a neighbourhood: the searches wait on these loads more than on anything.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
pub(crate) struct Arc {
    pub(crate) to: NodeId,
    pub(crate) len: f64,
}

/// Index of an undirected edge in a [`Network`], from `0` to `edge_count() - 1`.
pub type EdgeId = u32;

/// Default maximum distance in metres between a point and the edge it snaps to.
pub const DEFAULT_MAX_SNAP_M: f64 = 200.0;

/// Half-size of the first box searched when snapping; most points in a city
/// are closer than this to a street.
const SNAP_FIRST_BOX_M: f64 = 30.0;

/// Where a point attaches to the network: the foot of the perpendicular on
/// its nearest edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The edge the point attaches to.
    pub edge: EdgeId,
    /// The edge's first node.
    pub node_a: NodeId,
    /// The edge's second node.
    pub node_b: NodeId,
    /// Position along the edge, 0 at `node_a`, 1 at `node_b`.
    pub t: f64,
    /// Network metres from `node_a` to the attachment point (`t` × length).
    pub off_a: f64,
    /// Network metres from the attachment point to `node_b`.
    pub off_b: f64,
    /// Straight-line metres from the point to the attachment point. Not part
    /// of any network distance reported by this crate.
    pub snap_distance_m: f64,
}

/// A walking network. Every edge is walkable in both directions.
///
/// Build it with [`Network::from_pbf`], save it with [`Network::save_cache`]
/// and reload it with [`Network::load_cache`]. It is `Sync`: one network serves
/// any number of concurrent queries.
pub struct Network {
    lon: Vec<f64>,
    lat: Vec<f64>,
    osm_id: Vec<i64>,
    edge_a: Vec<NodeId>,
    edge_b: Vec<NodeId>,
    edge_len: Vec<f64>,
    /// Adjacency of node `n` is `adj_start[n]..adj_start[n + 1]`.
    adj_start: Vec<u32>,
    /// Each node's arcs, side by side so a node's adjacency is one read.
    adj: Vec<Arc>,
    /// Built on first use, so that reloading a cache to answer no snapping
    /// question costs nothing.
    snap_index: OnceLock<SnapIndex>,
    /// Search scratch memory kept between queries.
    workspaces: Mutex<Vec<Workspace>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("nodes", &self.node_count())
            .field("edges", &self.edge_count())
            .finish()
    }
}

impl Network {
    /// Builds the walking network of an OSM PBF extract.
    ///
    /// Ways pass [`crate::filter::is_walkable`]; each pair of consecutive way
    /// nodes becomes an edge whose length is their haversine distance. A way
    /// node missing from the extract splits the way there.
    pub fn from_pbf(path: impl AsRef<Path>) -> Result<Network> {
        let path = path.as_ref();
        let extract = read_extract(path)?;
        let (coords, osm_ids, edges) = compact(&extract);
        if edges.is_empty() {
            return Err(AccessError::EmptyNetwork {
                path: path.to_path_buf(),
            });
        }
        Ok(Self::assemble(coords, osm_ids, edges, None))
    }

    /// Builds a network from node coordinates `(lon, lat)` and undirected
    /// edges between node indexes, with haversine edge lengths. Node `i` gets
    /// OSM id `i`. Meant for tests and synthetic networks.
    pub fn from_edges(coords: &[(f64, f64)], edges: &[(NodeId, NodeId)]) -> Result<Network> {
        let n = coords.len();
        if let Some(&(a, b)) = edges
            .iter()
            .find(|&&(a, b)| a as usize >= n || b as usize >= n)
        {
            return Err(AccessError::InvalidArgument(format!(
                "edge ({a}, {b}) refers to a node beyond the {n} given"
            )));
        }
        if edges.is_empty() {
            return Err(AccessError::InvalidArgument("no edges".into()));
        }
        let osm_ids = (0..n as i64).collect();
        Ok(Self::assemble(
            coords.to_vec(),
            osm_ids,
            edges.to_vec(),
            None,
        ))
    }

    /// Fills in lengths (unless given) and the adjacency arrays.
    fn assemble(
        coords: Vec<(f64, f64)>,
        osm_id: Vec<i64>,
        edges: Vec<(NodeId, NodeId)>,
        lengths: Option<Vec<f64>>,
    ) -> Network {
        let (lon, lat): (Vec<f64>, Vec<f64>) = coords.into_iter().unzip();
        let (edge_a, edge_b): (Vec<NodeId>, Vec<NodeId>) = edges.into_iter().unzip();
        let edge_len = lengths.unwrap_or_else(|| {
            edge_a
                .par_iter()
                .zip(&edge_b)
                .map(|(&a, &b)| {
                    let (a, b) = (a as usize, b as usize);
                    haversine_m(lon[a], lat[a], lon[b], lat[b])
                })
                .collect()
        });
        let (adj_start, adj) = adjacency(lon.len(), &edge_a, &edge_b, &edge_len);
        Network {
            lon,
            lat,
            osm_id,
            edge_a,
            edge_b,
            edge_len,
            adj_start,
            adj,
            snap_index: OnceLock::new(),
            workspaces: Mutex::new(Vec::new()),
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.lon.len()
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.edge_a.len()
    }

    /// `(lon, lat)` of a node in degrees.
    ///
    /// # Panics
    /// When `node` is not below [`Network::node_count`].
    pub fn node_lonlat(&self, node: NodeId) -> (f64, f64) {
        (self.lon[node as usize], self.lat[node as usize])
    }

    /// OpenStreetMap id of a node.
    ///
    /// # Panics
    /// When `node` is not below [`Network::node_count`].
    pub fn node_osm_id(&self, node: NodeId) -> i64 {
        self.osm_id[node as usize]
    }

    /// `(first node, second node, length in metres)` of an edge.
    ///
    /// # Panics
    /// When `edge` is not below [`Network::edge_count`].
    pub fn edge(&self, edge: EdgeId) -> (NodeId, NodeId, f64) {
        let e = edge as usize;
        (self.edge_a[e], self.edge_b[e], self.edge_len[e])
    }

    /// Neighbours of a node with the length of the connecting edge.
    pub(crate) fn neighbours(&self, node: NodeId) -> &[Arc] {
        let n = node as usize;
        &self.adj[self.adj_start[n] as usize..self.adj_start[n + 1] as usize]
    }

    /// Runs `f` with search scratch memory, reusing memory of earlier queries.
    pub(crate) fn with_workspace<R>(&self, f: impl FnOnce(&mut Workspace) -> R) -> R {
        let reused = self
            .workspaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut ws = reused.unwrap_or_else(|| Workspace::new(self.node_count()));
        let result = f(&mut ws);
        debug_assert_eq!(ws.node_count(), self.node_count());
        self.workspaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(ws);
        result
    }

    /// Attaches a point to the nearest point of the nearest edge, or `None`
    /// when no edge is within `max_snap_m` metres.
    ///
    /// The perpendicular foot is found in an equirectangular frame centred on
    /// the point; the along-edge offsets are the fraction `t` of the edge's
    /// haversine length, so they add up exactly to the length used by searches.
    /// Ties go to the lowest edge id, which makes snapping deterministic.
    pub fn snap(&self, lon: f64, lat: f64, max_snap_m: f64) -> Option<Snap> {
        if !(lon.is_finite() && lat.is_finite() && max_snap_m.is_finite() && max_snap_m >= 0.0) {
            return None;
        }
        let frame = LocalFrame::new(lon, lat);
        // Search a small box first and grow it: an edge within distance `r`
        // of the point always meets the box of half-size `r`, so a best
        // distance within the box's half-size is final.
        let mut radius = SNAP_FIRST_BOX_M.min(max_snap_m);
        let best = loop {
            let best = self.nearest_edge_in_box(&frame, lon, lat, radius);
            if best.is_some_and(|b| b.0 <= radius * radius) || radius >= max_snap_m {
                break best;
            }
            radius = (radius * 4.0).min(max_snap_m);
        };
        let (dist2, edge, t) = best.filter(|b| b.0 <= max_snap_m * max_snap_m)?;
        let dist = dist2.sqrt();
        let (node_a, node_b, len) = self.edge(edge);
        let off_a = t * len;
        Some(Snap {
            edge,
            node_a,
            node_b,
            t,
            off_a,
            off_b: len - off_a,
            snap_distance_m: dist,
        })
    }

    /// The nearest edge among those whose box meets the box of half-size
    /// `radius_m` around the point: `(squared distance, edge, t)`, lowest edge
    /// id on ties.
    fn nearest_edge_in_box(
        &self,
        frame: &LocalFrame,
        lon: f64,
        lat: f64,
        radius_m: f64,
    ) -> Option<(f64, EdgeId, f64)> {
        let (dlon, dlat) = frame.degrees(radius_m);
        // The index stores f32 boxes and the envelope is f32 too: below 256
        // degrees each rounds by at most 7.7e-6, so this pad covers both.
        let pad = 2e-5;
        let envelope = AABB::from_corners(
            [(lon - dlon - pad) as f32, (lat - dlat - pad) as f32],
            [(lon + dlon + pad) as f32, (lat + dlat + pad) as f32],
        );
        let index = self.snap_index();
        let mut best: Option<(f64, EdgeId, f64)> = None;
        for chunk in index.tree.locate_in_envelope_intersecting(&envelope) {
            let range = chunk.start as usize..chunk.end as usize;
            for (&edge, edge_box) in index.edges[range.clone()].iter().zip(&index.boxes[range]) {
                if !edge_box.intersects(&envelope) {
                    continue; // Farther than the radius: cannot be the answer.
                }
                let (dist, t) = self.foot2(frame, edge);
                let better = match best {
                    None => true,
                    Some((d, e, _)) => dist < d || (dist == d && edge < e),
                };
                if better {
                    best = Some((dist, edge, t));
                }
            }
        }
        best
    }

    /// Squared distance from the frame's centre to an edge and the foot's
    /// position `t`; squared so that only the winner pays for a square root.
    fn foot2(&self, frame: &LocalFrame, edge: EdgeId) -> (f64, f64) {
        let (a, b, _) = self.edge(edge);
        let pa = frame.project(self.lon[a as usize], self.lat[a as usize]);
        let pb = frame.project(self.lon[b as usize], self.lat[b as usize]);
        let (dx, dy) = (pb[0] - pa[0], pb[1] - pa[1]);
        let len2 = dx * dx + dy * dy;
        let t = -(pa[0] * dx + pa[1] * dy) / len2;
        // Written so that NaN (a zero-length edge) and -0.0 both become +0.0:
        // a negative zero would sort last by its bit pattern in searches.
        let t = if t > 0.0 { t.min(1.0) } else { 0.0 };
        let (fx, fy) = (pa[0] + t * dx, pa[1] + t * dy);
        (fx * fx + fy * fy, t)
    }

    /// The end of the nearest edge that is closer along it, or `None` when no
    /// edge is within `max_snap_m` metres. Useful to turn candidate locations
    /// into network nodes for [`crate::AccessState::maximal_covering`].
    pub fn nearest_node(&self, lon: f64, lat: f64, max_snap_m: f64) -> Option<NodeId> {
        self.snap(lon, lat, max_snap_m)
            .map(|s| if s.t <= 0.5 { s.node_a } else { s.node_b })
    }

    /// Builds the snapping index now rather than on the first
    /// [`Network::snap`], for callers that have other work to overlap with it.
    pub fn build_snap_index(&self) {
        self.snap_index();
    }

    fn snap_index(&self) -> &SnapIndex {
        self.snap_index.get_or_init(|| SnapIndex::new(self))
    }

    /// Rebuilds a network read from a cache file.
    pub(crate) fn from_parts(
        osm_id: Vec<i64>,
        coords: Vec<(f64, f64)>,
        edges: Vec<(NodeId, NodeId)>,
        lengths: Vec<f64>,
    ) -> Network {
        Self::assemble(coords, osm_id, edges, Some(lengths))
    }
}

/// Nodes whose edges share one entry of the snapping R-tree.
const SNAP_CHUNK_NODES: usize = 16;

/// R-tree over groups of edges rather than single edges: each entry holds the
/// edges whose lower node lies in a run of [`SNAP_CHUNK_NODES`] consecutive
/// nodes, which the Hilbert numbering makes a compact patch of the map. Bulk
/// loading one entry per edge took over five seconds for a province's eight
/// million edges; this loads sixteen times fewer entries. Each edge keeps its
/// own box beside its id, so a point tests the few dozen edges of the chunks
/// it falls in by a box overlap in sequential memory before any geometry.
struct SnapIndex {
    tree: RTree<EdgeChunk>,
    /// Edge ids grouped by chunk.
    edges: Vec<EdgeId>,
    /// `f32` box of each entry of `edges`.
    boxes: Vec<AABB<[f32; 2]>>,
}

impl SnapIndex {
    fn new(net: &Network) -> SnapIndex {
        let chunk_of = |e: usize| net.edge_a[e].min(net.edge_b[e]) as usize / SNAP_CHUNK_NODES;
        let chunk_count = net.node_count().div_ceil(SNAP_CHUNK_NODES);
        let mut start = vec![0u32; chunk_count + 1];
        for e in 0..net.edge_count() {
            start[chunk_of(e) + 1] += 1;
        }
        for c in 0..chunk_count {
            start[c + 1] += start[c];
        }
        let mut fill = start.clone();
        let mut edges = vec![0; net.edge_count()];
        for e in 0..net.edge_count() {
            let c = chunk_of(e);
            edges[fill[c] as usize] = e as EdgeId;
            fill[c] += 1;
        }
        let chunks: Vec<EdgeChunk> = (0..chunk_count)
            .into_par_iter()
            .filter(|&c| start[c] < start[c + 1])
            .map(|c| EdgeChunk::new(net, &edges, start[c], start[c + 1]))
            .collect();
        let boxes = edges
            .par_iter()
            .map(|&e| {
                let (a, b) = (
                    net.node_lonlat(net.edge_a[e as usize]),
                    net.node_lonlat(net.edge_b[e as usize]),
                );
                AABB::from_corners([a.0 as f32, a.1 as f32], [b.0 as f32, b.1 as f32])
            })
            .collect();
        SnapIndex {
            tree: RTree::bulk_load(chunks),
            edges,
            boxes,
        }
    }
}

/// One entry of the snapping R-tree: `f32` bounds (exact distances come from
/// the `f64` node coordinates) and a range of [`SnapIndex::edges`].
struct EdgeChunk {
    min: [f32; 2],
    max: [f32; 2],
    start: u32,
    end: u32,
}

impl EdgeChunk {
    fn new(net: &Network, edges: &[EdgeId], start: u32, end: u32) -> Self {
        let mut min = [f64::MAX; 2];
        let mut max = [f64::MIN; 2];
        for &e in &edges[start as usize..end as usize] {
            for node in [net.edge_a[e as usize], net.edge_b[e as usize]] {
                let (lon, lat) = net.node_lonlat(node);
                min = [min[0].min(lon), min[1].min(lat)];
                max = [max[0].max(lon), max[1].max(lat)];
            }
        }
        EdgeChunk {
            min: min.map(|v| v as f32),
            max: max.map(|v| v as f32),
            start,
            end,
        }
    }
}

impl RTreeObject for EdgeChunk {
    type Envelope = AABB<[f32; 2]>;

    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.min, self.max)
    }
}

/// Counting-sort of both directions of every edge into CSR arrays.
fn adjacency(
    node_count: usize,
    edge_a: &[NodeId],
    edge_b: &[NodeId],
    edge_len: &[f64],
) -> (Vec<u32>, Vec<Arc>) {
    let mut start = vec![0u32; node_count + 1];
    for &n in edge_a.iter().chain(edge_b) {
        start[n as usize + 1] += 1;
    }
    for i in 0..node_count {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut adj = vec![Arc { to: 0, len: 0.0 }; 2 * edge_a.len()];
    for ((&a, &b), &l) in edge_a.iter().zip(edge_b).zip(edge_len) {
        for (from, to) in [(a, b), (b, a)] {
            adj[fill[from as usize] as usize] = Arc { to, len: l };
            fill[from as usize] += 1;
        }
    }
    (start, adj)
}

type Compacted = (Vec<(f64, f64)>, Vec<i64>, Vec<(NodeId, NodeId)>);

/// Keeps only nodes used by walkable ways, numbers them along a Hilbert curve
/// and turns consecutive way nodes into edges. A reference to a node missing
/// from the extract breaks the way: no edge bridges the gap.
fn compact(extract: &RawExtract) -> Compacted {
    let node_of_ref = extract.resolve_refs();
    let mut raw_edges: Vec<(usize, usize)> = Vec::new();
    let mut used = vec![false; extract.nodes.len()];
    let mut start = 0;
    for &end in &extract.way_end {
        for pair in node_of_ref[start..end].windows(2) {
            if let [Some(p), Some(h)] = *pair
                && p != h
            {
                let (p, h) = (p as usize, h as usize);
                raw_edges.push((p, h));
                used[p] = true;
                used[h] = true;
            }
        }
        start = end;
    }
    let kept: Vec<usize> = (0..used.len()).filter(|&i| used[i]).collect();
    let bbox = kept
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &i| {
            let (_, lon, lat) = extract.nodes[i];
            [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)]
        });
    let mut keyed: Vec<(u64, u32)> = kept
        .par_iter()
        .map(|&i| {
            let (_, lon, lat) = extract.nodes[i];
            (hilbert_key(lon, lat, bbox), i as u32)
        })
        .collect();
    // Stable, and nodes are in id order, so ties on the key stay ordered by id.
    radix_sort(&mut keyed);
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i as usize).collect();
    let mut new_index = vec![NodeId::MAX; extract.nodes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new as NodeId;
    }
    let coords = order
        .iter()
        .map(|&i| (extract.nodes[i].1, extract.nodes[i].2))
        .collect();
    let osm_ids = order.iter().map(|&i| extract.nodes[i].0).collect();
    let edges = raw_edges
        .into_iter()
        .map(|(p, h)| (new_index[p], new_index[h]))
        .collect();
    (coords, osm_ids, edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(nodes: &[i64], ways: &[&[i64]]) -> RawExtract {
        let mut raw = RawExtract {
            nodes: nodes
                .iter()
                .map(|&id| (id, 112.0 + id as f64 * 1e-3, 37.0))
                .collect(),
            ..RawExtract::default()
        };
        for way in ways {
            raw.refs.extend_from_slice(way);
            raw.way_end.push(raw.refs.len());
        }
        raw
    }

    fn osm_edges(raw: &RawExtract) -> Vec<(i64, i64)> {
        let (_, ids, edges) = compact(raw);
        let mut pairs: Vec<(i64, i64)> = edges
            .iter()
            .map(|&(a, b)| (ids[a as usize], ids[b as usize]))
            .collect();
        pairs.sort_unstable();
        pairs
    }

    #[test]
    fn a_missing_node_splits_the_way_without_bridging() {
        let raw = extract(&[1, 2, 4, 5], &[&[1, 2, 3, 4, 5]]);
        assert_eq!(osm_edges(&raw), vec![(1, 2), (4, 5)]);
    }

    #[test]
    fn repeated_consecutive_nodes_make_no_loop() {
        let raw = extract(&[1, 2], &[&[1, 1, 2]]);
        assert_eq!(osm_edges(&raw), vec![(1, 2)]);
    }

    #[test]
    fn nodes_outside_walkable_ways_are_dropped() {
        let raw = extract(&[1, 2, 3, 9], &[&[1, 2], &[2, 3]]);
        let (coords, ids, _) = compact(&raw);
        assert_eq!(coords.len(), 3);
        assert!(!ids.contains(&9));
    }

    #[test]
    fn snapping_respects_the_maximum_distance() {
        let net = Network::from_edges(&[(112.0, 37.0), (112.01, 37.0)], &[(0, 1)]).unwrap();
        // About 111 m north of the middle of the edge.
        let snap = net.snap(112.005, 37.001, 200.0).unwrap();
        assert!((snap.t - 0.5).abs() < 1e-3);
        assert!((snap.snap_distance_m - 111.2).abs() < 0.1);
        assert!((snap.off_a + snap.off_b - net.edge(0).2).abs() < 1e-9);
        assert_eq!(net.snap(112.005, 37.001, 100.0), None);
        assert_eq!(net.snap(f64::NAN, 37.0, 100.0), None);
    }

    #[test]
    fn snapping_beyond_an_end_clamps_to_the_node() {
        let net = Network::from_edges(&[(112.0, 37.0), (112.001, 37.0)], &[(0, 1)]).unwrap();
        let snap = net.snap(111.9995, 37.0, 200.0).unwrap();
        assert_eq!(snap.t, 0.0);
        assert_eq!(snap.off_a, 0.0);
        assert!((snap.snap_distance_m - haversine_m(111.9995, 37.0, 112.0, 37.0)).abs() < 0.01);
        assert_eq!(net.nearest_node(111.9995, 37.0, 200.0), Some(0));
    }

    #[test]
    fn snapping_a_node_gives_a_zero_offset() {
        let coords = [(112.0, 37.0), (112.001, 37.0), (112.001, 37.001)];
        let net = Network::from_edges(&coords, &[(0, 1), (1, 2)]).unwrap();
        let snap = net.snap(112.001, 37.0, 10.0).unwrap();
        assert_eq!(snap.snap_distance_m, 0.0);
        // Both edges touch node 1; the tie goes to edge 0.
        assert_eq!(snap.edge, 0);
        assert_eq!(snap.off_b, 0.0);
    }

    #[test]
    fn from_edges_rejects_bad_node_indexes() {
        assert!(Network::from_edges(&[(0.0, 0.0)], &[(0, 1)]).is_err());
        assert!(Network::from_edges(&[(0.0, 0.0)], &[]).is_err());
    }
}
