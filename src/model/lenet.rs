//! LeNet-5 in Candle, as in *Dive into Deep Learning*'s LeNet chapter.
//!
//! Shape contract: input `[batch, 1, 28, 28]` pixels in [0, 1]; output `[batch, 10]`
//! logits. Pooling and activation are settings of the forward pass, not layers with
//! weights, so they can change between two batches without touching a parameter.

use crate::rng::SeededRng;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;

use super::arch::{Activation, Architecture, LayoutError, Pooling};
use super::arch::{LayerKind, Param, parameter_name};
use super::candle_fixes::{avg_pool, max_pool};
use super::init;
use super::probe::{ActivationMap, Probe, empty_map};
use super::shapes::{self, LayerShape, LayerTable};

/// Why a model could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A Candle operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A layer of the configured architecture cannot take its input.
    #[error(transparent)]
    Layout(#[from] LayoutError),
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
        rng: &mut SeededRng,
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
            let name = |param| parameter_name(LayerKind::Conv, i + 1, param);
            let k = block.kernel;
            let weight = new_var(name(Param::Weight), &[block.out_channels, c, k, k])?;
            let bias = new_var(name(Param::Bias), &[block.out_channels])?;
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
            let name = |param| parameter_name(LayerKind::Dense, i + 1, param);
            let weight = new_var(name(Param::Weight), &[out, features])?;
            let bias = new_var(name(Param::Bias), &[out])?;
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
    pub fn reinitialize(&mut self, rng: &mut SeededRng) -> Result<(), ModelError> {
        for layer in &self.layers {
            let (weight, bias) = match layer {
                Layer::Conv { weight, bias, .. } | Layer::Dense { weight, bias } => (weight, bias),
                _ => continue,
            };
            let values = init::weights(self.arch.init, rng, weight.dims(), &self.device)?;
            weight.set(&values)?;
            bias.set(&init::biases(
                rng,
                bias.dims1()?,
                weight.dims(),
                &self.device,
            )?)?;
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
            // Into the buffer already there: a fresh 192 KB vector a step (fc1's
            // weights) costs page faults, and how many depends on the allocator's
            // mood (measured: 2–4 % of a step in benches/history-pair.sh).
            let tensor = var.as_tensor();
            let (storage, layout) = tensor.storage_and_layout();
            match (&*storage, layout.contiguous_offsets()) {
                (candle_core::Storage::Cpu(cpu), Some((start, end))) => {
                    buf.clear();
                    buf.extend_from_slice(&cpu.as_slice::<f32>()?[start..end]);
                }
                _ => {
                    drop(storage);
                    *buf = tensor.flatten_all()?.to_vec1::<f32>()?;
                }
            }
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

    /// Training forward pass that also keeps each conv and dense layer's output
    /// (after its activation; the logits for the classifier), for layer statistics.
    pub fn forward_with_outputs(&self, x: &Tensor) -> Result<(Tensor, Vec<Tensor>), ModelError> {
        let mut outputs: Vec<Tensor> = Vec::new();
        let mut after_weights = false;
        let logits = self.walk(x, true, |layer, _, out| {
            match layer {
                Layer::Conv { .. } | Layer::Dense { .. } => {
                    outputs.push(out.clone());
                    after_weights = true;
                }
                Layer::Activation if after_weights => {
                    if let Some(last) = outputs.last_mut() {
                        *last = out.clone();
                    }
                    after_weights = false;
                }
                _ => after_weights = false,
            }
            Ok(())
        })?;
        Ok((logits, outputs))
    }

    /// Each conv and dense layer's weight (not its bias), in order, as the tensors
    /// the graph's gradients are keyed by.
    pub fn layer_weights(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .filter_map(|layer| match layer {
                Layer::Conv { weight, .. } | Layer::Dense { weight, .. } => {
                    Some(weight.as_tensor().clone())
                }
                _ => None,
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn model(pooling: Pooling, activation: Activation) -> LeNet {
        let mut rng = SeededRng::seed_from_u64(1);
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
        let mut rng = SeededRng::seed_from_u64(1);
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
