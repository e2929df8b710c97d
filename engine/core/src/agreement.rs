//! How well automatic scores agree with human labels: the statistics an
//! evaluator needs to trust (or distrust) a scorer.

/// Ranks with ties sharing their average rank (1-based).
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = average;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        None
    } else {
        Some(sxy / (sxx * syy).sqrt())
    }
}

/// Spearman's rank correlation (Pearson over tie-averaged ranks). `None` when
/// either side is constant or there are fewer than two items.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len());
    pearson(&ranks(x), &ranks(y))
}

/// `k`×`k` confusion matrix: rows are labels, columns predictions.
pub fn confusion(labels: &[usize], predicted: &[usize], k: usize) -> Vec<Vec<u32>> {
    let mut m = vec![vec![0u32; k]; k];
    for (&l, &p) in labels.iter().zip(predicted) {
        m[l.min(k - 1)][p.min(k - 1)] += 1;
    }
    m
}

/// Cohen's kappa with quadratic weights over `k` ordered levels. `None` when
/// the expected disagreement is zero (e.g. one level only).
pub fn quadratic_weighted_kappa(labels: &[usize], predicted: &[usize], k: usize) -> Option<f64> {
    let n = labels.len() as f64;
    if labels.is_empty() || k < 2 {
        return None;
    }
    let observed = confusion(labels, predicted, k);
    let mut row = vec![0.0; k];
    let mut col = vec![0.0; k];
    for i in 0..k {
        for j in 0..k {
            row[i] += observed[i][j] as f64;
            col[j] += observed[i][j] as f64;
        }
    }
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let w = ((i as f64 - j as f64) / (k as f64 - 1.0)).powi(2);
            num += w * observed[i][j] as f64;
            den += w * row[i] * col[j] / n;
        }
    }
    if den == 0.0 {
        None
    } else {
        Some(1.0 - num / den)
    }
}

/// Of all pairs with different labels, the share the scores order the same
/// way (a score tie counts half).
pub fn pairwise_accuracy(labels: &[usize], scores: &[f64]) -> Option<f64> {
    let (mut agree, mut pairs) = (0.0, 0u64);
    for i in 0..labels.len() {
        for j in i + 1..labels.len() {
            if labels[i] == labels[j] {
                continue;
            }
            pairs += 1;
            let label_order = labels[i] < labels[j];
            if scores[i] == scores[j] {
                agree += 0.5;
            } else if (scores[i] < scores[j]) == label_order {
                agree += 1.0;
            }
        }
    }
    (pairs > 0).then(|| agree / pairs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_matches_hand_computed_values() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        // Ties: ranks x = [1.5, 1.5, 3], y = [1, 2, 3] -> r = 0.8660254
        let r = spearman(&[5.0, 5.0, 7.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!((r - 0.866_025_4).abs() < 1e-6, "{r}");
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn qwk_matches_a_worked_example() {
        // Perfect agreement and full reversal.
        assert_eq!(
            quadratic_weighted_kappa(&[0, 1, 2], &[0, 1, 2], 3),
            Some(1.0)
        );
        assert_eq!(quadratic_weighted_kappa(&[0, 2], &[2, 0], 3), Some(-1.0));
        // By hand: observed weighted disagreement 0.25 + 0.25 = 0.5; expected
        // (rows 2/2/2, columns 1/2/3 of 6) = 2.0; kappa = 1 - 0.5 / 2.0.
        let k = quadratic_weighted_kappa(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 2, 2, 2], 3).unwrap();
        assert!((k - 0.75).abs() < 1e-9, "{k}");
    }

    #[test]
    fn pairwise_counts_ties_half() {
        assert_eq!(pairwise_accuracy(&[0, 1, 2], &[1.0, 2.0, 3.0]), Some(1.0));
        assert_eq!(pairwise_accuracy(&[0, 1], &[5.0, 5.0]), Some(0.5));
        assert_eq!(pairwise_accuracy(&[1, 1], &[5.0, 6.0]), None);
    }
}
