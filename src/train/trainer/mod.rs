//! The trainer: the run's state and the epoch loop. Commands are drained before
//! every batch, so each takes effect before the next one; while paused the thread
//! blocks on the command channel. When to report, when a run has diverged and when to
//! write a checkpoint are asked of the small policies in [`super::policy`] and
//! [`super::saver`]. Its checkpoints (save, restore, go back after a divergence) are in
//! `checkpoints`, its reports of what the model makes of the shown images in `probes`.

mod checkpoints;
mod probes;
mod questions;
mod record;
mod timeline;

use record::record;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::rng::SeededRng;
use candle_core::Device;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use rand::SeedableRng;

use super::checkpoint::{Checkpoint, CheckpointError, Position, RunLock};
use super::messages::{
    Change, Command, Divergence, EpochSummary, Event, History, MarkedChange, Progress, RunInfo,
    SavePart, SaveReason, Stride,
};
use super::policy::{DivergenceGuard, Pacer, ReportCadence};
use super::saver::Saver;
use super::settings::TrainSettings;
use super::spec::TrainerSpec;
use super::timeline::{HistoryPolicy, PastModel, Timeline};
use super::turns::Turn;
use crate::data::batches::batches_per_epoch;
use crate::data::own::ProbeImage;
use crate::data::{Dataset, EpochOrder};
use crate::device::{GpuMonitor, OpenedDevice};
use crate::engine::{self, Engine, Evaluation, LayerStats, Measure};
use crate::model::{LayerTable, LeNet, ModelError};

