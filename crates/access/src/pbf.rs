//! Reading the walkable part of an OSM PBF extract.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use osmpbf::{BlobDecode, BlobReader, PrimitiveBlock};
use rayon::prelude::*;

use crate::error::{AccessError, Result};
use crate::filter::is_walkable;
use crate::radix::radix_sort;

/// Nodes and walkable ways of an extract, before they become a graph.
#[derive(Debug, Default)]
pub(crate) struct RawExtract {
    /// Every node of the extract as `(id, lon, lat)`, sorted by id.
    pub(crate) nodes: Vec<(i64, f64, f64)>,
    /// Node references of all walkable ways, concatenated.
    pub(crate) refs: Vec<i64>,
    /// `refs[way_end[i-1]..way_end[i]]` are the references of way `i`.
    pub(crate) way_end: Vec<usize>,
}

impl RawExtract {
    fn append(&mut self, mut other: RawExtract) {
        self.nodes.append(&mut other.nodes);
        let base = self.refs.len();
        self.refs.append(&mut other.refs);
        self.way_end
            .extend(other.way_end.into_iter().map(|end| end + base));
    }

    /// Index in `nodes` of every entry of `refs`, `None` for a node missing
    /// from the extract.
    ///
    /// Sorting the references and walking them alongside the sorted nodes
    /// replaces one cache-missing binary search per reference, which took
    /// seconds on a province.
    pub(crate) fn resolve_refs(&self) -> Vec<Option<u32>> {
        // Keys are ids above the smallest, so that a city's ids take few
        // radix passes (and negative ids sort correctly).
        let min = self.refs.iter().copied().min().unwrap_or(0);
        let key = |id: i64| id.wrapping_sub(min) as u64;
        let mut by_id: Vec<(u64, u32)> = self
            .refs
            .iter()
            .enumerate()
            .map(|(pos, &id)| (key(id), pos as u32))
            .collect();
        radix_sort(&mut by_id);
        let mut resolved = vec![None; self.refs.len()];
        let mut node = self.nodes.partition_point(|n| n.0 < min);
        for (id_key, pos) in by_id {
            while node < self.nodes.len() && key(self.nodes[node].0) < id_key {
                node += 1;
            }
            if node < self.nodes.len() && key(self.nodes[node].0) == id_key {
                resolved[pos as usize] = Some(node as u32);
            }
        }
        resolved
    }
}

/// Decodes the extract's blobs in parallel, keeping all nodes and the
/// references of the walkable ways. Blob order is restored afterwards so the
/// resulting graph does not depend on thread scheduling.
pub(crate) fn read_extract(path: &Path) -> Result<RawExtract> {
    let pbf_error = |e: osmpbf::Error| AccessError::Pbf {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| AccessError::io(path, e))?;
    let reader = BlobReader::new(BufReader::new(file));
    let mut chunks = reader
        .enumerate()
        .par_bridge()
        .map(|(index, blob)| {
            let blob = blob.map_err(pbf_error)?;
            match blob.decode().map_err(pbf_error)? {
                BlobDecode::OsmData(block) => Ok((index, read_block(&block))),
                BlobDecode::OsmHeader(_) | BlobDecode::Unknown(_) => {
                    Ok((index, RawExtract::default()))
                }
            }
        })
        .collect::<Result<Vec<_>>>()?;
    chunks.sort_unstable_by_key(|(index, _)| *index);
    let mut extract = RawExtract::default();
    for (_, chunk) in chunks {
        extract.append(chunk);
    }
    // PBF files written by osmium are sorted, so this is usually a no-op check.
    if !extract.nodes.is_sorted_by_key(|n| n.0) {
        extract.nodes.sort_by_key(|n| n.0);
    }
    extract.nodes.dedup_by_key(|n| n.0);
    Ok(extract)
}

fn read_block(block: &PrimitiveBlock) -> RawExtract {
    let mut chunk = RawExtract::default();
    for group in block.groups() {
        chunk
            .nodes
            .extend(group.nodes().map(|n| (n.id(), n.lon(), n.lat())));
        chunk
            .nodes
            .extend(group.dense_nodes().map(|n| (n.id(), n.lon(), n.lat())));
        for way in group.ways() {
            if is_walkable(way.tags()) {
                chunk.refs.extend(way.refs());
                chunk.way_end.push(chunk.refs.len());
            }
        }
    }
    chunk
}
