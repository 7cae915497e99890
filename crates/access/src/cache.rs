//! Binary network cache, so a province network reloads in a blink instead of
//! being rebuilt from the PBF.
//!
//! Layout, all integers little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `LSACCNET` |
//! | 4 | format version, `1` |
//! | 8 | node count `n` |
//! | 8 | edge count `m` |
//! | 24 × n | per node: OSM id `i64`, lon `f64`, lat `f64` |
//! | 16 × m | per edge: first node `u32`, second node `u32`, length `f64` |
//! | 4 | CRC-32 of everything before it |
//!
//! Edge lengths are stored rather than recomputed so a reloaded network gives
//! bit-identical distances.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{AccessError, Result};
use crate::network::{Network, NodeId};
use crate::output::write_atomically;

const MAGIC: &[u8; 8] = b"LSACCNET";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 8;
const NODE_LEN: usize = 24;
const EDGE_LEN: usize = 16;

impl Network {
    /// Writes the network to a cache file, atomically: a reader never sees a
    /// half-written cache.
    pub fn save_cache(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), |file| {
            let mut out = BufWriter::with_capacity(1 << 20, Crc32Writer::new(file));
            self.write_cache(&mut out)?;
            let checked = out.into_inner().map_err(|e| e.into_error())?;
            let crc = checked.crc.finalize();
            checked.inner.write_all(&crc.to_le_bytes())
        })
    }

    fn write_cache(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&(self.node_count() as u64).to_le_bytes())?;
        out.write_all(&(self.edge_count() as u64).to_le_bytes())?;
        for node in 0..self.node_count() as NodeId {
            let (lon, lat) = self.node_lonlat(node);
            out.write_all(&self.node_osm_id(node).to_le_bytes())?;
            out.write_all(&lon.to_le_bytes())?;
            out.write_all(&lat.to_le_bytes())?;
        }
        for edge in 0..self.edge_count() as u32 {
            let (a, b, len) = self.edge(edge);
            out.write_all(&a.to_le_bytes())?;
            out.write_all(&b.to_le_bytes())?;
            out.write_all(&len.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reloads a network written by [`Network::save_cache`].
    ///
    /// A file of another format version, a truncated or corrupted file gives
    /// [`AccessError::Cache`], never a panic.
    pub fn load_cache(path: impl AsRef<Path>) -> Result<Network> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|e| AccessError::io(path, e))?;
        let invalid = |reason: String| AccessError::Cache {
            path: path.to_path_buf(),
            reason,
        };
        let (node_count, edge_count) = check_header(&bytes).map_err(invalid)?;
        let body = &bytes[HEADER_LEN..bytes.len() - 4];
        let nodes = &body[..node_count * NODE_LEN];
        let edges = &body[node_count * NODE_LEN..];
        let mut osm_id = Vec::with_capacity(node_count);
        let mut coords = Vec::with_capacity(node_count);
        for rec in nodes.chunks_exact(NODE_LEN) {
            osm_id.push(i64::from_le_bytes(word(rec, 0)));
            coords.push((
                f64::from_le_bytes(word(rec, 8)),
                f64::from_le_bytes(word(rec, 16)),
            ));
        }
        let mut edge_list = Vec::with_capacity(edge_count);
        let mut lengths = Vec::with_capacity(edge_count);
        for rec in edges.chunks_exact(EDGE_LEN) {
            let a = NodeId::from_le_bytes(word(rec, 0));
            let b = NodeId::from_le_bytes(word(rec, 4));
            if a as usize >= node_count || b as usize >= node_count {
                return Err(invalid(format!("edge refers to node {}", a.max(b))));
            }
            edge_list.push((a, b));
            lengths.push(f64::from_le_bytes(word(rec, 8)));
        }
        Ok(Network::from_parts(osm_id, coords, edge_list, lengths))
    }
}

/// Validates magic, version, size and checksum; returns the counts.
fn check_header(bytes: &[u8]) -> Result<(usize, usize), String> {
    if bytes.len() < HEADER_LEN + 4 {
        return Err(format!("file of {} bytes is too short", bytes.len()));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a network cache (bad magic)".into());
    }
    let version = u32::from_le_bytes(word(bytes, 8));
    if version != VERSION {
        return Err(format!(
            "format version {version}, this build reads version {VERSION}"
        ));
    }
    let node_count = u64::from_le_bytes(word(bytes, 12));
    let edge_count = u64::from_le_bytes(word(bytes, 20));
    let expected = node_count
        .checked_mul(NODE_LEN as u64)
        .zip(edge_count.checked_mul(EDGE_LEN as u64))
        .and_then(|(n, e)| n.checked_add(e))
        .and_then(|body| body.checked_add(HEADER_LEN as u64 + 4));
    if expected != Some(bytes.len() as u64) || node_count > u64::from(NodeId::MAX) {
        return Err(format!(
            "{node_count} nodes and {edge_count} edges do not fit its {} bytes (truncated?)",
            bytes.len()
        ));
    }
    let (data, tail) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(word(tail, 0));
    if crc32fast::hash(data) != stored {
        return Err("checksum mismatch (corrupted)".into());
    }
    Ok((node_count as usize, edge_count as usize))
}

/// `N` bytes at `offset`; callers have checked the length.
fn word<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[offset..offset + N]);
    out
}

/// Checksums everything written through it.
struct Crc32Writer<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W> Crc32Writer<W> {
    fn new(inner: W) -> Self {
        Crc32Writer {
            inner,
            crc: crc32fast::Hasher::new(),
        }
    }
}

impl<W: Write> Write for Crc32Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
