//! Accessibility of every origin, kept up to date as facilities open, move
//! and close.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{AccessError, Result};
use crate::network::{DEFAULT_MAX_SNAP_M, Network, Snap};
use crate::query::{
    DEFAULT_SPEED_KMH, Facility, Origin, Points, add_level, category_indexes, check_distance,
    count_within, level_distances_m, nearest_all, snap_all,
};
use crate::search::{NO_LABEL, PointIndex, reach};

/// Parameters of an [`AccessState`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessConfig {
    /// Nearest facilities farther than this many network metres are not
    /// reported.
    pub cutoff_m: f64,
    /// Points farther than this from every walkable edge are unreachable.
    pub max_snap_m: f64,
    /// Walking speed that turns the 5/10/15 minute levels into metres.
    pub speed_kmh: f64,
}

impl Default for AccessConfig {
    /// 4 km/h, a cutoff at the 15-minute level (1000 m) and a 200 m snap limit.
    fn default() -> Self {
        AccessConfig {
            cutoff_m: level_distances_m(DEFAULT_SPEED_KMH)[2],
            max_snap_m: DEFAULT_MAX_SNAP_M,
            speed_kmh: DEFAULT_SPEED_KMH,
        }
    }
}

/// Which origins an incremental update changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Indexes of origins whose nearest distance or counts changed, sorted.
    pub origins: Vec<usize>,
}

struct Slot {
    facility: Facility,
    category: u32,
    snap: Option<Snap>,
}

/// For every origin and category: the nearest facility within the cutoff and
/// the number of facilities within 5, 10 and 15 minutes on foot, updated
/// exactly by [`add_facility`](Self::add_facility),
/// [`remove_facility`](Self::remove_facility) and
/// [`move_facility`](Self::move_facility), each of which searches only the
/// neighbourhood of the changed facility.
pub struct AccessState {
    net: Arc<Network>,
    config: AccessConfig,
    levels: [f64; 3],
    categories: Vec<String>,
    origins: Vec<Origin>,
    origin_snaps: Vec<Option<Snap>>,
    origin_index: PointIndex,
    /// Facilities by slot; a slot's number is the facility's label in searches.
    slots: Vec<Option<Slot>>,
    free_slots: Vec<u32>,
    slot_of: HashMap<String, u32>,
    facility_index: PointIndex,
    /// Origin-major, entry `origin * categories + category`.
    nearest: Vec<f64>,
    nearest_slot: Vec<u32>,
    counts: Vec<[u32; 3]>,
}

