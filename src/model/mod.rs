//! LeNet-5 in Candle, as in *Dive into Deep Learning*'s LeNet chapter.
//!
//! Shape contract: input `[batch, 1, 28, 28]` pixels in [0, 1]; output `[batch, 10]`
//! logits. Pooling and activation are settings of the forward pass, not layers with
//! weights, so they can change between two batches without touching a parameter.
//!
//! Weights are drawn from the project's own seeded RNG (Candle 0.11's CPU generator
//! cannot be seeded): Xavier-uniform for conv and dense weights, as the chapter's
//! `init_weights`, and PyTorch's default uniform ±1/√fan_in for biases.

pub mod cpu;
pub mod shapes;

use std::fmt;
use std::str::FromStr;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

pub use shapes::{LayerShape, LayerTable};

/// How each convolution block downsamples (2×2 window, stride 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Average pooling, the chapter's choice.
    Avg,
    /// Max pooling, the chapter's exercise 1.
    Max,
}

/// The non-linearity after every convolution and hidden dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The logistic sigmoid, the chapter's choice.
    Sigmoid,
    /// Rectified linear unit.
    Relu,
}

impl Pooling {
    /// The other kind, for a toggle key.
    pub fn toggled(self) -> Self {
        match self {
            Pooling::Avg => Pooling::Max,
            Pooling::Max => Pooling::Avg,
        }
    }

    /// PyTorch's name for the layer.
    pub fn layer_name(self) -> &'static str {
        match self {
            Pooling::Avg => "AvgPool2d",
            Pooling::Max => "MaxPool2d",
        }
    }
}

impl Activation {
    /// The other kind, for a toggle key.
    pub fn toggled(self) -> Self {
        match self {
            Activation::Sigmoid => Activation::Relu,
            Activation::Relu => Activation::Sigmoid,
        }
    }

    /// PyTorch's name for the layer.
    pub fn layer_name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "Sigmoid",
            Activation::Relu => "ReLU",
        }
    }
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pooling::Avg => "avg",
            Pooling::Max => "max",
        })
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
        })
    }
}

impl FromStr for Pooling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as clap::ValueEnum>::from_str(s, true)
            .map_err(|_| format!("`{s}` is not a pooling (avg, max)"))
    }
}

impl FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as clap::ValueEnum>::from_str(s, true)
            .map_err(|_| format!("`{s}` is not an activation (sigmoid, relu)"))
    }
}

/// A convolution block: conv → activation → pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvBlock {
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Step between kernel positions.
    #[serde(default = "one")]
    pub stride: usize,
    /// Side of the square pooling window, which moves by its own size (1: no pooling).
    #[serde(default = "two")]
    pub pool: usize,
}

fn one() -> usize {
    1
}

fn two() -> usize {
    2
}

impl ConvBlock {
    /// A block with stride 1 and the chapter's 2×2 pooling.
    pub fn new(out_channels: usize, kernel: usize, padding: usize) -> Self {
        Self {
            out_channels,
            kernel,
            padding,
            stride: 1,
            pool: 2,
        }
    }
}

/// How weights are drawn before training (biases always take PyTorch's default,
/// uniform in ±1/√fan_in).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Uniform in ±√(6/(fan_in+fan_out)): the chapter's choice.
    #[default]
    XavierUniform,
    /// Normal with σ = √(2/(fan_in+fan_out)).
    XavierNormal,
    /// He: normal with σ = √(2/fan_in), suited to ReLU.
    Kaiming,
    /// Normal with the given σ.
    Normal(f64),
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::XavierUniform => f.write_str("xavier-uniform"),
            Init::XavierNormal => f.write_str("xavier-normal"),
            Init::Kaiming => f.write_str("kaiming"),
            Init::Normal(sigma) => write!(f, "normal({sigma})"),
        }
    }
}

impl FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not an initialisation (xavier-uniform, xavier-normal, kaiming, \
                 normal(SIGMA) with SIGMA > 0, e.g. normal(0.01))"
            )
        };
        match s {
            "xavier-uniform" | "xavier" => Ok(Init::XavierUniform),
            "xavier-normal" => Ok(Init::XavierNormal),
            "kaiming" | "he" => Ok(Init::Kaiming),
            _ => {
                let sigma = s
                    .strip_prefix("normal(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .ok_or_else(bad)?;
                Ok(Init::Normal(sigma))
            }
        }
    }
}

