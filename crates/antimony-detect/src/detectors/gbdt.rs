//! Gradient-boosted decision trees for binary classification: the forest a DGA model file
//! holds, its text form and its prediction. Training is in the `antimony-lab` crate
//! (`antimony_lab::gbdt`), which builds a [`Forest`] with [`Forest::new`] and
//! [`Forest::complete`].
//!
//! A prediction also yields each feature's contribution to the log-odds (the Saabas
//! attribution: along each tree's path, the change of the node value at a split is credited
//! to the split's feature), which is how alerts name the features that drove a score.

use std::fmt::Write as _;

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
    /// A forest of `trees` over `features` features, summed with `base`; its trees are
    /// walked node by node until [`complete`](Forest::complete) lays them out for prediction.
    pub fn new(base: f64, trees: Vec<Vec<Node>>, features: usize) -> Self {
        Forest {
            base,
            trees,
            features,
            depth: 0,
            flat: None,
        }
    }

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
    pub fn complete(&mut self, depth: usize) {
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
