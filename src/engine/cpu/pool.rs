//! Pooling and its gradient over `[channels][images][rows][cols]` buffers: 2×2
//! windows in branch-free row loops, any other window value by value.

use super::shape::ConvShape;
use crate::model::Pooling;

/// q×q, stride-q pooling of `[cout][batch][ho][wo]` for any window but 2, value by
/// value; ragged edges are dropped. `winner` holds the offset of each window's maximum.
fn pool_forward_any(
    s: &ConvShape,
    batch: usize,
    act: &[f32],
    pooled: &mut [f32],
    winner: &mut [u8],
    pooling: Pooling,
) {
    let (inp, outp, q) = (s.ho * s.wo, s.ph * s.pw, s.q);
    let scale = 1.0 / (q * q) as f32;
    pooled[..s.cout * batch * outp]
        .chunks_mut(outp)
        .zip(winner.chunks_mut(outp))
        .enumerate()
        .for_each(|(plane, (out, win))| {
            let src = &act[plane * inp..][..inp];
            for py in 0..s.ph {
                for px in 0..s.pw {
                    let at = |j: usize| src[(py * q + j / q) * s.wo + px * q + j % q];
                    let (value, best) = match pooling {
                        Pooling::Avg => ((0..q * q).map(at).sum::<f32>() * scale, 0),
                        Pooling::Max => {
                            let best = (1..q * q).fold(0, |b, j| if at(j) > at(b) { j } else { b });
                            (at(best), best)
                        }
                    };
                    out[py * s.pw + px] = value;
                    win[py * s.pw + px] = best as u8;
                }
            }
        });
}

/// The gradient of [`pool_forward_any`].
fn pool_backward_any(
    s: &ConvShape,
    batch: usize,
    d_pooled: &[f32],
    winner: &[u8],
    d_act: &mut [f32],
    pooling: Pooling,
) {
    let (inp, outp, q) = (s.ho * s.wo, s.ph * s.pw, s.q);
    let scale = 1.0 / (q * q) as f32;
    d_act[..s.cout * batch * inp]
        .chunks_mut(inp)
        .enumerate()
        .for_each(|(plane, dst)| {
            let d = &d_pooled[plane * outp..][..outp];
            let win = &winner[plane * outp..][..outp];
            dst.fill(0.0);
            for py in 0..s.ph {
                for px in 0..s.pw {
                    let g = d[py * s.pw + px];
                    let at = |j: usize| (py * q + j / q) * s.wo + px * q + j % q;
                    match pooling {
                        Pooling::Avg => (0..q * q).for_each(|j| dst[at(j)] = g * scale),
                        Pooling::Max => dst[at(usize::from(win[py * s.pw + px]))] = g,
                    }
                }
            }
        });
}

/// 2×2, stride-2 pooling of `[cout][batch][ho][wo]`; odd edges are dropped.
pub(super) fn pool_forward(
    s: &ConvShape,
    batch: usize,
    act: &[f32],
    pooled: &mut [f32],
    winner: &mut [u8],
    pooling: Pooling,
) {
    if s.q != 2 {
        return pool_forward_any(s, batch, act, pooled, winner, pooling);
    }
    let (inp, outp) = (s.ho * s.wo, s.ph * s.pw);
    pooled[..s.cout * batch * outp]
        .chunks_mut(outp)
        .zip(winner.chunks_mut(outp))
        .enumerate()
        .for_each(|(plane, (out, win))| {
            let src = &act[plane * inp..][..inp];
            for py in 0..s.ph {
                let top = &src[2 * py * s.wo..][..2 * s.pw];
                let bottom = &src[(2 * py + 1) * s.wo..][..2 * s.pw];
                let out = &mut out[py * s.pw..][..s.pw];
                let win = &mut win[py * s.pw..][..s.pw];
                // One loop per kind, so neither tests the kind per value.
                match pooling {
                    Pooling::Avg => {
                        for (px, o) in out.iter_mut().enumerate() {
                            let (a, b) = (&top[2 * px..2 * px + 2], &bottom[2 * px..2 * px + 2]);
                            *o = (a[0] + a[1] + b[0] + b[1]) * 0.25;
                        }
                    }
                    Pooling::Max => max_pool_row(top, bottom, out, win),
                }
            }
        });
}

