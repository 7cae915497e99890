//! CSV input and output, and [`nearest_csv`], the `access nearest` command.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::error::{AccessError, Result};
use crate::network::{DEFAULT_MAX_SNAP_M, Network};
use crate::output::write_atomically;
use crate::query::{DEFAULT_SPEED_KMH, Facility, NearestTable, Origin, categories_of, nearest};

/// Reads origins from a CSV file with a header and columns `id,lon,lat`
/// (in any order, other columns ignored).
pub fn read_origins(path: impl AsRef<Path>) -> Result<Vec<Origin>> {
    let path = path.as_ref();
    let mut rows = Rows::open(path, &["id", "lon", "lat"])?;
    let mut origins = Vec::new();
    let mut seen = HashSet::new();
    while let Some(row) = rows.next_row()? {
        let id = row.id(0)?;
        if !seen.insert(id.clone()) {
            return Err(row.duplicate(id));
        }
        let (lon, lat) = row.lonlat(1, 2)?;
        origins.push(Origin { id, lon, lat });
    }
    Ok(origins)
}

/// Reads facilities from a CSV file with a header and columns
/// `id,category,lon,lat` (in any order, other columns ignored).
///
/// With `categories`, a facility of any other category is an
/// [`AccessError::UnknownCategory`] naming its line.
pub fn read_facilities(
    path: impl AsRef<Path>,
    categories: Option<&[String]>,
) -> Result<Vec<Facility>> {
    let path = path.as_ref();
    let mut rows = Rows::open(path, &["id", "category", "lon", "lat"])?;
    let known: Option<HashSet<&str>> = categories.map(|c| c.iter().map(String::as_str).collect());
    let mut facilities = Vec::new();
    let mut seen = HashSet::new();
    while let Some(row) = rows.next_row()? {
        let id = row.id(0)?;
        if !seen.insert(id.clone()) {
            return Err(row.duplicate(id));
        }
        let category = row.text(1)?.to_string();
        if category.is_empty() {
            return Err(row.error(1, "empty category".into()));
        }
        if let (Some(known), Some(list)) = (&known, categories)
            && !known.contains(category.as_str())
        {
            return Err(AccessError::UnknownCategory {
                path: path.to_path_buf(),
                line: row.line,
                category,
                known: list.join(", "),
            });
        }
        let (lon, lat) = row.lonlat(2, 3)?;
        facilities.push(Facility {
            id,
            category,
            lon,
            lat,
        });
    }
    Ok(facilities)
}

/// A CSV reader that knows where the wanted columns are.
struct Rows<'p> {
    path: &'p Path,
    reader: csv::Reader<File>,
    names: &'static [&'static str],
    columns: Vec<usize>,
    record: csv::StringRecord,
}

/// One record with its line number, for messages.
struct Row<'r> {
    path: &'r Path,
    line: u64,
    names: &'static [&'static str],
    fields: Vec<&'r str>,
}

impl<'p> Rows<'p> {
    fn open(path: &'p Path, names: &'static [&'static str]) -> Result<Self> {
        let file = File::open(path).map_err(|e| AccessError::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(file);
        let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        let columns = names
            .iter()
            .map(|&name| {
                headers
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(name))
                    .ok_or_else(|| AccessError::Csv {
                        path: path.to_path_buf(),
                        line: 1,
                        column: name.to_string(),
                        message: format!(
                            "missing column (header is `{}`)",
                            headers.iter().collect::<Vec<_>>().join(",")
                        ),
                    })
            })
            .collect::<Result<_>>()?;
        Ok(Rows {
            path,
            reader,
            names,
            columns,
            record: csv::StringRecord::new(),
        })
    }

    fn next_row(&mut self) -> Result<Option<Row<'_>>> {
        if !self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(self.path, e))?
        {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let fields = self
            .columns
            .iter()
            .map(|&c| self.record.get(c).unwrap_or(""))
            .collect();
        Ok(Some(Row {
            path: self.path,
            line,
            names: self.names,
            fields,
        }))
    }
}

impl Row<'_> {
    fn error(&self, column: usize, message: String) -> AccessError {
        AccessError::Csv {
            path: self.path.to_path_buf(),
            line: self.line,
            column: self.names[column].to_string(),
            message,
        }
    }

    fn duplicate(&self, id: String) -> AccessError {
        AccessError::DuplicateId {
            path: self.path.to_path_buf(),
            line: self.line,
            id,
        }
    }

    fn text(&self, column: usize) -> Result<&str> {
        Ok(self.fields[column])
    }

    fn id(&self, column: usize) -> Result<String> {
        match self.fields[column] {
            "" => Err(self.error(column, "empty id".into())),
            id => Ok(id.to_string()),
        }
    }

    fn number(&self, column: usize, min: f64, max: f64) -> Result<f64> {
        let text = self.fields[column];
        match text.parse::<f64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            Ok(v) => Err(self.error(column, format!("{v} is outside [{min}, {max}]"))),
            Err(_) => Err(self.error(column, format!("`{text}` is not a number"))),
        }
    }

    fn lonlat(&self, lon: usize, lat: usize) -> Result<(f64, f64)> {
        Ok((
            self.number(lon, -180.0, 180.0)?,
            self.number(lat, -90.0, 90.0)?,
        ))
    }
}

