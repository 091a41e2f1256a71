//! Stride-1 convolutions computed directly, one zero-padded image at a time, with
//! no column matrix: the forward pass, the weight gradient, and (as a correlation of
//! the padded output gradient with the flipped kernel) the input gradient.
//!
//! On x86-64 with AVX2 and FMA the kernels keep a block of two output rows ×
//! [`CHANNEL_BLOCK`] channels × [`LANES`] columns in registers and sum every tap into
//! them with fused multiply-adds: one input load serves a whole channel block and one
//! weight broadcast two rows, and twelve independent sums cover the FMA latency, so
//! the loops run near the FMA units' rate from L1. Elsewhere plain loops do the same
//! arithmetic.

use super::LANES;

/// Output channels summed together: with two rows, twelve of AVX2's sixteen
/// registers, leaving room for the two input rows and the broadcast weight.
const CHANNEL_BLOCK: usize = 6;

/// A stride-1 correlation of images of `cin` planes, already zero-padded to
/// `hp × wp`, the planes of an image `plane_stride` values apart and the images
/// `image_stride` apart, with `cout` kernels of `k × k`, giving `ho × wo` per output
/// channel.
#[derive(Debug, Clone, Copy)]
pub(super) struct Correlation {
    pub cin: usize,
    pub plane_stride: usize,
    pub image_stride: usize,
    pub cout: usize,
    pub k: usize,
    pub hp: usize,
    pub wp: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Correlation {
    /// Values per kernel.
    fn patch(&self) -> usize {
        self.cin * self.k * self.k
    }
}

/// Plane `b` of every channel of `input` `[channels][n][h][w]`, zero-padded by
/// `pad` on each side, into `padded` `[channels][h + 2·pad][w + 2·pad]`.
#[allow(clippy::too_many_arguments)]
pub(super) fn pad_image(
    input: &[f32],
    channels: usize,
    n: usize,
    b: usize,
    h: usize,
    w: usize,
    pad: usize,
    padded: &mut [f32],
) {
    let (hp, wp) = (h + 2 * pad, w + 2 * pad);
    let padded = &mut padded[..channels * hp * wp];
    padded.fill(0.0);
    for c in 0..channels {
        let src = &input[(c * n + b) * h * w..][..h * w];
        for y in 0..h {
            padded[(c * hp + y + pad) * wp + pad..][..w].copy_from_slice(&src[y * w..][..w]);
        }
    }
}

/// `taps` `[cin·k·k][cout]` for weights `[cout][cin·k·k]`: the channel block's
/// weights for one tap sit side by side, one cache line for the broadcasts.
pub(super) fn tap_major(weight: &[f32], cout: usize, patch: usize, taps: &mut Vec<f32>) {
    taps.clear();
    taps.resize(cout * patch, 0.0);
    for co in 0..cout {
        for t in 0..patch {
            taps[t * cout + co] = weight[co * patch + t];
        }
    }
}

/// The kernels of the input gradient of a convolution with weights
/// `[cout][cin][k][k]`: each flipped in both directions, with the roles of input and
/// output channels swapped, tap-major as [`tap_major`] lays them out:
/// `flipped[(co, k-1-ky, k-1-kx)][ci] = weight[co][ci][ky][kx]`.
pub(super) fn flipped_taps(weight: &[f32], cout: usize, cin: usize, k: usize, taps: &mut Vec<f32>) {
    taps.clear();
    taps.resize(cout * cin * k * k, 0.0);
    for co in 0..cout {
        for ci in 0..cin {
            for ky in 0..k {
                for kx in 0..k {
                    let t = (co * k + (k - 1 - ky)) * k + (k - 1 - kx);
                    taps[t * cin + ci] = weight[((co * cin + ci) * k + ky) * k + kx];
                }
            }
        }
    }
}

/// Output column blocks of [`LANES`] covering `0..wo` (`wo ≥ LANES`): the last block
/// overlaps the one before when `wo` is not a multiple, so loads and stores never
/// run past the row.
fn column_blocks(wo: usize) -> impl Iterator<Item = usize> + Clone {
    (0..=wo - LANES)
        .step_by(LANES)
        .chain((!wo.is_multiple_of(LANES)).then(|| wo - LANES))
}

/// Whether the AVX2 + FMA kernels can run here.
#[cfg(target_arch = "x86_64")]
fn has_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// `out[co][b]` (in a `[cout][n][ho][wo]` buffer) = Σ taps · image for one padded
/// image (`cin` planes of `hp × wp`, `plane_stride` apart) and
/// `taps` `[cin·k·k][cout]`; `c.wo ≥ LANES`.
pub(super) fn correlate(
    c: &Correlation,
    image: &[f32],
    taps: &[f32],
    out: &mut [f32],
    n: usize,
    b: usize,
) {
    assert!(c.wo >= LANES, "rows narrower than a register");
    assert!(c.ho + c.k - 1 <= c.hp && c.wo + c.k - 1 <= c.wp && c.hp * c.wp <= c.plane_stride);
    assert!(image.len() >= (c.cin - 1) * c.plane_stride + c.hp * c.wp);
    assert!(taps.len() >= c.patch() * c.cout);
    assert!(b < n && out.len() >= c.cout * n * c.ho * c.wo);
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA; the asserts above bound every index the
        // kernel reads and writes (see `avx2::correlate`).
        return unsafe { avx2::correlate(c, image, taps, out, n, b) };
    }
    correlate_portable(c, image, taps, out, n, b);
}

