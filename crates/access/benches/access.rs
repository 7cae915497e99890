//! Criterion benchmarks on generated networks: building the network from PBF
//! and answering the nearest query. The province-scale figures come from the
//! `access` example (`cargo run --release --example access -- bench`), see
//! BENCHMARKS.md; these stay small enough to run in CI time.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lifeservice_access::synth::{write_facilities_csv, write_grid_pbf, write_origins_csv};
use lifeservice_access::{Network, categories_of, nearest, read_facilities, read_origins};

fn grid_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let pbf = dir.path().join("grid.osm.pbf");
    // The reference case: a jittered 300 × 300 grid, 26 categories,
    // 5,000 facilities.
    let grid = write_grid_pbf(&pbf, 300, 300, 0.3, 1).expect("grid");
    write_origins_csv(dir.path().join("o.csv"), 10_000, grid.bbox, 2).expect("origins");
    write_facilities_csv(dir.path().join("f.csv"), 5_000, 26, grid.bbox, 3).expect("facilities");
    let origins = read_origins(dir.path().join("o.csv")).expect("origins");
    let facilities = read_facilities(dir.path().join("f.csv"), None).expect("facilities");
    let categories = categories_of(&facilities);

    let mut group = c.benchmark_group("grid_300x300");
    group.sample_size(10);
    group.bench_function("read_pbf", |b| {
        b.iter(|| Network::from_pbf(black_box(&pbf)).expect("network"))
    });
    let net = Network::from_pbf(&pbf).expect("network");
    group.bench_function("nearest_26_categories_1000m", |b| {
        b.iter(|| nearest(&net, &origins, &facilities, &categories, 1000.0, 200.0).expect("query"))
    });
    group.finish();
}

criterion_group!(benches, grid_benches);
criterion_main!(benches);
