//! The network's settings as plain data: pooling, activation, conv blocks, dense
//! layers and initialisation, and the shape planner that refuses layouts that cannot
//! work before anything is built. No Candle here: the UI, the config and the
//! checkpoints read these types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::shapes;

/// How each convolution block downsamples (2×2 window, stride 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Average pooling, the chapter's choice.
    Avg,
    /// Max pooling, the chapter's exercise 1.
    Max,
}

/// The non-linearity after every convolution and hidden dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
        match s.to_ascii_lowercase().as_str() {
            "avg" => Ok(Pooling::Avg),
            "max" => Ok(Pooling::Max),
            _ => Err(format!("`{s}` is not a pooling (avg, max)")),
        }
    }
}

impl FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sigmoid" => Ok(Activation::Sigmoid),
            "relu" => Ok(Activation::Relu),
            _ => Err(format!("`{s}` is not an activation (sigmoid, relu)")),
        }
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
    pub fn plan(&self) -> Result<Plan, LayoutError> {
        let [mut c, mut h, mut w] = self.input;
        let mut path = format!("input {}", shapes::format_shape(&[c, h, w]));
        let fail = |layer: String, why: String, path: &str| LayoutError {
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

/// What one training step (forward, backward, update) of a batch costs, estimated
/// from the layout: the work a device must do before the step can answer anything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCost {
    /// Floating-point operations: the forward pass's multiply-adds, twice over for the
    /// backward pass.
    pub flops: f64,
    /// Bytes the batch's activations and their gradients take, besides the weights.
    pub bytes: f64,
}

impl Architecture {
    /// The estimated cost of one training step on `batch` examples.
    pub fn step_cost(&self, batch: usize) -> Result<StepCost, LayoutError> {
        let plan = self.plan()?;
        let mut forward = 0.0;
        // Floats kept per example: inputs, every layer's output before and after its
        // activation, pooled maps.
        let mut floats = self.input.iter().product::<usize>() as f64;
        let mut channels = self.input[0];
        for (b, p) in self.convs.iter().zip(&plan.blocks) {
            let [c, h, w] = p.output;
            let outputs = (c * h * w) as f64;
            forward += 2.0 * outputs * (channels * b.kernel * b.kernel) as f64;
            floats += 2.0 * outputs + p.pooled.iter().product::<usize>() as f64;
            channels = c;
        }
        let mut width = plan.flattened;
        for &out in self.dense.iter().chain(std::iter::once(&self.classes)) {
            forward += 2.0 * (width * out) as f64;
            floats += 2.0 * out as f64;
            width = out;
        }
        let batch = batch as f64;
        Ok(StepCost {
            flops: 3.0 * forward * batch,
            // Each kept float has a gradient of the same size.
            bytes: 2.0 * floats * batch * size_of::<f32>() as f64,
        })
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

/// A layer of an [`Architecture`] that cannot take its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("model: {layer}: {why}\n  shapes: {path} → {layer} ✗")]
pub struct LayoutError {
    /// The layer, e.g. `conv3` or `pool2`.
    pub layer: String,
    /// What does not fit.
    pub why: String,
    /// The shapes from the input up to the layer, e.g. `input 1×28×28 → conv1 …`.
    pub path: String,
}

/// The two kinds of layer with parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A convolution (`conv1`, `conv2`, …).
    Conv,
    /// A dense layer (`fc1`, `fc2`, …; the last is the classifier).
    Dense,
}

/// A layer's two parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// The kernels or the weight matrix.
    Weight,
    /// One bias per output.
    Bias,
}

/// The name of the `number`-th (from 1) layer of `kind`'s parameter, as the model,
/// both engines and checkpoints call it: `conv1.weight`, `fc3.bias`.
pub fn parameter_name(kind: LayerKind, number: usize, param: Param) -> String {
    let layer = match kind {
        LayerKind::Conv => "conv",
        LayerKind::Dense => "fc",
    };
    let param = match param {
        Param::Weight => "weight",
        Param::Bias => "bias",
    };
    format!("{layer}{number}.{param}")
}

impl Architecture {
    /// Every parameter's name in the order the engines take them: each conv block's
    /// weight and bias, then each dense layer's (the classifier last).
    pub fn parameter_names(&self) -> Vec<String> {
        let layers = (1..=self.convs.len())
            .map(|i| (LayerKind::Conv, i))
            .chain((1..=self.dense.len() + 1).map(|i| (LayerKind::Dense, i)));
        layers
            .flat_map(|(kind, i)| [Param::Weight, Param::Bias].map(|p| parameter_name(kind, i, p)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_costs_what_its_layers_multiply_out_to() {
        // The chapter's LeNet, one example, forward multiply-adds counted by hand:
        // conv1 6×28×28 outputs × 25 taps, conv2 16×10×10 × 150, dense 400·120 + 120·84 + 84·10.
        let forward = 2.0 * (6.0 * 784.0 * 25.0 + 1600.0 * 150.0 + 48_000.0 + 10_080.0 + 840.0);
        let one = Architecture::default().step_cost(1).unwrap();
        assert_eq!(one.flops, 3.0 * forward);
        let batch = Architecture::default().step_cost(256).unwrap();
        assert_eq!(batch.flops, 256.0 * one.flops);
        assert!(batch.bytes > 256.0 * 784.0 * 4.0, "{batch:?}");
        // Two 512-channel blocks of 31×31 kernels: five orders of magnitude more.
        let huge = Architecture {
            convs: vec![ConvBlock::new(512, 31, 15), ConvBlock::new(512, 31, 15)],
            ..Architecture::default()
        };
        let cost = huge.step_cost(256).unwrap();
        assert!(cost.flops > 5e13, "{cost:?}");
        assert!(cost.flops / batch.flops > 1e5, "{cost:?}");
    }

    #[test]
    fn parameters_are_named_layer_by_layer() {
        assert_eq!(
            Architecture::default().parameter_names(),
            [
                "conv1.weight",
                "conv1.bias",
                "conv2.weight",
                "conv2.bias",
                "fc1.weight",
                "fc1.bias",
                "fc2.weight",
                "fc2.bias",
                "fc3.weight",
                "fc3.bias"
            ]
        );
    }

    #[test]
    fn settings_parse_in_any_case_and_refuse_others() {
        assert_eq!("MAX".parse::<Pooling>(), Ok(Pooling::Max));
        assert_eq!("ReLU".parse::<Activation>(), Ok(Activation::Relu));
        assert_eq!(
            "tanh".parse::<Activation>(),
            Err("`tanh` is not an activation (sigmoid, relu)".into())
        );
        assert_eq!(
            "min".parse::<Pooling>(),
            Err("`min` is not a pooling (avg, max)".into())
        );
    }
}