/// Why the trainer cannot go on.
#[derive(Debug, thiserror::Error)]
pub(super) enum Failure {
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

/// How a stretch of training ended.
enum Flow {
    Finished,
    Restart,
    /// Went back to a checkpoint: the epoch loop starts again from its position.
    Rewound,
    Stop,
}

/// Batches seen by the `trainer-panic` failpoint.
static TRAINER_PANIC: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A run in progress: model, engine, data order, position and history, and the
/// policies consulted along the way.
pub(super) struct Trainer {
    dataset: Arc<Dataset>,
    device: Device,
    info: RunInfo,
    settings: TrainSettings,
    model: LeNet,
    engine: Box<dyn Engine>,
    order: EpochOrder,
    /// The current epoch's batches of example indices.
    epoch_order: Vec<Vec<u32>>,
    init_rng: SeededRng,
    commands: Receiver<Command>,
    events: Sender<Event>,
    paused: bool,
    probes: Vec<ProbeImage>,
    position: Position,
    history: History,
    saver: Saver,
    diverged: Option<Divergence>,
    guard: DivergenceGuard,
    pacer: Pacer,
    /// A step asked for while paused, not yet taken.
    stepping: Option<Stride>,
    cadence: ReportCadence,
    /// A resumed run reports where it came from once it has started.
    resumed_from: Option<PathBuf>,
    /// NVML's view of the GPU, when training on one that NVML knows.
    gpu_monitor: Option<GpuMonitor>,
    /// The weights at every progress report (thinned), for looking back and replay.
    timeline: Timeline,
    history_policy: HistoryPolicy,
    /// A CPU copy of the network for looking back, made the first time it is needed.
    past_model: Option<PastModel>,
    /// The newest report's layer figures, which the epoch's summary repeats.
    layers: Vec<LayerStats>,
    /// Its place among the variants of a race, whose batches take turns on the device.
    turn: Option<Turn>,
    /// The newest history write failed: the next save writes it again.
    history_behind: bool,
    /// Said once the run has started (a resumed run's damaged history).
    warnings: Vec<(SavePart, String)>,
    /// The newest epoch's evaluation of the test set (each image's answer), for the
    /// images behind a confusion cell; none before the first epoch's end.
    newest_evaluation: Option<(u32, Evaluation)>,
}

/// What a run on `dataset` is made of, as its start event tells it.
fn run_info(
    dataset: &Dataset,
    device: String,
    settings: &TrainSettings,
    layers: LayerTable,
) -> RunInfo {
    RunInfo {
        data: dataset.to_string(),
        device,
        train_examples: dataset.train.len(),
        test_examples: dataset.test.len(),
        classes: dataset.classes.clone(),
        batches_per_epoch: batches_per_epoch(dataset.train.len(), settings.batch_size.as_usize()),
        settings: settings.clone(),
        layers,
    }
}

impl Trainer {
    pub(super) fn new(
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
            lock,
            history: history_policy,
            turn,
        } = spec;
        let OpenedDevice {
            device,
            name: device_name,
            gpu,
        } = opened;
        let gpu_monitor = gpu.as_ref().and_then(GpuMonitor::open);
        let mut init_rng = SeededRng::seed_from_u64(settings.seed);
        let model = LeNet::new(
            &architecture,
            settings.pooling,
            settings.activation,
            &device,
            &mut init_rng,
        )?;
        let info = run_info(&dataset, device_name, &settings, model.layer_table()?);
        let batches = info.batches_per_epoch;
        let pace = settings.pace;
        let timeline = Timeline::new(model.parameter_shapes(), history_policy.memory_mb);
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
            saver: Saver::new(checkpoints),
            diverged: None,
            guard: DivergenceGuard::default(),
            pacer: Pacer::new(pace),
            stepping: None,
            cadence: ReportCadence::default(),
            resumed_from: None,
            gpu_monitor,
            timeline,
            history_policy,
            past_model: None,
            layers: Vec::new(),
            turn,
            history_behind: false,
            warnings: Vec::new(),
            newest_evaluation: None,
        };
        if let Some(checkpoint) = resume {
            trainer.go_on_from(checkpoint, lock)?;
        }
        Ok(trainer)
    }

    /// Takes up a resumed run: the weights drawn as many times as it restarted, its
    /// checkpoint with the user's overrides over it, its directory (held by `lock`, or
    /// taken now) and its saved history.
    fn go_on_from(&mut self, checkpoint: Checkpoint, lock: Option<RunLock>) -> Result<(), Failure> {
        for _ in 0..checkpoint.meta.position.restarts {
            self.model.reinitialize(&mut self.init_rng)?;
        }
        self.restore(&checkpoint)?;
        // The user's overrides (epochs, learning rate, pieces) over the checkpoint's.
        let settings = self.info.settings.clone();
        self.use_settings(settings);
        let run = checkpoint.dir.parent().unwrap_or(&checkpoint.dir);
        let lock = match lock {
            Some(lock) => lock,
            None => RunLock::acquire(run)?,
        };
        self.saver.resume(&checkpoint.dir, lock)?;
        self.resume_timeline(run);
        self.resumed_from = Some(checkpoint.dir);
        Ok(())
    }

    fn emit(&self, event: Event) {
        record(&event);
        // Nobody listening is fine: the caller may only care about the end result.
        let _ = self.events.send(event);
    }

    /// Trains until stopped (a finished run waits for commands).
    pub(super) fn run(&mut self) -> Result<(), Failure> {
        self.emit(Event::Started(self.info.clone()));
        for (part, message) in std::mem::take(&mut self.warnings) {
            self.emit(Event::Warning { part, message });
        }
        self.take_snapshot()?;
        match self.resumed_from.take() {
            Some(from) => {
                self.emit_restored(from);
                // Settings given on the command line differ from the checkpoint's.
                self.saver.changed();
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
        self.guard.reset();
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
        self.newest_evaluation = None;
        self.timeline.clear();
        self.take_snapshot()?;
        // The new curve starts with its first batch.
        self.stepping = None;
        self.cadence.restart();
        self.pacer.start_over();
        // Fresh weights make a new run, with checkpoints of its own.
        self.saver.new_run();
        self.save(SaveReason::Start);
        self.report_probes(false)
    }

    /// After the last epoch: answer commands (probes, swaps, restart) until stopped.
    fn idle(&mut self) -> Result<Flow, Failure> {
        self.leave_turns();
        while let Ok(command) = self.commands.recv() {
            if let Some(flow) = self.apply(command)? {
                return Ok(flow);
            }
        }
        Ok(Flow::Stop)
    }

    /// Waits as long as the pace asks before the next batch, answering every command
    /// meanwhile (a key never waits for the pace). `Some` ends the epoch loop.
    fn keep_pace(&mut self) -> Result<Option<Flow>, Failure> {
        loop {
            let wait = self.pacer.wait(Instant::now());
            // A step is taken at once: the lecturer asked for it.
            if wait.is_zero() || self.stepping.is_some() {
                return Ok(None);
            }
            match self.commands.recv_timeout(wait) {
                Ok(command) => {
                    if let Some(flow) = self.apply(command)? {
                        return Ok(Some(flow));
                    }
                    // A pause holds here until resumed (which starts the count again).
                    if let Some(flow) = self.handle_commands()? {
                        return Ok(Some(flow));
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Ok(Some(Flow::Stop)),
            }
        }
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
            // While paused, a step asked for goes ahead.
            if !self.paused || self.stepping.is_some() {
                return Ok(None);
            }
            self.leave_turns();
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

    /// Out of a race's ring while waiting on the user, so the others go on.
    fn leave_turns(&self) {
        if let Some(turn) = &self.turn {
            turn.leave();
        }
    }

    fn apply(&mut self, command: Command) -> Result<Option<Flow>, Failure> {
        match command {
            Command::Stop => Ok(Some(Flow::Stop)),
            Command::Restart => Ok(Some(Flow::Restart)),
            Command::Save(reason) => {
                self.emit(Event::Saving(reason));
                self.save(reason);
                Ok(None)
            }
            Command::RestoreLastGood => self.restore_last_good(),
            Command::Recall(seek) => {
                self.recall(seek)?;
                Ok(None)
            }
            Command::Explain(ask) => {
                self.explain(&ask)?;
                Ok(None)
            }
            Command::Gallery { truth, predicted } => {
                self.gallery(truth, predicted)?;
                Ok(None)
            }
            Command::Seek(_) => {
                self.emit(Event::Rejected(
                    "a live run cannot skip: , and . look back over its history".into(),
                ));
                Ok(None)
            }
            Command::Step(stride) => {
                if self.paused && self.diverged.is_none() {
                    self.stepping = Some(stride);
                } else {
                    self.emit(Event::Rejected(
                        "steps are taken while paused; pause first".into(),
                    ));
                }
                Ok(None)
            }
            change => {
                if let Some(change) = self.change(change) {
                    self.announce(change)?;
                }
                Ok(None)
            }
        }
    }

    /// Carries out a command that changes the run's state or settings; the change,
    /// unless there was none (a pause while paused) or it was refused.
    fn change(&mut self, command: Command) -> Option<Change> {
        Some(match command {
            Command::Pause if !self.paused => {
                self.paused = true;
                self.pacer.start_over();
                Change::Paused
            }
            Command::Resume if self.paused => {
                self.paused = false;
                self.stepping = None;
                self.pacer.start_over();
                Change::Resumed
            }
            Command::SetPace(pace) => {
                self.settings.pace = pace;
                self.pacer.set(pace);
                Change::Pace(pace)
            }
            Command::SetPooling(pooling) => {
                self.use_settings(TrainSettings {
                    pooling,
                    ..self.settings.clone()
                });
                Change::Pooling(pooling)
            }
            Command::SetActivation(activation) => {
                self.use_settings(TrainSettings {
                    activation,
                    ..self.settings.clone()
                });
                Change::Activation(activation)
            }
            Command::SetLearningRate(lr) => {
                self.settings.learning_rate = lr;
                Change::LearningRate(lr.get())
            }
            Command::SetProbes(images) => {
                if let Some(why) = super::report::missing_probe(&images, &self.dataset.test) {
                    self.emit(Event::Rejected(why));
                    return None;
                }
                let ids = images.iter().map(ProbeImage::id).collect();
                self.probes = images;
                Change::Probes(ids)
            }
            _ => return None,
        })
    }

    /// Marks `change` on the charts (settings), tells the front end, and shows what
    /// the model makes of the images now when that changed.
    fn announce(&mut self, change: Change) -> Result<(), Failure> {
        let reshaped = matches!(change, Change::Pooling(_) | Change::Activation(_));
        let refresh = reshaped || matches!(change, Change::Probes(_));
        let at = self.position.at();
        if matches!(
            change,
            Change::Pooling(_) | Change::Activation(_) | Change::LearningRate(_) | Change::Pace(_)
        ) {
            self.history.changes.push(MarkedChange {
                at,
                change: change.clone(),
            });
            self.saver.changed();
        }
        self.emit(Event::Changed { at, change });
        if reshaped {
            self.emit(Event::Layers(self.model.layer_table()?));
        }
        if refresh {
            self.report_probes(false)?;
        }
        Ok(())
    }

    /// Pooling, activation and learning rate from `settings`, into the model as well:
    /// the one place the pieces change, so the model and the settings never differ.
    fn use_settings(&mut self, settings: TrainSettings) {
        self.model.pooling = settings.pooling;
        self.model.activation = settings.activation;
        self.settings = settings;
    }

    fn diverge(&mut self, loss: f64) {
        let divergence = Divergence {
            epoch: self.position.epoch,
            batch: self.position.batch + 1,
            loss,
            last_good: self.saver.last_saved().cloned(),
        };
        self.paused = true;
        self.stepping = None;
        self.diverged = Some(divergence.clone());
        self.emit(Event::Diverged(divergence));
    }

    /// The epoch loop: every batch waits for commands and the pace, then trains;
    /// every epoch ends with an evaluation and a checkpoint.
    fn train_epochs(&mut self) -> Result<Flow, Failure> {
        while self.position.epoch <= self.settings.epochs.get() {
            if self.position.batch == 0 {
                self.start_epoch();
            }
            while self.position.batch < self.position.batches {
                // A rewind starts the epoch loop again from the checkpoint's position.
                if let Some(flow) = self.handle_commands()? {
                    return Ok(flow);
                }
                if let Some(flow) = self.keep_pace()? {
                    return Ok(flow);
                }
                self.train_batch()?;
            }
            self.finish_epoch()?;
        }
        if let Some(summary) = self.history.epochs.last() {
            self.emit(Event::Finished(summary.clone()));
        }
        Ok(Flow::Finished)
    }

    /// Draws the epoch's order of examples and clears its tallies.
    fn start_epoch(&mut self) {
        self.epoch_order = self
            .order
            .next_epoch(self.settings.batch_size.as_usize())
            .map(<[u32]>::to_vec)
            .collect();
        self.position.orders_drawn += 1;
        self.position.clear_tallies();
    }

    /// One step on the next batch, unless its loss diverges (then the weights stay as
    /// they were and the run pauses); reports as the cadence says.
    fn train_batch(&mut self) -> Result<(), Failure> {
        let i = self.position.batch;
        let batches = self.position.batches;
        let classes = self.dataset.classes.len();
        if crate::failpoint::hit("trainer-panic", &TRAINER_PANIC) {
            panic!("failpoint trainer-panic");
        }
        let start = Instant::now();
        self.pacer.batch_started(self.epoch_order[i].len(), start);
        if let Some(pause) = crate::failpoint::delay("slow-batches") {
            std::thread::sleep(pause);
        }
        let mut diverged = None;
        let guard = &mut self.guard;
        // The layers are measured by the steps whose figures are reported.
        let reported = self.stepping == Some(Stride::Batch)
            || ReportCadence::due(i, batches, self.settings.reports_per_epoch);
        let measure = if reported {
            Measure::Layers
        } else {
            Measure::Nothing
        };
        // A racing variant waits for its turn on the device (which counts in its
        // examples/sec: the device is shared).
        if let Some(turn) = &self.turn {
            turn.take();
        }
        let stepped = self.engine.step(
            &self.model,
            self.settings.learning_rate.get(),
            &self.epoch_order[i],
            measure,
            &mut |loss| {
                // No step with a diverging loss: the weights stay as they were.
                let bad = guard.diverging(loss, classes);
                if bad {
                    diverged = Some(loss);
                }
                !bad
            },
        );
        if let Some(turn) = &self.turn {
            turn.pass();
        }
        let outcome = stepped?;
        if let Some(loss) = diverged {
            self.diverge(loss);
            return Ok(());
        }
        let p = &mut self.position;
        p.loss_sum += outcome.loss * outcome.examples as f64;
        p.correct += outcome.correct.unwrap_or(0);
        p.seen += outcome.examples;
        p.train_seconds += start.elapsed().as_secs_f64();
        p.batch += 1;
        self.saver.changed();
        self.report_batch(i, outcome.layers)
    }

    /// After batch `i`: the progress report, snapshot and probes the cadence asks for
    /// (a single step shows its point and what the weights make of the shown images
    /// now, whatever the cadence says).
    fn report_batch(&mut self, i: usize, layers: Vec<LayerStats>) -> Result<(), Failure> {
        let batches = self.position.batches;
        let mut reports =
            self.cadence
                .after_batch(i, batches, self.settings.reports_per_epoch, Instant::now());
        let stepped = self.stepping == Some(Stride::Batch);
        if stepped {
            self.stepping = None;
            reports.progress = true;
        }
        if reports.progress {
            self.position.correct += self.engine.settle()?;
            let p = &self.position;
            let totals = p.totals();
            let progress = Progress {
                epoch: p.epoch,
                at: p.at(),
                batch: p.batch,
                batches,
                train_loss: totals.train_loss,
                train_acc: totals.train_acc,
                examples_per_sec: totals.examples_per_sec,
                layers,
            };
            if !progress.layers.is_empty() {
                self.layers.clone_from(&progress.layers);
            }
            self.history.push_progress(progress.clone());
            self.emit(Event::Progress(progress));
            self.take_snapshot()?;
            if reports.probes {
                self.report_probes(true)?;
                if let Some(stats) = self.gpu_monitor.as_ref().and_then(GpuMonitor::sample) {
                    self.emit(Event::Gpu(stats));
                }
            }
        }
        if stepped {
            self.report_probes(false)?;
        }
        Ok(())
    }

    /// The end of an epoch: the test set's evaluation, the summary, a checkpoint.
    fn finish_epoch(&mut self) -> Result<(), Failure> {
        let epoch = self.position.epoch;
        self.position.correct += self.engine.settle()?;
        let eval_start = Instant::now();
        let evaluation = self.evaluate()?;
        let matrix = evaluation.matrix.clone();
        self.newest_evaluation = Some((epoch, evaluation));
        let test_acc = matrix.accuracy();
        let class_acc = (0..matrix.classes())
            .map(|c| matrix.recall(c).unwrap_or(f64::NAN))
            .collect();
        self.timeline.push_confusion(epoch, matrix.clone());
        self.emit(Event::Confusion { epoch, matrix });
        let p = &self.position;
        let totals = p.totals();
        let summary = EpochSummary {
            epoch,
            train_loss: totals.train_loss,
            train_acc: totals.train_acc,
            test_acc,
            examples_per_sec: totals.examples_per_sec,
            train_seconds: p.train_seconds,
            eval_seconds: eval_start.elapsed().as_secs_f64(),
            layers: self.layers.clone(),
            class_acc,
        };
        self.history.epochs.push(summary.clone());
        self.emit(Event::EpochFinished(summary));
        let p = &mut self.position;
        p.epoch += 1;
        p.batch = 0;
        p.clear_tallies();
        self.save(SaveReason::EpochEnd);
        if self.stepping.take() == Some(Stride::Epoch) {
            self.report_probes(false)?;
        }
        Ok(())
    }
}