/// The network's layout: conv blocks, then dense layers, then the classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Input channels, height and width.
    pub input: [usize; 3],
    /// Convolution blocks in order.
    pub convs: Vec<ConvBlock>,
    /// Hidden dense layer widths in order.
    pub dense: Vec<usize>,
    /// Number of classes (the last dense layer's width).
    pub classes: usize,
    /// How the weights are drawn.
    #[serde(default)]
    pub init: Init,
}

impl Architecture {
    /// The chapter's LeNet-5 for `height`×`width` single-channel images.
    pub fn lenet(height: usize, width: usize, classes: usize) -> Self {
        Self {
            input: [1, height, width],
            convs: vec![ConvBlock::new(6, 5, 2), ConvBlock::new(16, 5, 0)],
            dense: vec![120, 84],
            classes,
            init: Init::XavierUniform,
        }
    }

    /// The output side of every block and the flattened width, or the first layer
    /// that cannot take its input, named, with the shapes up to it.
    pub fn plan(&self) -> Result<Plan, ModelError> {
        let [mut c, mut h, mut w] = self.input;
        let mut path = format!("input {}", shapes::format_shape(&[c, h, w]));
        let fail = |layer: String, why: String, path: &str| ModelError::Layout {
            layer,
            why,
            path: path.to_string(),
        };
        let mut blocks = Vec::new();
        for (i, b) in self.convs.iter().enumerate() {
            let name = format!("conv{}", i + 1);
            let (ph, pw) = (h + 2 * b.padding, w + 2 * b.padding);
            if b.out_channels == 0 || b.kernel == 0 || b.stride == 0 || b.pool == 0 {
                return Err(fail(
                    name,
                    "channels, kernel, stride and pooling window must all be at least 1".into(),
                    &path,
                ));
            }
            if b.kernel > ph || b.kernel > pw {
                return Err(fail(
                    name,
                    format!(
                        "a {k}×{k} kernel does not fit a {h}×{w} input with padding {p}",
                        k = b.kernel,
                        p = b.padding
                    ),
                    &path,
                ));
            }
            let (ho, wo) = (
                (ph - b.kernel) / b.stride + 1,
                (pw - b.kernel) / b.stride + 1,
            );
            path += &format!(
                " → {name} {}",
                shapes::format_shape(&[b.out_channels, ho, wo])
            );
            c = b.out_channels;
            if b.pool > ho || b.pool > wo {
                return Err(fail(
                    format!("pool{}", i + 1),
                    format!(
                        "a {q}×{q} pooling window does not fit a {ho}×{wo} input",
                        q = b.pool
                    ),
                    &path,
                ));
            }
            (h, w) = (ho / b.pool, wo / b.pool);
            if b.pool > 1 {
                path += &format!(" → pool{} {}", i + 1, shapes::format_shape(&[c, h, w]));
            }
            blocks.push(BlockPlan {
                output: [c, ho, wo],
                pooled: [c, h, w],
            });
        }
        let flat = c * h * w;
        if let Some(i) = std::iter::once(&flat)
            .chain(&self.dense)
            .chain(std::iter::once(&self.classes))
            .position(|&n| n == 0)
        {
            let layer = if i == 0 {
                "flatten".to_string()
            } else {
                format!("fc{i}")
            };
            return Err(fail(layer, "a layer with no outputs".into(), &path));
        }
        Ok(Plan {
            blocks,
            flattened: flat,
        })
    }

    /// The layout in words, e.g. `conv 6k5p2 → 16k5 · dense 120, 84 · 10 classes`.
    pub fn summary(&self) -> String {
        let convs: Vec<String> = self
            .convs
            .iter()
            .map(|b| {
                let mut t = format!("{}k{}", b.out_channels, b.kernel);
                if b.padding > 0 {
                    t += &format!("p{}", b.padding);
                }
                if b.stride > 1 {
                    t += &format!("s{}", b.stride);
                }
                if b.pool != 2 {
                    t += &format!("/pool{}", b.pool);
                }
                t
            })
            .collect();
        let dense: Vec<String> = self.dense.iter().map(usize::to_string).collect();
        format!(
            "conv {} · dense {} · {} classes · init {}",
            if convs.is_empty() {
                "none".into()
            } else {
                convs.join(" → ")
            },
            if dense.is_empty() {
                "none".into()
            } else {
                dense.join(", ")
            },
            self.classes,
            self.init
        )
    }
}

