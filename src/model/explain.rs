//! The arithmetic behind one value of the network, worked out in plain Rust from its
//! weights: for a convolution cell, the input patch of every input map, the kernels,
//! each map's partial sum, the bias, the pre-activation, the activation and the pooling
//! window that takes it; for the output, the logits and the softmax. What
//! `lenet-tui explain` prints for a lecture's notes.

use serde::{Deserialize, Serialize};

use super::{Activation, Architecture, ConvBlock, Pooling};

/// Which value to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    /// Convolution block `layer` (1-based), output map `map`, at `(row, col)`.
    Conv {
        /// The block, from 1.
        layer: usize,
        /// Its output map, from 0.
        map: usize,
        /// The position in the map.
        at: (usize, usize),
    },
    /// The classifier's output.
    Output,
}

/// How one convolution value was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvWork {
    /// The input patch of each input map under the kernel (padding as zeros).
    pub patch: Vec<Vec<Vec<f32>>>,
    /// The kernel of each input map.
    pub kernel: Vec<Vec<Vec<f32>>>,
    /// Each input map's sum of patch × kernel.
    pub partial: Vec<f32>,
    /// The map's bias.
    pub bias: f32,
    /// The partial sums' total plus the bias.
    pub pre: f32,
    /// After the activation.
    pub act: f32,
    /// The pooling window the value falls in, and what it gives.
    pub pool: PoolWork,
}

/// A pooling window and the value it passes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolWork {
    /// `avg` or `max`.
    pub kind: Pooling,
    /// The window's activations.
    pub window: Vec<Vec<f32>>,
    /// Its average or maximum.
    pub value: f32,
}

/// How the output was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputWork {
    /// The last layer's outputs.
    pub logits: Vec<f32>,
    /// exp(logit − the largest logit), what softmax sums.
    pub exp: Vec<f32>,
    /// Their sum.
    pub sum: f32,
    /// The probabilities.
    pub probs: Vec<f32>,
    /// The most probable class.
    pub top: usize,
}

/// The worked value. (`lenet-tui explain --json` prints the inner work alone.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Explanation {
    /// A convolution cell.
    Conv(ConvWork),
    /// The output.
    Output(OutputWork),
}

/// A network's weights in `Architecture::parameter_names` order, with its pieces.
pub struct Weights<'a> {
    /// The layout.
    pub arch: &'a Architecture,
    /// Each parameter's values, PyTorch's layouts.
    pub params: &'a [Vec<f32>],
    /// The pooling in use.
    pub pooling: Pooling,
    /// The activation in use.
    pub activation: Activation,
}

/// Feature maps `[channels][rows][cols]` as one flat vector with their shape.
struct Maps {
    values: Vec<f32>,
    shape: [usize; 3],
}

impl Maps {
    fn at(&self, c: usize, y: isize, x: isize) -> f32 {
        let [_, h, w] = self.shape;
        if y < 0 || x < 0 || y as usize >= h || x as usize >= w {
            return 0.0; // padding
        }
        self.values[(c * h + y as usize) * w + x as usize]
    }
}

/// Works out `cell` for an image of `pixels` (0 to 1, row-major), or says why not.
pub fn explain(weights: &Weights, pixels: &[f32], cell: Cell) -> Result<Explanation, String> {
    let [c, h, w] = weights.arch.input;
    if pixels.len() != c * h * w {
        return Err(format!(
            "the image has {} values, the model reads {}",
            pixels.len(),
            c * h * w
        ));
    }
    let mut maps = Maps {
        values: pixels.to_vec(),
        shape: [c, h, w],
    };
    for (i, _) in weights.arch.convs.iter().enumerate() {
        if let Cell::Conv { layer, map, at } = cell
            && layer == i + 1
        {
            return conv_cell(weights, &maps, i, map, at).map(Explanation::Conv);
        }
        maps = conv_block(weights, &maps, i);
    }
    if let Cell::Conv { layer, .. } = cell {
        return Err(format!(
            "layer {layer}: the model has {} convolution layers",
            weights.arch.convs.len()
        ));
    }
    Ok(Explanation::Output(output(weights, &maps.values)))
}

