//! The model: its settings as plain data ([`arch`]: pooling, activation, layout and the
//! shape planner; [`shapes`]; [`probe`]: what it makes of an image), and LeNet-5 in
//! Candle ([`lenet`], with [`init`] and Candle's pooling fixed in `candle_fixes`).
//! Only `lenet`, `init` and `candle_fixes` touch Candle; the UI and the config read
//! the plain types.

pub mod arch;
mod candle_fixes;
pub mod explain;
mod init;
pub mod lenet;
pub mod probe;
pub mod shapes;

pub use arch::{
    Activation, Architecture, BlockPlan, ConvBlock, Init, LayerKind, LayoutError, Param, Plan,
    Pooling, StepCost, parameter_name,
};
pub use lenet::{LeNet, ModelError};
pub use probe::{ActivationMap, Probe};
pub use shapes::{LayerShape, LayerTable};
