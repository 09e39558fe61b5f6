//! Gradient-boosted decision trees for binary classification: small, deterministic, pure
//! Rust, used by the DGA model.
//!
//! Training is histogram based (each feature cut into at most [`MAX_BINS`] quantile bins
//! once), with logistic loss, depth-limited trees grown level by level, shrinkage and L2
//! regularisation of leaf values (as in XGBoost/LightGBM). Everything is computed in a fixed
//! order with no randomness, so the same rows give the same forest.
//!
//! A prediction also yields each feature's contribution to the log-odds (the Saabas
//! attribution: along each tree's path, the change of the node value at a split is credited
//! to the split's feature), which is how alerts name the features that drove a score.

use std::fmt::Write as _;

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

/// One node: a split (`feature`, `threshold`, children) or a leaf (`feature == u16::MAX`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node {
    /// Feature index, `u16::MAX` for a leaf.
    pub feature: u16,
    /// Go left when `x[feature] < threshold`.
    pub threshold: f32,
    /// Index of the left child (the right one follows it).
    pub left: u32,
    /// The node's value (leaf output, or the weighted mean of its leaves for attribution).
    pub value: f32,
}

/// A forest: trees of nodes, summed with a base score.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Forest {
    /// Log-odds before any tree.
    pub base: f64,
    /// Trees, each a vector of nodes with the root first.
    pub trees: Vec<Vec<Node>>,
    /// Number of features.
    pub features: usize,
    /// When not 0, every tree is complete to this depth (leaves all at the bottom), so a
    /// prediction walks exactly `depth` nodes per tree without a data-dependent branch.
    pub depth: usize,
    /// The complete trees in heap order (children of `i` at `2i+1`, `2i+2`), one array per
    /// field, for prediction.
    flat: Option<Flat>,
}

/// Complete trees laid out for prediction.
#[derive(Clone, Debug, PartialEq, Default)]
struct Flat {
    feature: Vec<u16>,
    threshold: Vec<f32>,
    leaf: Vec<f32>,
}

impl Forest {
    /// The log-odds of `x`.
    #[inline]
    pub fn log_odds(&self, x: &[f64]) -> f64 {
        if let Some(flat) = &self.flat
            && x.len() <= 32
        {
            let mut xf = [0f32; 32];
            for (a, b) in xf.iter_mut().zip(x) {
                *a = *b as f32;
            }
            let internal = (1usize << self.depth) - 1;
            let leaves = internal + 1;
            let mut z = self.base;
            for t in 0..self.trees.len() {
                let nodes = t * internal;
                let mut i = 0usize;
                for _ in 0..self.depth {
                    let k = nodes + i;
                    let f = usize::from(flat.feature[k]) & 31;
                    i = 2 * i + 1 + usize::from(xf[f] >= flat.threshold[k]);
                }
                z += f64::from(flat.leaf[t * leaves + i - internal]);
            }
            return z;
        }
        let mut z = self.base;
        for tree in &self.trees {
            let mut i = 0usize;
            loop {
                let n = &tree[i];
                if n.feature == u16::MAX {
                    z += f64::from(n.value);
                    break;
                }
                let v = x.get(usize::from(n.feature)).copied().unwrap_or(0.0);
                i = n.left as usize + usize::from(v as f32 >= n.threshold);
            }
        }
        z
    }

    /// The log-odds of `x` and each feature's contribution to it (they sum to log-odds minus
    /// the base and the trees' root values).
    pub fn explain(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let mut contributions = vec![0.0; self.features];
        let mut z = self.base;
        for tree in &self.trees {
            let mut i = 0usize;
            z += f64::from(tree[0].value);
            loop {
                let n = &tree[i];
                if n.feature == u16::MAX {
                    break;
                }
                let v = x.get(usize::from(n.feature)).copied().unwrap_or(0.0);
                let next = n.left as usize + usize::from(v as f32 >= n.threshold);
                let delta = f64::from(tree[next].value) - f64::from(n.value);
                if let Some(c) = contributions.get_mut(usize::from(n.feature)) {
                    *c += delta;
                }
                z += delta;
                i = next;
            }
        }
        (z, contributions)
    }

