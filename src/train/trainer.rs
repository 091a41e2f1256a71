//! The trainer loop. Commands are drained before every batch, so each takes effect
//! before the next one; while paused the thread blocks on the command channel.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use candle_core::Device;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::checkpoint::{
    self, Checkpoint, CheckpointError, DataFacts, Meta, Position, RunDir, WeightsFacts,
};
use super::messages::{
    Change, Command, ConvKernels, Divergence, EpochSummary, Event, History, MarkedChange,
    ProbeReport, Progress, Restored, RunInfo, SaveReason, Saved,
};
use super::settings::{LearningRate, TrainSettings};
use crate::data::batches::batches_per_epoch;
use crate::data::{DataLocation, Dataset, EpochOrder};
use crate::device::{GpuMonitor, OpenedDevice};
use crate::engine::{self, ConfusionMatrix, Engine, argmax};
use crate::model::{Architecture, LeNet, ModelError};

/// Everything a trainer thread needs to start.
pub struct TrainerSpec {
    /// The data, shared with the caller (the UI shows test images from it).
    pub dataset: Arc<Dataset>,
    /// Where the model runs, and its name for reports.
    pub device: OpenedDevice,
    /// The network's layout.
    pub architecture: Architecture,
    /// The recipe (on resume: the checkpoint's, with the user's overrides).
    pub settings: TrainSettings,
    /// Where checkpoints go; `None` trains without them.
    pub checkpoints: Option<CheckpointPolicy>,
    /// A checkpoint to continue from, already checked with [`Checkpoint::check_fits`].
    pub resume: Option<Checkpoint>,
}

/// Where and how many checkpoints a run keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointPolicy {
    /// The directory holding one directory per run.
    pub runs_dir: PathBuf,
    /// Checkpoints kept per run, the newest.
    pub keep: usize,
}

/// The caller's end of a running trainer.
pub struct TrainerHandle {
    commands: Sender<Command>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl TrainerHandle {
    /// Sends a command; false if the thread has already ended.
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }

    /// The event stream.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Asks for a checkpoint and waits up to `timeout` for the answer; other events
    /// that arrive meanwhile are dropped (the caller is on its way out). `Err` says why
    /// nothing was saved.
    pub fn save_now(&self, reason: SaveReason, timeout: Duration) -> Result<PathBuf, String> {
        if !self.send(Command::Save(reason)) {
            return Err("the trainer has already stopped".into());
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.events.recv_deadline(deadline) {
                Ok(Event::Saved(saved)) if saved.reason == reason => return Ok(saved.path),
                Ok(Event::SaveFailed { reason: r, message }) if r == reason => {
                    return Err(message);
                }
                Ok(Event::Error(message)) => return Err(format!("the trainer failed: {message}")),
                Ok(Event::Stopped) => return Err("the trainer has already stopped".into()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the trainer did not answer within {} s",
                        timeout.as_secs()
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the trainer has already stopped".into());
                }
            }
        }
    }

    /// Asks the thread to stop and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has already been reported by the panic hook.
            let _ = thread.join();
        }
    }
}

impl Drop for TrainerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Why the trainer cannot go on.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl From<candle_core::Error> for Failure {
    fn from(e: candle_core::Error) -> Self {
        Failure::Model(e.into())
    }
}

