//! The trainer loop. Commands are drained before every batch, so each takes effect
//! before the next one; while paused the thread blocks on the command channel.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Optimizer, SGD};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::messages::{Change, Command, EpochSummary, Event, ProbeReport, Progress, RunInfo};
use super::settings::TrainSettings;
use crate::data::batches::batches_per_epoch;
use crate::data::{Dataset, EpochOrder, Split};
use crate::model::{Architecture, LeNet, ModelError};

/// Test examples per evaluation batch: large enough to keep the matmuls busy, small
/// enough that activations of a batch stay around 20 MB.
const EVAL_BATCH: usize = 1000;

/// Everything a trainer thread needs to start.
pub struct TrainerSpec {
    /// The data, shared with the caller (the UI shows test images from it).
    pub dataset: Arc<Dataset>,
    /// Where the model runs.
    pub device: Device,
    /// The device in words, for reports.
    pub device_name: String,
    /// The network's layout.
    pub architecture: Architecture,
    /// The recipe.
    pub settings: TrainSettings,
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

/// Starts a trainer thread. The model is built inside it; a failure arrives as
/// [`Event::Error`].
pub fn spawn(spec: TrainerSpec) -> TrainerHandle {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    let (event_tx, event_rx) = crossbeam_channel::unbounded();
    let thread = std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            let events = event_tx.clone();
            // A panic becomes an error event, so the front end can report it and
            // restore the terminal on its own thread.
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                Trainer::new(spec, command_rx, event_tx).and_then(|mut t| t.run())
            }));
            let last = match result {
                Ok(Ok(())) => Event::Stopped,
                Ok(Err(e)) => Event::Error(e.to_string()),
                Err(payload) => {
                    Event::Error(format!("the trainer panicked: {}", panic_message(&payload)))
                }
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
    Stop,
}

/// A split uploaded to the device once: pixels stay bytes until a batch is taken.
struct DeviceSplit {
    pixels: Tensor,
    labels: Tensor,
}

impl DeviceSplit {
    fn upload(split: &Split, device: &Device) -> candle_core::Result<Self> {
        Ok(Self {
            pixels: Tensor::from_slice(&split.pixels, (split.len(), split.image_len()), device)?,
            labels: Tensor::from_vec(
                split
                    .labels
                    .iter()
                    .map(|&l| u32::from(l))
                    .collect::<Vec<_>>(),
                split.len(),
                device,
            )?
            .to_dtype(DType::U32)?,
        })
    }

    /// Images `[n, 1, rows, cols]` in [0, 1] and labels `[n]` for the given indices.
    fn batch(
        &self,
        ids: &Tensor,
        rows: usize,
        cols: usize,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let n = ids.dims1()?;
        let x = self
            .pixels
            .index_select(ids, 0)?
            .to_dtype(DType::F32)?
            .affine(1.0 / 255.0, 0.0)?
            .reshape((n, 1, rows, cols))?;
        Ok((x, self.labels.index_select(ids, 0)?))
    }
}

struct Trainer {
    dataset: Arc<Dataset>,
    device: Device,
    info: RunInfo,
    settings: TrainSettings,
    model: LeNet,
    optimizer: SGD,
    train: DeviceSplit,
    test: DeviceSplit,
    order: EpochOrder,
    init_rng: StdRng,
    commands: Receiver<Command>,
    events: Sender<Event>,
    paused: bool,
    probes: Vec<usize>,
    /// Position in the run, in epochs, for change markers.
    at: f64,
}

impl Trainer {
    fn new(
        spec: TrainerSpec,
        commands: Receiver<Command>,
        events: Sender<Event>,
    ) -> Result<Self, ModelError> {
        let TrainerSpec {
            dataset,
            device,
            device_name,
            architecture,
            settings,
        } = spec;
        let mut init_rng = StdRng::seed_from_u64(settings.seed);
        let model = LeNet::new(
            &architecture,
            settings.pooling,
            settings.activation,
            &device,
            &mut init_rng,
        )?;
        let optimizer = SGD::new(model.varmap().all_vars(), settings.learning_rate.get())?;
        let info = RunInfo {
            data: dataset.to_string(),
            device: device_name,
            train_examples: dataset.train.len(),
            test_examples: dataset.test.len(),
            classes: dataset.classes.clone(),
            batches_per_epoch: batches_per_epoch(
                dataset.train.len(),
                settings.batch_size.as_usize(),
            ),
            settings: settings.clone(),
            layers: model.layer_table()?,
        };
        Ok(Self {
            train: DeviceSplit::upload(&dataset.train, &device)?,
            test: DeviceSplit::upload(&dataset.test, &device)?,
            // A stream of its own, so restarts (which draw weights) keep shuffles stable.
            order: EpochOrder::new(dataset.train.len(), settings.seed.wrapping_add(1)),
            dataset,
            device,
            info,
            settings,
            model,
            optimizer,
            init_rng,
            commands,
            events,
            paused: false,
            probes: Vec::new(),
            at: 0.0,
        })
    }

    fn emit(&self, event: Event) {
        // Nobody listening is fine: the caller may only care about the end result.
        let _ = self.events.send(event);
    }

    fn run(&mut self) -> Result<(), ModelError> {
        self.emit(Event::Started(self.info.clone()));
        loop {
            let flow = match self.train_epochs()? {
                Flow::Finished => self.idle()?,
                other => other,
            };
            match flow {
                Flow::Restart => self.restart()?,
                Flow::Stop | Flow::Finished => return Ok(()),
            }
        }
    }