    /// Writes the forest as text: `base B`, then per tree `tree`, then one node per line
    /// `feature threshold left value` (leaves have feature `-`).
    pub fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "forest {} {} {}",
            self.features,
            self.trees.len(),
            self.depth
        );
        let _ = writeln!(out, "base {}", self.base);
        for tree in &self.trees {
            let _ = writeln!(out, "tree {}", tree.len());
            for n in tree {
                if n.feature == u16::MAX {
                    let _ = writeln!(out, "- {}", n.value);
                } else {
                    let _ = writeln!(out, "{} {} {} {}", n.feature, n.threshold, n.left, n.value);
                }
            }
        }
    }

    /// Reads what [`Forest::write`] wrote, from lines (after the model's header). Returns
    /// the forest and the lines consumed, or the 0-based offset of a bad line.
    pub fn read<'a>(lines: &mut impl Iterator<Item = (usize, &'a str)>) -> Result<Self, usize> {
        let (n, head) = lines.next().ok_or(0usize)?;
        let mut f = head.split_whitespace();
        if f.next() != Some("forest") {
            return Err(n);
        }
        let features: usize = f.next().and_then(|v| v.parse().ok()).ok_or(n)?;
        let count: usize = f.next().and_then(|v| v.parse().ok()).ok_or(n)?;
        let depth: usize = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let (n, base_line) = lines.next().ok_or(n)?;
        let base: f64 = base_line
            .strip_prefix("base ")
            .and_then(|v| v.trim().parse().ok())
            .ok_or(n)?;
        let mut trees = Vec::with_capacity(count.min(10_000));
        for _ in 0..count {
            let (n, t) = lines.next().ok_or(n)?;
            let size: usize = t
                .strip_prefix("tree ")
                .and_then(|v| v.trim().parse().ok())
                .ok_or(n)?;
            let mut tree = Vec::with_capacity(size.min(1 << 16));
            for _ in 0..size {
                let (n, line) = lines.next().ok_or(n)?;
                let parts: Vec<&str> = line.split_whitespace().collect();
                let node = match parts[..] {
                    ["-", v] => Node {
                        feature: u16::MAX,
                        threshold: 0.0,
                        left: 0,
                        value: v.parse().map_err(|_| n)?,
                    },
                    [f, t, l, v] => Node {
                        feature: f.parse().map_err(|_| n)?,
                        threshold: t.parse().map_err(|_| n)?,
                        left: l.parse().map_err(|_| n)?,
                        value: v.parse().map_err(|_| n)?,
                    },
                    _ => return Err(n),
                };
                tree.push(node);
            }
            // Children must exist and point forward, so prediction cannot loop or panic.
            for (i, node) in tree.iter().enumerate() {
                if node.feature != u16::MAX
                    && (node.left as usize <= i
                        || node.left as usize + 1 >= tree.len()
                        || usize::from(node.feature) >= features)
                {
                    return Err(n);
                }
            }
            if tree.is_empty() {
                return Err(n);
            }
            trees.push(tree);
        }
        let mut forest = Forest {
            base,
            trees,
            features,
            depth,
            flat: None,
        };
        if depth > 0 && !forest.is_complete() {
            return Err(n);
        }
        forest.flatten();
        Ok(forest)
    }

    /// Lays complete trees out in heap order (see `flat`).
    fn flatten(&mut self) {
        if self.depth == 0 || self.depth > 16 || self.features > 32 {
            self.flat = None;
            return;
        }
        let internal = (1usize << self.depth) - 1;
        let mut flat = Flat {
            feature: Vec::with_capacity(self.trees.len() * internal),
            threshold: Vec::with_capacity(self.trees.len() * internal),
            leaf: Vec::with_capacity(self.trees.len() * (internal + 1)),
        };
        for tree in &self.trees {
            // Breadth first over the complete tree: position p holds heap index p.
            let mut level = vec![0usize];
            for _ in 0..self.depth {
                let mut next = Vec::with_capacity(level.len() * 2);
                for &i in &level {
                    let n = tree[i];
                    flat.feature.push(n.feature);
                    flat.threshold.push(n.threshold);
                    next.push(n.left as usize);
                    next.push(n.left as usize + 1);
                }
                level = next;
            }
            for &i in &level {
                flat.leaf.push(tree[i].value);
            }
        }
        self.flat = Some(flat);
    }

    /// True when every path from every root has exactly `depth` splits.
    fn is_complete(&self) -> bool {
        self.trees.iter().all(|tree| {
            let mut level = vec![0usize];
            for _ in 0..self.depth {
                let mut next = Vec::with_capacity(level.len() * 2);
                for &i in &level {
                    match tree.get(i) {
                        Some(n) if n.feature != u16::MAX => {
                            next.push(n.left as usize);
                            next.push(n.left as usize + 1);
                        }
                        _ => return false,
                    }
                }
                level = next;
            }
            level
                .iter()
                .all(|&i| tree.get(i).is_some_and(|n| n.feature == u16::MAX))
        })
    }

    /// Makes every tree complete to `depth`: a leaf above the bottom becomes a split that
    /// always goes left (threshold +inf) onto two copies of itself, which changes no
    /// prediction and no attribution (the value does not change along the path).
    fn complete(&mut self, depth: usize) {
        for tree in &mut self.trees {
            let mut level = vec![0usize];
            for _ in 0..depth {
                let mut next = Vec::with_capacity(level.len() * 2);
                for &i in &level {
                    if tree[i].feature == u16::MAX {
                        let leaf = tree[i];
                        let left = tree.len();
                        tree.push(leaf);
                        tree.push(leaf);
                        tree[i] = Node {
                            feature: 0,
                            threshold: f32::INFINITY,
                            left: left as u32,
                            value: leaf.value,
                        };
                    }
                    next.push(tree[i].left as usize);
                    next.push(tree[i].left as usize + 1);
                }
                level = next;
            }
        }
        self.depth = depth;
        self.flatten();
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
    let mut forest = Forest {
        base,
        trees,
        features: nf,
        depth: 0,
        flat: None,
    };
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
