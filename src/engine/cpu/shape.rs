//! One convolution block's sizes, and the forms of the block's correlations the
//! direct kernels take. A leaf that the kernels (im2col, pooling) and the worker
//! all read, so none of them needs the others for it.

use super::LANES;
use super::direct::Correlation;

/// One convolution block's sizes.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConvShape {
    pub(super) cin: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) k: usize,
    pub(super) pad: usize,
    pub(super) stride: usize,
    pub(super) cout: usize,
    /// Output rows and columns of the convolution.
    pub(super) ho: usize,
    pub(super) wo: usize,
    /// Pooling window side (and step).
    pub(super) q: usize,
    /// Rows and columns after pooling.
    pub(super) ph: usize,
    pub(super) pw: usize,
}

impl ConvShape {
    pub(super) fn patch(&self) -> usize {
        self.cin * self.k * self.k
    }

    /// Whether the direct kernels take this block's forward pass and weight gradient
    /// (stride 1, output rows at least a register wide); else im2col and gemm.
    pub(super) fn convolves_directly(&self) -> bool {
        self.stride == 1 && self.wo >= LANES
    }

    /// Whether the direct kernels read the input planes in place (no padding), from
    /// a buffer of `[cin][n][h][w]`, rather than from the padded copy.
    pub(super) fn reads_input_in_place(&self) -> bool {
        self.pad == 0
    }

    /// The forward pass of a chunk of `n` images as a direct correlation, reading
    /// the images where [`image_planes`] says.
    pub(super) fn forward_correlation(&self, n: usize) -> Correlation {
        let (hp, wp) = (self.h + 2 * self.pad, self.w + 2 * self.pad);
        let (plane_stride, image_stride) = if self.reads_input_in_place() {
            (n * hp * wp, hp * wp)
        } else {
            (hp * wp, self.cin * hp * wp)
        };
        Correlation {
            cin: self.cin,
            plane_stride,
            image_stride,
            cout: self.cout,
            k: self.k,
            hp,
            wp,
            ho: self.ho,
            wo: self.wo,
        }
    }

    /// The input gradient as a direct correlation of the output gradient, padded by
    /// `k − 1 − pad`, with the flipped kernels, where the kernels take it.
    pub(super) fn input_grad_correlation(&self) -> Option<Correlation> {
        let pad = (self.k - 1).checked_sub(self.pad)?;
        let (hp, wp) = (self.ho + 2 * pad, self.wo + 2 * pad);
        (self.stride == 1 && self.w >= LANES).then_some(Correlation {
            cin: self.cout,
            plane_stride: hp * wp,
            image_stride: self.cout * hp * wp,
            cout: self.cin,
            k: self.k,
            hp,
            wp,
            ho: self.h,
            wo: self.w,
        })
    }
}