fn correlate_portable(
    c: &Correlation,
    image: &[f32],
    taps: &[f32],
    out: &mut [f32],
    n: usize,
    b: usize,
) {
    let plane = c.ho * c.wo;
    for co in 0..c.cout {
        let dst = &mut out[(co * n + b) * plane..][..plane];
        dst.fill(0.0);
        for ci in 0..c.cin {
            for ky in 0..c.k {
                for kx in 0..c.k {
                    let w = taps[((ci * c.k + ky) * c.k + kx) * c.cout + co];
                    for oy in 0..c.ho {
                        let line = &image[ci * c.plane_stride + (oy + ky) * c.wp + kx..][..c.wo];
                        for (o, &x) in dst[oy * c.wo..][..c.wo].iter_mut().zip(line) {
                            *o += w * x;
                        }
                    }
                }
            }
        }
    }
}

/// `grad` `[cout][cin·k·k]` = the weight gradient of [`correlate`] over `n` padded
/// images (`image_stride` apart): Σ over images and positions of `d`
/// (`[cout][n][ho][wo]`) times the input under each tap, each tap's sum kept in
/// registers across all the images. `c.wo ≥ LANES`.
pub(super) fn correlate_weight_grad(
    c: &Correlation,
    images: &[f32],
    d: &[f32],
    n: usize,
    grad: &mut [f32],
) {
    assert!(c.wo >= LANES, "rows narrower than a register");
    assert!(c.ho + c.k - 1 <= c.hp && c.wo + c.k - 1 <= c.wp && c.hp * c.wp <= c.plane_stride);
    assert!(
        n > 0
            && images.len()
                >= (n - 1) * c.image_stride + (c.cin - 1) * c.plane_stride + c.hp * c.wp
    );
    assert!(grad.len() >= c.cout * c.patch() && d.len() >= c.cout * n * c.ho * c.wo);
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: as in `correlate`.
        return unsafe { avx2::weight_grad(c, images, d, n, grad) };
    }
    weight_grad_portable(c, images, d, n, grad);
}