/// Block `b`'s output rows and columns over inputs of `h`×`w`.
fn output_size(b: &ConvBlock, h: usize, w: usize) -> (usize, usize) {
    (
        (h + 2 * b.padding - b.kernel) / b.stride + 1,
        (w + 2 * b.padding - b.kernel) / b.stride + 1,
    )
}

/// What block `i`'s map `m` reads of `input` and weighs it by, tap by tap.
struct Taps<'a> {
    block: &'a ConvBlock,
    input: &'a Maps,
    kernel: &'a [f32],
    m: usize,
}

impl<'a> Taps<'a> {
    fn new(weights: &'a Weights, input: &'a Maps, i: usize, m: usize) -> Self {
        Self {
            block: &weights.arch.convs[i],
            input,
            kernel: &weights.params[2 * i],
            m,
        }
    }

    /// The input under tap `(ky, kx)` of input map `ci` for the output at `(y, x)`
    /// (0 on the padding).
    fn read(&self, (y, x): (usize, usize), ci: usize, (ky, kx): (usize, usize)) -> f32 {
        let b = self.block;
        let iy = (y * b.stride + ky) as isize - b.padding as isize;
        let ix = (x * b.stride + kx) as isize - b.padding as isize;
        self.input.at(ci, iy, ix)
    }

    /// The kernel's weight at tap `(ky, kx)` of input map `ci`.
    fn weight(&self, ci: usize, (ky, kx): (usize, usize)) -> f32 {
        let (k, cin) = (self.block.kernel, self.input.shape[0]);
        self.kernel[((self.m * cin + ci) * k + ky) * k + kx]
    }

    /// `f` at every tap, `[input map][row][col]`.
    fn per_tap(&self, f: impl Fn(usize, (usize, usize)) -> f32) -> Vec<Vec<Vec<f32>>> {
        let k = self.block.kernel;
        (0..self.input.shape[0])
            .map(|ci| {
                (0..k)
                    .map(|ky| (0..k).map(|kx| f(ci, (ky, kx))).collect())
                    .collect()
            })
            .collect()
    }
}

/// The pre-activation of block `i`'s map `m` at `at` and each input map's part.
fn pre_activation(
    weights: &Weights,
    input: &Maps,
    i: usize,
    m: usize,
    at: (usize, usize),
) -> (Vec<f32>, f32) {
    let taps = Taps::new(weights, input, i, m);
    let k = taps.block.kernel;
    let partial: Vec<f32> = (0..input.shape[0])
        .map(|ci| {
            (0..k)
                .flat_map(|ky| (0..k).map(move |kx| (ky, kx)))
                .map(|tap| taps.read(at, ci, tap) * taps.weight(ci, tap))
                .sum()
        })
        .collect();
    let pre = partial.iter().sum::<f32>() + weights.params[2 * i + 1][m];
    (partial, pre)
}

/// Block `i` whole: convolution, activation, pooling.
fn conv_block(weights: &Weights, input: &Maps, i: usize) -> Maps {
    let b = &weights.arch.convs[i];
    let [_, h, w] = input.shape;
    let (ho, wo) = output_size(b, h, w);
    let mut act = Maps {
        values: Vec::with_capacity(b.out_channels * ho * wo),
        shape: [b.out_channels, ho, wo],
    };
    for m in 0..b.out_channels {
        for y in 0..ho {
            for x in 0..wo {
                let (_, pre) = pre_activation(weights, input, i, m, (y, x));
                act.values.push(activate(pre, weights.activation));
            }
        }
    }
    pool(&act, b.pool, weights.pooling)
}

fn activate(v: f32, activation: Activation) -> f32 {
    match activation {
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        Activation::Relu => v.max(0.0),
    }
}

