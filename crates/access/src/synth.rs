//! Synthetic data for tests and benchmarks: jittered street grids written as
//! OSM PBF, and random origins and facilities written as CSV.
//!
//! The `osmpbf` crate only reads, so the PBF writer below encodes the few
//! protobuf messages it needs by hand: `BlobHeader`/`Blob` with `zlib_data`,
//! a `HeaderBlock` requiring `OsmSchema-V0.6` and `DenseNodes`, and
//! `PrimitiveBlock`s holding delta-coded `DenseNodes` or tagged `Way`s.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use crate::error::Result;
use crate::geo::EARTH_RADIUS_M;
use crate::output::write_atomically;

/// Nodes per `PrimitiveBlock`, the customary size (osmium writes 8000).
const NODES_PER_BLOCK: usize = 8000;
/// Ways per `PrimitiveBlock`, kept small enough for the 32 MiB block limit.
const WAYS_PER_BLOCK: usize = 4000;
/// Street segments per way, so that ways are city-block-like, not endless.
const NODES_PER_WAY: usize = 40;

/// A small deterministic random generator (SplitMix64), so generated data
/// depends only on the seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize
    }
}

/// A jittered street grid: `rows` × `cols` intersections `spacing_m` apart,
/// each moved at random by up to `jitter` × spacing / 2 in both directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Number of east-west streets.
    pub rows: usize,
    /// Number of north-south streets.
    pub cols: usize,
    /// Block size in metres.
    pub spacing_m: f64,
    /// Jitter as a fraction of the spacing, in `[0, 1)`.
    pub jitter: f64,
    /// Longitude of the south-west corner.
    pub lon0: f64,
    /// Latitude of the south-west corner.
    pub lat0: f64,
    /// Random seed.
    pub seed: u64,
}

impl Grid {
    /// A grid of 80 m blocks anchored in Taiyuan, Shanxi.
    pub fn new(rows: usize, cols: usize, jitter: f64, seed: u64) -> Self {
        Grid {
            rows,
            cols,
            spacing_m: 80.0,
            jitter,
            lon0: 112.45,
            lat0: 37.75,
            seed,
        }
    }

    /// OSM id of intersection (`row`, `col`).
    pub fn node_id(&self, row: usize, col: usize) -> i64 {
        (row * self.cols + col + 1) as i64
    }

    /// Coordinates of every intersection in row-major order, as written to
    /// the PBF: in units of 10⁻⁷ degree `(lon, lat)`.
    pub fn node_coords_e7(&self) -> Vec<(i64, i64)> {
        let mut rng = Rng::new(self.seed);
        let m_per_deg_lat = EARTH_RADIUS_M.to_radians();
        let m_per_deg_lon = m_per_deg_lat * self.lat0.to_radians().cos();
        let mut coords = Vec::with_capacity(self.rows * self.cols);
        for row in 0..self.rows {
            for col in 0..self.cols {
                let jx = (rng.next_f64() - 0.5) * self.jitter * self.spacing_m;
                let jy = (rng.next_f64() - 0.5) * self.jitter * self.spacing_m;
                let lon = self.lon0 + (col as f64 * self.spacing_m + jx) / m_per_deg_lon;
                let lat = self.lat0 + (row as f64 * self.spacing_m + jy) / m_per_deg_lat;
                coords.push(((lon * 1e7).round() as i64, (lat * 1e7).round() as i64));
            }
        }
        coords
    }

    /// Tags of the way along row `row` (`along_row`) or column `row`.
    ///
    /// Mostly residential streets with arterials every fifth line, plus lines
    /// that the walk filter must drop: every 23rd column is a motorway and
    /// every 29th row a private service road.
    pub fn way_tags(along_row: bool, line: usize) -> Vec<(&'static str, &'static str)> {
        let highway = match (along_row, line) {
            (false, l) if l % 23 == 11 => return vec![("highway", "motorway")],
            (true, l) if l % 29 == 14 => {
                return vec![("highway", "service"), ("access", "private")];
            }
            (_, l) if l % 10 == 0 => "primary",
            (_, l) if l % 5 == 0 => "secondary",
            (true, l) if l % 7 == 3 => "footway",
            _ => "residential",
        };
        vec![("highway", highway)]
    }
}

/// What [`write_grid_pbf`] wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridSummary {
    /// Nodes written (every intersection).
    pub nodes: usize,
    /// Ways written, walkable or not.
    pub ways: usize,
    /// Bounding box `[min lon, min lat, max lon, max lat]`.
    pub bbox: [f64; 4],
}