/// The shapes an [`Architecture`] produces, per example.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Each conv block's output and pooled shapes.
    pub blocks: Vec<BlockPlan>,
    /// Width of the flattened last block.
    pub flattened: usize,
}

/// One conv block's shapes, `[channels, rows, cols]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockPlan {
    /// After the convolution (and activation).
    pub output: [usize; 3],
    /// After pooling.
    pub pooled: [usize; 3],
}

impl Default for Architecture {
    fn default() -> Self {
        Self::lenet(28, 28, 10)
    }
}

/// Why a model could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A Candle operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A layer of the configured architecture cannot take its input.
    #[error("model: {layer}: {why}\n  shapes: {path} → {layer} ✗")]
    Layout {
        /// The layer, e.g. `conv3` or `pool2`.
        layer: String,
        /// What does not fit.
        why: String,
        /// The shapes from the input up to the layer, e.g. `input 1×28×28 → conv1 …`.
        path: String,
    },
    /// A layer cannot take its input's shape.
    #[error("{layer}: {why} (input {})", shapes::format_shape(input))]
    Shape {
        /// The layer, e.g. `conv2`.
        layer: String,
        /// Its input shape.
        input: Vec<usize>,
        /// What does not fit.
        why: String,
    },
}

/// A stack of 2-D activation maps for one image, e.g. 6×28×28 after conv1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivationMap {
    /// Number of maps.
    pub channels: usize,
    /// Rows per map.
    pub height: usize,
    /// Columns per map.
    pub width: usize,
    /// `channels * height * width` values, map by map, row-major.
    pub values: Vec<f32>,
}

impl ActivationMap {
    /// The values of map `c`.
    pub fn channel(&self, c: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.values[c * n..(c + 1) * n]
    }
}

/// What the model makes of one image: its first two layers' activations and its
/// class probabilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// Activations after the first conv block's activation function.
    pub layer1: ActivationMap,
    /// Activations after the second conv block's activation function.
    pub layer2: ActivationMap,
    /// Softmax over the classes.
    pub probabilities: Vec<f32>,
}

enum Layer {
    Conv {
        weight: Var,
        bias: Var,
        padding: usize,
        stride: usize,
    },
    Activation,
    /// Pooling over a square window of this side, moving by the same.
    Pool(usize),
    Flatten,
    Dense {
        weight: Var,
        bias: Var,
    },
}

/// LeNet with its parameters, current pooling and activation.
pub struct LeNet {
    arch: Architecture,
    varmap: VarMap,
    layers: Vec<Layer>,
    /// Pooling used by the forward pass from the next call on.
    pub pooling: Pooling,
    /// Activation used by the forward pass from the next call on.
    pub activation: Activation,
    device: Device,
}

impl LeNet {
    /// Builds the network on `device` with weights drawn from `rng`, refusing
    /// architectures whose shapes do not fit.
    pub fn new(
        arch: &Architecture,
        pooling: Pooling,
        activation: Activation,
        device: &Device,
        rng: &mut StdRng,
    ) -> Result<Self, ModelError> {
        let varmap = VarMap::new();
        let mut layers = Vec::new();
        let [mut c, _, _] = arch.input;
        let new_var = |name: String, dims: &[usize]| -> Result<Var, ModelError> {
            let var = Var::zeros(dims, DType::F32, device)?;
            varmap
                .data()
                .lock()
                .expect("var map lock")
                .insert(name, var.clone());
            Ok(var)
        };
        let plan = arch.plan()?;
        for (i, (block, shape)) in arch.convs.iter().zip(&plan.blocks).enumerate() {
            let name = format!("conv{}", i + 1);
            let k = block.kernel;
            let weight = new_var(format!("{name}.weight"), &[block.out_channels, c, k, k])?;
            let bias = new_var(format!("{name}.bias"), &[block.out_channels])?;
            layers.push(Layer::Conv {
                weight,
                bias,
                padding: block.padding,
                stride: block.stride,
            });
            layers.push(Layer::Activation);
            if block.pool > 1 {
                layers.push(Layer::Pool(block.pool));
            }
            c = shape.pooled[0];
        }
        layers.push(Layer::Flatten);
        let mut features = plan.flattened;
        let widths = arch.dense.iter().chain(std::iter::once(&arch.classes));
        for (i, &out) in widths.enumerate() {
            let name = format!("fc{}", i + 1);
            let weight = new_var(format!("{name}.weight"), &[out, features])?;
            let bias = new_var(format!("{name}.bias"), &[out])?;
            layers.push(Layer::Dense { weight, bias });
            if i < arch.dense.len() {
                layers.push(Layer::Activation);
            }
            features = out;
        }
        let mut model = Self {
            arch: arch.clone(),
            varmap,
            layers,
            pooling,
            activation,
            device: device.clone(),
        };
        model.reinitialize(rng)?;
        Ok(model)
    }

