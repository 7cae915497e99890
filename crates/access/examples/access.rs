//! Command-line helper for the peer comparison and the benchmarks.
//!
//! ```text
//! access nearest --osm NET.osm.pbf --origins O.csv --facilities F.csv --out OUT.csv
//!                [--cutoff-m 1000] [--max-snap-m 200] [--speed-kmh 4]
//! access gen --rows 2000 --cols 2000 --origins 30000 --facilities 200000
//!            --categories 26 --dir DIR [--jitter 0.3] [--seed 1]
//! access bench --dir DIR [--cutoff-m 1000] [--changes 200]
//! ```
//!
//! `gen` writes `DIR/net.osm.pbf`, `DIR/origins.csv` and `DIR/facilities.csv`;
//! `bench` times reading, querying and incremental updates on them and prints
//! the peak resident memory, in a process of its own so that generation does
//! not inflate it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use lifeservice_access::synth::{Rng, write_facilities_csv, write_grid_pbf, write_origins_csv};
use lifeservice_access::{
    AccessConfig, AccessState, Facility, NearestCsvArgs, Network, categories_of, nearest,
    nearest_csv, read_facilities, read_origins,
};

/// The allocator of the `lifeservice` binary, so that timings here are the
/// product command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Flags = HashMap<String, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("usage: access nearest|gen|bench --flag value ...");
        return ExitCode::FAILURE;
    };
    let flags: Flags = rest
        .chunks(2)
        .map(|pair| {
            (
                pair[0].trim_start_matches("--").to_string(),
                pair.get(1).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let result = match command.as_str() {
        "nearest" => run_nearest(&flags),
        "gen" => run_gen(&flags),
        "bench" => run_bench(&flags),
        other => Err(format!("unknown command `{other}`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn flag<T: std::str::FromStr>(flags: &Flags, name: &str, default: Option<T>) -> Result<T, String> {
    match flags.get(name) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("--{name}: cannot parse `{text}`")),
        None => default.ok_or_else(|| format!("--{name} is required")),
    }
}

fn run_nearest(flags: &Flags) -> Result<(), String> {
    let path = |name: &str| flag::<PathBuf>(flags, name, None);
    let mut args = NearestCsvArgs::new(
        path("osm")?,
        path("origins")?,
        path("facilities")?,
        path("out")?,
    );
    args.cutoff_m = flags
        .get("cutoff-m")
        .map(|_| flag(flags, "cutoff-m", None))
        .transpose()?;
    args.max_snap_m = flag(flags, "max-snap-m", Some(args.max_snap_m))?;
    args.speed_kmh = flag(flags, "speed-kmh", Some(args.speed_kmh))?;
    let start = Instant::now();
    let summary = nearest_csv(&args).map_err(|e| e.to_string())?;
    let [net, csv, query, write] = summary.seconds;
    println!(
        "nodes={} edges={} origins={} facilities={} unreachable_origins={} rows={} \
         read_pbf_s={net:.3} read_csv_s={csv:.3} query_s={query:.3} write_s={write:.3} total_s={:.3}",
        summary.nodes,
        summary.edges,
        summary.origins,
        summary.facilities,
        summary.unreachable_origins.len(),
        summary.rows,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_gen(flags: &Flags) -> Result<(), String> {
    let dir: PathBuf = flag(flags, "dir", None)?;
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let seed: u64 = flag(flags, "seed", Some(1))?;
    let start = Instant::now();
    let grid = write_grid_pbf(
        dir.join("net.osm.pbf"),
        flag(flags, "rows", None)?,
        flag(flags, "cols", None)?,
        flag(flags, "jitter", Some(0.3))?,
        seed,
    )
    .map_err(|e| e.to_string())?;
    write_origins_csv(
        dir.join("origins.csv"),
        flag(flags, "origins", None)?,
        grid.bbox,
        seed + 1,
    )
    .map_err(|e| e.to_string())?;
    write_facilities_csv(
        dir.join("facilities.csv"),
        flag(flags, "facilities", None)?,
        flag(flags, "categories", None)?,
        grid.bbox,
        seed + 2,
    )
    .map_err(|e| e.to_string())?;
    println!(
        "wrote {} nodes, {} ways in {:.1} s",
        grid.nodes,
        grid.ways,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_bench(flags: &Flags) -> Result<(), String> {
    let dir: PathBuf = flag(flags, "dir", None)?;
    let cutoff_m: f64 = flag(flags, "cutoff-m", Some(1000.0))?;
    let changes: usize = flag(flags, "changes", Some(200))?;
    let err = |e: lifeservice_access::AccessError| e.to_string();
    println!("threads={}", rayon::current_num_threads());

    let mut t = Laps::new();
    let net = Network::from_pbf(dir.join("net.osm.pbf")).map_err(err)?;
    let read_pbf = t.lap(
        "read_pbf",
        &format!("nodes={} edges={}", net.node_count(), net.edge_count()),
    );
    let origins = read_origins(dir.join("origins.csv")).map_err(err)?;
    let facilities = read_facilities(dir.join("facilities.csv"), None).map_err(err)?;
    let categories = categories_of(&facilities);
    let read_csv = t.lap(
        "read_csv",
        &format!(
            "origins={} facilities={} categories={}",
            origins.len(),
            facilities.len(),
            categories.len()
        ),
    );
    net.build_snap_index();
    let index = t.lap("build_snap_index", "");
    let table = nearest(&net, &origins, &facilities, &categories, cutoff_m, 200.0).map_err(err)?;
    let reached = (0..origins.len())
        .flat_map(|o| (0..categories.len()).map(move |c| (o, c)))
        .filter(|&(o, c)| table.distance_m(o, c).is_some())
        .count();
    let query = t.lap(
        "nearest",
        &format!("origin_category_pairs_within_cutoff={reached}"),
    );
    println!(
        "nearest_total_s={:.3} (read PBF + CSV + snap index + nearest)",
        read_pbf + read_csv + index + query
    );

    let net = Arc::new(net);
    let mut t = Laps::new();
    let config = AccessConfig {
        cutoff_m,
        ..AccessConfig::default()
    };
    let mut state = AccessState::new(net.clone(), origins, facilities.clone(), categories, config)
        .map_err(err)?;
    t.lap("access_state_new", "(nearest + counts within 5/10/15 min)");
    incremental(&mut state, &facilities, changes)?;

    let cache = dir.join("net.cache");
    let mut t = Laps::new();
    net.save_cache(&cache).map_err(err)?;
    t.lap("save_cache", "");
    let reloaded = Network::load_cache(&cache).map_err(err)?;
    t.lap("load_cache", &format!("nodes={}", reloaded.node_count()));
    std::fs::remove_file(&cache).map_err(|e| e.to_string())?;
    println!("peak_rss_mib={}", peak_rss_kib() / 1024);
    Ok(())
}

/// Times `changes` random moves, then as many removals and re-additions.
fn incremental(
    state: &mut AccessState,
    facilities: &[Facility],
    changes: usize,
) -> Result<(), String> {
    let mut rng = Rng::new(99);
    let mut times = Vec::new();
    for _ in 0..changes {
        let f = &facilities[rng.below(facilities.len())];
        let Some(current) = state.facility(&f.id).cloned() else {
            continue;
        };
        // Move by up to 300 m, which keeps it on the network.
        let lon = current.lon + (rng.next_f64() - 0.5) * 0.007;
        let lat = current.lat + (rng.next_f64() - 0.5) * 0.005;
        let t = Instant::now();
        let moved = state.move_facility(&f.id, lon, lat);
        times.push((
            "move",
            t.elapsed().as_secs_f64(),
            moved.map(|c| c.origins.len()).unwrap_or(0),
        ));
        let t = Instant::now();
        let removed = state.remove_facility(&f.id).map_err(|e| e.to_string())?;
        times.push(("remove", t.elapsed().as_secs_f64(), removed.origins.len()));
        let t = Instant::now();
        let added = state.add_facility(current).map_err(|e| e.to_string())?;
        times.push(("add", t.elapsed().as_secs_f64(), added.origins.len()));
    }
    for kind in ["move", "remove", "add"] {
        let mut ms: Vec<f64> = times
            .iter()
            .filter(|x| x.0 == kind)
            .map(|x| x.1 * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        if ms.is_empty() {
            continue;
        }
        let affected: usize = times.iter().filter(|x| x.0 == kind).map(|x| x.2).sum();
        println!(
            "{kind}_facility: n={} median_ms={:.3} p99_ms={:.3} max_ms={:.3} mean_affected_origins={:.1}",
            ms.len(),
            ms[ms.len() / 2],
            ms[(ms.len() * 99 / 100).min(ms.len() - 1)],
            ms[ms.len() - 1],
            affected as f64 / ms.len() as f64
        );
    }
    Ok(())
}

/// Prints and returns the seconds since the previous lap.
struct Laps(Instant);

impl Laps {
    fn new() -> Self {
        Laps(Instant::now())
    }

    fn lap(&mut self, what: &str, detail: &str) -> f64 {
        let seconds = self.0.elapsed().as_secs_f64();
        self.0 = Instant::now();
        println!("{what}_s={seconds:.3} {detail}");
        seconds
    }
}

/// Peak resident set size of this process in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
