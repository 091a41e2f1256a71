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
    let shifted = x * std::f32::consts::LOG2_E + MAGIC;
    let n = shifted - MAGIC;
    // ln 2 in two parts, so r keeps its precision.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67 + r * (0.041_666_66 + r * (0.008_333_6 + r * 0.001_388_89)))));
    // n as an integer, read from the low bits of `shifted` (two's complement): `n as
    // i32` would saturate and check for NaN, value by value, and not vectorise.
    let n_bits = shifted.to_bits().wrapping_sub(MAGIC.to_bits());
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
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

/// The sum of `values`, in eight running sums: a plain `.sum()` adds one value at a
/// time, each waiting for the last, and does not vectorise.
pub(super) fn sum(values: &[f32]) -> f32 {
    with_avx2!(sum_avx2, sum_portable(values: &[f32]) -> f32);
}

#[inline(always)]
fn sum_portable(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder().iter().sum::<f32>();
    for chunk in chunks {
        for (s, v) in lanes.iter_mut().zip(chunk) {
            *s += v;
        }
    }
    lanes.iter().sum::<f32>() + rest
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
    fn sums_in_lanes_add_up_every_value() {
        for len in [0, 1, 7, 8, 9, 100, 12_545] {
            let values: Vec<f32> = (0..len).map(|i| (i % 13) as f32 - 6.0).collect();
            let exact: f64 = values.iter().map(|&v| f64::from(v)).sum();
            assert_eq!(f64::from(sum(&values)), exact, "{len} values");
        }
    }

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
