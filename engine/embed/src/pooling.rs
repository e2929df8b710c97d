//! Sentence vectors from token states: the mean over each text's tokens
//! (`<s>` and `</s>` included, as e5 was trained), scaled to unit length so
//! that cosine similarity is a dot product.

/// Mean of each text's rows of `states` (tokens x `hidden`, texts
/// concatenated, text `i` has `lens[i]` tokens), L2-normalised.
pub fn mean_pool_normalized(states: &[f32], hidden: usize, lens: &[usize]) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(lens.len());
    let mut at = 0;
    for &len in lens {
        let mut mean = vec![0f32; hidden];
        for row in states[at * hidden..(at + len) * hidden].chunks_exact(hidden) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        let inv = 1.0 / len.max(1) as f32;
        mean.iter_mut().for_each(|m| *m *= inv);
        l2_normalize(&mut mean);
        out.push(mean);
        at += len;
    }
    out
}

/// Scales `v` to unit length; a zero vector stays zero (the norm is clamped
/// at 1e-6, as in `e5.c`).
pub fn l2_normalize(v: &mut [f32]) {
    let norm2: f32 = v.iter().map(|x| x * x).sum();
    let inv = 1.0 / norm2.max(1e-12).sqrt();
    v.iter_mut().for_each(|x| *x *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_length() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0; 3];
        l2_normalize(&mut z);
        assert_eq!(z, vec![0.0; 3]);
    }

    #[test]
    fn means_per_text() {
        // Two texts: one token [1, 0], then two tokens [0, 2] and [0, 4].
        let states = [1.0, 0.0, 0.0, 2.0, 0.0, 4.0];
        let v = mean_pool_normalized(&states, 2, &[1, 2]);
        assert_eq!(v, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    }
}
