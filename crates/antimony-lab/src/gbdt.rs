//! Training gradient-boosted decision trees for binary classification: small, deterministic,
//! pure Rust, used to train the DGA model. The forest it returns, and its prediction, are
//! [`antimony_detect::detectors::gbdt`]'s.
//!
//! Training is histogram based (each feature cut into at most [`MAX_BINS`] quantile bins
//! once), with logistic loss, depth-limited trees grown level by level, shrinkage and L2
//! regularisation of leaf values (as in XGBoost/LightGBM). Everything is computed in a fixed
//! order with no randomness, so the same rows give the same forest.

use antimony_detect::detectors::gbdt::{Forest, Node};

/// Most bins per feature.
pub const MAX_BINS: usize = 64;

/// Training settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Trees.
    pub rounds: usize,
    /// Depth of each tree (leaves = 2^depth at most).
    pub depth: usize,
    /// Shrinkage.
    pub learning_rate: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Least hessian weight in a child.
    pub min_child_weight: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            rounds: 120,
            depth: 4,
            learning_rate: 0.15,
            lambda: 1.0,
            min_child_weight: 2.0,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Bin edges of one feature: up to `MAX_BINS - 1` quantile cut points (distinct).
fn edges(values: &mut [f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = Vec::new();
    for k in 1..MAX_BINS {
        let v = values[(k * values.len()) / MAX_BINS];
        if out.last().is_none_or(|&last| v > last) {
            out.push(v);
        }
    }
    out.retain(|&v| v > values[0]);
    out
}

/// Trains a forest on rows of features with labels (true = positive) and weights.
pub fn train(rows: &[Vec<f64>], labels: &[bool], weights: &[f64], params: &Params) -> Forest {
    let n = rows.len();
    let nf = rows.first().map_or(0, Vec::len);
    // Bin every feature once.
    let mut cuts: Vec<Vec<f64>> = Vec::with_capacity(nf);
    let mut bins: Vec<Vec<u8>> = Vec::with_capacity(nf);
    for f in 0..nf {
        let mut col: Vec<f64> = rows.iter().map(|r| r[f]).collect();
        let e = edges(&mut col);
        let b: Vec<u8> = rows
            .iter()
            .map(|r| e.partition_point(|&c| c <= r[f]) as u8)
            .collect();
        cuts.push(e);
        bins.push(b);
    }
    let pos: f64 = labels
        .iter()
        .zip(weights)
        .filter(|(y, _)| **y)
        .map(|(_, w)| w)
        .sum();
    let total: f64 = weights.iter().sum();
    let p0 = (pos / total.max(1e-12)).clamp(1e-6, 1.0 - 1e-6);
    let base = (p0 / (1.0 - p0)).ln();
    let mut score = vec![base; n];
    let mut trees = Vec::with_capacity(params.rounds);
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut node_of = vec![0u32; n];
    for _ in 0..params.rounds {
        for i in 0..n {
            let p = sigmoid(score[i]);
            let y = if labels[i] { 1.0 } else { 0.0 };
            grad[i] = weights[i] * (p - y);
            hess[i] = weights[i] * (p * (1.0 - p)).max(1e-12);
        }
        // Grow level by level. Nodes are numbered in a breadth-first array; `open` lists the
        // nodes of the current level that may split.
        let mut tree: Vec<Node> = vec![Node {
            feature: u16::MAX,
            threshold: 0.0,
            left: 0,
            value: 0.0,
        }];
        let mut sums: Vec<(f64, f64)> = vec![(grad.iter().sum(), hess.iter().sum())];
        node_of.iter_mut().for_each(|v| *v = 0);
        let mut open: Vec<usize> = vec![0];
        for _level in 0..params.depth {
            if open.is_empty() {
                break;
            }
            // Histograms: per open node, per feature, per bin: (g, h).
            let slot: std::collections::HashMap<usize, usize> = open
                .iter()
                .enumerate()
                .map(|(k, &node)| (node, k))
                .collect();
            let mut hist = vec![(0.0f64, 0.0f64); open.len() * nf * MAX_BINS];
            for i in 0..n {
                let Some(&k) = slot.get(&(node_of[i] as usize)) else {
                    continue;
                };
                for f in 0..nf {
                    let h = &mut hist[(k * nf + f) * MAX_BINS + usize::from(bins[f][i])];
                    h.0 += grad[i];
                    h.1 += hess[i];
                }
            }
            let mut next_open = Vec::new();
            let mut splits: Vec<(usize, usize, usize)> = Vec::new(); // (node, feature, bin)
            for (k, &node) in open.iter().enumerate() {
                let (g, h) = sums[node];
                let parent = g * g / (h + params.lambda);
                let mut best: Option<(f64, usize, usize)> = None;
                for f in 0..nf {
                    let (mut gl, mut hl) = (0.0, 0.0);
                    for b in 0..cuts[f].len() {
                        let (bg, bh) = hist[(k * nf + f) * MAX_BINS + b];
                        gl += bg;
                        hl += bh;
                        let (gr, hr) = (g - gl, h - hl);
                        if hl < params.min_child_weight || hr < params.min_child_weight {
                            continue;
                        }
                        let gain = gl * gl / (hl + params.lambda) + gr * gr / (hr + params.lambda)
                            - parent;
                        if gain > 1e-9 && best.is_none_or(|(bgain, _, _)| gain > bgain) {
                            best = Some((gain, f, b));
                        }
                    }
                }
                if let Some((_, f, b)) = best {
                    splits.push((node, f, b));
                }
            }
            for &(node, f, b) in &splits {
                let left = tree.len();
                tree[node].feature = f as u16;
                // Bin b holds values < cuts[f][b]: left is bins 0..=b.
                tree[node].threshold = cuts[f][b] as f32;
                tree[node].left = left as u32;
                for _ in 0..2 {
                    tree.push(Node {
                        feature: u16::MAX,
                        threshold: 0.0,
                        left: 0,
                        value: 0.0,
                    });
                    sums.push((0.0, 0.0));
                }
                next_open.push(left);
                next_open.push(left + 1);
            }
            // Route rows and sum their gradients per child.
            let split_of: std::collections::HashMap<usize, (usize, usize)> =
                splits.iter().map(|&(node, f, b)| (node, (f, b))).collect();
            for i in 0..n {
                let node = node_of[i] as usize;
                if let Some(&(f, b)) = split_of.get(&node) {
                    let child = tree[node].left as usize + usize::from(usize::from(bins[f][i]) > b);
                    node_of[i] = child as u32;
                    sums[child].0 += grad[i];
                    sums[child].1 += hess[i];
                }
            }
            open = next_open;
        }
        for (k, node) in tree.iter_mut().enumerate() {
            let (g, h) = sums[k];
            node.value = (-g / (h + params.lambda) * params.learning_rate) as f32;
        }
        for i in 0..n {
            score[i] += f64::from(tree[node_of[i] as usize].value);
        }
        trees.push(tree);
    }
    let mut forest = Forest::new(base, trees, nf);
    forest.complete(params.depth);
    forest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_threshold_and_round_trips() {
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|i| vec![f64::from(i), f64::from(i % 7)])
            .collect();
        let labels: Vec<bool> = (0..400).map(|i| i >= 250).collect();
        let weights = vec![1.0; 400];
        let f = train(&rows, &labels, &weights, &Params::default());
        assert!(f.log_odds(&[300.0, 1.0]) > 2.0);
        assert!(f.log_odds(&[100.0, 1.0]) < -2.0);
        let (z, c) = f.explain(&[300.0, 1.0]);
        assert!((z - f.log_odds(&[300.0, 1.0])).abs() < 1e-4);
        assert!(c[0] > c[1].abs());
        let mut text = String::new();
        f.write(&mut text);
        let mut lines = text.lines().enumerate();
        let back = Forest::read(&mut lines).expect("parse");
        assert_eq!(back.trees.len(), f.trees.len());
        assert!((back.log_odds(&[300.0, 1.0]) - f.log_odds(&[300.0, 1.0])).abs() < 1e-4);
    }
}