    fn restart(&mut self) -> Result<(), ModelError> {
        self.model.reinitialize(&mut self.init_rng)?;
        self.optimizer = SGD::new(
            self.model.varmap().all_vars(),
            self.settings.learning_rate.get(),
        )?;
        self.paused = false;
        self.emit(Event::Changed {
            at: self.at,
            change: Change::Restarted,
        });
        self.at = 0.0;
        self.report_probes()
    }

    /// After the last epoch: answer commands (probes, swaps, restart) until stopped.
    fn idle(&mut self) -> Result<Flow, ModelError> {
        while let Ok(command) = self.commands.recv() {
            if let Some(flow) = self.apply(command)? {
                return Ok(flow);
            }
        }
        Ok(Flow::Stop)
    }

    /// Applies pending commands, blocking while paused. `Some` ends the epoch loop.
    fn handle_commands(&mut self) -> Result<Option<Flow>, ModelError> {
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

    fn apply(&mut self, command: Command) -> Result<Option<Flow>, ModelError> {
        let change = match command {
            Command::Stop => return Ok(Some(Flow::Stop)),
            Command::Restart => return Ok(Some(Flow::Restart)),
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
                self.optimizer.set_learning_rate(lr.get());
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
        self.emit(Event::Changed {
            at: self.at,
            change,
        });
        if reshaped {
            self.emit(Event::Layers(self.model.layer_table()?));
        }
        if refresh {
            self.report_probes()?;
        }
        Ok(None)
    }

    fn train_epochs(&mut self) -> Result<Flow, ModelError> {
        let batch_size = self.settings.batch_size.as_usize();
        let (rows, cols) = (self.dataset.train.rows, self.dataset.train.cols);
        let batches = batches_per_epoch(self.dataset.train.len(), batch_size);
        let reports = (self.settings.reports_per_epoch.max(1) as usize).min(batches);
        let mut last = None;
        for epoch in 1..=self.settings.epochs.get() {
            let order: Vec<Vec<u32>> = self
                .order
                .next_epoch(batch_size)
                .map(<[u32]>::to_vec)
                .collect();
            let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0u64, 0usize);
            let mut train_seconds = 0.0f64;
            for (i, ids) in order.iter().enumerate() {
                if let Some(flow) = self.handle_commands()? {
                    return Ok(flow);
                }
                let start = Instant::now();
                let ids = Tensor::from_slice(ids, ids.len(), &self.device)?;
                let (x, y) = self.train.batch(&ids, rows, cols)?;
                let logits = self.model.forward(&x)?;
                let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
                self.optimizer.backward_step(&loss)?;
                let batch_correct = logits
                    .detach()
                    .argmax(1)?
                    .eq(&y)?
                    .to_dtype(DType::U32)?
                    .sum_all()?
                    .to_scalar::<u32>()?;
                let n = y.dims1()?;
                loss_sum += f64::from(loss.to_scalar::<f32>()?) * n as f64;
                correct += u64::from(batch_correct);
                seen += n;
                train_seconds += start.elapsed().as_secs_f64();
                self.at = f64::from(epoch - 1) + (i + 1) as f64 / batches as f64;
                // Evenly spaced reports, the last one on the final batch, as the
                // chapter's animator plots them.
                let due = (i + 1) * reports / batches != i * reports / batches;
                if due {
                    self.emit(Event::Progress(Progress {
                        epoch,
                        at: self.at,
                        batch: i + 1,
                        batches,
                        train_loss: loss_sum / seen as f64,
                        train_acc: correct as f64 / seen as f64,
                        examples_per_sec: seen as f64 / train_seconds.max(1e-9),
                    }));
                    self.report_probes()?;
                }
            }
            let eval_start = Instant::now();
            let test_acc = self.evaluate()?;
            let summary = EpochSummary {
                epoch,
                train_loss: loss_sum / seen as f64,
                train_acc: correct as f64 / seen as f64,
                test_acc,
                examples_per_sec: seen as f64 / train_seconds.max(1e-9),
                train_seconds,
                eval_seconds: eval_start.elapsed().as_secs_f64(),
            };
            self.emit(Event::EpochFinished(summary.clone()));
            last = Some(summary);
        }
        if let Some(summary) = last {
            self.emit(Event::Finished(summary));
        }
        Ok(Flow::Finished)
    }

    /// Test-set accuracy, in batches, without gradient tracking.
    fn evaluate(&self) -> Result<f64, ModelError> {
        let test = &self.dataset.test;
        let mut correct = 0u64;
        for start in (0..test.len()).step_by(EVAL_BATCH) {
            let n = EVAL_BATCH.min(test.len() - start);
            let ids = Tensor::arange(start as u32, (start + n) as u32, &self.device)?;
            let (x, y) = self.test.batch(&ids, test.rows, test.cols)?;
            let hits = self
                .model
                .forward_eval(&x)?
                .argmax(1)?
                .eq(&y)?
                .to_dtype(DType::U32)?
                .sum_all()?
                .to_scalar::<u32>()?;
            correct += u64::from(hits);
        }
        Ok(correct as f64 / test.len().max(1) as f64)
    }

    fn report_probes(&self) -> Result<(), ModelError> {
        if self.probes.is_empty() {
            return Ok(());
        }
        let test = &self.dataset.test;
        let ids: Vec<u32> = self.probes.iter().map(|&i| i as u32).collect();
        let ids = Tensor::from_vec(ids, self.probes.len(), &self.device)?;
        let (x, _) = self.test.batch(&ids, test.rows, test.cols)?;
        let reports = self
            .model
            .probe(&x)?
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
        self.emit(Event::Activations(reports));
        Ok(())
    }
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}
