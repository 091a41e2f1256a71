//! Candle 0.11's pooling ops, worked around where their gradients are wrong. Each
//! function says what is wrong and how it is avoided; the tests in `lenet.rs` compare
//! values and gradients with PyTorch's.

use candle_core::Tensor;

/// q×q average pooling with stride q, ragged edges dropped first: Candle 0.11's
/// `avg_pool2d` backward spreads the gradient by nearest-neighbour upsampling to the
/// input's size, which misplaces it when the window does not divide the input.
pub(crate) fn avg_pool(x: &Tensor, q: usize) -> candle_core::Result<Tensor> {
    trim_to_windows(x, q)?.avg_pool2d(q)
}

/// `x` without the rows and columns that no q×q window covers.
pub(crate) fn trim_to_windows(x: &Tensor, q: usize) -> candle_core::Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    if h % q == 0 && w % q == 0 {
        return Ok(x.clone());
    }
    x.narrow(2, 0, h / q * q)?.narrow(3, 0, w / q * q)
}

/// q×q max pooling with stride q, as PyTorch's `MaxPool2d(q)` computes it (ragged edges
/// dropped), built from a reshape and a max so that its gradient is right.
///
/// Candle 0.11's `max_pool2d` backward multiplies the gradient by the share of maxima
/// in the window instead of dividing by their count: a unique maximum gets ¼ of its
/// gradient, so every layer below a max pool learns 4× slower (16× below two). The
/// max reduction's backward sends the full gradient to the maximum.
pub(crate) fn max_pool(x: &Tensor, q: usize) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (h2, w2) = (h / q, w / q);
    trim_to_windows(x, q)?
        .reshape((n, c, h2, q, w2, q))?
        .permute((0, 1, 2, 4, 3, 5))?
        .reshape((n, c, h2, w2, q * q))?
        .max(4)
}