    /// Draws fresh weights from `rng` by the architecture's [`Init`], PyTorch-default
    /// biases.
    pub fn reinitialize(&mut self, rng: &mut StdRng) -> Result<(), ModelError> {
        for layer in &self.layers {
            let (weight, bias) = match layer {
                Layer::Conv { weight, bias, .. } | Layer::Dense { weight, bias } => (weight, bias),
                _ => continue,
            };
            let dims = weight.dims();
            // Conv weights are [out, in, k, k]; dense weights are [out, in].
            let receptive: usize = dims[2..].iter().product();
            let fan_in = dims[1] * receptive;
            let fan_out = dims[0] * receptive;
            let values = match self.arch.init {
                Init::XavierUniform => uniform(
                    rng,
                    dims,
                    (6.0 / (fan_in + fan_out) as f64).sqrt(),
                    &self.device,
                ),
                Init::XavierNormal => normal(
                    rng,
                    dims,
                    (2.0 / (fan_in + fan_out) as f64).sqrt(),
                    &self.device,
                ),
                Init::Kaiming => normal(rng, dims, (2.0 / fan_in as f64).sqrt(), &self.device),
                Init::Normal(sigma) => normal(rng, dims, sigma, &self.device),
            }?;
            weight.set(&values)?;
            let bias_bound = 1.0 / (fan_in as f64).sqrt();
            bias.set(&uniform(rng, bias.dims(), bias_bound, &self.device)?)?;
        }
        Ok(())
    }