fn weight_grad_portable(c: &Correlation, images: &[f32], d: &[f32], n: usize, grad: &mut [f32]) {
    let plane = c.ho * c.wo;
    for co in 0..c.cout {
        for ci in 0..c.cin {
            for ky in 0..c.k {
                for kx in 0..c.k {
                    // Eight running sums, so the compiler can keep them in a vector.
                    let mut lanes = [0.0f32; LANES];
                    let mut rest = 0.0;
                    for b in 0..n {
                        let g = &d[(co * n + b) * plane..][..plane];
                        let image = &images[b * c.image_stride + ci * c.plane_stride..];
                        for oy in 0..c.ho {
                            let line = &image[(oy + ky) * c.wp + kx..][..c.wo];
                            let row = &g[oy * c.wo..][..c.wo];
                            let (rows, lines) = (row.chunks_exact(LANES), line.chunks_exact(LANES));
                            rest += rows
                                .remainder()
                                .iter()
                                .zip(lines.remainder())
                                .map(|(g, x)| g * x)
                                .sum::<f32>();
                            for (g, x) in rows.zip(lines) {
                                for l in 0..LANES {
                                    lanes[l] += g[l] * x[l];
                                }
                            }
                        }
                    }
                    grad[co * c.patch() + (ci * c.k + ky) * c.k + kx] =
                        lanes.iter().sum::<f32>() + rest;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The kernels in AVX2 + FMA intrinsics. Every pointer offset below is within
    //! the bounds the safe wrappers assert (for the largest `oy`, `ky`, `kx`, `x0`
    //! and lane, the image offset is below `(cin−1)·plane_stride + hp·wp` because
    //! `ho + k − 1 ≤ hp` and `wo + k − 1 ≤ wp`).

    // The register blocks index several arrays and pointers by one channel number.
    #![allow(clippy::needless_range_loop)]

    use std::arch::x86_64::*;

    use super::{CHANNEL_BLOCK, Correlation, column_blocks};
    use crate::engine::cpu::LANES;

    /// Runs `$kernel::<CB>(args)` for each block of channels `c0..c0 + CB` covering
    /// `0..$cout`, with CB (at most [`CHANNEL_BLOCK`]) a constant, so each block
    /// size has its accumulators in registers.
    macro_rules! channel_blocks {
        ($cout:expr, |$c0:ident| $kernel:ident($args:expr)) => {{
            let mut $c0 = 0;
            while $c0 < $cout {
                let block = ($cout - $c0).min(CHANNEL_BLOCK);
                match block {
                    6 => $kernel::<6>($args),
                    5 => $kernel::<5>($args),
                    4 => $kernel::<4>($args),
                    3 => $kernel::<3>($args),
                    2 => $kernel::<2>($args),
                    _ => $kernel::<1>($args),
                }
                $c0 += block;
            }
        }};
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn correlate(
        c: &Correlation,
        image: &[f32],
        taps: &[f32],
        out: &mut [f32],
        n: usize,
        b: usize,
    ) {
        // SAFETY: passed on from the caller.
        unsafe {
            channel_blocks!(c.cout, |c0| correlate_block((
                c, image, taps, &mut *out, n, b, c0
            )))
        }
    }

    type BlockArgs<'a, 'o> = (
        &'a Correlation,
        &'a [f32],
        &'a [f32],
        &'o mut [f32],
        usize,
        usize,
        usize,
    );

    /// Channels `c0..c0 + CB` of [`correlate`], two output rows at a time.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn correlate_block<const CB: usize>((c, image, taps, out, n, b, c0): BlockArgs) {
        let plane = c.ho * c.wo;
        let (img, tp) = (image.as_ptr(), taps.as_ptr());
        let dst = out[(c0 * n + b) * plane..].as_mut_ptr();
        let mut oy = 0;
        while oy < c.ho {
            let rows = if oy + 1 < c.ho { 2 } else { 1 };
            for x0 in column_blocks(c.wo) {
                let mut top = [_mm256_setzero_ps(); CB];
                let mut bottom = [_mm256_setzero_ps(); CB];
                for ci in 0..c.cin {
                    for ky in 0..c.k {
                        // SAFETY: within the asserted bounds (module docs); the second
                        // row is read only when it exists.
                        unsafe {
                            let line = img.add(ci * c.plane_stride + (oy + ky) * c.wp + x0);
                            let row_taps = tp.add((ci * c.k + ky) * c.k * c.cout + c0);
                            for kx in 0..c.k {
                                let w = row_taps.add(kx * c.cout);
                                let x = _mm256_loadu_ps(line.add(kx));
                                if rows == 2 {
                                    let x2 = _mm256_loadu_ps(line.add(c.wp + kx));
                                    for j in 0..CB {
                                        let wj = _mm256_broadcast_ss(&*w.add(j));
                                        top[j] = _mm256_fmadd_ps(wj, x, top[j]);
                                        bottom[j] = _mm256_fmadd_ps(wj, x2, bottom[j]);
                                    }
                                } else {
                                    for j in 0..CB {
                                        let wj = _mm256_broadcast_ss(&*w.add(j));
                                        top[j] = _mm256_fmadd_ps(wj, x, top[j]);
                                    }
                                }
                            }
                        }
                    }
                }
                for j in 0..CB {
                    // SAFETY: output rows `oy` (and `oy + 1`) of plane `(c0 + j)·n + b`,
                    // inside the asserted `cout·n·plane`.
                    unsafe {
                        let at = dst.add(j * n * plane + oy * c.wo + x0);
                        _mm256_storeu_ps(at, top[j]);
                        if rows == 2 {
                            _mm256_storeu_ps(at.add(c.wo), bottom[j]);
                        }
                    }
                }
            }
            oy += rows;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn weight_grad(
        c: &Correlation,
        images: &[f32],
        d: &[f32],
        n: usize,
        grad: &mut [f32],
    ) {
        // SAFETY: passed on from the caller.
        unsafe {
            channel_blocks!(c.cout, |c0| weight_grad_block((
                c, images, d, n, c0, &mut *grad
            )))
        }
    }

    type GradArgs<'a, 'g> = (
        &'a Correlation,
        &'a [f32],
        &'a [f32],
        usize,
        usize,
        &'g mut [f32],
    );

    /// Channels `c0..c0 + CB` of [`weight_grad`], two neighbouring taps of a kernel
    /// row at a time: each output-gradient load then serves two sums (eight loads
    /// for twelve FMAs), and the twelve sums are independent chains.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn weight_grad_block<const CB: usize>((c, images, d, n, c0, grad): GradArgs) {
        for ci in 0..c.cin {
            for ky in 0..c.k {
                let mut kx = 0;
                while kx < c.k {
                    let tap = (ci * c.k + ky) * c.k + kx;
                    // SAFETY: passed on from the caller, with `kx + KB ≤ k`.
                    unsafe {
                        if kx + 1 < c.k {
                            let [first, second] =
                                tap_sums::<CB, 2>(c, images, d, n, c0, ci, ky, kx);
                            for j in 0..CB {
                                grad[(c0 + j) * c.patch() + tap] = first[j];
                                grad[(c0 + j) * c.patch() + tap + 1] = second[j];
                            }
                            kx += 2;
                        } else {
                            let [only] = tap_sums::<CB, 1>(c, images, d, n, c0, ci, ky, kx);
                            for j in 0..CB {
                                grad[(c0 + j) * c.patch() + tap] = only[j];
                            }
                            kx += 1;
                        }
                    }
                }
            }
        }
    }

    /// The weight gradient of taps `(ci, ky, kx..kx + KB)` for channels
    /// `c0..c0 + CB`: Σ over images and positions, in registers.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn tap_sums<const CB: usize, const KB: usize>(
        c: &Correlation,
        images: &[f32],
        d: &[f32],
        n: usize,
        c0: usize,
        ci: usize,
        ky: usize,
        kx: usize,
    ) -> [[f32; CB]; KB] {
        let plane = c.ho * c.wo;
        let full = c.wo / LANES * LANES;
        // The last block overlaps the one before; its first lanes were counted there.
        let ragged = c.wo % LANES;
        let mask: [f32; LANES] = std::array::from_fn(|l| f32::from(l >= LANES - ragged));
        let (img, dp) = (images.as_ptr(), d.as_ptr());
        let mut acc = [[_mm256_setzero_ps(); CB]; KB];
        // SAFETY: within the asserted bounds (module docs; the taps' inputs end at
        // `kx + KB − 1 + wo ≤ wp`); `d`'s rows are `(c0 + j)·n + b < cout·n` planes in.
        unsafe {
            let mask = _mm256_loadu_ps(mask.as_ptr());
            for b in 0..n {
                for oy in 0..c.ho {
                    let line =
                        img.add(b * c.image_stride + ci * c.plane_stride + (oy + ky) * c.wp + kx);
                    let g = dp.add(b * plane + oy * c.wo);
                    let mut block = |x0: usize, masked: bool| {
                        let x: [__m256; KB] = std::array::from_fn(|t| {
                            let x = _mm256_loadu_ps(line.add(x0 + t));
                            if masked { _mm256_mul_ps(x, mask) } else { x }
                        });
                        for j in 0..CB {
                            let gj = _mm256_loadu_ps(g.add((c0 + j) * n * plane + x0));
                            for t in 0..KB {
                                acc[t][j] = _mm256_fmadd_ps(gj, x[t], acc[t][j]);
                            }
                        }
                    };
                    let mut x0 = 0;
                    while x0 < full {
                        block(x0, false);
                        x0 += LANES;
                    }
                    if ragged != 0 {
                        block(c.wo - LANES, true);
                    }
                }
            }
        }
        std::array::from_fn(|t| {
            std::array::from_fn(|j| {
                let mut lanes = [0.0f32; LANES];
                // SAFETY: `lanes` holds one register.
                unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc[t][j]) };
                lanes.iter().sum()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i + seed) * 7919) % 211) as f32 / 105.0 - 1.0)
            .collect()
    }

    /// Odd row counts (the one-row tail), widths that are and are not multiples of
    /// the lanes (the overlapping and the masked blocks), channel counts past one
    /// block: the dispatched kernels (AVX2 where the CPU has it) against the plain
    /// loops.
    #[test]
    fn the_vector_kernels_agree_with_the_plain_loops() {
        for (cin, cout, k, ho, wo) in [
            (1, 6, 5, 28, 28),
            (6, 16, 5, 8, 8),
            (3, 7, 3, 5, 9),
            (16, 6, 5, 12, 12),
            (2, 13, 1, 3, 17),
        ] {
            let (hp, wp) = (ho + k - 1, wo + k - 1);
            let n = 3;
            let c = Correlation {
                cin,
                plane_stride: hp * wp + 3,
                image_stride: cin * (hp * wp + 3),
                cout,
                k,
                hp,
                wp,
                ho,
                wo,
            };
            let images = values(n * c.image_stride, 1);
            let taps = values(c.patch() * cout, 2);
            let d = values(cout * n * ho * wo, 3);
            let (mut fast, mut plain) =
                (vec![9.0; cout * n * ho * wo], vec![7.0; cout * n * ho * wo]);
            for b in 0..n {
                let image = &images[b * c.image_stride..];
                correlate(&c, image, &taps, &mut fast, n, b);
                correlate_portable(&c, image, &taps, &mut plain, n, b);
            }
            let (mut g_fast, mut g_plain) =
                (vec![9.0; cout * c.patch()], vec![7.0; cout * c.patch()]);
            correlate_weight_grad(&c, &images, &d, n, &mut g_fast);
            weight_grad_portable(&c, &images, &d, n, &mut g_plain);
            for (what, a, b) in [
                ("output", &fast, &plain),
                ("weight gradient", &g_fast, &g_plain),
            ] {
                for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                        "{what}[{i}] of {c:?}: {x} vs {y}"
                    );
                }
            }
        }
    }

    #[test]
    fn flipped_taps_turn_the_kernel_and_swap_the_channels() {
        let (cout, cin, k) = (2, 3, 2);
        let weight: Vec<f32> = (0..cout * cin * k * k).map(|v| v as f32).collect();
        let mut taps = Vec::new();
        flipped_taps(&weight, cout, cin, k, &mut taps);
        // weight[co=1][ci=2][ky=0][kx=1] lands at tap (co=1, ky=1, kx=0), channel 2.
        assert_eq!(
            taps[((k + 1) * k) * cin + 2],
            weight[((cin + 2) * k) * k + 1]
        );
        let mut sorted = taps.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, weight, "a permutation");
    }
}
