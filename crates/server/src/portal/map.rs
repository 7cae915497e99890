//! SVG maps drawn by the server from the shipped county boundaries: no tile
//! server, no JavaScript. Shapes are simplified for the scale of the view.

use crate::reference::{CountyShape, Reference};
use geo::{BoundingRect, Rect, Simplify};
use lifeservice_domain::DivisionCode;
use maud::{Markup, html};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// An equirectangular projection fitted to a box, longitudes scaled by cos(latitude).
pub struct Frame {
    min_lon: f64,
    max_lat: f64,
    scale_x: f64,
    scale_y: f64,
    pub width: f64,
    pub height: f64,
}

impl Frame {
    pub fn fit(rect: Rect<f64>, width: f64) -> Frame {
        let pad_lon = (rect.width() * 0.03).max(0.002);
        let pad_lat = (rect.height() * 0.03).max(0.002);
        let (min_lon, max_lon) = (rect.min().x - pad_lon, rect.max().x + pad_lon);
        let (min_lat, max_lat) = (rect.min().y - pad_lat, rect.max().y + pad_lat);
        let cos = ((min_lat + max_lat) / 2.0).to_radians().cos();
        let scale_x = width / (max_lon - min_lon);
        let scale_y = scale_x / cos;
        Frame {
            min_lon,
            max_lat,
            scale_x,
            scale_y,
            width,
            height: (max_lat - min_lat) * scale_y,
        }
    }

    pub fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.min_lon) * self.scale_x,
            (self.max_lat - lat) * self.scale_y,
        )
    }

    /// Tolerance in degrees that keeps about one vertex per `px` pixels.
    fn tolerance(&self, px: f64) -> f64 {
        px / self.scale_x
    }
}

/// SVG paths by (area, county).
type PathCache = HashMap<(String, String), Arc<str>>;

/// The SVG path of a county in the frame of `area`, simplified once and kept:
/// shapes and frames are fixed, and simplifying on every page view was the
/// provider page's largest cost.
fn cached_path(area: &DivisionCode, county: &CountyShape, frame: &Frame) -> Arc<str> {
    static PATHS: OnceLock<Mutex<PathCache>> = OnceLock::new();
    let key = (area.to_string(), county.code.to_string());
    let paths = PATHS.get_or_init(Mutex::default);
    if let Some(path) = paths.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return path.clone();
    }
    let path: Arc<str> = shape_path(county, frame).into();
    paths
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, path.clone());
    path
}