fn csv_error(path: &Path, e: csv::Error) -> AccessError {
    let line = e.position().map_or(0, |p| p.line());
    AccessError::Csv {
        path: path.to_path_buf(),
        line,
        column: String::new(),
        message: e.to_string(),
    }
}

/// Writes `origin_id,category,distance_m`, one row per origin and category,
/// distances with two decimals and empty where there is none. Atomic.
///
/// Rows are formatted in parallel into memory and written in one go: through
/// a CSV writer and `format!` this took longer than the query itself.
pub fn write_nearest(
    path: impl AsRef<Path>,
    origins: &[Origin],
    table: &NearestTable,
) -> Result<()> {
    const ORIGINS_PER_CHUNK: usize = 1024;
    let categories: Vec<Cow<str>> = table.categories().iter().map(|c| csv_field(c)).collect();
    let chunks: Vec<Vec<u8>> = origins
        .par_chunks(ORIGINS_PER_CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let mut out = Vec::with_capacity(chunk.len() * categories.len() * 32);
            for (j, origin) in chunk.iter().enumerate() {
                let o = i * ORIGINS_PER_CHUNK + j;
                let id = csv_field(&origin.id);
                for (c, category) in categories.iter().enumerate() {
                    out.extend_from_slice(id.as_bytes());
                    out.push(b',');
                    out.extend_from_slice(category.as_bytes());
                    out.push(b',');
                    if let Some(d) = table.distance_m(o, c) {
                        push_two_decimals(&mut out, d);
                    }
                    out.push(b'\n');
                }
            }
            out
        })
        .collect();
    write_atomically(path.as_ref(), |file| {
        file.write_all(b"origin_id,category,distance_m\n")?;
        chunks.iter().try_for_each(|chunk| file.write_all(chunk))
    })
}

/// A CSV field as the `csv` crate writes it: quoted, with quotes doubled,
/// when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(text)
    }
}

/// Appends `d` exactly as `format!("{d:.2}")` would, without its cost.
///
/// The two-decimal rounding of `d` is the integer nearest to `d × 100`; the
/// product is computed within 10^-7 of its exact value below 10^9, so unless
/// it lies that close to a half (where the exact decimal expansion decides)
/// rounding the computed product gives the same digits.
fn push_two_decimals(out: &mut Vec<u8>, d: f64) {
    let x = d * 100.0;
    let r = x.round();
    if !(d >= 0.0 && x < 1e9 && (x - r).abs() < 0.5 - 1e-6) {
        // Negative, huge, NaN or a near-tie: leave it to the standard library.
        let _ = write!(out, "{d:.2}");
        return;
    }
    let cents = r as u64;
    let _ = write!(out, "{}.", cents / 100);
    out.extend_from_slice(&[b'0' + (cents % 100 / 10) as u8, b'0' + (cents % 10) as u8]);
}

/// Arguments of [`nearest_csv`], mirroring
/// `lifeservice access nearest --osm --origins --facilities --cutoff-m --out
/// [--max-snap-m] [--speed-kmh]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NearestCsvArgs {
    /// OSM PBF extract.
    pub osm: PathBuf,
    /// `id,lon,lat` CSV.
    pub origins: PathBuf,
    /// `id,category,lon,lat` CSV.
    pub facilities: PathBuf,
    /// Output `origin_id,category,distance_m` CSV, written atomically.
    pub out: PathBuf,
    /// Cutoff in metres; `None` means the 15-minute level at `speed_kmh`.
    pub cutoff_m: Option<f64>,
    /// Maximum snap distance in metres.
    pub max_snap_m: f64,
    /// Walking speed in km/h, used for the default cutoff.
    pub speed_kmh: f64,
    /// Categories to report, in this order; `None` reports the facilities'
    /// categories sorted. With a list, other categories in the facilities
    /// file are an error.
    pub categories: Option<Vec<String>>,
}

impl NearestCsvArgs {
    /// Arguments with the command's defaults: 200 m snap, 4 km/h, cutoff at
    /// 15 minutes, categories from the facilities file.
    pub fn new(
        osm: impl Into<PathBuf>,
        origins: impl Into<PathBuf>,
        facilities: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        NearestCsvArgs {
            osm: osm.into(),
            origins: origins.into(),
            facilities: facilities.into(),
            out: out.into(),
            cutoff_m: None,
            max_snap_m: DEFAULT_MAX_SNAP_M,
            speed_kmh: DEFAULT_SPEED_KMH,
            categories: None,
        }
    }
}

