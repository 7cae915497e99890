//! OSMnx's `walk` network filter.
//!
//! OSMnx expresses the filter as Overpass QL, where `!~` is an unanchored
//! regular-expression match: a value is rejected when it merely *contains* one
//! of the words (`motorway_link` contains `motor`, `foot=unknown` contains
//! `no`). The same substring rule is applied here so that the graph built by
//! this crate and the one OSMnx builds from the same extract agree edge for edge.

/// `highway` values rejected when they contain any of these words.
const EXCLUDED_HIGHWAY: [&str; 11] = [
    "abandoned",
    "bus_guideway",
    "construction",
    "cycleway",
    "motor",
    "no",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
];

/// Whether a way with these tags belongs to the walking network.
///
/// A way is walkable when it has a `highway` tag whose value contains none of
/// the excluded words, and neither `area` contains `yes`, `foot` contains `no`,
/// `service` contains `private` nor `access` contains `private`.
///
/// ```
/// use lifeservice_access::filter::is_walkable;
/// assert!(is_walkable([("highway", "residential")]));
/// assert!(!is_walkable([("highway", "motorway_link")]));
/// assert!(!is_walkable([("highway", "footway"), ("access", "private")]));
/// ```
pub fn is_walkable<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let mut has_highway = false;
    for (key, value) in tags {
        let rejected = match key {
            "highway" => {
                has_highway = true;
                EXCLUDED_HIGHWAY.iter().any(|word| value.contains(word))
            }
            "area" => value.contains("yes"),
            "foot" => value.contains("no"),
            "service" | "access" => value.contains("private"),
            _ => false,
        };
        if rejected {
            return false;
        }
    }
    has_highway
}

#[cfg(test)]
mod tests {
    use super::is_walkable;

    #[test]
    fn accepts_every_ordinary_walkable_highway() {
        for value in [
            "residential",
            "primary",
            "primary_link",
            "secondary",
            "tertiary",
            "trunk",
            "unclassified",
            "service",
            "footway",
            "pedestrian",
            "path",
            "steps",
            "living_street",
            "track",
            "corridor",
            "bridleway",
        ] {
            assert!(is_walkable([("highway", value)]), "{value}");
        }
    }

    #[test]
    fn rejects_every_excluded_highway_word() {
        for value in [
            "abandoned",
            "bus_guideway",
            "construction",
            "cycleway",
            "motorway",
            "motorway_link",
            "motor",
            "no",
            "planned",
            "platform",
            "proposed",
            "raceway",
            "razed",
        ] {
            assert!(!is_walkable([("highway", value)]), "{value}");
        }
    }

    #[test]
    fn rejects_ways_without_highway() {
        assert!(!is_walkable([("building", "yes")]));
        assert!(!is_walkable(std::iter::empty()));
    }

    #[test]
    fn rejects_areas_private_and_no_foot() {
        assert!(!is_walkable([("highway", "pedestrian"), ("area", "yes")]));
        assert!(!is_walkable([("highway", "primary"), ("foot", "no")]));
        assert!(!is_walkable([
            ("highway", "service"),
            ("service", "private")
        ]));
        assert!(!is_walkable([
            ("access", "private"),
            ("highway", "service")
        ]));
    }

    #[test]
    fn other_values_of_the_same_keys_pass() {
        assert!(is_walkable([("highway", "pedestrian"), ("area", "no")]));
        assert!(is_walkable([("highway", "primary"), ("foot", "yes")]));
        assert!(is_walkable([
            ("highway", "service"),
            ("service", "driveway")
        ]));
        assert!(is_walkable([
            ("highway", "service"),
            ("access", "permissive")
        ]));
    }

    #[test]
    fn substring_rule_matches_overpass() {
        // Overpass `!~` is unanchored, so these are rejected like in OSMnx.
        assert!(!is_walkable([("highway", "primary"), ("foot", "unknown")]));
        assert!(!is_walkable([
            ("highway", "service"),
            ("access", "private;customers")
        ]));
    }
}
