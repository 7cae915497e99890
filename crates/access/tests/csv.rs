//! The `access nearest` command end to end, and its input errors.

use std::fs;
use std::path::Path;

use lifeservice_access::{
    AccessError, NearestCsvArgs, Network, nearest_csv, read_facilities, read_origins,
};
use tempfile::tempdir;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/sample-walk-network.osm.pbf"
);

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// Origins and facilities on sample network nodes, plus one origin far away.
fn sample_inputs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let net = Network::from_pbf(SAMPLE).unwrap();
    let node = |i: u32| net.node_lonlat(i * 97 % net.node_count() as u32);
    let mut origins = String::from("id,lon,lat\n");
    for i in 0..20 {
        let (lon, lat) = node(i);
        origins.push_str(&format!("o{i},{lon},{lat}\n"));
    }
    origins.push_str("far,0.0,0.0\n");
    let mut facilities = String::from("id,category,lon,lat\n");
    for i in 0..12 {
        let (lon, lat) = node(i * 7);
        facilities.push_str(&format!(
            "f{i},{},{lon},{lat}\n",
            ["shop", "clinic", "school"][i as usize % 3]
        ));
    }
    (
        write(dir, "o.csv", &origins),
        write(dir, "f.csv", &facilities),
    )
}

#[test]
fn nearest_csv_writes_one_row_per_origin_and_category() {
    let dir = tempdir().unwrap();
    let (origins, facilities) = sample_inputs(dir.path());
    let out = dir.path().join("out.csv");
    let mut args = NearestCsvArgs::new(SAMPLE, &origins, &facilities, &out);
    args.cutoff_m = Some(1000.0);
    let summary = nearest_csv(&args).unwrap();
    assert_eq!(summary.origins, 21);
    assert_eq!(summary.rows, 63);
    assert_eq!(summary.unreachable_origins, vec!["far".to_string()]);

    let text = fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "origin_id,category,distance_m");
    assert_eq!(lines.len(), 64);
    // Categories sorted, origins in input order.
    assert!(
        lines[1].starts_with("o0,clinic,")
            && lines[2].starts_with("o0,school,")
            && lines[3].starts_with("o0,shop,")
    );
    assert_eq!(&lines[61..], &["far,clinic,", "far,school,", "far,shop,"]);
    for line in &lines[1..] {
        let distance = line.rsplit(',').next().unwrap();
        if !distance.is_empty() {
            let d: f64 = distance.parse().unwrap();
            assert!((0.0..=1000.0).contains(&d));
            assert_eq!(distance.split('.').nth(1).map(str::len), Some(2), "{line}");
        }
    }
    assert!(
        lines.iter().any(|l| l.ends_with(",0.00")),
        "a facility shares an origin's node"
    );
    // No temporary file is left beside the output.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn a_category_list_orders_output_and_rejects_others() {
    let dir = tempdir().unwrap();
    let (origins, facilities) = sample_inputs(dir.path());
    let out = dir.path().join("out.csv");
    let mut args = NearestCsvArgs::new(SAMPLE, &origins, &facilities, &out);
    args.categories = Some(vec![
        "shop".into(),
        "pharmacy".into(),
        "clinic".into(),
        "school".into(),
    ]);
    nearest_csv(&args).unwrap();
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.lines().nth(2).unwrap().starts_with("o0,pharmacy,"));
    assert_eq!(text.lines().nth(2).unwrap(), "o0,pharmacy,");

    fs::remove_file(&out).unwrap();
    args.categories = Some(vec!["shop".into(), "clinic".into()]);
    let err = nearest_csv(&args).unwrap_err();
    assert!(
        matches!(err, AccessError::UnknownCategory { line: 4, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("f.csv:4: unknown category `school`"),
        "{err}"
    );
    assert!(!out.exists(), "nothing half-written");
}

#[test]
fn malformed_csv_names_file_line_and_column() {
    let dir = tempdir().unwrap();
    let cases = [
        ("id,lon,lat\na,112.5,37.8\nb,abc,37.8\n", 3, "lon"),
        ("id,lon,lat\na,112.5,97.0\n", 2, "lat"),
        ("id,lat\na,37.8\n", 1, "lon"),
        ("id,lon,lat\n,112.5,37.8\n", 2, "id"),
        ("id,lon,lat\na,112.5,37.8\na,112.6,37.8\n", 3, ""),
        ("id,lon,lat\na,112.5\n", 2, ""),
    ];
    for (i, (text, line, column)) in cases.into_iter().enumerate() {
        let path = write(dir.path(), &format!("o{i}.csv"), text);
        let err = read_origins(&path).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("o{i}.csv:{line}")), "{message}");
        match err {
            AccessError::Csv { column: c, .. } => assert_eq!(c, column, "{message}"),
            AccessError::DuplicateId { id, .. } => assert_eq!(id, "a"),
            other => panic!("{other:?}"),
        }
    }
    let facilities = write(dir.path(), "f.csv", "id,category,lon,lat\nx,,112.5,37.8\n");
    let err = read_facilities(&facilities, None).unwrap_err();
    assert!(
        err.to_string().contains("f.csv:2: column `category`"),
        "{err}"
    );
}

#[test]
fn a_failed_run_leaves_an_existing_output_untouched() {
    let dir = tempdir().unwrap();
    let (origins, _) = sample_inputs(dir.path());
    let bad = write(
        dir.path(),
        "bad.csv",
        "id,category,lon,lat\nf,shop,north,37\n",
    );
    let out = write(dir.path(), "out.csv", "previous\n");
    let err = nearest_csv(&NearestCsvArgs::new(SAMPLE, &origins, &bad, &out)).unwrap_err();
    assert!(err.to_string().contains("bad.csv:2: column `lon`"), "{err}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "previous\n");
}