/// Non-overlapping `size`×`size` pooling.
fn pool(maps: &Maps, size: usize, pooling: Pooling) -> Maps {
    let [c, h, w] = maps.shape;
    let (ph, pw) = (h / size, w / size);
    let mut out = Maps {
        values: Vec::with_capacity(c * ph * pw),
        shape: [c, ph, pw],
    };
    for ch in 0..c {
        for y in 0..ph {
            for x in 0..pw {
                let window = window(maps, ch, (y * size, x * size), size);
                out.values.push(pool_value(&window, pooling));
            }
        }
    }
    out
}

fn window(maps: &Maps, c: usize, (y0, x0): (usize, usize), size: usize) -> Vec<Vec<f32>> {
    (0..size)
        .map(|dy| {
            (0..size)
                .map(|dx| maps.at(c, (y0 + dy) as isize, (x0 + dx) as isize))
                .collect()
        })
        .collect()
}

fn pool_value(window: &[Vec<f32>], pooling: Pooling) -> f32 {
    let all = window.iter().flatten().copied();
    match pooling {
        Pooling::Max => all.fold(f32::NEG_INFINITY, f32::max),
        Pooling::Avg => {
            let n = window.iter().map(Vec::len).sum::<usize>().max(1);
            all.sum::<f32>() / n as f32
        }
    }
}

/// One convolution cell, worked out.
fn conv_cell(
    weights: &Weights,
    input: &Maps,
    i: usize,
    m: usize,
    (y, x): (usize, usize),
) -> Result<ConvWork, String> {
    let b = &weights.arch.convs[i];
    let [_, h, w] = input.shape;
    let (ho, wo) = output_size(b, h, w);
    if m >= b.out_channels {
        return Err(format!(
            "map {m}: layer {} has maps 0 to {}",
            i + 1,
            b.out_channels - 1
        ));
    }
    if y >= ho || x >= wo {
        return Err(format!("at {y},{x}: layer {}'s maps are {ho}×{wo}", i + 1));
    }
    let taps = Taps::new(weights, input, i, m);
    let (partial, pre) = pre_activation(weights, input, i, m, (y, x));
    // The pooling window the cell falls in, its activations worked out alone (0 past
    // the map's edge, where pooling reads nothing).
    let size = b.pool;
    let (y0, x0) = ((y / size) * size, (x / size) * size);
    let window: Vec<Vec<f32>> = (y0..y0 + size)
        .map(|yy| {
            (x0..x0 + size)
                .map(|xx| {
                    if yy < ho && xx < wo {
                        let (_, p) = pre_activation(weights, input, i, m, (yy, xx));
                        activate(p, weights.activation)
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    Ok(ConvWork {
        patch: taps.per_tap(|ci, tap| taps.read((y, x), ci, tap)),
        kernel: taps.per_tap(|ci, tap| taps.weight(ci, tap)),
        partial,
        bias: weights.params[2 * i + 1][m],
        pre,
        act: activate(pre, weights.activation),
        pool: PoolWork {
            kind: weights.pooling,
            value: pool_value(&window, weights.pooling),
            window,
        },
    })
}

/// The dense layers and the softmax over the flattened last block.
fn output(weights: &Weights, flat: &[f32]) -> OutputWork {
    let convs = weights.arch.convs.len();
    let layers = weights.arch.dense.len() + 1;
    let mut x = flat.to_vec();
    for l in 0..layers {
        let (w, b) = (
            &weights.params[2 * (convs + l)],
            &weights.params[2 * (convs + l) + 1],
        );
        let din = x.len();
        let mut y: Vec<f32> = b
            .iter()
            .enumerate()
            .map(|(o, &bias)| bias + (0..din).map(|i| w[o * din + i] * x[i]).sum::<f32>())
            .collect();
        if l + 1 < layers {
            y.iter_mut()
                .for_each(|v| *v = activate(*v, weights.activation));
        }
        x = y;
    }
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let probs: Vec<f32> = exp.iter().map(|&e| e / sum).collect();
    let top = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    OutputWork {
        logits: x,
        exp,
        sum,
        probs,
        top,
    }
}