/// Starts a trainer thread. The model is built inside it; a failure arrives as
/// [`Event::Error`].
pub fn spawn(spec: TrainerSpec) -> TrainerHandle {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    let (event_tx, event_rx) = crossbeam_channel::unbounded();
    let thread = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            crate::engine::cpu::flush_denormals();
            let events = event_tx.clone();
            // A panic becomes an error event, so the front end can report it and
            // restore the terminal on its own thread.
            let built = std::panic::catch_unwind(AssertUnwindSafe(|| {
                Trainer::new(spec, command_rx, event_tx)
            }));
            let last = match built {
                Ok(Ok(mut trainer)) => {
                    match std::panic::catch_unwind(AssertUnwindSafe(|| trainer.run())) {
                        Ok(Ok(())) => Event::Stopped,
                        Ok(Err(e)) => Event::Error(e.to_string()),
                        Err(payload) => {
                            // Keep what was learnt if the weights survived intact.
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                trainer.save(SaveReason::Panic)
                            }));
                            Event::Error(format!(
                                "the trainer panicked: {}",
                                panic_message(&*payload)
                            ))
                        }
                    }
                }
                Ok(Err(e)) => Event::Error(e.to_string()),
                Err(payload) => Event::Error(format!(
                    "the trainer panicked: {}",
                    panic_message(&*payload)
                )),
            };
            let _ = events.send(last);
        })
        .expect("spawning the trainer thread");
    TrainerHandle {
        commands: command_tx,
        events: event_rx,
        thread: Some(thread),
    }
}

/// The name of the trainer thread, so a panic hook can tell its panics apart.
pub const THREAD_NAME: &str = "trainer";

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// How a stretch of training ended.
enum Flow {
    Finished,
    Restart,
    /// Went back to a checkpoint: the epoch loop starts again from its position.
    Rewound,
    Stop,
}

/// A batch loss this many times the loss of guessing (ln of the class count) counts as
/// exploded; far above any loss a run that still learns has after its first batches.
const EXPLODED_FACTOR: f64 = 10.0;
/// Consecutive exploded batches that make a divergence: one spike may recover.
const EXPLODED_BATCHES: u32 = 3;

/// Activations go out with progress reports at most this often: heatmaps that change
/// a little several times a second cost the dashboard a core's share of CPU and SSH
/// tens of KB/s, and show nothing a refresh every two seconds does not (setting
/// changes and new images are reported at once).
const PROBES_EVERY: Duration = Duration::from_secs(2);

/// The parameter shown as the first layer's kernels (the model's and the CPU step's
/// name for it).
const FIRST_KERNELS: &str = "conv1.weight";

/// Progress reports within an epoch are at least this far apart.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Batches seen by the `trainer-panic` failpoint.
static TRAINER_PANIC: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Whether a batch loss means training has diverged; `exploded` counts the exploded
/// batches in a row.
fn diverging(exploded: &mut u32, loss: f64, classes: usize) -> bool {
    if !loss.is_finite() {
        return true;
    }
    let guessing = (classes.max(2) as f64).ln();
    if loss > EXPLODED_FACTOR * guessing {
        *exploded += 1;
    } else {
        *exploded = 0;
    }
    *exploded >= EXPLODED_BATCHES
}

struct Trainer {
    dataset: Arc<Dataset>,
    device: Device,
    info: RunInfo,
    settings: TrainSettings,
    model: LeNet,
    engine: Box<dyn Engine>,
    order: EpochOrder,
    /// The current epoch's batches of example indices.
    epoch_order: Vec<Vec<u32>>,
    init_rng: StdRng,
    commands: Receiver<Command>,
    events: Sender<Event>,
    paused: bool,
    probes: Vec<usize>,
    position: Position,
    history: History,
    policy: Option<CheckpointPolicy>,
    run_dir: Option<RunDir>,
    /// The newest checkpoint of this run, the one to go back to after a divergence.
    last_saved: Option<PathBuf>,
    /// Whether anything changed since `last_saved` was written.
    unsaved: bool,
    diverged: Option<Divergence>,
    exploded: u32,
    /// A resumed run reports where it came from once it has started.
    resumed_from: Option<PathBuf>,
    /// When activations were last reported.
    probes_sent: Option<Instant>,
    /// NVML's view of the GPU, when training on one that NVML knows.
    gpu_monitor: Option<GpuMonitor>,
    /// When progress was last reported.
    progress_sent: Option<Instant>,
}

