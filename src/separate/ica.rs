//! Sparse ICA of one frequency channel by quasi maximum likelihood, solved
//! with the relative Newton method ("Blind source separation with relative
//! Newton method", ICA 2003).
//!
//! The channel's samples x(n) in C^2 mix two sources by a real 2x2 matrix
//! (zero-phase blurs), so the unmixing W is real and minimizes
//! `-log|det W| + mean_n sum_k phi(|(W x(n))_k|)` with the smoothed absolute
//! value `phi(r) = sqrt(r^2 + eps^2)`. Each step works in relative
//! coordinates: with u = W x, it finds V = I + D minimizing the same loss of
//! V u, by a Newton step on the four entries of D, and sets W <- V W.

use rustfft::num_complex::Complex32;

/// The smoothing of |.|, from coarse to fine (sources are scaled to a mean
/// modulus near 1 by the likelihood, so these are fractions of that).
const SMOOTHING: [f64; 2] = [0.3, 0.03];
/// Newton steps per smoothing level at most.
const MAX_STEPS: usize = 25;
/// Stop when the largest gradient entry is below this.
const GRADIENT_TOLERANCE: f64 = 1e-6;

/// The unmixing of one channel and how well its entries are determined.
#[derive(Clone, Copy, Debug)]
pub struct Unmixing {
    /// W: rows give the two outputs (in the mixtures' scale).
    pub matrix: [[f64; 2]; 2],
    /// Variances of the relative update's off-diagonal entries D[0][1] and
    /// D[1][0] at the optimum (sandwich estimate, over the sample count):
    /// how far each output row may turn towards the other.
    pub turn_variance: [f64; 2],
}

/// The relative-coordinate loss, gradient and Hessian at V = I for sources
/// `u` (entries indexed 2k + j for D[k][j]).
struct Local {
    loss: f64,
    gradient: [f64; 4],
    hessian: [[f64; 4]; 4],
    /// Mean outer product of the per-sample gradients (for the sandwich).
    scatter: [[f64; 4]; 4],
}

/// `with_scatter` adds the per-sample gradients' scatter (only needed once,
/// at the optimum).
fn local(u: &[[Complex32; 2]], eps: f64, with_scatter: bool) -> Local {
    let mut loss = 0.0;
    let mut gradient = [0.0; 4];
    let mut hessian = [[0.0; 4]; 4];
    let mut scatter = [[0.0; 4]; 4];
    for s in u {
        let z = [(s[0].re as f64, s[0].im as f64), (s[1].re as f64, s[1].im as f64)];
        // m[j][l] = Re(u_j conj u_l)
        let m = |j: usize, l: usize| z[j].0 * z[l].0 + z[j].1 * z[l].1;
        let mut g = [0.0; 4];
        for k in 0..2 {
            let phi = (m(k, k) + eps * eps).sqrt();
            loss += phi;
            for j in 0..2 {
                g[2 * k + j] = m(j, k) / phi;
                for l in 0..2 {
                    hessian[2 * k + j][2 * k + l] += m(j, l) / phi - m(j, k) * m(l, k) / (phi * phi * phi);
                }
            }
        }
        g[0] -= 1.0;
        g[3] -= 1.0;
        for p in 0..4 {
            gradient[p] += g[p];
            if with_scatter {
                for q in 0..4 {
                    scatter[p][q] += g[p] * g[q];
                }
            }
        }
    }
    let n = u.len() as f64;
    for p in 0..4 {
        gradient[p] /= n;
        for q in 0..4 {
            hessian[p][q] /= n;
            scatter[p][q] /= n;
        }
    }
    // -log|det(I + D)| = -tr D + tr(D^2) / 2 + ...: couples D[k][j] with D[j][k].
    hessian[0][0] += 1.0;
    hessian[3][3] += 1.0;
    hessian[1][2] += 1.0;
    hessian[2][1] += 1.0;
    Local {
        loss: loss / n,
        gradient,
        hessian,
        scatter,
    }
}