pub fn shape_path(county: &CountyShape, frame: &Frame) -> String {
    let simplified = county.shape.simplify(frame.tolerance(1.2));
    let mut d = String::new();
    for polygon in &simplified {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for (i, c) in ring.coords().enumerate() {
                let (x, y) = frame.xy(c.x, c.y);
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
    }
    d
}

fn union_rect(shapes: &[&CountyShape]) -> Option<Rect<f64>> {
    shapes.iter().map(|s| s.bbox).reduce(|a, b| {
        Rect::new(
            geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    })
}

/// Five-class sequential palette; each class is also written in the legend and titles.
const PALETTE: [&str; 5] = ["#fde0dd", "#fa9fb5", "#f768a1", "#c51b8a", "#7a0177"];

fn class_of(value: f64, max: f64) -> usize {
    if max <= 0.0 {
        0
    } else {
        ((value / max) * 4.999).floor().clamp(0.0, 4.0) as usize
    }
}

/// The counties inside `area` (province or city), coloured by `value`, each
/// linking to its division page when `links` (a picture only in 长辈模式,
/// where the same places are linked from lists with large tap targets).
pub fn choropleth(
    area: &DivisionCode,
    value: impl Fn(&DivisionCode) -> i64,
    label: &str,
    links: bool,
) -> Markup {
    choropleth_of(
        area,
        |c| Some(value(c) as f64),
        label,
        |c| links.then(|| format!("/divisions/{c}")),
    )
}

/// [`choropleth`] for any measure: counties without a value are hatched
/// grey and say so, and `link` gives each county's target (none: a picture).
pub fn choropleth_of(
    area: &DivisionCode,
    value: impl Fn(&DivisionCode) -> Option<f64>,
    label: &str,
    link: impl Fn(&DivisionCode) -> Option<String>,
) -> Markup {
    let reference = Reference::shipped();
    let shapes: Vec<&CountyShape> = reference
        .county_shapes()
        .iter()
        .filter(|c| area.contains(&c.code))
        .collect();
    let Some(rect) = union_rect(&shapes) else {
        return html! {};
    };
    let frame = Frame::fit(rect, 600.0);
    let max = shapes
        .iter()
        .filter_map(|s| value(&s.code))
        .fold(0.0_f64, f64::max);
    let linked = shapes.first().is_some_and(|s| link(&s.code).is_some());
    // Counts get whole-number class bounds: "540–675", not "539.68–674.60".
    let whole = shapes
        .iter()
        .filter_map(|s| value(&s.code))
        .all(|v| v.fract() == 0.0);
    let step = |i: usize| {
        let bound = max * i as f64 / 5.0;
        format_value(if whole { bound.round() } else { bound })
    };
    html! {
        figure {
            svg.map viewBox=(format!("0 0 {:.0} {:.0}", frame.width, frame.height)) role=(svg_role(linked)) aria-label=(format!("{}地图：{label}", reference.name(area))) {
                @for s in &shapes {
                    @let v = value(&s.code);
                    @let shape = html! {
                        path d=(&*cached_path(area, s, &frame)) fill=(v.map_or(NO_DATA, |v| PALETTE[class_of(v, max)])) {
                            title { (reference.name(&s.code)) "：" (label) " " (v.map_or("无数据".to_string(), format_value)) }
                        }
                    };
                    @match link(&s.code) { Some(href) => { a href=(href) { (shape) } }, None => { (shape) } }
                }
            }
            figcaption.legend {
                (label) "："
                @for (i, colour) in PALETTE.iter().enumerate() {
                    span style=(format!("background:{colour}")) {}
                    (step(i)) "–" (step(i + 1))
                }
                span style=(format!("background:{NO_DATA}")) {} "无数据"
                br;
                small.muted { (crate::reference::BOUNDARIES_SOURCE) }
            }
        }
    }
}

/// Whole numbers without decimals, others to two places.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The fill of a county without a value.
const NO_DATA: &str = "#d9d9d9";

/// A linked point on a map; `class` styles it (outlet, or a circle grade).
pub struct MapPoint {
    pub lon: f64,
    pub lat: f64,
    pub label: String,
    pub href: String,
    pub class: &'static str,
}

impl MapPoint {
    pub fn outlet(o: &crate::registry::Outlet) -> Self {
        MapPoint {
            lon: o.lon,
            lat: o.lat,
            label: o.name.clone(),
            href: format!("/outlets/{}", o.id),
            class: "outlet",
        }
    }
}

/// An SVG with links inside is a labelled group (its links stay reachable);
/// without, a labelled image.
fn svg_role(links: bool) -> &'static str {
    if links { "group" } else { "img" }
}

/// One county with points on it (outlets, communities), each a link when `links`.
pub fn county_map(county: &DivisionCode, points: &[MapPoint], links: bool) -> Markup {
    let reference = Reference::shipped();
    let Some(shape) = reference.county_shape(county) else {
        return html! { p.muted { "该区划暂无边界数据（开发区等无独立边界）。" } };
    };
    let rect = shape.shape.bounding_rect().unwrap_or(shape.bbox);
    let frame = Frame::fit(rect, 500.0);
    html! {
        figure {
            svg.map viewBox=(format!("0 0 {:.0} {:.0}", frame.width, frame.height)) role=(svg_role(links)) aria-label=(format!("{}地图", reference.name(county))) {
                path d=(&*cached_path(county, shape, &frame)) fill="#dfe8d8" {}
                @for p in points {
                    @let (x, y) = frame.xy(p.lon, p.lat);
                    @let dot = html! { circle class=(p.class) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="4" { title { (p.label) } } };
                    @if links { a href=(p.href) aria-label=(p.label) { (dot) } } @else { (dot) }
                }
            }
            figcaption { small.muted { (crate::reference::BOUNDARIES_SOURCE) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_keeps_points_inside() {
        let rect = Rect::new(
            geo::coord! { x: 110.0, y: 34.5 },
            geo::coord! { x: 114.5, y: 40.7 },
        );
        let frame = Frame::fit(rect, 600.0);
        let (x, y) = frame.xy(112.5, 37.8);
        assert!(x > 0.0 && x < frame.width && y > 0.0 && y < frame.height);
        // Shanxi is taller than wide once longitudes are scaled.
        assert!(frame.height > frame.width);
    }

    #[test]
    fn province_map_links_every_county() {
        let svg = choropleth(&Reference::province(), |_| 1, "网点数", true).into_string();
        assert_eq!(svg.matches("<path").count(), 117);
        assert!(svg.contains("/divisions/140105"));
        let picture = choropleth(&Reference::province(), |_| 1, "网点数", false).into_string();
        assert!(!picture.contains("<a ") && picture.contains(r#"role="img""#));
    }

    #[test]
    fn legends_of_counts_have_whole_bounds() {
        let count = |c: &DivisionCode| if c.as_str() == "140105" { 3373 } else { 1 };
        let legend = choropleth(&Reference::province(), count, "网点数", true).into_string();
        assert!(
            legend.contains("675–1349") && !legend.contains("674.60"),
            "{legend}"
        );
        let share = |c: &DivisionCode| Some(if c.as_str() == "140105" { 0.5 } else { 0.1 });
        let shares = choropleth_of(&Reference::province(), share, "占比", |_| None).into_string();
        assert!(shares.contains("0.10–0.20"), "shares keep their decimals");
    }
}