/// Writes a jittered grid city of `rows` × `cols` intersections (see
/// [`Grid::new`]) as an OSM PBF file, atomically.
///
/// ```no_run
/// // A city of one million intersections.
/// lifeservice_access::synth::write_grid_pbf("city.osm.pbf", 1000, 1000, 0.3, 7)?;
/// # Ok::<(), lifeservice_access::AccessError>(())
/// ```
pub fn write_grid_pbf(
    path: impl AsRef<Path>,
    rows: usize,
    cols: usize,
    jitter: f64,
    seed: u64,
) -> Result<GridSummary> {
    write_grid(path, &Grid::new(rows, cols, jitter, seed))
}

/// Writes any [`Grid`] as an OSM PBF file, atomically.
pub fn write_grid(path: impl AsRef<Path>, grid: &Grid) -> Result<GridSummary> {
    let coords = grid.node_coords_e7();
    let ways = grid_ways(grid);
    write_atomically(path.as_ref(), |file| {
        let mut out = BufWriter::new(file);
        write_blob(&mut out, "OSMHeader", &header_block())?;
        for (start, chunk) in (0..coords.len())
            .step_by(NODES_PER_BLOCK)
            .zip(coords.chunks(NODES_PER_BLOCK))
        {
            write_blob(&mut out, "OSMData", &dense_block(start as i64 + 1, chunk))?;
        }
        for (start, chunk) in (0..ways.len())
            .step_by(WAYS_PER_BLOCK)
            .zip(ways.chunks(WAYS_PER_BLOCK))
        {
            write_blob(&mut out, "OSMData", &way_block(start as i64 + 1, chunk))?;
        }
        out.flush()
    })?;
    // Bounding box of the coordinates as readers will see them.
    let bbox = coords
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
            let (lon, lat) = (x as f64 * 1e-7, y as f64 * 1e-7);
            [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)]
        });
    Ok(GridSummary {
        nodes: coords.len(),
        ways: ways.len(),
        bbox,
    })
}

/// A way to write: node references and tags.
struct GenWay {
    refs: Vec<i64>,
    tags: Vec<(&'static str, &'static str)>,
}

/// Rows then columns, each cut into ways of [`NODES_PER_WAY`] segments that
/// share their end nodes.
fn grid_ways(grid: &Grid) -> Vec<GenWay> {
    let mut ways = Vec::new();
    let mut line_ways = |along_row: bool, line: usize, len: usize| {
        let mut start = 0;
        while start + 1 < len {
            let end = (start + NODES_PER_WAY).min(len - 1);
            let refs = (start..=end)
                .map(|i| {
                    if along_row {
                        grid.node_id(line, i)
                    } else {
                        grid.node_id(i, line)
                    }
                })
                .collect();
            ways.push(GenWay {
                refs,
                tags: Grid::way_tags(along_row, line),
            });
            start = end;
        }
    };
    for row in 0..grid.rows {
        line_ways(true, row, grid.cols);
    }
    for col in 0..grid.cols {
        line_ways(false, col, grid.rows);
    }
    ways
}

/// Writes one file block: a big-endian length, the `BlobHeader`, the `Blob`.
fn write_blob(out: &mut impl Write, kind: &str, data: &[u8]) -> io::Result<()> {
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::fast());
    zlib.write_all(data)?;
    let compressed = zlib.finish()?;
    let mut blob = Vec::with_capacity(compressed.len() + 16);
    put_uint(&mut blob, 2, data.len() as u64); // raw_size
    put_bytes(&mut blob, 3, &compressed); // zlib_data
    let mut header = Vec::new();
    put_bytes(&mut header, 1, kind.as_bytes()); // type
    put_uint(&mut header, 3, blob.len() as u64); // datasize
    out.write_all(&(header.len() as u32).to_be_bytes())?;
    out.write_all(&header)?;
    out.write_all(&blob)
}

fn header_block() -> Vec<u8> {
    let mut block = Vec::new();
    put_bytes(&mut block, 4, b"OsmSchema-V0.6"); // required_features
    put_bytes(&mut block, 4, b"DenseNodes");
    put_bytes(&mut block, 16, b"lifeservice-access"); // writingprogram
    block
}

/// A `PrimitiveBlock` of untagged dense nodes with consecutive ids from
/// `first_id`. Default granularity (100 nanodegrees) and zero offsets, so
/// coordinates are stored in 10⁻⁷ degrees.
fn dense_block(first_id: i64, coords: &[(i64, i64)]) -> Vec<u8> {
    let ids = (0..coords.len() as i64).map(|i| first_id + i);
    let mut dense = Vec::new();
    put_packed_sint64_delta(&mut dense, 1, ids); // id
    put_packed_sint64_delta(&mut dense, 8, coords.iter().map(|c| c.1)); // lat
    put_packed_sint64_delta(&mut dense, 9, coords.iter().map(|c| c.0)); // lon
    let mut group = Vec::new();
    put_bytes(&mut group, 2, &dense); // dense
    primitive_block(&[b""], &group)
}