    /// The architecture this model was built from.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// The parameters, by name (`conv1.weight`, …), for the optimiser and checkpoints.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The parameters by name, sorted, as tensors (for checkpoints).
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        let map = self.varmap.data().lock().expect("var map lock");
        let mut params: Vec<(String, Tensor)> = map
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        params
    }

    /// Each parameter's name and shape, sorted by name: what a checkpoint must hold.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.parameters()
            .into_iter()
            .map(|(name, t)| (name, t.dims().to_vec()))
            .collect()
    }

    /// Replaces every parameter; `values` must hold each name with its exact shape.
    pub fn set_parameters(
        &self,
        values: &std::collections::HashMap<String, Tensor>,
    ) -> Result<(), ModelError> {
        let map = self.varmap.data().lock().expect("var map lock");
        for (name, var) in map.iter() {
            let value = values.get(name).ok_or_else(|| ModelError::Shape {
                layer: name.clone(),
                input: var.dims().to_vec(),
                why: "missing from the new parameters".into(),
            })?;
            if value.dims() != var.dims() {
                return Err(ModelError::Shape {
                    layer: name.clone(),
                    input: value.dims().to_vec(),
                    why: format!("expected shape {:?}", var.dims()),
                });
            }
            var.set(&value.to_device(&self.device)?.to_dtype(DType::F32)?)?;
        }
        Ok(())
    }

    /// Copies the parameters `names` into `out` (resized to match), for the CPU step.
    pub fn read_parameters(
        &self,
        names: &[String],
        out: &mut Vec<Vec<f32>>,
    ) -> Result<(), ModelError> {
        let map = self.varmap.data().lock().expect("var map lock");
        out.resize_with(names.len(), Vec::new);
        for (name, buf) in names.iter().zip(out.iter_mut()) {
            let var = map.get(name).ok_or_else(|| ModelError::Shape {
                layer: name.clone(),
                input: Vec::new(),
                why: "no such parameter".into(),
            })?;
            *buf = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        }
        Ok(())
    }

    /// Sets the parameters `names` from flat `values` in their own shapes.
    pub fn write_parameters(
        &self,
        names: &[String],
        values: &[Vec<f32>],
    ) -> Result<(), ModelError> {
        let map = self.varmap.data().lock().expect("var map lock");
        for (name, values) in names.iter().zip(values) {
            let var = map.get(name).ok_or_else(|| ModelError::Shape {
                layer: name.clone(),
                input: Vec::new(),
                why: "no such parameter".into(),
            })?;
            var.set(&Tensor::from_slice(values, var.dims(), &self.device)?)?;
        }
        Ok(())
    }

    /// The device the parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Training forward pass: logits, with the graph recorded for backprop.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        self.walk(x, true, |_, _, _| Ok(()))
    }

    /// Inference forward pass: logits, no gradient tracking.
    pub fn forward_eval(&self, x: &Tensor) -> Result<Tensor, ModelError> {
        self.walk(x, false, |_, _, _| Ok(()))
    }

    /// First- and second-layer activations and class probabilities for a batch of
    /// images `[n, 1, h, w]`, one [`Probe`] per image.
    pub fn probe(&self, x: &Tensor) -> Result<Vec<Probe>, ModelError> {
        let mut conv_outputs = Vec::new();
        let mut after_conv = false;
        let logits = self.walk(x, false, |layer, _, out| {
            match layer {
                Layer::Conv { .. } => after_conv = true,
                Layer::Activation if after_conv => {
                    conv_outputs.push(out.clone());
                    after_conv = false;
                }
                _ => {}
            }
            Ok(())
        })?;
        let probs = candle_nn::ops::softmax(&logits, 1)?.to_vec2::<f32>()?;
        let maps = |t: Option<&Tensor>| -> Result<Vec<ActivationMap>, ModelError> {
            let Some(t) = t else {
                // A model with a single conv block has no second layer to show.
                return Ok(vec![empty_map(); probs.len()]);
            };
            let (_, c, h, w) = t.dims4()?;
            let values = t.flatten_from(1)?.to_vec2::<f32>()?;
            Ok(values
                .into_iter()
                .map(|values| ActivationMap {
                    channels: c,
                    height: h,
                    width: w,
                    values,
                })
                .collect())
        };
        let layer1 = maps(conv_outputs.first())?;
        let layer2 = maps(conv_outputs.get(1))?;
        Ok(layer1
            .into_iter()
            .zip(layer2)
            .zip(probs)
            .map(|((layer1, layer2), probabilities)| Probe {
                layer1,
                layer2,
                probabilities,
            })
            .collect())
    }

    /// The per-layer table, measured by a dry run of one zero image.
    pub fn layer_table(&self) -> Result<LayerTable, ModelError> {
        let [c, h, w] = self.arch.input;
        let x = Tensor::zeros((1, c, h, w), DType::F32, &self.device)?;
        let mut layers = Vec::new();
        self.walk(&x, false, |layer, name, out| {
            let parameters = match layer {
                Layer::Conv { weight, bias, .. } | Layer::Dense { weight, bias } => {
                    weight.elem_count() + bias.elem_count()
                }
                _ => 0,
            };
            layers.push(LayerShape {
                layer: name.to_string(),
                output: out.dims().to_vec(),
                parameters,
            });
            Ok(())
        })?;
        Ok(LayerTable {
            input: x.dims().to_vec(),
            layers,
        })
    }

    /// Runs the layers in order, calling `observe` with each layer, its display name
    /// and its output. `track` keeps the backprop graph; without it the parameters are
    /// used detached, so evaluation builds no graph.
    fn walk(
        &self,
        x: &Tensor,
        track: bool,
        mut observe: impl FnMut(&Layer, &str, &Tensor) -> Result<(), ModelError>,
    ) -> Result<Tensor, ModelError> {
        let param = |v: &Var| {
            if track {
                v.as_tensor().clone()
            } else {
                v.as_tensor().detach()
            }
        };
        let mut x = x.clone();
        for layer in &self.layers {
            let name;
            x = match layer {
                Layer::Conv {
                    weight,
                    bias,
                    padding,
                    stride,
                } => {
                    name = "Conv2d";
                    let b = param(bias);
                    let channels = b.dims1()?;
                    x.conv2d(&param(weight), *padding, *stride, 1, 1)?
                        .broadcast_add(&b.reshape((1, channels, 1, 1))?)?
                }
                Layer::Activation => {
                    name = self.activation.layer_name();
                    match self.activation {
                        Activation::Sigmoid => candle_nn::ops::sigmoid(&x)?,
                        Activation::Relu => x.relu()?,
                    }
                }
                Layer::Pool(q) => {
                    name = self.pooling.layer_name();
                    match self.pooling {
                        Pooling::Avg => avg_pool(&x, *q)?,
                        Pooling::Max => max_pool(&x, *q)?,
                    }
                }
                Layer::Flatten => {
                    name = "Flatten";
                    x.flatten_from(1)?
                }
                Layer::Dense { weight, bias } => {
                    name = "Linear";
                    x.matmul(&param(weight).t()?)?.broadcast_add(&param(bias))?
                }
            };
            observe(layer, name, &x)?;
        }
        Ok(x)
    }
}

