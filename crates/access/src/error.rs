//! The crate's single error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while building a network or answering a query.
///
/// Messages name the file and, for CSV input, the line and column, so that a
/// command-line user can fix the input without reading code.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The OSM PBF file is corrupt, truncated or not a PBF file.
    #[error("{}: not a readable OpenStreetMap PBF file: {message}", path.display())]
    Pbf {
        /// The PBF file.
        path: PathBuf,
        /// What the decoder reported.
        message: String,
    },
    /// The extract holds no walkable way with at least two known nodes.
    #[error("{}: no walkable ways in the extract, the network is empty", path.display())]
    EmptyNetwork {
        /// The PBF file.
        path: PathBuf,
    },
    /// A network cache file is corrupt, truncated or of another version.
    #[error("{}: invalid network cache: {reason}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// A CSV record could not be parsed.
    #[error("{}:{line}: column `{column}`: {message}", path.display())]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// Column name.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// A facility has a category that is not in the given category list.
    #[error("{}:{line}: unknown category `{category}` (expected one of: {known})", path.display())]
    UnknownCategory {
        /// The CSV file, empty when the facility did not come from a file.
        path: PathBuf,
        /// 1-based line number, 0 when the facility did not come from a file.
        line: u64,
        /// The offending category.
        category: String,
        /// The accepted categories, comma separated.
        known: String,
    },
    /// The same id appears twice among origins or among facilities.
    #[error("{}:{line}: duplicate id `{id}`", path.display())]
    DuplicateId {
        /// The CSV file, empty when the point did not come from a file.
        path: PathBuf,
        /// 1-based line number, 0 when the point did not come from a file.
        line: u64,
        /// The repeated id.
        id: String,
    },
    /// A point that must be on the network is farther than the maximum snap
    /// distance from every walkable way.
    #[error(
        "point `{id}` at ({lon}, {lat}) is outside the network: no walkable way within {max_snap_m} m"
    )]
    OutsideNetwork {
        /// Id of the point.
        id: String,
        /// Longitude in degrees.
        lon: f64,
        /// Latitude in degrees.
        lat: f64,
        /// The maximum snap distance in force.
        max_snap_m: f64,
    },
    /// An incremental update named a facility the state does not hold.
    #[error("unknown facility `{0}`")]
    UnknownFacility(String),
    /// A parameter is out of range (negative cutoff, zero speed, bad node id...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result alias used throughout the crate.
pub type Result<T, E = AccessError> = std::result::Result<T, E>;

impl AccessError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        AccessError::Io {
            path: path.into(),
            source,
        }
    }
}
