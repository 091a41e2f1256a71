//! im2col and its adjoint, for the convolutions the direct kernels do not take
//! (strides above 1, rows narrower than a register): each becomes a matrix product.

use super::shape::ConvShape;

/// The output columns `[lo, hi)` of a kernel tap at offset `kx` whose input column
/// `ox + kx - pad` lies inside `[0, w)`.
fn valid_span(wo: usize, w: usize, kx: usize, pad: usize) -> (usize, usize) {
    let shift = kx as isize - pad as isize;
    let lo = (-shift).clamp(0, wo as isize) as usize;
    let hi = (w as isize - shift).clamp(lo as isize, wo as isize) as usize;
    (lo, hi)
}

/// Input `[cin][batch][h][w]` → columns `[(cin, ky, kx)][(batch, oy, ox)]`: each
/// output row is a shifted copy of input rows, padded with zeros.
pub(super) fn im2col(s: &ConvShape, batch: usize, input: &[f32], cols: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let plane = s.h * s.w;
    if s.stride > 1 {
        return im2col_strided(s, batch, input, cols);
    }
    cols[..s.patch() * n]
        .chunks_mut(n)
        .enumerate()
        .for_each(|(r, row)| {
            let (ci, ky, kx) = (r / (s.k * s.k), r / s.k % s.k, r % s.k);
            let (lo, hi) = valid_span(s.wo, s.w, kx, s.pad);
            for b in 0..batch {
                let src = &input[(ci * batch + b) * plane..][..plane];
                let dst = &mut row[b * s.ho * s.wo..][..s.ho * s.wo];
                for oy in 0..s.ho {
                    let out = &mut dst[oy * s.wo..][..s.wo];
                    let y = (oy + ky) as isize - s.pad as isize;
                    if y < 0 || y >= s.h as isize || lo == hi {
                        out.fill(0.0);
                        continue;
                    }
                    let line = &src[y as usize * s.w..][..s.w];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let x0 = lo + kx - s.pad;
                    // A plain loop: rows are a few dozen values, too short for memcpy's call.
                    for (o, &v) in out[lo..hi].iter_mut().zip(&line[x0..x0 + (hi - lo)]) {
                        *o = v;
                    }
                }
            }
        });
}

/// The input position of output `o` at kernel tap `t`, if inside `[0, len)`.
fn tap_source(o: usize, t: usize, s: &ConvShape, len: usize) -> Option<usize> {
    (o * s.stride + t).checked_sub(s.pad).filter(|&i| i < len)
}

/// [`im2col`] for strides above 1, value by value: strided convolutions are an
/// exercise variant, not the chapter's hot path.
fn im2col_strided(s: &ConvShape, batch: usize, input: &[f32], cols: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let plane = s.h * s.w;
    cols[..s.patch() * n]
        .chunks_mut(n)
        .enumerate()
        .for_each(|(r, row)| {
            let (ci, ky, kx) = (r / (s.k * s.k), r / s.k % s.k, r % s.k);
            for b in 0..batch {
                let src = &input[(ci * batch + b) * plane..][..plane];
                let dst = &mut row[b * s.ho * s.wo..][..s.ho * s.wo];
                for oy in 0..s.ho {
                    let y = tap_source(oy, ky, s, s.h);
                    for ox in 0..s.wo {
                        dst[oy * s.wo + ox] = match (y, tap_source(ox, kx, s, s.w)) {
                            (Some(y), Some(x)) => src[y * s.w + x],
                            _ => 0.0,
                        };
                    }
                }
            }
        });
}

/// The adjoint of [`im2col`]: column gradients summed back onto the input layout.
/// One task per input plane, which stays in L1 while all its taps are added.
pub(super) fn col2im(s: &ConvShape, batch: usize, d_cols: &[f32], d_input: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let plane = s.h * s.w;
    let out_plane = s.ho * s.wo;
    if s.stride > 1 {
        return col2im_strided(s, batch, d_cols, d_input);
    }
    d_input[..s.cin * batch * plane]
        .chunks_mut(plane)
        .enumerate()
        .for_each(|(index, dst)| {
            let (ci, b) = (index / batch, index % batch);
            dst.fill(0.0);
            for ky in 0..s.k {
                for kx in 0..s.k {
                    let (lo, hi) = valid_span(s.wo, s.w, kx, s.pad);
                    if lo == hi {
                        continue;
                    }
                    let x0 = lo + kx - s.pad;
                    let tap = ci * s.k * s.k + ky * s.k + kx;
                    let src = &d_cols[tap * n + b * out_plane..][..out_plane];
                    for oy in 0..s.ho {
                        let y = (oy + ky) as isize - s.pad as isize;
                        if y < 0 || y >= s.h as isize {
                            continue;
                        }
                        let line = &mut dst[y as usize * s.w..][x0..x0 + (hi - lo)];
                        let from = &src[oy * s.wo..][lo..hi];
                        for (d, &g) in line.iter_mut().zip(from) {
                            *d += g;
                        }
                    }
                }
            }
        });
}

/// [`col2im`] for strides above 1, value by value.
fn col2im_strided(s: &ConvShape, batch: usize, d_cols: &[f32], d_input: &mut [f32]) {
    let n = batch * s.ho * s.wo;
    let out_plane = s.ho * s.wo;
    d_input[..s.cin * batch * s.h * s.w]
        .chunks_mut(s.h * s.w)
        .enumerate()
        .for_each(|(index, dst)| {
            let (ci, b) = (index / batch, index % batch);
            dst.fill(0.0);
            for ky in 0..s.k {
                for kx in 0..s.k {
                    let tap = ci * s.k * s.k + ky * s.k + kx;
                    let src = &d_cols[tap * n + b * out_plane..][..out_plane];
                    for oy in 0..s.ho {
                        let Some(y) = tap_source(oy, ky, s, s.h) else {
                            continue;
                        };
                        for ox in 0..s.wo {
                            if let Some(x) = tap_source(ox, kx, s, s.w) {
                                dst[y * s.w + x] += src[oy * s.wo + ox];
                            }
                        }
                    }
                }
            }
        });
}