impl Trainer {
    fn new(
        spec: TrainerSpec,
        commands: Receiver<Command>,
        events: Sender<Event>,
    ) -> Result<Self, Failure> {
        let TrainerSpec {
            dataset,
            device: opened,
            architecture,
            settings,
            checkpoints,
            resume,
        } = spec;
        let OpenedDevice {
            device,
            name: device_name,
            gpu,
        } = opened;
        let gpu_monitor = gpu.as_ref().and_then(GpuMonitor::open);
        let mut init_rng = StdRng::seed_from_u64(settings.seed);
        let model = LeNet::new(
            &architecture,
            settings.pooling,
            settings.activation,
            &device,
            &mut init_rng,
        )?;
        let batches = batches_per_epoch(dataset.train.len(), settings.batch_size.as_usize());
        let info = RunInfo {
            data: dataset.to_string(),
            device: device_name,
            train_examples: dataset.train.len(),
            test_examples: dataset.test.len(),
            classes: dataset.classes.clone(),
            batches_per_epoch: batches,
            settings: settings.clone(),
            layers: model.layer_table()?,
        };
        let mut trainer = Self {
            engine: engine::open(&model, dataset.clone())?,
            // A stream of its own, so restarts (which draw weights) keep shuffles stable.
            order: EpochOrder::new(dataset.train.len(), settings.seed.wrapping_add(1)),
            epoch_order: Vec::new(),
            dataset,
            device,
            info,
            settings,
            model,
            init_rng,
            commands,
            events,
            paused: false,
            probes: Vec::new(),
            position: Position::start(batches),
            history: History::default(),
            run_dir: None,
            last_saved: None,
            unsaved: true,
            diverged: None,
            exploded: 0,
            resumed_from: None,
            probes_sent: None,
            gpu_monitor,
            progress_sent: None,
            policy: checkpoints,
        };
        if let Some(checkpoint) = resume {
            for _ in 0..checkpoint.meta.position.restarts {
                trainer.model.reinitialize(&mut trainer.init_rng)?;
            }
            trainer.restore(&checkpoint)?;
            // The user's overrides (epochs, learning rate, pieces) over the checkpoint's.
            let settings = trainer.info.settings.clone();
            trainer.use_settings(settings);
            if let (Some(policy), Some(run)) = (&trainer.policy, checkpoint.dir.parent()) {
                trainer.run_dir = Some(RunDir::open(run, policy.keep)?);
            }
            trainer.last_saved = Some(checkpoint.dir.clone());
            trainer.resumed_from = Some(checkpoint.dir);
        }
        Ok(trainer)
    }

    fn emit(&self, event: Event) {
        // Nobody listening is fine: the caller may only care about the end result.
        let _ = self.events.send(event);
    }

    fn run(&mut self) -> Result<(), Failure> {
        self.emit(Event::Started(self.info.clone()));
        match self.resumed_from.take() {
            Some(from) => {
                self.emit_restored(from);
                // Settings given on the command line differ from the checkpoint's.
                self.unsaved = true;
            }
            None => self.save(SaveReason::Start),
        }
        loop {
            let flow = match self.train_epochs()? {
                Flow::Finished => self.idle()?,
                other => other,
            };
            match flow {
                Flow::Restart => self.restart()?,
                Flow::Rewound => {}
                Flow::Stop | Flow::Finished => return Ok(()),
            }
        }
    }

    fn restart(&mut self) -> Result<(), Failure> {
        self.model.reinitialize(&mut self.init_rng)?;
        self.paused = false;
        self.diverged = None;
        self.exploded = 0;
        self.emit(Event::Changed {
            at: self.position.at(),
            change: Change::Restarted,
        });
        // What the device counted belongs to the run being dropped.
        self.engine.settle()?;
        let mut position = Position::start(self.position.batches);
        // The shuffling stream goes on; the weights were drawn once more.
        position.orders_drawn = self.position.orders_drawn;
        position.restarts = self.position.restarts + 1;
        self.position = position;
        self.history = History::default();
        // The new curve starts with its first batch.
        self.progress_sent = None;
        // Fresh weights make a new run, with checkpoints of its own.
        self.run_dir = None;
        self.last_saved = None;
        self.unsaved = true;
        self.save(SaveReason::Start);
        self.report_probes(false)
    }