/// What [`nearest_csv`] did, for the command to print.
#[derive(Debug, Clone, PartialEq)]
pub struct NearestCsvSummary {
    /// Nodes of the walking network.
    pub nodes: usize,
    /// Edges of the walking network.
    pub edges: usize,
    /// Origins read.
    pub origins: usize,
    /// Facilities read.
    pub facilities: usize,
    /// Ids of origins outside the network (their distances are empty).
    pub unreachable_origins: Vec<String>,
    /// Ids of facilities outside the network (ignored).
    pub unreachable_facilities: Vec<String>,
    /// Rows written.
    pub rows: usize,
    /// Seconds spent reading the network (with its snapping index), reading
    /// the CSVs (both at once, so these two overlap), querying and writing.
    pub seconds: [f64; 4],
}

/// Runs `access nearest`: reads the network and both CSVs, computes the
/// nearest facility of each category for each origin, writes the output
/// atomically. Any error leaves no output file behind.
pub fn nearest_csv(args: &NearestCsvArgs) -> Result<NearestCsvSummary> {
    let speed = args.speed_kmh;
    if !(speed.is_finite() && speed > 0.0) {
        return Err(AccessError::InvalidArgument(format!(
            "walking speed must be positive, got {speed} km/h"
        )));
    }
    let cutoff_m = args
        .cutoff_m
        .unwrap_or(crate::query::level_distances_m(speed)[2]);
    let start = Instant::now();
    // The CSVs do not depend on the network: read them while it is built.
    let (net, inputs) = rayon::join(
        || {
            let net = Network::from_pbf(&args.osm)?;
            net.build_snap_index();
            Ok::<_, AccessError>((net, start.elapsed().as_secs_f64()))
        },
        || {
            let origins = read_origins(&args.origins)?;
            let facilities = read_facilities(&args.facilities, args.categories.as_deref())?;
            Ok::<_, AccessError>((origins, facilities, start.elapsed().as_secs_f64()))
        },
    );
    let (net, read_net) = net?;
    let (origins, facilities, read_csv) = inputs?;
    let categories = args
        .categories
        .clone()
        .unwrap_or_else(|| categories_of(&facilities));
    let read = start.elapsed().as_secs_f64();
    let table = nearest(
        &net,
        &origins,
        &facilities,
        &categories,
        cutoff_m,
        args.max_snap_m,
    )?;
    let queried = start.elapsed().as_secs_f64();
    write_nearest(&args.out, &origins, &table)?;
    let written = start.elapsed().as_secs_f64();
    Ok(NearestCsvSummary {
        nodes: net.node_count(),
        edges: net.edge_count(),
        origins: origins.len(),
        facilities: facilities.len(),
        unreachable_origins: table
            .unreachable_origins()
            .iter()
            .map(|&o| origins[o].id.clone())
            .collect(),
        unreachable_facilities: table
            .unreachable_facilities()
            .iter()
            .map(|&f| facilities[f].id.clone())
            .collect(),
        rows: origins.len() * categories.len(),
        seconds: [read_net, read_csv, queried - read, written - queried],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    fn two_decimals(d: f64) -> String {
        let mut out = Vec::new();
        push_two_decimals(&mut out, d);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn two_decimals_match_the_standard_formatting() {
        let mut rng = Rng::new(5);
        let ties = [
            0.0,
            0.005,
            0.125,
            1.005,
            2.675,
            999.995,
            1000.0,
            0.994999999999,
        ];
        let random = (0..200_000).map(|_| rng.next_f64() * 2000.0);
        // Values a few ulps around every possible cent tie below 20 m.
        let near_ties = (0..2000).flat_map(|c| {
            let tie = (f64::from(c) + 0.5) / 100.0;
            [tie, tie.next_up(), tie.next_down()]
        });
        for d in ties
            .into_iter()
            .chain(random)
            .chain(near_ties)
            .chain([-1.0, 1e12, f64::NAN])
        {
            assert_eq!(two_decimals(d), format!("{d:.2}"), "{d:e}");
        }
    }

    #[test]
    fn fields_are_quoted_like_the_csv_crate() {
        for text in ["plain", "a,b", "say \"hi\"", "two\nlines", "cr\r", ""] {
            let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
            writer.write_record([text, "x"]).unwrap();
            let expected = String::from_utf8(writer.into_inner().unwrap()).unwrap();
            assert_eq!(format!("{},x\n", csv_field(text)), expected);
        }
    }
}