/// One row of 2×2 max pooling: the maxima of the `top`/`bottom` pairs and which of
/// the four won (0, 1 above; 2, 3 below), the first maximum on ties as PyTorch.
/// Branch-free selects, so the loop vectorises.
fn max_pool_row(top: &[f32], bottom: &[f32], out: &mut [f32], win: &mut [u8]) {
    with_avx2!(max_pool_row_avx2, max_pool_row_portable(top: &[f32], bottom: &[f32], out: &mut [f32], win: &mut [u8]));
}

#[inline(always)]
fn max_pool_row_portable(top: &[f32], bottom: &[f32], out: &mut [f32], win: &mut [u8]) {
    let (top, bottom) = (&top[..2 * out.len()], &bottom[..2 * out.len()]);
    let win = &mut win[..out.len()];
    for (px, (o, w)) in out.iter_mut().zip(win.iter_mut()).enumerate() {
        let (a, b) = (top[2 * px], top[2 * px + 1]);
        let (c, d) = (bottom[2 * px], bottom[2 * px + 1]);
        let (upper, wu) = if b > a { (b, 1) } else { (a, 0) };
        let (lower, wl) = if d > c { (d, 3) } else { (c, 2) };
        (*o, *w) = if lower > upper {
            (lower, wl)
        } else {
            (upper, wu)
        };
    }
}

/// The gradient of [`max_pool_row`]: each value of `d` to the input that won, zero
/// to the other three; every input is written, so nothing needs clearing first.
fn max_unpool_row(d: &[f32], win: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    with_avx2!(max_unpool_row_avx2, max_unpool_row_portable(d: &[f32], win: &[u8], top: &mut [f32], bottom: &mut [f32]));
}

#[inline(always)]
fn max_unpool_row_portable(d: &[f32], win: &[u8], top: &mut [f32], bottom: &mut [f32]) {
    let n = d.len();
    let (win, top, bottom) = (&win[..n], &mut top[..2 * n], &mut bottom[..2 * n]);
    for (px, (&g, &w)) in d.iter().zip(win).enumerate() {
        let pick = |k: u8| if w == k { g } else { 0.0 };
        top[2 * px] = pick(0);
        top[2 * px + 1] = pick(1);
        bottom[2 * px] = pick(2);
        bottom[2 * px + 1] = pick(3);
    }
}

/// The gradient of [`pool_forward`]: `d_pooled` spread back onto `d_act`.
pub(super) fn pool_backward(
    s: &ConvShape,
    batch: usize,
    d_pooled: &[f32],
    winner: &[u8],
    d_act: &mut [f32],
    pooling: Pooling,
) {
    if s.q != 2 {
        return pool_backward_any(s, batch, d_pooled, winner, d_act, pooling);
    }
    let (inp, outp) = (s.ho * s.wo, s.ph * s.pw);
    d_act[..s.cout * batch * inp]
        .chunks_mut(inp)
        .enumerate()
        .for_each(|(plane, dst)| {
            let d = &d_pooled[plane * outp..][..outp];
            let win = &winner[plane * outp..][..outp];
            if s.ho % 2 == 1 || s.wo % 2 == 1 {
                // Dropped edges get no gradient (every other value is written below).
                dst.fill(0.0);
            }
            for py in 0..s.ph {
                let d = &d[py * s.pw..][..s.pw];
                let win = &win[py * s.pw..][..s.pw];
                let (top, bottom) = dst[2 * py * s.wo..].split_at_mut(s.wo);
                let (top, bottom) = (&mut top[..2 * s.pw], &mut bottom[..2 * s.pw]);
                match pooling {
                    Pooling::Avg => {
                        for (px, &g) in d.iter().enumerate() {
                            let g = g * 0.25;
                            top[2 * px] = g;
                            top[2 * px + 1] = g;
                            bottom[2 * px] = g;
                            bottom[2 * px + 1] = g;
                        }
                    }
                    Pooling::Max => max_unpool_row(d, win, top, bottom),
                }
            }
        });
}
