//! The model as it was at a snapshot: a CPU copy of the network that takes a
//! snapshot's weights and pieces, and says what it made of the chosen test images then.
//! It lives on the CPU whatever the run trains on, so looking back costs the GPU
//! nothing and a replay needs none.

use crate::rng::SeededRng;
use candle_core::Device;
use rand::SeedableRng;

use super::{Moment, Seek, Snapshot, Timeline};
use crate::data::Split;
use crate::data::own::ProbeImage;
use crate::engine::probe_images;
use crate::model::{Architecture, LayerTable, LeNet, ModelError};
use crate::train::messages::{ExplainAsk, Explained, PastView};
use crate::train::report::{NamedWeights, explained, first_kernels, probe_reports};

impl Timeline {
    /// Works out `ask` with the weights and pieces of the snapshot at `at`, for a
    /// network of `architecture`; `None` when there is no snapshot there.
    pub fn explain(
        &self,
        architecture: &Architecture,
        at: f64,
        ask: &ExplainAsk,
        test: &Split,
    ) -> Option<Explained> {
        let snapshot = self.find(Seek::At(at))?;
        let names = self.parameter_names();
        let model = NamedWeights {
            arch: architecture,
            names: &names,
            weights: &snapshot.weights,
            pooling: snapshot.moment.pooling,
            activation: snapshot.moment.activation,
        };
        Some(explained(&model, ask, test, Some(snapshot.moment.at)))
    }
}

/// A network to load snapshots into.
pub struct PastModel {
    model: LeNet,
    names: Vec<String>,
}

impl PastModel {
    /// A CPU network of `architecture`, for snapshots with `parameter_names`.
    pub fn new(
        architecture: &Architecture,
        parameter_names: Vec<String>,
    ) -> Result<Self, ModelError> {
        let defaults = crate::train::TrainSettings::default();
        // The weights drawn here are replaced by every snapshot before use.
        let model = LeNet::new(
            architecture,
            defaults.pooling,
            defaults.activation,
            &Device::Cpu,
            &mut SeededRng::seed_from_u64(0),
        )?;
        Ok(Self {
            model,
            names: parameter_names,
        })
    }

    /// The per-layer table with the pieces in force at `moment`.
    pub fn layer_table(&mut self, moment: &Moment) -> Result<LayerTable, ModelError> {
        self.model.pooling = moment.pooling;
        self.model.activation = moment.activation;
        self.model.layer_table()
    }

    /// What the model of `snapshot` made of the images `probes`, with the
    /// confusion matrix of the newest epoch finished by then.
    pub fn view(
        &mut self,
        snapshot: &Snapshot,
        timeline: &Timeline,
        probes: &[ProbeImage],
        test: &Split,
    ) -> Result<PastView, ModelError> {
        self.model
            .write_parameters(&self.names, &snapshot.weights)?;
        self.model.pooling = snapshot.moment.pooling;
        self.model.activation = snapshot.moment.activation;
        let reports = probe_reports(probe_images(&self.model, test, probes)?, probes, test);
        Ok(PastView {
            moment: snapshot.moment,
            reports,
            kernels: first_kernels(&self.model)?,
            confusion: timeline.confusion_at(snapshot.moment.at).cloned(),
        })
    }
}
