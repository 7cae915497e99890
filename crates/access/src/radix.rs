//! Radix sort of `(key, value)` pairs, for the big sorts of reading a PBF.

use rayon::prelude::*;

/// Bits of the key sorted per pass: 2048 counters stay in L1.
const DIGIT_BITS: u32 = 11;

/// Inputs at least this long are split by their top digit and the parts
/// sorted in parallel: a province's millions of node references would
/// otherwise be sorted by one thread.
const PARALLEL_LEN: usize = 1 << 16;

/// Sorts `items` by key, stably, with a least-significant-digit radix sort.
///
/// Each pass is two linear sweeps, and only as many passes run as the largest
/// key has digits (three for the ids or Hilbert keys of a city), where a
/// comparison sort made the node-id and Hilbert sorts a quarter of reading a
/// PBF. Long inputs are first scattered by their top digit, then each part is
/// sorted on the remaining digits in parallel.
pub(crate) fn radix_sort(items: &mut Vec<(u64, u32)>) {
    let max = items.iter().map(|item| item.0).max().unwrap_or(0);
    let bits = u64::BITS - max.leading_zeros();
    if items.len() < PARALLEL_LEN || bits <= DIGIT_BITS {
        sort_low_bits(items, bits);
        return;
    }
    let shift = bits - DIGIT_BITS;
    let mut sizes = vec![0usize; 1 << DIGIT_BITS];
    for item in items.iter() {
        sizes[(item.0 >> shift) as usize] += 1;
    }
    let mut next = starts(&sizes);
    let mut scattered = vec![(0, 0); items.len()];
    for &item in items.iter() {
        let d = (item.0 >> shift) as usize;
        scattered[next[d]] = item;
        next[d] += 1;
    }
    let mut parts = Vec::with_capacity(sizes.len());
    let mut rest = scattered.as_mut_slice();
    for &size in &sizes {
        let (part, tail) = rest.split_at_mut(size);
        parts.push(part);
        rest = tail;
    }
    // Keys within a part share their top digit.
    parts
        .into_par_iter()
        .for_each(|part| sort_low_bits(part, shift));
    *items = scattered;
}

/// Stable LSD radix sort on the low `bits` bits of the keys.
fn sort_low_bits(items: &mut [(u64, u32)], bits: u32) {
    let passes = bits.div_ceil(DIGIT_BITS);
    let mut scratch = vec![(0, 0); items.len()];
    {
        let (mut from, mut to) = (&mut *items, scratch.as_mut_slice());
        for pass in 0..passes {
            let shift = pass * DIGIT_BITS;
            let digit = |key: u64| (key >> shift) as usize & ((1 << DIGIT_BITS) - 1);
            let mut sizes = vec![0usize; 1 << DIGIT_BITS];
            for item in from.iter() {
                sizes[digit(item.0)] += 1;
            }
            let mut next = starts(&sizes);
            for &item in from.iter() {
                let d = digit(item.0);
                to[next[d]] = item;
                next[d] += 1;
            }
            std::mem::swap(&mut from, &mut to);
        }
    }
    if passes % 2 == 1 {
        items.copy_from_slice(&scratch);
    }
}

/// Start of each bucket given their sizes.
fn starts(sizes: &[usize]) -> Vec<usize> {
    let mut start = 0;
    sizes
        .iter()
        .map(|&size| {
            start += size;
            start - size
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    #[test]
    fn sorts_stably_like_the_standard_sort() {
        let mut rng = Rng::new(3);
        let cases = [
            (0, 1),
            (1, 1),
            (1000, 7),
            (5000, 1 << 20),
            (5000, u64::MAX),
            // Long enough for the parallel split.
            (PARALLEL_LEN + 7, 1 << 10),
            (3 * PARALLEL_LEN, 1 << 34),
            (3 * PARALLEL_LEN, u64::MAX),
        ];
        for (len, range) in cases {
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
