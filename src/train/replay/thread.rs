//! The replay thread: a saved run's timeline, a CPU copy of its model, and the play
//! head, answering the trainer's commands.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{Playhead, events_between};
use crate::data::Dataset;
use crate::data::own::ProbeImage;
use crate::model::ModelError;
use crate::train::handle::TrainerHandle;
use crate::train::messages::{Change, Command, Event, ExplainAsk, RunInfo, SavePart, Stride};
use crate::train::pace::Pace;
use crate::train::report::missing_probe;
use crate::train::settings::LearningRate;
use crate::train::timeline::file::SavedTimeline;
use crate::train::timeline::{PastModel, Seek, history_until};

/// Everything a replay needs.
pub struct ReplaySpec {
    /// The run's name, for the header.
    pub name: String,
    /// Its saved timeline.
    pub saved: SavedTimeline,
    /// The data the shown test images come from.
    pub dataset: Arc<Dataset>,
    /// Where that data is, in words, when it is not the run's own.
    pub data_note: Option<String>,
    /// How fast it plays.
    pub pace: Pace,
}

/// Starts a replay thread; the handle is a trainer's.
pub fn spawn_replay(spec: ReplaySpec) -> TrainerHandle {
    let (command_tx, command_rx) = crossbeam_channel::unbounded();
    let (event_tx, event_rx) = crossbeam_channel::unbounded();
    let thread = std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let events = event_tx.clone();
            let last = match std::panic::catch_unwind(AssertUnwindSafe(|| {
                Replayer::new(spec, command_rx, event_tx)?.run()
            })) {
                Ok(Ok(())) => Event::Stopped,
                Ok(Err(e)) => Event::Error(e.to_string()),
                Err(payload) => Event::Error(format!(
                    "the replay panicked: {}",
                    crate::train::handle::panic_message(&*payload)
                )),
            };
            let _ = events.send(last);
        })
        .expect("spawning the replay thread");
    TrainerHandle::new(command_tx, event_rx, thread)
}

struct Replayer {
    spec: ReplaySpec,
    past: PastModel,
    head: Playhead,
    probes: Vec<ProbeImage>,
    /// The position of the snapshot whose model is shown.
    shown: Option<f64>,
    commands: Receiver<Command>,
    events: Sender<Event>,
}

/// Refused at the end of the record.
const NOTHING_LATER: &str = "the end of the run: nothing later (Home goes back to the start)";

/// Refused in a replay: everything that would change the run.
const RECORDED: &str = "a replay shows the run as it was recorded; \
                        train with `lenet-tui train --resume` to go on from it";