/// q×q average pooling with stride q, ragged edges dropped first: Candle 0.11's
/// `avg_pool2d` backward spreads the gradient by nearest-neighbour upsampling to the
/// input's size, which misplaces it when the window does not divide the input.
fn avg_pool(x: &Tensor, q: usize) -> candle_core::Result<Tensor> {
    trim_to_windows(x, q)?.avg_pool2d(q)
}

/// `x` without the rows and columns that no q×q window covers.
fn trim_to_windows(x: &Tensor, q: usize) -> candle_core::Result<Tensor> {
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
fn max_pool(x: &Tensor, q: usize) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (h2, w2) = (h / q, w / q);
    trim_to_windows(x, q)?
        .reshape((n, c, h2, q, w2, q))?
        .permute((0, 1, 2, 4, 3, 5))?
        .reshape((n, c, h2, w2, q * q))?
        .max(4)
}

fn empty_map() -> ActivationMap {
    ActivationMap {
        channels: 0,
        height: 0,
        width: 0,
        values: Vec::new(),
    }
}

fn uniform(
    rng: &mut StdRng,
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
    rng: &mut StdRng,
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
    use rand::SeedableRng;

    fn model(pooling: Pooling, activation: Activation) -> LeNet {
        let mut rng = StdRng::seed_from_u64(1);
        LeNet::new(
            &Architecture::default(),
            pooling,
            activation,
            &Device::Cpu,
            &mut rng,
        )
        .unwrap()
    }

    #[test]
    fn shape_table_matches_the_chapter() {
        let table = model(Pooling::Avg, Activation::Sigmoid)
            .layer_table()
            .unwrap();
        let rows: Vec<(&str, String)> = table
            .layers
            .iter()
            .map(|l| (l.layer.as_str(), shapes::format_shape(&l.output)))
            .collect();
        let expected = [
            ("Conv2d", "1×6×28×28"),
            ("Sigmoid", "1×6×28×28"),
            ("AvgPool2d", "1×6×14×14"),
            ("Conv2d", "1×16×10×10"),
            ("Sigmoid", "1×16×10×10"),
            ("AvgPool2d", "1×16×5×5"),
            ("Flatten", "1×400"),
            ("Linear", "1×120"),
            ("Sigmoid", "1×120"),
            ("Linear", "1×84"),
            ("Sigmoid", "1×84"),
            ("Linear", "1×10"),
        ];
        let expected: Vec<(&str, String)> =
            expected.iter().map(|&(n, s)| (n, s.to_string())).collect();
        assert_eq!(rows, expected);
        assert_eq!(table.total_parameters(), 61_706);
    }

    #[test]
    fn xavier_bounds_hold_and_seeds_reproduce() {
        let a = model(Pooling::Avg, Activation::Sigmoid);
        let b = model(Pooling::Avg, Activation::Sigmoid);
        let data = a.varmap().data().lock().unwrap();
        let w = data["conv2.weight"]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // fan_in 6*25, fan_out 16*25: bound sqrt(6/550) ≈ 0.1044.
        let bound = (6.0f32 / 550.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= bound));
        assert!(
            w.iter().any(|v| v.abs() > 0.9 * bound),
            "spread over the range"
        );
        let wb = b.varmap().data().lock().unwrap()["conv2.weight"]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(w, wb);
    }

    #[test]
    fn pooling_and_activation_change_the_output_not_the_weights() {
        let mut m = model(Pooling::Avg, Activation::Sigmoid);
        let x = Tensor::rand(0f32, 1f32, (2, 1, 28, 28), &Device::Cpu).unwrap();
        let before = m.forward_eval(&x).unwrap().to_vec2::<f32>().unwrap();
        let weights = |m: &LeNet| {
            let data = m.varmap().data().lock().unwrap();
            let mut names: Vec<_> = data.keys().cloned().collect();
            names.sort();
            names
                .iter()
                .map(|n| {
                    data[n]
                        .as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
                .collect::<Vec<_>>()
        };
        let w0 = weights(&m);
        m.pooling = Pooling::Max;
        let max = m.forward_eval(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_ne!(before, max);
        m.activation = Activation::Relu;
        assert_ne!(max, m.forward_eval(&x).unwrap().to_vec2::<f32>().unwrap());
        assert_eq!(w0, weights(&m));
        let table = m.layer_table().unwrap();
        assert_eq!(table.layers[2].layer, "MaxPool2d");
        assert_eq!(table.layers[1].layer, "ReLU");
    }

    #[test]
    fn probe_returns_first_and_second_layer_maps() {
        let m = model(Pooling::Avg, Activation::Sigmoid);
        let x = Tensor::rand(0f32, 1f32, (3, 1, 28, 28), &Device::Cpu).unwrap();
        let probes = m.probe(&x).unwrap();
        assert_eq!(probes.len(), 3);
        let p = &probes[0];
        assert_eq!(
            (p.layer1.channels, p.layer1.height, p.layer1.width),
            (6, 28, 28)
        );
        assert_eq!(
            (p.layer2.channels, p.layer2.height, p.layer2.width),
            (16, 10, 10)
        );
        assert_eq!(p.layer1.values.len(), 6 * 28 * 28);
        assert!(
            p.layer1.values.iter().all(|v| (0.0..=1.0).contains(v)),
            "after sigmoid"
        );
        let sum: f32 = p.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
    }

    /// PyTorch:
    /// ```python
    /// x = torch.tensor([[[[1., 5, 2, 0], [3, 4, 8, 1], [0, 2, 7, 6], [9, 1, 3, 3]]]], requires_grad=True)
    /// torch.nn.functional.max_pool2d(x, 2).sum().backward()
    /// x.grad  # [[0,1,0,0],[0,0,1,0],[0,0,1,0],[1,0,0,0]]
    /// ```
    #[test]
    fn max_pool_matches_pytorch_values_and_gradients() {
        let values = [
            1f32, 5., 2., 0., 3., 4., 8., 1., 0., 2., 7., 6., 9., 1., 3., 3.,
        ];
        let x = Var::from_slice(&values, (1, 1, 4, 4), &Device::Cpu).unwrap();
        let y = max_pool(x.as_tensor(), 2).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [5., 8., 9., 7.]
        );
        let grads = y.sum_all().unwrap().backward().unwrap();
        let g = grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let expected = [
            0f32, 1., 0., 0., 0., 0., 1., 0., 0., 0., 1., 0., 1., 0., 0., 0.,
        ];
        assert_eq!(g, expected);
        // Odd sizes drop the last row and column, as PyTorch does.
        let odd = Tensor::arange(0f32, 25., &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 5, 5))
            .unwrap();
        let y = max_pool(&odd, 2).unwrap();
        assert_eq!(
            y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            [6., 8., 16., 18.]
        );
        // Same values as Candle's own forward pass.
        let x = Tensor::rand(0f32, 1f32, (2, 3, 10, 10), &Device::Cpu).unwrap();
        let ours = max_pool(&x, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let theirs = x
            .max_pool2d(2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn impossible_shapes_name_the_layer() {
        let mut arch = Architecture::default();
        arch.convs[1].kernel = 20;
        let mut rng = StdRng::seed_from_u64(1);
        let err = LeNet::new(
            &arch,
            Pooling::Avg,
            Activation::Sigmoid,
            &Device::Cpu,
            &mut rng,
        )
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "model: conv2: a 20×20 kernel does not fit a 14×14 input with padding 0\n  \
             shapes: input 1×28×28 → conv1 6×28×28 → pool1 6×14×14 → conv2 ✗"
        );
    }
}

#[cfg(test)]
mod init_tests {
    use super::*;
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
            let mut rng = StdRng::seed_from_u64(2);
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