/// A `PrimitiveBlock` of tagged ways with consecutive ids from `first_id`.
fn way_block(first_id: i64, ways: &[GenWay]) -> Vec<u8> {
    let mut strings: Vec<&[u8]> = vec![b""];
    let mut string_index = |s: &'static str| -> u64 {
        match strings.iter().position(|&t| t == s.as_bytes()) {
            Some(i) => i as u64,
            None => {
                strings.push(s.as_bytes());
                (strings.len() - 1) as u64
            }
        }
    };
    let mut group = Vec::new();
    for (i, way) in ways.iter().enumerate() {
        let mut msg = Vec::new();
        put_uint(&mut msg, 1, (first_id + i as i64) as u64); // id
        let keys: Vec<u64> = way.tags.iter().map(|t| string_index(t.0)).collect();
        let vals: Vec<u64> = way.tags.iter().map(|t| string_index(t.1)).collect();
        put_packed_uint(&mut msg, 2, &keys); // keys
        put_packed_uint(&mut msg, 3, &vals); // vals
        put_packed_sint64_delta(&mut msg, 8, way.refs.iter().copied()); // refs
        put_bytes(&mut group, 3, &msg); // ways
    }
    primitive_block(&strings, &group)
}

fn primitive_block(strings: &[&[u8]], group: &[u8]) -> Vec<u8> {
    let mut table = Vec::new();
    for s in strings {
        put_bytes(&mut table, 1, s);
    }
    let mut block = Vec::new();
    put_bytes(&mut block, 1, &table); // stringtable
    put_bytes(&mut block, 2, group); // primitivegroup
    block
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Field key with wire type 0 (varint) or 2 (length-delimited).
fn put_key(buf: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(buf, (u64::from(field) << 3) | u64::from(wire));
}

fn put_uint(buf: &mut Vec<u8>, field: u32, v: u64) {
    put_key(buf, field, 0);
    put_varint(buf, v);
}

fn put_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(buf, field, 2);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn put_packed_uint(buf: &mut Vec<u8>, field: u32, values: &[u64]) {
    let mut packed = Vec::new();
    for &v in values {
        put_varint(&mut packed, v);
    }
    put_bytes(buf, field, &packed);
}

/// Packed zigzag-encoded differences between consecutive values, as PBF
/// stores ids, coordinates and way references.
fn put_packed_sint64_delta(buf: &mut Vec<u8>, field: u32, values: impl Iterator<Item = i64>) {
    let mut packed = Vec::new();
    let mut prev = 0i64;
    for v in values {
        let delta = v - prev;
        put_varint(&mut packed, ((delta << 1) ^ (delta >> 63)) as u64);
        prev = v;
    }
    put_bytes(buf, field, &packed);
}

/// Writes `count` origins `o0, o1...` uniformly at random in `bbox` as an
/// `id,lon,lat` CSV, atomically.
pub fn write_origins_csv(
    path: impl AsRef<Path>,
    count: usize,
    bbox: [f64; 4],
    seed: u64,
) -> Result<()> {
    let mut rng = Rng::new(seed);
    write_csv(
        path.as_ref(),
        "id,lon,lat",
        (0..count).map(|i| {
            let (lon, lat) = random_point(&mut rng, bbox);
            format!("o{i},{lon:.7},{lat:.7}")
        }),
    )
}

/// Writes `count` facilities `f0, f1...` uniformly at random in `bbox`, of
/// categories `c00`, `c01`... (`categories` of them, drawn uniformly), as an
/// `id,category,lon,lat` CSV, atomically.
pub fn write_facilities_csv(
    path: impl AsRef<Path>,
    count: usize,
    categories: usize,
    bbox: [f64; 4],
    seed: u64,
) -> Result<()> {
    let mut rng = Rng::new(seed);
    write_csv(
        path.as_ref(),
        "id,category,lon,lat",
        (0..count).map(|i| {
            let category = rng.below(categories.max(1));
            let (lon, lat) = random_point(&mut rng, bbox);
            format!("f{i},c{category:02},{lon:.7},{lat:.7}")
        }),
    )
}

fn random_point(rng: &mut Rng, bbox: [f64; 4]) -> (f64, f64) {
    (
        bbox[0] + rng.next_f64() * (bbox[2] - bbox[0]),
        bbox[1] + rng.next_f64() * (bbox[3] - bbox[1]),
    )
}

fn write_csv(path: &Path, header: &str, lines: impl Iterator<Item = String>) -> Result<()> {
    write_atomically(path, |file: &mut File| {
        let mut out = BufWriter::new(file);
        writeln!(out, "{header}")?;
        for line in lines {
            writeln!(out, "{line}")?;
        }
        out.flush()
    })
}
