//! Bounded Dijkstra and the point indexes it reports through.
//!
//! Distances are `f64` metres throughout: a sum of a few million edge lengths
//! stays exact to well under a millimetre, and there is no overflow to guard.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::network::{Arc, Network, Snap};

/// Label of a search seeded without a meaningful source.
pub(crate) const NO_LABEL: u32 = u32::MAX;

/// Per-thread scratch memory of a search, sized to the network.
///
/// Entries are valid only when their stamp equals the current generation, so
/// starting a new search costs nothing however large the network is; this is
/// what lets one facility change be handled in milliseconds on millions of
/// nodes.
pub(crate) struct Workspace {
    /// Distance, label and stamp of each node side by side: one cache line
    /// per relaxation on large networks.
    nodes: Vec<NodeState>,
    generation: u32,
    heap: RadixHeap,
}

#[derive(Clone, Copy, Default)]
struct NodeState {
    dist: f64,
    label: u32,
    stamp: u32,
}

impl Workspace {
    pub(crate) fn new(node_count: usize) -> Self {
        Workspace {
            nodes: vec![NodeState::default(); node_count],
            generation: 0,
            heap: RadixHeap::default(),
        }
    }

    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn begin(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.nodes.fill(NodeState::default());
            self.generation = 1;
        }
        self.heap.clear();
    }

    /// Lowers the tentative distance of `node` and queues it.
    fn relax(&mut self, node: u32, dist: f64, label: u32) {
        let generation = self.generation;
        let state = &mut self.nodes[node as usize];
        if state.stamp == generation && dist >= state.dist {
            return;
        }
        *state = NodeState {
            dist,
            label,
            stamp: generation,
        };
        self.heap.push(dist.to_bits(), node);
    }
}

/// Monotone priority queue keyed by the bit pattern of non-negative `f64`
/// distances (whose integer order is their numeric order). Dijkstra never
/// queues a key below the last one taken, which is all a radix heap needs; it
/// does a fraction of a binary heap's comparisons.
struct RadixHeap {
    last: u64,
    /// Bucket `i > 0` holds keys whose highest bit differing from `last` is
    /// bit `i - 1`; bucket 0 holds keys equal to `last`.
    buckets: [Vec<(u64, u32)>; 65],
    /// Bit `i` set when bucket `i` is not empty, so finding the next bucket
    /// is one instruction rather than a scan of 65 vectors.
    filled: u128,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            buckets: std::array::from_fn(|_| Vec::new()),
            filled: 0,
        }
    }
}

impl RadixHeap {
    fn clear(&mut self) {
        self.last = 0;
        self.buckets.iter_mut().for_each(Vec::clear);
        self.filled = 0;
    }

    fn bucket(&self, key: u64) -> usize {
        (u64::BITS - (key ^ self.last).leading_zeros()) as usize
    }

    fn push(&mut self, key: u64, node: u32) {
        debug_assert!(key >= self.last, "keys must not decrease");
        let b = self.bucket(key);
        self.buckets[b].push((key, node));
        self.filled |= 1 << b;
    }

    fn pop(&mut self) -> Option<(u64, u32)> {
        if self.buckets[0].is_empty() {
            if self.filled == 0 {
                return None;
            }
            let i = self.filled.trailing_zeros() as usize;
            self.filled &= !(1 << i);
            let mut items = std::mem::take(&mut self.buckets[i]);
            self.last = items.iter().map(|item| item.0).min()?;
            // Every key of bucket `i` now differs from `last` below bit
            // `i - 1`, so they all move to lower buckets.
            for &(key, node) in &items {
                self.push(key, node);
            }
            items.clear();
            self.buckets[i] = items;
        }
        let top = self.buckets[0].pop();
        if self.buckets[0].is_empty() {
            self.filled &= !1;
        }
        top
    }
}

/// Dijkstra from several labelled seeds `(node, initial distance, label)`,
/// calling `visit(node, distance, label)` once per settled node whose distance
/// is at most `radius`. The label is the one of the seed the node was reached
/// from, which is how a multi-source search knows the nearest facility.
pub(crate) fn bounded_dijkstra(
    net: &Network,
    ws: &mut Workspace,
    seeds: impl IntoIterator<Item = (u32, f64, u32)>,
    radius: f64,
    mut visit: impl FnMut(u32, f64, u32),
) {
    ws.begin();
    for (node, dist, label) in seeds {
        if dist <= radius {
            ws.relax(node, dist, label);
        }
    }
    while let Some((bits, node)) = ws.heap.pop() {
        let dist = f64::from_bits(bits);
        let state = ws.nodes[node as usize];
        if dist > state.dist {
            continue; // A stale entry: the node was settled closer already.
        }
        let label = state.label;
        visit(node, dist, label);
        for &Arc { to: next, len } in net.neighbours(node) {
            let next_dist = dist + len;
            if next_dist <= radius {
                ws.relax(next, next_dist, label);
            }
        }
    }
}

