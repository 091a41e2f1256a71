//! Initial weights, drawn from the project's own seeded RNG (Candle 0.11's CPU
//! generator cannot be seeded): by the architecture's [`Init`] for weights, PyTorch's
//! default uniform ±1/√fan_in for biases.

use crate::rng::SeededRng;
use candle_core::{Device, Tensor};
use rand::Rng;

use super::arch::Init;

/// Weights of shape `dims` (`[out, in, k, k]` or `[out, in]`) drawn by `init`.
pub(crate) fn weights(
    init: Init,
    rng: &mut SeededRng,
    dims: &[usize],
    device: &Device,
) -> candle_core::Result<Tensor> {
    let (fan_in, fan_out) = fans(dims);
    match init {
        Init::XavierUniform => uniform(rng, dims, (6.0 / (fan_in + fan_out) as f64).sqrt(), device),
        Init::XavierNormal => normal(rng, dims, (2.0 / (fan_in + fan_out) as f64).sqrt(), device),
        Init::Kaiming => normal(rng, dims, (2.0 / fan_in as f64).sqrt(), device),
        Init::Normal(sigma) => normal(rng, dims, sigma, device),
    }
}

/// Biases of length `n` for a layer whose weights have shape `weight_dims`.
pub(crate) fn biases(
    rng: &mut SeededRng,
    n: usize,
    weight_dims: &[usize],
    device: &Device,
) -> candle_core::Result<Tensor> {
    let (fan_in, _) = fans(weight_dims);
    uniform(rng, &[n], 1.0 / (fan_in as f64).sqrt(), device)
}

/// Fan-in and fan-out of a conv weight `[out, in, k, k]` or a dense weight `[out, in]`.
fn fans(dims: &[usize]) -> (usize, usize) {
    let receptive: usize = dims[2..].iter().product();
    (dims[1] * receptive, dims[0] * receptive)
}

fn uniform(
    rng: &mut SeededRng,
    dims: &[usize],
    bound: f64,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let bound = bound as f32;
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
    Tensor::from_vec(values, dims, device)
}

fn normal(
    rng: &mut SeededRng,
    dims: &[usize],
    sigma: f64,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let dist = rand_distr::Normal::new(0.0f32, sigma as f32)
        .map_err(|e| candle_core::Error::Msg(format!("normal({sigma}): {e}")))?;
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.sample(dist)).collect();
    Tensor::from_vec(values, dims, device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Architecture, LeNet, Pooling};
    use rand::SeedableRng;

    #[test]
    fn inits_parse_print_and_draw_at_their_scale() {
        for text in ["xavier-uniform", "xavier-normal", "kaiming", "normal(0.05)"] {
            let init: Init = text.parse().unwrap();
            assert_eq!(init.to_string(), text);
        }
        for bad in [
            "normal(0)",
            "normal(-1)",
            "normal(x)",
            "gaussian",
            "normal(0.1",
        ] {
            assert!(bad.parse::<Init>().is_err(), "{bad}");
        }
        // conv2's weights: fan_in 150. Kaiming σ = √(2/150) ≈ 0.115; normal(0.01) ≈ 0.01.
        for (init, sigma) in [
            (Init::Kaiming, (2.0f32 / 150.0).sqrt()),
            (Init::Normal(0.01), 0.01),
        ] {
            let arch = Architecture {
                init,
                ..Architecture::default()
            };
            let mut rng = SeededRng::seed_from_u64(2);
            let model = LeNet::new(
                &arch,
                Pooling::Avg,
                Activation::Relu,
                &Device::Cpu,
                &mut rng,
            )
            .unwrap();
            let w = model.varmap().data().lock().unwrap()["conv2.weight"]
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let sd = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
            assert!((sd / sigma - 1.0).abs() < 0.1, "{init}: σ {sd} vs {sigma}");
        }
    }
}
