//! Trend warnings for the plan office (趋势预警): an indicator moving against
//! the direction its target needs, and counties falling behind their peers.
//! Pure rules over numbers, so each is tested on its own.

use super::indicators::Direction;

/// How many recent periods a trend is judged over.
pub const TREND_PERIODS: usize = 4;

/// The rules in words, shown under every list of warnings.
pub const RULE_TEXT: &str = "规则：主要指标近4期的最小二乘趋势与目标方向相反且末期差于首期；或县（市、区）指标落在同级地区四分位数 1.5 倍四分位距以外（Tukey 规则）。";

/// The least-squares slope per period of the last [`TREND_PERIODS`] values
/// when it points the wrong way for `direction` and the last value is worse
/// than the first of them; `None` when the trend is fine or too short.
pub fn against_target(values: &[f64], direction: Direction) -> Option<f64> {
    if values.len() < TREND_PERIODS {
        return None;
    }
    let recent = &values[values.len() - TREND_PERIODS..];
    let n = recent.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = recent.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in recent.iter().enumerate() {
        num += (i as f64 - mean_x) * (y - mean_y);
        den += (i as f64 - mean_x).powi(2);
    }
    let slope = num / den;
    let worse = match direction {
        Direction::Up => slope < 0.0 && recent[recent.len() - 1] < recent[0],
        Direction::Down => slope > 0.0 && recent[recent.len() - 1] > recent[0],
    };
    worse.then_some(slope)
}

/// Peers outside Tukey's fence on the bad side (below Q1 − 1.5·IQR when up is
/// good, above Q3 + 1.5·IQR when down is good), with the fence. Needs five
/// peers or more, and a spread: when the middle half of the peers share one
/// value (most counties with no penalty in a quarter), the fence is that
/// value and every county off it would be named.
pub fn behind_peers(
    values: &[(String, f64)],
    direction: Direction,
) -> Option<(f64, Vec<&(String, f64)>)> {
    if values.len() < 5 {
        return None;
    }
    let mut sorted: Vec<f64> = values.iter().map(|(_, v)| *v).collect();
    sorted.sort_by(f64::total_cmp);
    let (q1, q3) = (quantile(&sorted, 0.25), quantile(&sorted, 0.75));
    let iqr = q3 - q1;
    if iqr <= 0.0 {
        return None;
    }
    let fence = match direction {
        Direction::Up => q1 - 1.5 * iqr,
        Direction::Down => q3 + 1.5 * iqr,
    };
    let behind = values
        .iter()
        .filter(|(_, v)| match direction {
            Direction::Up => *v < fence,
            Direction::Down => *v > fence,
        })
        .collect();
    Some((fence, behind))
}

/// Linear interpolation between closest ranks (type 7, as numpy and R).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_falling_stock_warns_and_a_rising_one_does_not() {
        assert!(against_target(&[10.0, 12.0, 11.0, 9.0, 8.0], Direction::Up).is_some());
        assert!(against_target(&[8.0, 9.0, 11.0, 12.0], Direction::Up).is_none());
        assert!(against_target(&[1.0, 2.0, 3.0, 4.0], Direction::Down).is_some());
        assert!(
            against_target(&[5.0, 4.0], Direction::Up).is_none(),
            "too short"
        );
    }

    #[test]
    fn a_noisy_but_recovering_series_does_not_warn() {
        // Slope down, but the last value is back above the first.
        assert!(against_target(&[10.0, 6.0, 5.0, 10.5], Direction::Up).is_none());
    }

    #[test]
    fn quantiles_match_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.25, 0.75]) == [2, 4]
        let s = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile(&s, 0.25), 2.0);
        assert_eq!(quantile(&s, 0.75), 4.0);
        assert_eq!(quantile(&[1.0, 2.0], 0.5), 1.5);
    }

    #[test]
    fn no_spread_names_no_one() {
        let mut values: Vec<(String, f64)> = (0..20).map(|i| (format!("c{i}"), 0.0)).collect();
        values.push(("penalised".into(), 27.3));
        assert!(behind_peers(&values, Direction::Down).is_none());
    }

    #[test]
    fn the_county_far_below_its_peers_is_named() {
        let peers: Vec<(String, f64)> = [5.0, 6.0, 5.5, 6.5, 5.8, -4.0]
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("c{i}"), *v))
            .collect();
        let (fence, behind) = behind_peers(&peers, Direction::Up).unwrap();
        assert!(fence < 5.0);
        assert_eq!(behind.len(), 1);
        assert_eq!(behind[0].0, "c5");
        let (_, behind) = behind_peers(&peers, Direction::Down).unwrap();
        assert!(behind.is_empty(), "nobody is far above");
        assert!(behind_peers(&peers[..4], Direction::Up).is_none());
    }
}