/// Distance from every node to the nearest of a set of labelled sources,
/// within a radius, built one source at a time.
///
/// Each source runs a search that enters a node only where it strictly beats
/// every earlier source, so the result is exactly a multi-source Dijkstra's.
/// The point is the memory access pattern: fed sources in node (Hilbert)
/// order, every search stays in one small patch of the map whose nodes and
/// edges are in cache, whereas a multi-source search's wavefront sweeps the
/// whole network at once and misses the cache on nearly every edge. Ties keep
/// the earlier source.
pub(crate) struct NearestField {
    dist: Vec<f64>,
    label: Vec<u32>,
    radius: f64,
    queue: KeyQueue,
}

impl NearestField {
    pub(crate) fn new(node_count: usize, radius: f64) -> Self {
        NearestField {
            dist: vec![f64::INFINITY; node_count],
            label: vec![NO_LABEL; node_count],
            radius,
            queue: KeyQueue::new(radius),
        }
    }

    /// Forgets every source.
    pub(crate) fn clear(&mut self) {
        self.dist.fill(f64::INFINITY);
        self.label.fill(NO_LABEL);
    }

    /// Adds the source `label`, reached from `seeds` `(node, initial distance)`.
    ///
    /// Nodes leave the queue by quantized distance; among equal keys the
    /// order is arbitrary, so a node may be scanned before a neighbour with
    /// the same key lowers it, in which case it is queued and scanned again.
    /// Every edge is therefore tight when the queue empties: distances are
    /// exact.
    pub(crate) fn add_source(
        &mut self,
        net: &Network,
        label: u32,
        seeds: impl IntoIterator<Item = (u32, f64)>,
    ) {
        for (node, dist) in seeds {
            if dist <= self.radius {
                self.improve(node, dist, label);
            }
        }
        while let Some((node, key)) = self.queue.pop() {
            let dist = self.dist[node as usize];
            if self.queue.key_of(dist) != key {
                continue; // Lowered to a smaller key and scanned there.
            }
            for &Arc { to: next, len } in net.neighbours(node) {
                let next_dist = dist + len;
                if next_dist <= self.radius {
                    self.improve(next, next_dist, label);
                }
            }
        }
    }

    fn improve(&mut self, node: u32, dist: f64, label: u32) {
        let n = node as usize;
        if dist < self.dist[n] {
            self.dist[n] = dist;
            self.label[n] = label;
            self.queue.push(node, dist);
        }
    }

    /// Distance and label of the nearest source of `node` (infinite and
    /// [`NO_LABEL`] when none is within the radius).
    pub(crate) fn at(&self, node: u32) -> (f64, u32) {
        (self.dist[node as usize], self.label[node as usize])
    }
}

/// Min-queue of nodes keyed by their distance quantized to a `u32`, packed
/// with the node into one `u64` so the heap moves and compares single words.
/// Nodes whose distances share a key come out in arbitrary order, hence the
/// rescans in [`NearestField::add_source`]; at 2^32 keys over the radius that
/// almost never happens.
struct KeyQueue {
    /// Keys per metre.
    scale: f64,
    heap: BinaryHeap<Reverse<u64>>,
}

impl KeyQueue {
    fn new(radius: f64) -> Self {
        KeyQueue {
            scale: if radius > 0.0 {
                f64::from(u32::MAX) / radius
            } else {
                0.0
            },
            heap: BinaryHeap::new(),
        }
    }

    /// Key of a distance within the radius.
    fn key_of(&self, dist: f64) -> u32 {
        (dist * self.scale) as u32
    }

    fn push(&mut self, node: u32, dist: f64) {
        let key = u64::from(self.key_of(dist));
        self.heap.push(Reverse(key << 32 | u64::from(node)));
    }

    /// The node of lowest key, with that key.
    fn pop(&mut self) -> Option<(u32, u32)> {
        let Reverse(entry) = self.heap.pop()?;
        Some((entry as u32, (entry >> 32) as u32))
    }
}

