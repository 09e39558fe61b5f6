//! The logistic regression of the DGA model, fitted by Newton's method, and the linear
//! solver each Newton step needs.

// Numeric code indexing several parallel arrays by one index reads best as index loops.
#![allow(clippy::needless_range_loop)]

use antimony_detect::detectors::dga::features::{Features, NF};
use antimony_detect::detectors::dga::model::sigmoid;

/// Logistic regression by Newton's method with a small ridge penalty, classes weighted to
/// equal total weight. Returns (weights, bias).
pub fn fit_logistic(rows: &[(Features, bool)]) -> (Features, f64) {
    const D: usize = NF + 1;
    const RIDGE: f64 = 1e-3;
    let pos = rows.iter().filter(|(_, y)| *y).count().max(1) as f64;
    let neg = rows.iter().filter(|(_, y)| !y).count().max(1) as f64;
    let total = pos + neg;
    let mut beta = [0.0f64; D];
    for _ in 0..25 {
        let mut grad = [0.0f64; D];
        let mut hess = [[0.0f64; D]; D];
        for (f, y) in rows {
            let x: [f64; D] = std::array::from_fn(|i| if i < NF { f[i] } else { 1.0 });
            let z: f64 = (0..D).map(|i| beta[i] * x[i]).sum();
            let p = sigmoid(z);
            let w = if *y {
                total / (2.0 * pos)
            } else {
                total / (2.0 * neg)
            };
            let target = if *y { 1.0 } else { 0.0 };
            for i in 0..D {
                grad[i] += w * (p - target) * x[i];
                for j in 0..D {
                    hess[i][j] += w * p * (1.0 - p) * x[i] * x[j];
                }
            }
        }
        for i in 0..NF {
            grad[i] += RIDGE * total * beta[i];
            hess[i][i] += RIDGE * total;
        }
        let Some(step) = solve(hess, grad) else { break };
        let mut change = 0.0f64;
        for i in 0..D {
            beta[i] -= step[i];
            change = change.max(step[i].abs());
        }
        if change < 1e-10 {
            break;
        }
    }
    (std::array::from_fn(|i| beta[i]), beta[NF])
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when singular.
pub fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> Option<[f64; D]> {
    for col in 0..D {
        let pivot = (col..D).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..D {
            let factor = a[row][col] / a[col][col];
            for k in col..D {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; D];
    for row in (0..D).rev() {
        let s: f64 = (row + 1..D).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_fit_separates() {
        let rows: Vec<(Features, bool)> = (0..200)
            .map(|i| {
                let y = i % 2 == 0;
                let x = if y { 1.0 } else { -1.0 } + (i % 7) as f64 * 0.1;
                (std::array::from_fn(|j| if j == 0 { x } else { 0.0 }), y)
            })
            .collect();
        let (w, _) = fit_logistic(&rows);
        assert!(w[0] > 1.0, "{w:?}");
    }

    #[test]
    fn solve_small_system() {
        let x = solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0]).expect("regular");
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]).is_none());
    }
}
