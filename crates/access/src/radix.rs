//! Radix sort of `(key, value)` pairs, for the big sorts of reading a PBF.

/// Bits of the key sorted per pass: 2048 counters stay in L1.
const DIGIT_BITS: u32 = 11;

/// Sorts `items` by key, stably, with a least-significant-digit radix sort.
///
/// Each pass is two linear sweeps, and only as many passes run as the largest
/// key has digits (three for the ids or Hilbert keys of a city), where a
/// comparison sort made the node-id and Hilbert sorts a quarter of reading a
/// PBF.
pub(crate) fn radix_sort(items: &mut Vec<(u64, u32)>) {
    let max = items.iter().map(|item| item.0).max().unwrap_or(0);
    let passes = (u64::BITS - max.leading_zeros()).div_ceil(DIGIT_BITS);
    let mut scratch = vec![(0, 0); items.len()];
    for pass in 0..passes {
        let shift = pass * DIGIT_BITS;
        let digit = |key: u64| (key >> shift) as usize & ((1 << DIGIT_BITS) - 1);
        let mut next = vec![0usize; 1 << DIGIT_BITS];
        for item in items.iter() {
            next[digit(item.0)] += 1;
        }
        let mut start = 0;
        for slot in &mut next {
            (*slot, start) = (start, start + *slot);
        }
        for &item in items.iter() {
            let d = digit(item.0);
            scratch[next[d]] = item;
            next[d] += 1;
        }
        std::mem::swap(items, &mut scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    #[test]
    fn sorts_stably_like_the_standard_sort() {
        let mut rng = Rng::new(3);
        for (len, range) in [(0, 1), (1, 1), (1000, 7), (5000, 1 << 20), (5000, u64::MAX)] {
            let items: Vec<(u64, u32)> = (0..len)
                .map(|i| ((rng.next_f64() * range as f64) as u64, i as u32))
                .collect();
            let mut expected = items.clone();
            expected.sort_by_key(|item| item.0);
            let mut sorted = items;
            radix_sort(&mut sorted);
            assert_eq!(sorted, expected);
        }
    }
}