/// Seeds of a search starting at a snapped point: both ends of its edge at
/// their along-edge distances.
pub(crate) fn seeds_of(snap: &Snap, label: u32) -> [(u32, f64, u32); 2] {
    [
        (snap.node_a, snap.off_a, label),
        (snap.node_b, snap.off_b, label),
    ]
}

/// Snapped points indexed by the nodes and edges they attach to, so a search
/// finds the points near each node it settles. Insertions and removals keep it
/// usable by the incremental state.
pub(crate) struct PointIndex {
    /// One bit per node: whether any point attaches there. Most settled nodes
    /// have none, and the bit test avoids a hash lookup for them.
    marked: Vec<u64>,
    at_node: IdMap,
    on_edge: IdMap,
}

/// Map from node or edge ids; ids are not adversarial, so a multiplicative
/// hash replaces SipHash, which dominated lookups in searches.
type IdMap = HashMap<u32, Vec<(u32, f64)>, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl PointIndex {
    pub(crate) fn new(node_count: usize) -> Self {
        PointIndex {
            marked: vec![0; node_count.div_ceil(64)],
            at_node: IdMap::default(),
            on_edge: IdMap::default(),
        }
    }

    /// Adds point `id`: reachable from `node_a` after `off_a` metres, from
    /// `node_b` after `off_b`, and along its own edge directly.
    pub(crate) fn insert(&mut self, id: u32, snap: &Snap) {
        for (node, off) in [(snap.node_a, snap.off_a), (snap.node_b, snap.off_b)] {
            self.at_node.entry(node).or_default().push((id, off));
            self.marked[node as usize / 64] |= 1 << (node % 64);
        }
        self.on_edge
            .entry(snap.edge)
            .or_default()
            .push((id, snap.off_a));
    }

    /// Adds point `id` sitting exactly on `node`.
    pub(crate) fn insert_node(&mut self, id: u32, node: u32) {
        self.at_node.entry(node).or_default().push((id, 0.0));
        self.marked[node as usize / 64] |= 1 << (node % 64);
    }

    pub(crate) fn remove(&mut self, id: u32, snap: &Snap) {
        for node in [snap.node_a, snap.node_b] {
            if remove_from(&mut self.at_node, node, id) {
                self.marked[node as usize / 64] &= !(1 << (node % 64));
            }
        }
        remove_from(&mut self.on_edge, snap.edge, id);
    }

    /// Points attached to `node`, with the distance from the node to each.
    pub(crate) fn at_node(&self, node: u32) -> &[(u32, f64)] {
        if self.marked[node as usize / 64] & (1 << (node % 64)) == 0 {
            return &[];
        }
        self.at_node.get(&node).map_or(&[], Vec::as_slice)
    }

    /// Points on `edge`, with their distance from the edge's first node.
    pub(crate) fn on_edge(&self, edge: u32) -> &[(u32, f64)] {
        self.on_edge.get(&edge).map_or(&[], Vec::as_slice)
    }
}

/// Removes every entry of `id` under `key`; true when the key became empty.
fn remove_from(map: &mut IdMap, key: u32, id: u32) -> bool {
    let Some(list) = map.get_mut(&key) else {
        return false;
    };
    list.retain(|&(p, _)| p != id);
    if list.is_empty() {
        map.remove(&key);
        true
    } else {
        false
    }
}

/// Every point of `targets` within `radius` network metres of the snapped
/// point `from`, once each with its exact distance, sorted by point id.
///
/// A path between two points on edges leaves the first through one of its
/// edge's ends and enters the second through one of its ends, unless both are
/// on the same edge, where walking straight along it may be shorter.
pub(crate) fn reach(
    net: &Network,
    ws: &mut Workspace,
    from: &Snap,
    radius: f64,
    targets: &PointIndex,
    mut keep: impl FnMut(u32) -> bool,
) -> Vec<(u32, f64)> {
    let mut found: Vec<(u32, f64)> = Vec::new();
    bounded_dijkstra(
        net,
        ws,
        seeds_of(from, NO_LABEL),
        radius,
        |node, dist, _| {
            for &(point, off) in targets.at_node(node) {
                if dist + off <= radius && keep(point) {
                    found.push((point, dist + off));
                }
            }
        },
    );
    for &(point, off_a) in targets.on_edge(from.edge) {
        let direct = (from.off_a - off_a).abs();
        if direct <= radius && keep(point) {
            found.push((point, direct));
        }
    }
    found.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
    found.dedup_by_key(|p| p.0);
    found
}