impl Replayer {
    fn new(
        spec: ReplaySpec,
        commands: Receiver<Command>,
        events: Sender<Event>,
    ) -> Result<Self, ModelError> {
        let facts = &spec.saved.facts;
        let past = PastModel::new(&facts.architecture, spec.saved.timeline.parameter_names())?;
        let end = facts.at.max(
            spec.saved
                .timeline
                .find(Seek::End)
                .map_or(0.0, |s| s.moment.at),
        );
        let full = super::run_speed(&facts.history).unwrap_or(10_000.0);
        let head = Playhead::new(
            end,
            spec.pace,
            full,
            facts.data.train_examples,
            Instant::now(),
        );
        Ok(Self {
            spec,
            past,
            head,
            probes: Vec::new(),
            shown: None,
            commands,
            events,
        })
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn run(&mut self) -> Result<(), ModelError> {
        let first = *self
            .spec
            .saved
            .timeline
            .find(Seek::Start)
            .map(|s| &s.moment)
            .expect("a saved timeline holds a snapshot");
        let facts = &self.spec.saved.facts;
        let mut settings = facts.settings.clone();
        settings.pooling = first.pooling;
        settings.activation = first.activation;
        if let Ok(lr) = LearningRate::try_from(first.learning_rate) {
            settings.learning_rate = lr;
        }
        settings.pace = self.head.pace;
        let data = match &self.spec.data_note {
            Some(note) => format!("{} · {note}", facts.data.description),
            None => facts.data.description.clone(),
        };
        let info = RunInfo {
            data,
            device: format!("replay of {}", self.spec.name),
            train_examples: facts.data.train_examples,
            test_examples: self.spec.dataset.test.len(),
            classes: self.spec.dataset.classes.clone(),
            batches_per_epoch: facts.batches_per_epoch,
            settings,
            layers: self.past.layer_table(&first)?,
        };
        self.emit(Event::Started(info));
        self.seek_to(0.0)?;
        if self.head.at_end() {
            // A run saved before its first report: nothing to play.
            self.reached_end();
        }
        loop {
            let command = match self.head.wait() {
                Some(wait) => match self.commands.recv_timeout(wait) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                },
                None => match self.commands.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return Ok(()),
                },
            };
            match command {
                Some(Command::Stop) => return Ok(()),
                Some(c) => self.on_command(c)?,
                None => self.play()?,
            }
        }
    }

    /// Moves the head by the time gone, sending what it passes.
    fn play(&mut self) -> Result<(), ModelError> {
        let Some((from, to)) = self.head.advance(Instant::now()) else {
            return Ok(());
        };
        let saved = &self.spec.saved;
        let passed = events_between(&saved.facts.history, saved.timeline.confusions(), from, to);
        for event in passed {
            let reshaped = matches!(
                event,
                Event::Changed {
                    change: Change::Pooling(_) | Change::Activation(_),
                    ..
                }
            );
            self.emit(event);
            if reshaped && let Some(s) = self.spec.saved.timeline.find(Seek::At(to)) {
                let moment = s.moment;
                let table = self.past.layer_table(&moment)?;
                self.emit(Event::Layers(table));
            }
        }
        self.show_model(true)?;
        if self.head.at_end() {
            self.reached_end();
        }
        Ok(())
    }

    /// The end of the record: the run's last epoch, as a finished run ends.
    fn reached_end(&mut self) {
        self.head.set_playing(false, Instant::now());
        match self.spec.saved.facts.history.epochs.last() {
            Some(last) => self.emit(Event::Finished(last.clone())),
            None => self.emit(Event::Changed {
                at: self.head.at,
                change: Change::Paused,
            }),
        }
    }

    /// Sends the model of the newest snapshot at the head, if another is shown.
    fn show_model(&mut self, periodic: bool) -> Result<(), ModelError> {
        let saved = &self.spec.saved;
        let Some(snapshot) = saved.timeline.find(Seek::At(self.head.at)) else {
            return Ok(());
        };
        let at = snapshot.moment.at;
        if (periodic && self.shown == Some(at)) || self.probes.is_empty() {
            self.shown = Some(at);
            return Ok(());
        }
        let view = self.past.view(
            snapshot,
            &saved.timeline,
            &self.probes,
            &self.spec.dataset.test,
        )?;
        self.shown = Some(at);
        self.emit(Event::Activations {
            reports: view.reports,
            kernels: view.kernels,
            periodic,
        });
        Ok(())
    }

    /// Works out `ask` with the model of the snapshot at `ask.at`, else at the head.
    fn explain(&self, ask: &ExplainAsk) {
        let saved = &self.spec.saved;
        let at = ask.at.unwrap_or(self.head.at);
        let test = &self.spec.dataset.test;
        match saved
            .timeline
            .explain(&saved.facts.architecture, at, ask, test)
        {
            Some(answer) => self.emit(Event::Explained(answer)),
            None => self.emit(Event::Rejected("no snapshot there to explain".into())),
        }
    }

    /// Puts the head at `at`: the charts as they were then, and that moment's model.
    fn seek_to(&mut self, at: f64) -> Result<(), ModelError> {
        let was_at_end = self.head.at_end();
        self.head.at = at.clamp(0.0, self.head.end);
        let saved = &self.spec.saved;
        let Some(snapshot) = saved.timeline.find(Seek::At(self.head.at)) else {
            return Ok(());
        };
        let moment = snapshot.moment;
        self.emit(Event::Seeked {
            at: self.head.at,
            moment,
            history: history_until(&saved.facts.history, self.head.at),
            confusion: saved.timeline.confusion_at(self.head.at).cloned(),
        });
        let table = self.past.layer_table(&moment)?;
        self.emit(Event::Layers(table));
        self.show_model(false)?;
        let now = Instant::now();
        if self.head.at_end() {
            if !was_at_end {
                self.reached_end();
            }
        } else if was_at_end {
            // Back from the end: paused there, for the play key to start again.
            self.head.set_playing(false, now);
            self.emit(Event::Changed {
                at: self.head.at,
                change: Change::Paused,
            });
        } else {
            // Time spent before the seek is not played after it.
            let playing = self.head.playing;
            self.head.set_playing(playing, now);
        }
        Ok(())
    }

    /// Where a seek lands, or why it cannot move.
    fn target(&self, seek: Seek) -> Result<f64, String> {
        let timeline = &self.spec.saved.timeline;
        match (seek, timeline.find(seek)) {
            (Seek::End, _) => Ok(self.head.end),
            (_, Some(s)) => Ok(s.moment.at),
            (Seek::Before(_) | Seek::Start, None) => {
                Err("the start of the run: nothing earlier".into())
            }
            (_, None) if !self.head.at_end() => Ok(self.head.end),
            (_, None) => Err(NOTHING_LATER.into()),
        }
    }

    /// Moves the head to `target`, or says why it cannot move.
    fn move_head(&mut self, target: Result<f64, String>) -> Result<(), ModelError> {
        match target {
            Ok(at) => self.seek_to(at),
            Err(why) => {
                self.emit(Event::Rejected(why));
                Ok(())
            }
        }
    }

    fn on_command(&mut self, command: Command) -> Result<(), ModelError> {
        self.play()?;
        match command {
            Command::Pause | Command::Resume => {
                let playing = command == Command::Resume;
                if self.head.at_end() {
                    self.emit(Event::Rejected(
                        "the end of the replay: Home goes back to the start".into(),
                    ));
                } else if self.head.playing != playing {
                    self.head.set_playing(playing, Instant::now());
                    let change = if playing {
                        Change::Resumed
                    } else {
                        Change::Paused
                    };
                    self.emit(Event::Changed {
                        at: self.head.at,
                        change,
                    });
                }
            }
            Command::SetPace(pace) => {
                self.head.pace = pace;
            }
            Command::Seek(seek) | Command::Recall(seek) => self.move_head(self.target(seek))?,
            Command::Step(Stride::Batch) => {
                self.move_head(self.target(Seek::After(self.head.at)))?;
            }
            Command::Step(Stride::Epoch) => {
                let next = ((self.head.at + 1e-6).floor() + 1.0).min(self.head.end);
                let target = if self.head.at_end() {
                    Err(NOTHING_LATER.into())
                } else {
                    Ok(next)
                };
                self.move_head(target)?;
            }
            Command::SetProbes(images) => {
                if let Some(why) = missing_probe(&images, &self.spec.dataset.test) {
                    self.emit(Event::Rejected(why));
                } else {
                    self.probes = images;
                    self.show_model(false)?;
                }
            }
            Command::Explain(ask) => self.explain(&ask),
            Command::Gallery { .. } => self.emit(Event::Rejected(
                "a replay keeps each epoch's confusion counts, not the images behind them".into(),
            )),
            Command::Save(reason) => self.emit(Event::SaveFailed {
                reason,
                part: SavePart::Checkpoint,
                message: "a replay writes nothing into the run".into(),
                needs: None,
            }),
            Command::SetPooling(_)
            | Command::SetActivation(_)
            | Command::SetLearningRate(_)
            | Command::Restart
            | Command::RestoreLastGood => self.emit(Event::Rejected(RECORDED.into())),
            Command::Stop => {}
        }
        Ok(())
    }
}
