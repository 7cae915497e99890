//! Walking accessibility: which daily-life facilities the residents of every
//! community reach on foot within 5, 10 and 15 minutes.
//!
//! A standalone engine in the spirit of pandana, with no database or web
//! dependency:
//!
//! * [`Network`] is the walking network of an OpenStreetMap PBF extract
//!   (OSMnx's `walk` filter, haversine edge lengths, every edge two-way) in
//!   compact CSR arrays, with a binary cache for instant reloads.
//! * Points snap to the nearest point of the nearest walkable edge
//!   ([`Network::snap`]); farther than the maximum snap distance they are
//!   unreachable, never silently attached far away.
//! * [`nearest`] gives, for every origin and category, the network distance to
//!   the nearest facility within a cutoff: the exact result of one bounded
//!   multi-source Dijkstra per category (computed one facility at a time in
//!   map order for cache locality, or per origin when origins are sparse),
//!   categories in parallel (rayon, honouring `RAYON_NUM_THREADS`).
//! * [`AccessState`] adds facility counts per walking level and keeps
//!   everything exact as facilities are added, moved or removed, searching
//!   only around the changed facility; it also ranks new sites by maximal
//!   covering ([`AccessState::maximal_covering`]).
//! * [`nearest_csv`] is the `lifeservice access nearest` command.
//! * [`synth`] writes synthetic street grids as PBF and random points as CSV.
//!
//! Distances are `f64` metres: exact to far below a millimetre at any
//! realistic length, and free of overflow.
//!
//! ```
//! use std::sync::Arc;
//! use lifeservice_access::{AccessConfig, AccessState, Facility, Network, Origin, haversine_m};
//!
//! // Three nodes along a street, 0.001° of longitude (about 88 m) apart.
//! let net = Network::from_edges(
//!     &[(112.550, 37.87), (112.551, 37.87), (112.552, 37.87)],
//!     &[(0, 1), (1, 2)],
//! )?;
//! let origins = vec![Origin { id: "home".into(), lon: 112.550, lat: 37.8701 }];
//! let facilities = vec![Facility {
//!     id: "shop".into(),
//!     category: "grocery".into(),
//!     lon: 112.552,
//!     lat: 37.87,
//! }];
//! let mut state = AccessState::new(
//!     Arc::new(net),
//!     origins,
//!     facilities,
//!     vec!["grocery".into()],
//!     AccessConfig::default(),
//! )?;
//! // The home snaps onto node 0, 11 m away; the walk is the whole street.
//! let street = haversine_m(112.550, 37.87, 112.552, 37.87);
//! assert!((state.nearest_m(0, 0).unwrap() - street).abs() < 0.001);
//! assert_eq!(state.counts(0, 0), [1, 1, 1]);
//!
//! state.remove_facility("shop")?;
//! assert_eq!(state.nearest_m(0, 0), None);
//! # Ok::<(), lifeservice_access::AccessError>(())
//! ```

mod cache;
mod cover;
mod csvio;
mod error;
pub mod filter;
mod geo;
mod network;
mod output;
mod pbf;
mod query;
mod radix;
mod search;
mod state;
pub mod synth;

pub use cover::CoverSite;
pub use csvio::{
    NearestCsvArgs, NearestCsvSummary, nearest_csv, read_facilities, read_origins, write_nearest,
};
pub use error::{AccessError, Result};
pub use geo::{EARTH_RADIUS_M, haversine_m};
pub use network::{DEFAULT_MAX_SNAP_M, EdgeId, Network, NodeId, Snap};
pub use query::{
    DEFAULT_SPEED_KMH, Facility, LEVEL_MINUTES, NearestTable, Origin, categories_of,
    level_distances_m, nearest,
};
pub use state::{AccessConfig, AccessState, Change};
