//! Element-wise pieces of the step: the exponential, bias and activation, and the
//! activation's slope in the backward pass.

use crate::model::Activation;

/// `e^x` to within a few ulp for |x| < 87, without branches, so loops over it
/// vectorise (libm's `expf` does not): x = n·ln 2 + r, a degree-6 polynomial for
/// `e^r`, and `2^n` put into the exponent bits.
#[inline(always)]
pub(super) fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by adding and subtracting 1.5·2^23: `round()` is a libm call on
    // baseline x86-64 and would stop the loop from vectorising.
    const MAGIC: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    // ln 2 in two parts, so r keeps its precision.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67 + r * (0.041_666_66 + r * (0.008_333_6 + r * 0.001_388_89)))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
pub(super) fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-v))
}

/// Adds `bias` to every value of `row` and applies the activation, in place.
pub(super) fn bias_activate(row: &mut [f32], bias: f32, act: Option<Activation>) {
    with_avx2!(bias_activate_avx2, bias_activate_portable(row: &mut [f32], bias: f32, act: Option<Activation>));
}

#[inline(always)]
fn bias_activate_portable(row: &mut [f32], bias: f32, act: Option<Activation>) {
    match act {
        Some(Activation::Sigmoid) => row.iter_mut().for_each(|v| *v = sigmoid(*v + bias)),
        Some(Activation::Relu) => row.iter_mut().for_each(|v| *v = (*v + bias).max(0.0)),
        None => row.iter_mut().for_each(|v| *v += bias),
    }
}

/// `grad *= act'(out)` element-wise, where `out` is the activation's output.
pub(super) fn times_slope(grad: &mut [f32], out: &[f32], act: Activation) {
    with_avx2!(times_slope_avx2, times_slope_portable(grad: &mut [f32], out: &[f32], act: Activation));
}

#[inline(always)]
fn times_slope_portable(g: &mut [f32], a: &[f32], act: Activation) {
    match act {
        Activation::Sigmoid => g.iter_mut().zip(a).for_each(|(g, &a)| *g *= a * (1.0 - a)),
        Activation::Relu => g
            .iter_mut()
            .zip(a)
            .for_each(|(g, &a)| *g = if a > 0.0 { *g } else { 0.0 }),
    }
}

/// `out[j] = Σ_i m[i][j]` for a row-major `rows × cols` matrix.
pub(super) fn column_sums(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m[..rows * cols].chunks(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate_and_sigmoid_saturates() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.04;
            let (fast, exact) = (fast_exp(x), x.exp());
            assert!(
                (fast - exact).abs() <= 4e-7 * exact,
                "e^{x}: {fast} vs {exact}"
            );
        }
        assert!(sigmoid(-200.0) < 1e-30);
        assert_eq!(sigmoid(200.0), 1.0);
    }
}
