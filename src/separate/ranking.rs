//! Ranks frequency channels by how much sparser the separation made them:
//! the L1 criterion of the paper in a scale-invariant form.
//!
//! For a signal y, `mean|y| / sqrt(mean|y|^2)` is 1 for a constant modulus
//! and small for a sparse signal, whatever y's scale. A channel's score is
//! the sum of this ratio over the two outputs over the same sum over the two
//! mixtures: below 1 when separating made the channel sparser (mixing adds
//! independent sources, which is never sparser), near 1 when it did not.

use rustfft::num_complex::Complex32;

/// `mean|y| / sqrt(mean|y|^2)`, or 1 for an all-zero signal.
pub fn l1_ratio(samples: impl Iterator<Item = Complex32> + Clone) -> f64 {
    let (mut l1, mut l2, mut n) = (0.0f64, 0.0f64, 0usize);
    for v in samples {
        l1 += v.norm() as f64;
        l2 += v.norm_sqr() as f64;
        n += 1;
    }
    if l2 <= 0.0 || n == 0 {
        return 1.0;
    }
    (l1 / n as f64) / (l2 / n as f64).sqrt()
}

/// The channel's score (lower is better) for unmixing `w` of mixtures `x1`, `x2`.
pub fn score(x1: &[Complex32], x2: &[Complex32], w: [[f64; 2]; 2]) -> f64 {
    let mixtures = l1_ratio(x1.iter().copied()) + l1_ratio(x2.iter().copied());
    let w = w.map(|r| r.map(|v| v as f32));
    let output = |k: usize| x1.iter().zip(x2).map(move |(a, b)| a * w[k][0] + b * w[k][1]);
    let outputs = l1_ratio(output(0)) + l1_ratio(output(1));
    outputs / mixtures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_signals_have_small_ratios_whatever_their_scale() {
        let sparse: Vec<Complex32> = (0..1000)
            .map(|i| Complex32::new(if i % 50 == 0 { 1.0 } else { 0.0 }, 0.0))
            .collect();
        let dense: Vec<Complex32> = (0..1000).map(|i| Complex32::new((i as f32).sin(), 1.0)).collect();
        let scaled: Vec<Complex32> = sparse.iter().map(|v| v * 1000.0).collect();
        assert!(l1_ratio(sparse.iter().copied()) < 0.2);
        assert!(l1_ratio(dense.iter().copied()) > 0.8);
        assert!((l1_ratio(sparse.iter().copied()) - l1_ratio(scaled.iter().copied())).abs() < 1e-9);
    }

    #[test]
    fn unmixing_two_sparse_signals_scores_below_one() {
        let s1: Vec<Complex32> = (0..1000)
            .map(|i| Complex32::new(if i % 37 == 0 { 1.0 } else { 0.0 }, 0.0))
            .collect();
        let s2: Vec<Complex32> = (0..1000)
            .map(|i| Complex32::new(0.0, if i % 41 == 3 { 1.0 } else { 0.0 }))
            .collect();
        let x1: Vec<_> = s1.iter().zip(&s2).map(|(a, b)| a + b * 0.5).collect();
        let x2: Vec<_> = s1.iter().zip(&s2).map(|(a, b)| a * 0.5 + b).collect();
        // The exact inverse of [[1, .5], [.5, 1]] (up to scale).
        let good = score(&x1, &x2, [[1.0, -0.5], [-0.5, 1.0]]);
        let identity = score(&x1, &x2, [[1.0, 0.0], [0.0, 1.0]]);
        assert!(good < 0.8, "{good}");
        assert!((identity - 1.0).abs() < 1e-9);
    }
}
