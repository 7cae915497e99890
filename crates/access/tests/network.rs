//! Reading PBF (the real sample and generated grids), the network cache and
//! the error cases of both.

use lifeservice_access::synth::{Grid, write_grid};
use lifeservice_access::{AccessError, Network, haversine_m};
use tempfile::tempdir;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/sample-walk-network.osm.pbf"
);

fn assert_lengths_are_haversine(net: &Network) {
    for e in 0..net.edge_count() as u32 {
        let (a, b, len) = net.edge(e);
        let ((x1, y1), (x2, y2)) = (net.node_lonlat(a), net.node_lonlat(b));
        assert_eq!(len, haversine_m(x1, y1, x2, y2));
    }
}

#[test]
fn reads_the_sample_extract() {
    let net = Network::from_pbf(SAMPLE).unwrap();
    // The same figures as pyosmium + the same filter in
    // scripts/access-peers/compare.py.
    assert_eq!((net.node_count(), net.edge_count()), (977, 1025));
    assert_lengths_are_haversine(&net);
}

#[test]
fn generated_grid_round_trips_through_the_reader() {
    let dir = tempdir().unwrap();
    let path = dir.path().join("grid.osm.pbf");
    let grid = Grid::new(35, 47, 0.4, 11);
    let summary = write_grid(&path, &grid).unwrap();
    assert_eq!(summary.nodes, 35 * 47);
    let net = Network::from_pbf(&path).unwrap();

    // Every intersection but those on both a dropped row and a dropped column.
    let row_walkable = |r: usize| Grid::way_tags(true, r).iter().all(|t| t.1 != "private");
    let col_walkable = |c: usize| Grid::way_tags(false, c)[0].1 != "motorway";
    let walkable_rows = (0..grid.rows).filter(|&r| row_walkable(r)).count();
    let walkable_cols = (0..grid.cols).filter(|&c| col_walkable(c)).count();
    let isolated = (grid.rows - walkable_rows) * (grid.cols - walkable_cols);
    assert_eq!(net.node_count(), grid.rows * grid.cols - isolated);
    let edges = walkable_rows * (grid.cols - 1) + walkable_cols * (grid.rows - 1);
    assert_eq!(net.edge_count(), edges);

    let coords = grid.node_coords_e7();
    for node in 0..net.node_count() as u32 {
        let id = net.node_osm_id(node);
        let (lon, lat) = net.node_lonlat(node);
        let (x, y) = coords[(id - 1) as usize];
        assert!((lon - x as f64 * 1e-7).abs() < 1e-12 && (lat - y as f64 * 1e-7).abs() < 1e-12);
    }
    for e in 0..net.edge_count() as u32 {
        let (a, b, _) = net.edge(e);
        let (ia, ib) = (net.node_osm_id(a) - 1, net.node_osm_id(b) - 1);
        let (ra, ca) = (ia as usize / grid.cols, ia as usize % grid.cols);
        let (rb, cb) = (ib as usize / grid.cols, ib as usize % grid.cols);
        let along_row = ra == rb && ca.abs_diff(cb) == 1 && row_walkable(ra);
        let along_col = ca == cb && ra.abs_diff(rb) == 1 && col_walkable(ca);
        assert!(along_row || along_col, "unexpected edge {ia}-{ib}");
    }
    assert_lengths_are_haversine(&net);
}

#[test]
fn corrupt_and_truncated_pbf_are_errors() {
    let dir = tempdir().unwrap();
    let bytes = std::fs::read(SAMPLE).unwrap();
    let truncated = dir.path().join("truncated.osm.pbf");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = Network::from_pbf(&truncated).unwrap_err();
    assert!(matches!(err, AccessError::Pbf { .. }), "{err}");
    assert!(err.to_string().contains("truncated.osm.pbf"), "{err}");

    let garbage = dir.path().join("garbage.osm.pbf");
    std::fs::write(&garbage, b"\x00\x00\x00\x0cnot a pbf file at all, sorry").unwrap();
    assert!(matches!(
        Network::from_pbf(&garbage),
        Err(AccessError::Pbf { .. })
    ));

    let mut flipped = bytes.clone();
    for b in flipped.iter_mut().skip(200).step_by(97) {
        *b ^= 0x5a;
    }
    let corrupt = dir.path().join("corrupt.osm.pbf");
    std::fs::write(&corrupt, &flipped).unwrap();
    assert!(Network::from_pbf(&corrupt).is_err());

    let missing = dir.path().join("missing.osm.pbf");
    assert!(matches!(
        Network::from_pbf(&missing),
        Err(AccessError::Io { .. })
    ));
}

#[test]
fn an_extract_without_walkable_ways_is_an_empty_network() {
    let dir = tempdir().unwrap();
    let path = dir.path().join("one-node.osm.pbf");
    write_grid(&path, &Grid::new(1, 1, 0.0, 1)).unwrap();
    let err = Network::from_pbf(&path).unwrap_err();
    assert!(matches!(err, AccessError::EmptyNetwork { .. }), "{err}");
}

#[test]
fn cache_round_trips_and_rejects_damage() {
    let dir = tempdir().unwrap();
    let net = Network::from_pbf(SAMPLE).unwrap();
    let cache = dir.path().join("net.bin");
    net.save_cache(&cache).unwrap();
    let back = Network::load_cache(&cache).unwrap();
    assert_eq!(back.node_count(), net.node_count());
    assert_eq!(back.edge_count(), net.edge_count());
    for n in 0..net.node_count() as u32 {
        assert_eq!(back.node_lonlat(n), net.node_lonlat(n));
        assert_eq!(back.node_osm_id(n), net.node_osm_id(n));
    }
    for e in 0..net.edge_count() as u32 {
        assert_eq!(back.edge(e), net.edge(e));
    }

    let bytes = std::fs::read(&cache).unwrap();
    let damaged = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        match Network::load_cache(&path) {
            Err(AccessError::Cache { reason, .. }) => reason,
            other => panic!("{name}: {other:?}"),
        }
    };
    assert!(damaged("truncated", &bytes[..bytes.len() - 9]).contains("truncated"));
    assert!(damaged("short", &bytes[..10]).contains("too short"));
    let mut flipped = bytes.clone();
    flipped[1000] ^= 1;
    assert!(damaged("flipped", &flipped).contains("checksum"));
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert!(damaged("magic", &magic).contains("magic"));
    let mut version = bytes;
    version[8] = 9;
    assert!(damaged("version", &version).contains("version"));
}
