//! Spherical geometry helpers shared by the reader, the snapper and the generator.

/// Mean earth radius in metres, the value OSMnx uses for edge lengths.
pub const EARTH_RADIUS_M: f64 = 6_371_009.0;

/// Great-circle distance in metres between two lon/lat points (degrees).
///
/// Same formula as OSMnx's `great_circle`, including the clamp that keeps
/// rounding from producing `asin` of a value above one.
pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (y1, y2) = (lat1.to_radians(), lat2.to_radians());
    let dy = y2 - y1;
    let dx = lon2.to_radians() - lon1.to_radians();
    let h = (dy / 2.0).sin().powi(2) + y1.cos() * y2.cos() * (dx / 2.0).sin().powi(2);
    2.0 * h.min(1.0).sqrt().asin() * EARTH_RADIUS_M
}

/// Equirectangular projection centred on one point: metres east and north.
///
/// Within a few hundred metres of its centre the distortion is far below a
/// millimetre, which is all snapping needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalFrame {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalFrame {
    pub(crate) fn new(lon0: f64, lat0: f64) -> Self {
        // Metres per degree of arc along a meridian.
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        LocalFrame {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }

    pub(crate) fn project(&self, lon: f64, lat: f64) -> [f64; 2] {
        [(lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky]
    }

    /// Degrees of longitude and latitude spanned by `metres` around the centre,
    /// used to turn a metric radius into a search envelope.
    pub(crate) fn degrees(&self, metres: f64) -> (f64, f64) {
        (metres / self.kx.max(1e-9), metres / self.ky)
    }
}

/// Position of a lon/lat point on a Hilbert curve over the given bounding box.
///
/// Ordering nodes by this key puts nodes that are close in space close in
/// memory, which keeps Dijkstra's working set in cache on real extracts whose
/// OSM ids are scattered.
pub(crate) fn hilbert_key(lon: f64, lat: f64, bbox: [f64; 4]) -> u64 {
    const ORDER: u32 = 16;
    const SIDE: u32 = (1 << ORDER) - 1;
    let scale = |v: f64, lo: f64, hi: f64| -> u32 {
        if hi > lo {
            (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * f64::from(SIDE)) as u32
        } else {
            0
        }
    };
    let mut x = scale(lon, bbox[0], bbox[2]);
    let mut y = scale(lat, bbox[1], bbox[3]);
    let mut key = 0u64;
    let mut s = 1u32 << (ORDER - 1);
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        key += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        // Rotate the quadrant so the curve stays continuous.
        if ry == 0 {
            if rx == 1 {
                x = SIDE - x;
                y = SIDE - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_known_values() {
        // One degree of latitude on a 6,371,009 m sphere.
        let d = haversine_m(112.0, 37.0, 112.0, 38.0);
        assert!((d - 111_195.08).abs() < 0.01, "{d}");
        assert_eq!(haversine_m(112.5, 37.8, 112.5, 37.8), 0.0);
    }

    #[test]
    fn local_frame_agrees_with_haversine_nearby() {
        let f = LocalFrame::new(112.55, 37.87);
        let p = f.project(112.551, 37.871);
        let planar = (p[0] * p[0] + p[1] * p[1]).sqrt();
        let sphere = haversine_m(112.55, 37.87, 112.551, 37.871);
        assert!((planar - sphere).abs() < 0.01, "{planar} vs {sphere}");
    }

    #[test]
    fn hilbert_keys_are_distinct_per_cell() {
        let bbox = [0.0, 0.0, 1.0, 1.0];
        let mut keys: Vec<u64> = (0..16)
            .flat_map(|i| (0..16).map(move |j| (i, j)))
            .map(|(i, j)| hilbert_key(f64::from(i) / 15.0, f64::from(j) / 15.0, bbox))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 256);
    }
}