/// Loss of the relative update V applied to u (`-log|det V|` plus the
/// mean smoothed moduli).
fn relative_loss(u: &[[Complex32; 2]], v: [[f64; 2]; 2], eps: f64) -> f64 {
    let det = v[0][0] * v[1][1] - v[0][1] * v[1][0];
    if det == 0.0 || !det.is_finite() {
        return f64::INFINITY;
    }
    let mut sum = 0.0;
    for s in u {
        for row in &v {
            let re = row[0] * s[0].re as f64 + row[1] * s[1].re as f64;
            let im = row[0] * s[0].im as f64 + row[1] * s[1].im as f64;
            sum += (re * re + im * im + eps * eps).sqrt();
        }
    }
    sum / u.len() as f64 - det.abs().ln()
}

/// Solves `a x = b` for symmetric positive definite `a` by Cholesky; `None`
/// when `a` is not positive definite.
fn cholesky_solve(a: &[[f64; 4]; 4], b: &[f64; 4]) -> Option<[f64; 4]> {
    let mut l = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 1e-12 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = [0.0; 4];
    for i in 0..4 {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 4];
    for i in (0..4).rev() {
        x[i] = (y[i] - (i + 1..4).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

fn apply(w: [[f64; 2]; 2], x1: &[Complex32], x2: &[Complex32], out: &mut [[Complex32; 2]]) {
    let w = w.map(|r| r.map(|v| v as f32));
    for ((o, a), b) in out.iter_mut().zip(x1).zip(x2) {
        *o = [a * w[0][0] + b * w[0][1], a * w[1][0] + b * w[1][1]];
    }
}

/// Separates one channel whose samples of the two mixtures are `x1`, `x2`.
/// Starts from the identity (each mixture mostly holds its own source), so
/// the outputs keep the mixtures' order unless the data insist. `None` when
/// the channel holds no signal or the optimum is degenerate.
pub fn separate_channel(x1: &[Complex32], x2: &[Complex32]) -> Option<Unmixing> {
    let n = x1.len();
    if n < 8 {
        return None;
    }
    let power: f64 = x1.iter().chain(x2).map(|v| v.norm_sqr() as f64).sum::<f64>() / (2 * n) as f64;
    if !(power > 0.0 && power.is_finite()) {
        return None;
    }
    let scale = 1.0 / power.sqrt();
    let mut w = [[scale, 0.0], [0.0, scale]];
    let mut u = vec![[Complex32::default(); 2]; n];
    for eps in SMOOTHING {
        for _ in 0..MAX_STEPS {
            apply(w, x1, x2, &mut u);
            let here = local(&u, eps, false);
            if here.gradient.iter().all(|g| g.abs() < GRADIENT_TOLERANCE) {
                break;
            }
            // Newton direction, damped towards gradient descent until the
            // Hessian is positive definite.
            let minus_gradient = here.gradient.map(|g| -g);
            let mut damping = 0.0;
            let step = loop {
                let mut h = here.hessian;
                for (p, row) in h.iter_mut().enumerate() {
                    row[p] += damping;
                }
                if let Some(d) = cholesky_solve(&h, &minus_gradient) {
                    break d;
                }
                damping = if damping == 0.0 { 1e-6 } else { damping * 10.0 };
                if damping > 1e6 {
                    return None;
                }
            };
            let slope: f64 = step.iter().zip(&here.gradient).map(|(d, g)| d * g).sum();
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..30 {
                let v = [[1.0 + t * step[0], t * step[1]], [t * step[2], 1.0 + t * step[3]]];
                if relative_loss(&u, v, eps) <= here.loss + 1e-4 * t * slope {
                    accepted = Some(v);
                    break;
                }
                t *= 0.5;
            }
            let Some(v) = accepted else { break };
            w = [
                [
                    v[0][0] * w[0][0] + v[0][1] * w[1][0],
                    v[0][0] * w[0][1] + v[0][1] * w[1][1],
                ],
                [
                    v[1][0] * w[0][0] + v[1][1] * w[1][0],
                    v[1][0] * w[0][1] + v[1][1] * w[1][1],
                ],
            ];
        }
    }
    apply(w, x1, x2, &mut u);
    let last = local(&u, *SMOOTHING.last().unwrap_or(&0.03), true);
    let turn_variance = sandwich_turn_variance(&last, n)?;
    let finite = w.iter().flatten().all(|v| v.is_finite());
    let det = w[0][0] * w[1][1] - w[0][1] * w[1][0];
    (finite && det.abs() > 0.0).then_some(Unmixing {
        matrix: w,
        turn_variance,
    })
}

/// Var(D01), Var(D10) from the sandwich H^-1 S H^-1 / n.
fn sandwich_turn_variance(at: &Local, n: usize) -> Option<[f64; 2]> {
    let mut inverse = [[0.0; 4]; 4];
    for (p, column) in inverse.iter_mut().enumerate() {
        let mut e = [0.0; 4];
        e[p] = 1.0;
        *column = cholesky_solve(&at.hessian, &e)?;
    }
    let variance = |p: usize| {
        let row = inverse[p];
        let mut v = 0.0;
        for a in 0..4 {
            for b in 0..4 {
                v += row[a] * at.scatter[a][b] * row[b];
            }
        }
        v / n as f64
    };
    Some([variance(1), variance(2)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Laplacian-like complex samples from a fixed-seed generator.
    fn sparse_sources(n: usize, seed: u64) -> Vec<Complex32> {
        let mut state = seed;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let modulus = -uniform().ln() * -uniform().ln();
                let angle = std::f64::consts::TAU * uniform();
                Complex32::new((modulus * angle.cos()) as f32, (modulus * angle.sin()) as f32)
            })
            .collect()
    }

    #[test]
    fn recovers_a_real_mixture_of_sparse_complex_sources() {
        let (a12, a21) = (0.7f32, 0.35f32);
        let s1 = sparse_sources(4000, 1);
        let s2 = sparse_sources(4000, 2);
        let x1: Vec<_> = s1.iter().zip(&s2).map(|(a, b)| a + b * a12).collect();
        let x2: Vec<_> = s1.iter().zip(&s2).map(|(a, b)| a * a21 + b).collect();
        let w = separate_channel(&x1, &x2).unwrap().matrix;
        let est12 = -w[0][1] / w[0][0];
        let est21 = -w[1][0] / w[1][1];
        assert!((est12 - a12 as f64).abs() < 0.03, "a12 {est12}");
        assert!((est21 - a21 as f64).abs() < 0.03, "a21 {est21}");
    }
}

/// One channel's cross gains: a12 (how much of source 2 mixture 1 holds)
/// and a21, each with its variance.
#[derive(Clone, Copy, Debug)]
pub struct CrossGains {
    pub a12: f64,
    pub a12_variance: f64,
    pub a21: f64,
    pub a21_variance: f64,
}

impl Unmixing {
    /// W is proportional to A^-1 = [[1, -a12], [-a21, 1]] / det up to the order and
    /// scale of its rows: source 1's row weighs mixture 1 more (|a12| < 1),
    /// source 2's row mixture 2. `None` when both rows lean the same way (the
    /// channel's mixture is too near singular to tell the sources apart).
    pub fn cross_gains(&self) -> Option<CrossGains> {
        let w = self.matrix;
        let leans_first = |r: usize| w[r][0].abs() > w[r][1].abs();
        let (one, two) = match (leans_first(0), leans_first(1)) {
            (true, false) => (0, 1),
            (false, true) => (1, 0),
            _ => return None,
        };
        let det = w[0][0] * w[1][1] - w[0][1] * w[1][0];
        // Delta method: turning row r by D (row_r += D row_other) moves its
        // gain by det / w_r^2 (up to sign) per unit of D.
        let turn_variance = |row: usize| self.turn_variance[if row == 0 { 0 } else { 1 }];
        let a12 = -w[one][1] / w[one][0];
        let a21 = -w[two][0] / w[two][1];
        let a12_variance = (det / (w[one][0] * w[one][0])).powi(2) * turn_variance(one);
        let a21_variance = (det / (w[two][1] * w[two][1])).powi(2) * turn_variance(two);
        let all = [a12, a21, a12_variance, a21_variance];
        all.iter().all(|v| v.is_finite()).then_some(CrossGains {
            a12,
            a12_variance,
            a21,
            a21_variance,
        })
    }
}
