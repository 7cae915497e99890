//! WGS-84 coordinates and the GCJ-02 datum used by 高德/腾讯 maps.

use serde::{Deserialize, Serialize};

/// Mean earth radius used for great-circle distances (the value OSMnx uses).
pub const EARTH_RADIUS_M: f64 = 6_371_009.0;

/// A WGS-84 point with finite, in-range longitude and latitude, kept to
/// [`DECIMALS`] decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCoordinates")]
pub struct Coordinates {
    lon: f64,
    lat: f64,
}

#[derive(Deserialize)]
struct RawCoordinates {
    lon: f64,
    lat: f64,
}

impl TryFrom<RawCoordinates> for Coordinates {
    type Error = GeoError;
    fn try_from(raw: RawCoordinates) -> Result<Self, GeoError> {
        Coordinates::new(raw.lon, raw.lat)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("经度{0}超出范围（-180至180）")]
    Longitude(f64),
    #[error("纬度{0}超出范围（-90至90）")]
    Latitude(f64),
    #[error("坐标“{0}”格式不正确，应为数字")]
    NotANumber(String),
}

/// Which datum an input coordinate is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Datum {
    #[default]
    Wgs84,
    /// 国测局坐标 (火星坐标), used by 高德 and 腾讯 maps.
    Gcj02,
}

/// Decimal places of a stored coordinate: 1e-6 degrees, about 0.1 m, well
/// below what an address or a map pick locates, and what the exports write, so
/// that an exported file imports back unchanged (a point converted from GCJ-02
/// or generated carries 15 digits, which a 6-decimal export would change).
pub const DECIMALS: i32 = 6;

fn to_decimals(degrees: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    (degrees * scale).round() / scale
}

impl Coordinates {
    pub fn new(lon: f64, lat: f64) -> Result<Self, GeoError> {
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::Longitude(lon));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude(lat));
        }
        Ok(Self {
            lon: to_decimals(lon),
            lat: to_decimals(lat),
        })
    }

    /// Parses decimal degree strings, converting from `datum` to WGS-84.
    pub fn parse(lon: &str, lat: &str, datum: Datum) -> Result<Self, GeoError> {
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| GeoError::NotANumber(s.trim().to_string()))
        };
        let point = Self::new(num(lon)?, num(lat)?)?;
        Ok(match datum {
            Datum::Wgs84 => point,
            Datum::Gcj02 => {
                let wgs = point.gcj02_to_wgs84();
                Self::new(wgs.lon, wgs.lat)?
            }
        })
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(self, other: Coordinates) -> f64 {
        haversine_m(self.lon, self.lat, other.lon, other.lat)
    }

    /// Converts a WGS-84 point to GCJ-02 (the published forward transform).
    pub fn wgs84_to_gcj02(self) -> Coordinates {
        let (dlon, dlat) = gcj_offset(self.lon, self.lat);
        Coordinates {
            lon: self.lon + dlon,
            lat: self.lat + dlat,
        }
    }

    /// Inverts the GCJ-02 transform by fixed-point iteration; the residual is
    /// below a centimetre after a few rounds, unlike the one-step inverse (~1 m).
    pub fn gcj02_to_wgs84(self) -> Coordinates {
        let mut guess = self;
        for _ in 0..10 {
            let forward = guess.wgs84_to_gcj02();
            let (elon, elat) = (forward.lon - self.lon, forward.lat - self.lat);
            guess = Coordinates {
                lon: guess.lon - elon,
                lat: guess.lat - elat,
            };
            if elon.abs() < 1e-9 && elat.abs() < 1e-9 {
                break;
            }
        }
        guess
    }
}

pub fn haversine_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = p2 - p1;
    let dlambda = (lon2 - lon1).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

// Krasovsky 1940 ellipsoid parameters of the GCJ-02 obfuscation.
const GCJ_A: f64 = 6_378_245.0;
const GCJ_EE: f64 = 0.006_693_421_622_965_943;

fn gcj_offset(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat.to_radians();
    let magic = 1.0 - GCJ_EE * rad.sin().powi(2);
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (GCJ_A / sqrt_magic * rad.cos() * PI);
    (dlon, dlat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_out_of_range_and_nan() {
        assert!(matches!(
            Coordinates::new(181.0, 0.0),
            Err(GeoError::Longitude(_))
        ));
        assert!(matches!(
            Coordinates::new(0.0, f64::NAN),
            Err(GeoError::Latitude(_))
        ));
        assert!(matches!(
            Coordinates::parse("abc", "1", Datum::Wgs84),
            Err(GeoError::NotANumber(_))
        ));
    }

    #[test]
    fn gcj02_offset_in_taiyuan_is_a_few_hundred_metres() {
        // 太原 city centre: the GCJ-02 shift is known to be roughly 300–700 m.
        let wgs = Coordinates::new(112.549, 37.870).unwrap();
        let shift = wgs.distance_m(wgs.wgs84_to_gcj02());
        assert!((200.0..800.0).contains(&shift), "shift {shift}");
    }

    #[test]
    fn haversine_one_degree_of_latitude() {
        let d = haversine_m(112.0, 37.0, 112.0, 38.0);
        assert!((d - 111_195.0).abs() < 5.0, "{d}");
    }

    proptest! {
        #[test]
        fn a_point_written_as_the_exports_write_it_reads_back_the_same(
            lon in 110.0f64..115.0, lat in 34.0f64..41.0, gcj in any::<bool>()
        ) {
            let datum = if gcj { Datum::Gcj02 } else { Datum::Wgs84 };
            let point = Coordinates::parse(&lon.to_string(), &lat.to_string(), datum).unwrap();
            let (lon, lat) = (format!("{:.6}", point.lon()), format!("{:.6}", point.lat()));
            prop_assert_eq!(Coordinates::parse(&lon, &lat, Datum::Wgs84).unwrap(), point);
        }

        #[test]
        fn gcj02_round_trip_within_a_centimetre(lon in 110.0f64..115.0, lat in 34.0f64..41.0) {
            let wgs = Coordinates::new(lon, lat).unwrap();
            let back = wgs.wgs84_to_gcj02().gcj02_to_wgs84();
            prop_assert!(wgs.distance_m(back) < 0.01);
        }
    }
}
