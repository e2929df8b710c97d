//! GELU in its exact (erf) form, as BERT and `e5.c` use it, as one candle op.
//!
//! candle's `gelu_erf` calls libm's scalar `erf` per element, which took about
//! a sixth of the encoder's time on short texts. Here erf is the Abramowitz &
//! Stegun 7.1.26 approximation (absolute error below 1.5e-7, far under what the
//! 8-bit activation quantization that follows keeps) with a polynomial `exp`:
//! branch-free, so the compiler vectorizes the loop.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting 1.5 * 2^23 rounds an f32 to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// e^z for z in [-30, 0] (relative error about 2e-7).
#[inline(always)]
fn exp_neg(z: f32) -> f32 {
    let n = (z * LOG2E + ROUND) - ROUND;
    let r = (z - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// erf(a) for a >= 0.
#[inline(always)]
fn erf_pos(a: f32) -> f32 {
    let a = a.min(5.0);
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    1.0 - poly * exp_neg(-a * a)
}

/// x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let e = erf_pos(x.abs() * std::f32::consts::FRAC_1_SQRT_2);
    0.5 * x * (1.0 + e.copysign(x))
}

/// The candle op: `tensor.apply_op1_no_bwd(&GeluErf)` on a contiguous f32 tensor.
pub struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf-vectorized"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("gelu: input is not contiguous")
        };
        let x = &storage.as_slice::<f32>()?[start..end];
        let y: Vec<f32> = x.iter().map(|&v| gelu(v)).collect();
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libm_erf() {
        let mut worst = 0f64;
        for i in -20_000..=20_000 {
            let x = i as f64 / 1000.0;
            let exact =
                0.5 * x * (1.0 + candle_core::cpu::erf::erf_f64(x / std::f64::consts::SQRT_2));
            worst = worst.max((gelu(x as f32) as f64 - exact).abs());
        }
        assert!(worst < 1e-6, "largest error {worst}");
        assert_eq!(gelu(0.0), 0.0);
        assert!(gelu(-30.0).abs() < 1e-20);
        assert_eq!(gelu(30.0), 30.0);
    }
}
