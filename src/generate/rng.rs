//! The generator's pseudo-random stream: SplitMix64 and the draws made from it.

/// SplitMix64 (Steele, Lea and Flood, 2014). In-house rather than the `rand`
/// crate so that a seed names the same corpus across crate upgrades: tests and
/// benchmark results quote seeds.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

pub(super) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x7EA1_106E_u64))
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-40
    /// for the small `n` used here).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(super) fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }

    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `per_mille / 1000`.
    pub(super) fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Index drawn with the given weights.
    pub(super) fn weighted(&mut self, weights: &[u32]) -> usize {
        self.weighted_index(weights.iter().copied())
    }

    /// A row of `table` drawn by its weight (the first of each pair).
    pub(super) fn pick_weighted<'a, T>(&mut self, table: &'a [(u32, T)]) -> &'a T {
        &table[self.weighted_index(table.iter().map(|row| row.0))].1
    }

    fn weighted_index(&mut self, weights: impl Iterator<Item = u32> + Clone) -> usize {
        let total: u64 = weights.clone().map(u64::from).sum();
        let mut r = self.below(total);
        let mut last = 0;
        for (i, w) in weights.enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
            last = i;
        }
        last
    }
}