    /// After the last epoch: answer commands (probes, swaps, restart) until stopped.
    fn idle(&mut self) -> Result<Flow, Failure> {
        while let Ok(command) = self.commands.recv() {
            if let Some(flow) = self.apply(command)? {
                return Ok(flow);
            }
        }
        Ok(Flow::Stop)
    }

    /// Applies pending commands, blocking while paused. `Some` ends the epoch loop.
    fn handle_commands(&mut self) -> Result<Option<Flow>, Failure> {
        loop {
            match self.commands.try_recv() {
                Ok(command) => {
                    if let Some(flow) = self.apply(command)? {
                        return Ok(Some(flow));
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => return Ok(Some(Flow::Stop)),
                Err(TryRecvError::Empty) => {}
            }
            if !self.paused {
                return Ok(None);
            }
            match self.commands.recv() {
                Ok(command) => {
                    if let Some(flow) = self.apply(command)? {
                        return Ok(Some(flow));
                    }
                }
                Err(_) => return Ok(Some(Flow::Stop)),
            }
        }
    }

    fn apply(&mut self, command: Command) -> Result<Option<Flow>, Failure> {
        let change = match command {
            Command::Stop => return Ok(Some(Flow::Stop)),
            Command::Restart => return Ok(Some(Flow::Restart)),
            Command::Save(reason) => {
                self.save(reason);
                return Ok(None);
            }
            Command::RestoreLastGood => return self.restore_last_good(),
            Command::Pause if !self.paused => {
                self.paused = true;
                Change::Paused
            }
            Command::Resume if self.paused => {
                self.paused = false;
                Change::Resumed
            }
            Command::Pause | Command::Resume => return Ok(None),
            Command::SetPooling(pooling) => {
                self.model.pooling = pooling;
                self.settings.pooling = pooling;
                Change::Pooling(pooling)
            }
            Command::SetActivation(activation) => {
                self.model.activation = activation;
                self.settings.activation = activation;
                Change::Activation(activation)
            }
            Command::SetLearningRate(lr) => {
                self.settings.learning_rate = lr;
                Change::LearningRate(lr.get())
            }
            Command::SetProbes(indices) => {
                let n = self.dataset.test.len();
                if let Some(bad) = indices.iter().find(|&&i| i >= n) {
                    self.emit(Event::Rejected(format!(
                        "test image {bad} does not exist (the test set has {n} images)"
                    )));
                    return Ok(None);
                }
                self.probes = indices.clone();
                Change::Probes(indices)
            }
        };
        let reshaped = matches!(change, Change::Pooling(_) | Change::Activation(_));
        let refresh = reshaped || matches!(change, Change::Probes(_));
        let at = self.position.at();
        if matches!(
            change,
            Change::Pooling(_) | Change::Activation(_) | Change::LearningRate(_)
        ) {
            self.history.changes.push(MarkedChange {
                at,
                change: change.clone(),
            });
            self.unsaved = true;
        }
        self.emit(Event::Changed { at, change });
        if reshaped {
            self.emit(Event::Layers(self.model.layer_table()?));
        }
        if refresh {
            self.report_probes(false)?;
        }
        Ok(None)
    }

    /// Pooling, activation and learning rate from `settings`, into the model and
    /// the engine as well.
    fn use_settings(&mut self, settings: TrainSettings) {
        self.model.pooling = settings.pooling;
        self.model.activation = settings.activation;
        self.settings = settings;
    }

    /// Loads weights, position and history from `checkpoint`, and its pooling,
    /// activation and learning rate; replays the shuffles up to its position.
    fn restore(&mut self, checkpoint: &Checkpoint) -> Result<(), Failure> {
        let weights = checkpoint.weights(&self.model.parameter_shapes(), &self.device)?;
        self.model.set_parameters(&weights)?;
        let meta = &checkpoint.meta;
        let mut settings = self.settings.clone();
        settings.pooling = meta.settings.pooling;
        settings.activation = meta.settings.activation;
        settings.learning_rate = meta.settings.learning_rate;
        self.use_settings(settings);
        self.engine.settle()?;
        self.position = meta.position.clone();
        self.history = meta.history.clone();
        self.order = EpochOrder::new(self.dataset.train.len(), self.settings.seed.wrapping_add(1));
        let p = &self.position;
        if p.batch > 0 {
            // Mid-epoch: this epoch's order is the last one drawn.
            self.order.skip_epochs(p.orders_drawn.saturating_sub(1));
            self.epoch_order = self
                .order
                .next_epoch(self.settings.batch_size.as_usize())
                .map(<[u32]>::to_vec)
                .collect();
        } else {
            self.order.skip_epochs(p.orders_drawn);
        }
        self.diverged = None;
        self.exploded = 0;
        self.progress_sent = None;
        Ok(())
    }

    fn emit_restored(&mut self, from: PathBuf) {
        self.emit(Event::Restored(Restored {
            from,
            at: self.position.at(),
            settings: self.settings.clone(),
            history: self.history.clone(),
        }));
        if let Ok(table) = self.model.layer_table() {
            self.emit(Event::Layers(table));
        }
    }

    /// `u` after a divergence: the last good checkpoint with a tenth of the learning
    /// rate, training again.
    fn restore_last_good(&mut self) -> Result<Option<Flow>, Failure> {
        if self.diverged.is_none() {
            self.emit(Event::Rejected(
                "nothing to restore: u goes back to the last good checkpoint after a divergence"
                    .into(),
            ));
            return Ok(None);
        }
        let Some(path) = self.last_saved.clone() else {
            self.emit(Event::Rejected(
                "no checkpoint to go back to: checkpoints are off for this run".into(),
            ));
            return Ok(None);
        };
        let checkpoint = match checkpoint::load(&path) {
            Ok(c) => c,
            Err(e) => {
                self.emit(Event::Rejected(format!("cannot restore: {e}")));
                return Ok(None);
            }
        };
        let lr = self.settings.learning_rate.get() / 10.0;
        self.restore(&checkpoint)?;
        if let Ok(lower) = LearningRate::try_from(lr) {
            self.settings.learning_rate = lower;
        }
        self.paused = false;
        self.unsaved = true;
        self.emit_restored(path);
        let at = self.position.at();
        let change = Change::LearningRate(self.settings.learning_rate.get());
        self.history.changes.push(MarkedChange {
            at,
            change: change.clone(),
        });
        self.emit(Event::Changed { at, change });
        self.report_probes(false)?;
        Ok(Some(Flow::Rewound))
    }

    /// Writes a checkpoint and reports it; failures are reported, never fatal.
    fn save(&mut self, reason: SaveReason) {
        let failed = |trainer: &Self, message: String| {
            trainer.emit(Event::SaveFailed { reason, message });
        };
        match self.engine.settle() {
            Ok(correct) => self.position.correct += correct,
            Err(e) => return failed(self, format!("counting correct predictions: {e}")),
        }
        let Some(policy) = self.policy.clone() else {
            if !matches!(reason, SaveReason::Start | SaveReason::EpochEnd) {
                failed(self, "checkpoints are off for this run".into());
            }
            return;
        };
        if let Some(d) = &self.diverged {
            let last = self
                .last_saved
                .as_ref()
                .map_or_else(|| "none".to_string(), |p| p.display().to_string());
            return failed(
                self,
                format!("not saved: training {d}; the last good checkpoint is {last}"),
            );
        }
        if !self.unsaved
            && let Some(path) = self.last_saved.clone()
        {
            // Nothing changed since: the last checkpoint is this state.
            return self.emit(Event::Saved(Saved {
                path,
                reason,
                at: self.position.at(),
            }));
        }
        if self.run_dir.is_none() {
            match RunDir::create(&policy.runs_dir, policy.keep) {
                Ok(run) => self.run_dir = Some(run),
                Err(e) => return failed(self, e.to_string()),
            }
        }
        let meta = self.meta(reason);
        let parameters = self.model.parameters();
        let Some(run) = self.run_dir.as_mut() else {
            return;
        };
        match run.save(&parameters, meta) {
            Ok(path) => {
                self.last_saved = Some(path.clone());
                self.unsaved = false;
                self.emit(Event::Saved(Saved {
                    path,
                    reason,
                    at: self.position.at(),
                }));
            }
            Err(e) => failed(self, e.to_string()),
        }
    }

    fn meta(&self, reason: SaveReason) -> Meta {
        let data = &self.dataset;
        Meta {
            format: checkpoint::FORMAT,
            program: format!("lenet-tui {}", env!("CARGO_PKG_VERSION")),
            saved_at: chrono::Local::now().to_rfc3339(),
            reason,
            architecture: self.model.architecture().clone(),
            settings: self.settings.clone(),
            position: self.position.clone(),
            data: DataFacts {
                description: data.to_string(),
                dir: match &data.location {
                    DataLocation::Embedded => None,
                    DataLocation::Dir { path, .. } => Some(path.clone()),
                },
                train_examples: data.train.len(),
                test_examples: data.test.len(),
                classes: data.classes.clone(),
            },
            history: self.history.clone(),
            weights: WeightsFacts { bytes: 0, crc32: 0 },
        }
    }

    fn diverge(&mut self, loss: f64) {
        let divergence = Divergence {
            epoch: self.position.epoch,
            batch: self.position.batch + 1,
            loss,
            last_good: self.last_saved.clone(),
        };
        self.paused = true;
        self.diverged = Some(divergence.clone());
        self.emit(Event::Diverged(divergence));
    }

    fn train_epochs(&mut self) -> Result<Flow, Failure> {
        let batch_size = self.settings.batch_size.as_usize();
        let batches = self.position.batches;
        let reports = (self.settings.reports_per_epoch.max(1) as usize).min(batches);
        let classes = self.dataset.classes.len();
        while self.position.epoch <= self.settings.epochs.get() {
            if self.position.batch == 0 {
                self.epoch_order = self
                    .order
                    .next_epoch(batch_size)
                    .map(<[u32]>::to_vec)
                    .collect();
                let p = &mut self.position;
                p.orders_drawn += 1;
                (p.loss_sum, p.correct, p.seen, p.train_seconds) = (0.0, 0, 0, 0.0);
            }
            let epoch = self.position.epoch;
            while self.position.batch < batches {
                // A rewind starts the epoch loop again from the checkpoint's position.
                if let Some(flow) = self.handle_commands()? {
                    return Ok(flow);
                }
                let i = self.position.batch;
                if crate::failpoint::hit("trainer-panic", &TRAINER_PANIC) {
                    panic!("failpoint trainer-panic");
                }
                let start = Instant::now();
                if let Some(pause) = crate::failpoint::delay("slow-batches") {
                    std::thread::sleep(pause);
                }
                let mut diverged = None;
                let exploded = &mut self.exploded;
                let outcome = self.engine.step(
                    &self.model,
                    self.settings.learning_rate.get(),
                    &self.epoch_order[i],
                    &mut |loss| {
                        // No step with a diverging loss: the weights stay as they were.
                        let bad = diverging(exploded, loss, classes);
                        if bad {
                            diverged = Some(loss);
                        }
                        !bad
                    },
                )?;
                if let Some(loss) = diverged {
                    self.diverge(loss);
                    continue;
                }
                let (loss_value, n) = (outcome.loss, outcome.examples);
                let p = &mut self.position;
                p.loss_sum += loss_value * n as f64;
                p.correct += outcome.correct.unwrap_or(0);
                p.seen += n;
                p.train_seconds += start.elapsed().as_secs_f64();
                p.batch += 1;
                self.unsaved = true;
                // Evenly spaced reports, the last one on the final batch, as the
                // chapter's animator plots them; when batches fly, no more than a few
                // a second (a fast CPU or a GPU would otherwise flood the dashboard).
                let due = (i + 1) * reports / batches != i * reports / batches;
                let last = i + 1 == batches;
                let spaced = self
                    .progress_sent
                    .is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
                if due && (last || spaced) {
                    self.progress_sent = Some(Instant::now());
                    self.position.correct += self.engine.settle()?;
                    let p = &self.position;
                    let progress = Progress {
                        epoch,
                        at: p.at(),
                        batch: p.batch,
                        batches,
                        train_loss: p.loss_sum / p.seen as f64,
                        train_acc: p.correct as f64 / p.seen as f64,
                        examples_per_sec: p.seen as f64 / p.train_seconds.max(1e-9),
                    };
                    self.history.push_progress(progress.clone());
                    self.emit(Event::Progress(progress));
                    if self.probes_sent.is_none_or(|t| t.elapsed() >= PROBES_EVERY) {
                        self.report_probes(true)?;
                        if let Some(stats) = self.gpu_monitor.as_ref().and_then(GpuMonitor::sample)
                        {
                            self.emit(Event::Gpu(stats));
                        }
                    }
                }
            }
            self.position.correct += self.engine.settle()?;
            let eval_start = Instant::now();
            let matrix = self.evaluate()?;
            let test_acc = matrix.accuracy();
            self.emit(Event::Confusion { epoch, matrix });
            let p = &self.position;
            let summary = EpochSummary {
                epoch,
                train_loss: p.loss_sum / p.seen.max(1) as f64,
                train_acc: p.correct as f64 / p.seen.max(1) as f64,
                test_acc,
                examples_per_sec: p.seen as f64 / p.train_seconds.max(1e-9),
                train_seconds: p.train_seconds,
                eval_seconds: eval_start.elapsed().as_secs_f64(),
            };
            self.history.epochs.push(summary.clone());
            self.emit(Event::EpochFinished(summary));
            let p = &mut self.position;
            p.epoch += 1;
            p.batch = 0;
            (p.loss_sum, p.correct, p.seen, p.train_seconds) = (0.0, 0, 0, 0.0);
            self.save(SaveReason::EpochEnd);
        }
        if let Some(summary) = self.history.epochs.last() {
            self.emit(Event::Finished(summary.clone()));
        }
        Ok(Flow::Finished)
    }

    /// The test set's confusion matrix (its diagonal is the accuracy), without
    /// gradient tracking.
    fn evaluate(&mut self) -> Result<ConfusionMatrix, Failure> {
        Ok(self.engine.evaluate(&self.model)?)
    }

    /// The first convolution's weights as plain numbers, if the model has one.
    fn first_kernels(&self) -> Result<Option<ConvKernels>, Failure> {
        let Some((_, weight)) = self
            .model
            .parameters()
            .into_iter()
            .find(|(name, _)| name == FIRST_KERNELS)
        else {
            return Ok(None);
        };
        let (out_channels, in_channels, rows, cols) = weight.dims4()?;
        Ok(Some(ConvKernels {
            out_channels,
            in_channels,
            rows,
            cols,
            values: weight.flatten_all()?.to_vec1::<f32>()?,
        }))
    }

    fn report_probes(&mut self, periodic: bool) -> Result<(), Failure> {
        if self.probes.is_empty() {
            return Ok(());
        }
        self.probes_sent = Some(Instant::now());
        let test = &self.dataset.test;
        let reports = self
            .engine
            .probe(&self.model, &self.probes)?
            .into_iter()
            .zip(&self.probes)
            .map(|(probe, &index)| ProbeReport {
                index,
                label: usize::from(test.labels[index]),
                predicted: argmax(&probe.probabilities),
                image: test.image(index),
                rows: test.rows,
                cols: test.cols,
                probe,
            })
            .collect();
        let kernels = self.first_kernels()?;
        self.emit(Event::Activations {
            reports,
            kernels,
            periodic,
        });
        Ok(())
    }
}