impl AccessState {
    /// Snaps everything and computes the full state: nearest distances as
    /// [`crate::nearest`] computes them, bounded searches out of
    /// the smaller of origins and facilities for counts.
    ///
    /// Duplicate ids and facilities of a category outside `categories` are
    /// errors; facilities outside the network are kept but reach nobody (see
    /// [`unreachable_facilities`](Self::unreachable_facilities)).
    pub fn new(
        net: Arc<Network>,
        origins: Vec<Origin>,
        facilities: Vec<Facility>,
        categories: Vec<String>,
        config: AccessConfig,
    ) -> Result<AccessState> {
        check_config(&config)?;
        check_unique(origins.iter().map(|o| o.id.as_str()))?;
        check_unique(facilities.iter().map(|f| f.id.as_str()))?;
        let category_of = category_indexes(&facilities, &categories)?;
        let levels = level_distances_m(config.speed_kmh);
        let origin_snaps = snap_all(
            &net,
            origins.iter().map(|o| (o.lon, o.lat)),
            config.max_snap_m,
        );
        let facility_snaps = snap_all(
            &net,
            facilities.iter().map(|f| (f.lon, f.lat)),
            config.max_snap_m,
        );
        let origin_points = Points::new(&net, &origin_snaps);
        let facility_points = Points::new(&net, &facility_snaps);
        let (nearest, nearest_slot) = nearest_all(
            &net,
            &origin_points,
            &facility_points,
            &category_of,
            categories.len(),
            config.cutoff_m,
        );
        let counts = count_within(
            &net,
            &origin_points,
            &facility_points,
            &category_of,
            categories.len(),
            levels,
        );
        let (origin_index, facility_index) = (origin_points.index, facility_points.index);
        let slot_of = facilities
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i as u32))
            .collect();
        let slots = facilities
            .into_iter()
            .zip(category_of)
            .zip(facility_snaps)
            .map(|((facility, category), snap)| {
                Some(Slot {
                    facility,
                    category,
                    snap,
                })
            })
            .collect();
        Ok(AccessState {
            net,
            config,
            levels,
            categories,
            origins,
            origin_snaps,
            origin_index,
            slots,
            free_slots: Vec::new(),
            slot_of,
            facility_index,
            nearest,
            nearest_slot,
            counts,
        })
    }

    /// The network the state was computed on.
    pub fn network(&self) -> &Arc<Network> {
        &self.net
    }

    /// The configuration in force.
    pub fn config(&self) -> AccessConfig {
        self.config
    }

    /// Distance in metres of the 5, 10 and 15 minute levels.
    pub fn levels_m(&self) -> [f64; 3] {
        self.levels
    }

    /// The categories, in the order of their indexes.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// Index of a category by name.
    pub fn category_index(&self, name: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == name)
    }

    /// The origins, in the order of their indexes.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// Where origin `origin` attaches to the network, `None` when it is outside.
    pub fn origin_snap(&self, origin: usize) -> Option<&Snap> {
        self.origin_snaps[origin].as_ref()
    }

    /// Network metres from origin `origin` to the nearest facility of category
    /// index `category`; `None` when none is within the cutoff.
    pub fn nearest_m(&self, origin: usize, category: usize) -> Option<f64> {
        let d = self.nearest[self.cell(origin, category)];
        d.is_finite().then_some(d)
    }

    /// Id of that nearest facility (one of them on a tie).
    pub fn nearest_facility(&self, origin: usize, category: usize) -> Option<&str> {
        let slot = self.nearest_slot[self.cell(origin, category)];
        self.slot(slot).map(|s| s.facility.id.as_str())
    }

    /// Number of facilities of category index `category` within the 5, 10 and
    /// 15 minute levels of origin `origin`.
    pub fn counts(&self, origin: usize, category: usize) -> [u32; 3] {
        self.counts[self.cell(origin, category)]
    }

    /// A facility by id.
    pub fn facility(&self, id: &str) -> Option<&Facility> {
        self.slot_of
            .get(id)
            .and_then(|&s| self.slot(s))
            .map(|s| &s.facility)
    }

    /// Ids of facilities held but outside the network, which reach nobody.
    pub fn unreachable_facilities(&self) -> Vec<&str> {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.snap.is_none())
            .map(|s| s.facility.id.as_str())
            .collect()
    }

    /// Adds a facility and updates the origins within reach of it.
    ///
    /// Errors, leaving the state unchanged: a duplicate id, an unknown
    /// category, a location outside the network.
    pub fn add_facility(&mut self, facility: Facility) -> Result<Change> {
        if self.slot_of.contains_key(&facility.id) {
            return Err(AccessError::DuplicateId {
                path: Default::default(),
                line: 0,
                id: facility.id,
            });
        }
        let category = category_indexes(std::slice::from_ref(&facility), &self.categories)?[0];
        let snap = self.snap_or_fail(&facility.id, facility.lon, facility.lat)?;
        let slot = self.free_slots.pop().unwrap_or(self.slots.len() as u32);
        self.slot_of.insert(facility.id.clone(), slot);
        let filled = Some(Slot {
            facility,
            category,
            snap: Some(snap),
        });
        match self.slots.get_mut(slot as usize) {
            Some(free) => *free = filled,
            None => self.slots.push(filled),
        }
        self.facility_index.insert(slot, &snap);
        Ok(self.apply_addition(slot, category, &snap))
    }

    /// Removes a facility; origins whose nearest facility it was get their
    /// next nearest by a bounded search of their own.
    pub fn remove_facility(&mut self, id: &str) -> Result<Change> {
        let slot = *self
            .slot_of
            .get(id)
            .ok_or_else(|| AccessError::UnknownFacility(id.to_string()))?;
        self.slot_of.remove(id);
        let Some(removed) = self.slots[slot as usize].take() else {
            return Err(AccessError::UnknownFacility(id.to_string()));
        };
        self.free_slots.push(slot);
        let Some(snap) = removed.snap else {
            return Ok(Change::default());
        };
        self.facility_index.remove(slot, &snap);
        Ok(self.apply_removal(slot, removed.category, &snap))
    }

    /// Moves a facility to a new location. Errors when the facility is unknown
    /// or the location outside the network, leaving the state unchanged.
    pub fn move_facility(&mut self, id: &str, lon: f64, lat: f64) -> Result<Change> {
        let old = self
            .facility(id)
            .cloned()
            .ok_or_else(|| AccessError::UnknownFacility(id.to_string()))?;
        self.snap_or_fail(id, lon, lat)?;
        let removed = self.remove_facility(id)?;
        let added = self.add_facility(Facility { lon, lat, ..old })?;
        let mut origins = removed.origins;
        origins.extend(added.origins);
        origins.sort_unstable();
        origins.dedup();
        Ok(Change { origins })
    }

    fn snap_or_fail(&self, id: &str, lon: f64, lat: f64) -> Result<Snap> {
        self.net
            .snap(lon, lat, self.config.max_snap_m)
            .ok_or_else(|| AccessError::OutsideNetwork {
                id: id.to_string(),
                lon,
                lat,
                max_snap_m: self.config.max_snap_m,
            })
    }

    fn reach_radius(&self) -> f64 {
        self.config.cutoff_m.max(self.levels[2])
    }

    fn apply_addition(&mut self, slot: u32, category: u32, snap: &Snap) -> Change {
        let radius = self.reach_radius();
        let found = self
            .net
            .with_workspace(|ws| reach(&self.net, ws, snap, radius, &self.origin_index, |_| true));
        let mut origins = Vec::new();
        for (origin, dist) in found {
            let cell = self.cell(origin as usize, category as usize);
            let before = self.counts[cell];
            add_level(&mut self.counts[cell], dist, self.levels, 1);
            let closer = dist <= self.config.cutoff_m && dist < self.nearest[cell];
            if closer {
                self.nearest[cell] = dist;
                self.nearest_slot[cell] = slot;
            }
            if closer || before != self.counts[cell] {
                origins.push(origin as usize);
            }
        }
        Change { origins }
    }

    fn apply_removal(&mut self, slot: u32, category: u32, snap: &Snap) -> Change {
        let radius = self.reach_radius();
        let found = self
            .net
            .with_workspace(|ws| reach(&self.net, ws, snap, radius, &self.origin_index, |_| true));
        let mut origins = Vec::new();
        for (origin, dist) in found {
            let cell = self.cell(origin as usize, category as usize);
            let before = self.counts[cell];
            add_level(&mut self.counts[cell], dist, self.levels, -1);
            let was_nearest = self.nearest_slot[cell] == slot;
            if was_nearest {
                self.renew_nearest(origin as usize, category);
            }
            if was_nearest || before != self.counts[cell] {
                origins.push(origin as usize);
            }
        }
        Change { origins }
    }

    /// Recomputes one origin's nearest facility of one category by a search
    /// bounded by the cutoff among the facilities still held.
    fn renew_nearest(&mut self, origin: usize, category: u32) {
        let cell = self.cell(origin, category as usize);
        self.nearest[cell] = f64::INFINITY;
        self.nearest_slot[cell] = NO_LABEL;
        let Some(snap) = self.origin_snaps[origin] else {
            return;
        };
        let slots = &self.slots;
        let of_category = |s: u32| {
            slots[s as usize]
                .as_ref()
                .is_some_and(|slot| slot.category == category)
        };
        let found = self.net.with_workspace(|ws| {
            reach(
                &self.net,
                ws,
                &snap,
                self.config.cutoff_m,
                &self.facility_index,
                of_category,
            )
        });
        if let Some(&(slot, dist)) = found.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
            self.nearest[cell] = dist;
            self.nearest_slot[cell] = slot;
        }
    }

    fn cell(&self, origin: usize, category: usize) -> usize {
        origin * self.categories.len() + category
    }

    fn slot(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Facilities of one category as `(slot, snap)`, for covering.
    pub(crate) fn facilities_of(&self, category: usize) -> Vec<(u32, Snap)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as u32, s)))
            .filter(|(_, s)| s.category as usize == category)
            .filter_map(|(i, s)| s.snap.map(|snap| (i, snap)))
            .collect()
    }

    pub(crate) fn origin_snaps(&self) -> &[Option<Snap>] {
        &self.origin_snaps
    }
}

fn check_config(config: &AccessConfig) -> Result<()> {
    check_distance("cutoff", config.cutoff_m)?;
    check_distance("maximum snap distance", config.max_snap_m)?;
    if config.speed_kmh.is_finite() && config.speed_kmh > 0.0 {
        Ok(())
    } else {
        Err(AccessError::InvalidArgument(format!(
            "walking speed must be positive, got {} km/h",
            config.speed_kmh
        )))
    }
}

fn check_unique<'a>(ids: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(AccessError::DuplicateId {
                path: Default::default(),
                line: 0,
                id: id.to_string(),
            });
        }
    }
    Ok(())
}
