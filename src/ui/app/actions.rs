//! Key actions: what each does to the dashboard's state, and the effects it asks for.

use super::*;
use crate::train::timeline::Seek;

impl App {
    /// Applies a key action; returns what the event loop should do.
    pub fn on_action(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::ForceQuit {
            self.should_quit = true;
            return Vec::new();
        }
        let overlay = self.overlay.take();
        match overlay {
            Some(Overlay::ConfirmQuit) => {
                if action == Action::Quit {
                    self.should_quit = true;
                }
                return Vec::new();
            }
            // Its keys go to `on_prompt_key`; any action that reaches here closes it.
            Some(Overlay::OpenImage) => return Vec::new(),
            Some(Overlay::ConfirmRestart) => {
                if action == Action::Restart {
                    return vec![Effect::Trainer(Command::Restart)];
                }
                return Vec::new();
            }
            // Any key closes help; only the help key does nothing else.
            Some(Overlay::Help) if action == Action::Help => return Vec::new(),
            Some(Overlay::Help) | None => {}
        }
        if let Some(why) = self.replay_refuses(action) {
            self.status = Some(why);
            return Vec::new();
        }
        match action {
            Action::TogglePause => match self.run().state {
                RunState::Running => vec![Effect::Trainer(Command::Pause)],
                RunState::Paused => vec![Effect::Trainer(Command::Resume)],
                RunState::Diverged(_) => {
                    self.status = Some(format!(
                        "diverged: {} goes back to the last good checkpoint, {} restarts",
                        self.keymap.name(Action::RestoreGood),
                        self.keymap.name(Action::Restart)
                    ));
                    Vec::new()
                }
                RunState::Finished if self.replay.is_some() => {
                    self.status = Some(format!(
                        "the end of the replay: {} plays it from the start",
                        self.keymap.name(Action::HistoryStart)
                    ));
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Action::Save => vec![Effect::Trainer(Command::Save(SaveReason::User))],
            Action::RestoreGood => {
                if matches!(self.run().state, RunState::Diverged(_)) {
                    vec![Effect::Trainer(Command::RestoreLastGood)]
                } else {
                    self.status = Some(format!(
                        "{} goes back to the last good checkpoint after a divergence; \
                         training has not diverged",
                        self.keymap.name(Action::RestoreGood)
                    ));
                    Vec::new()
                }
            }
            Action::TogglePooling => {
                let settings = &mut self.run_mut().settings;
                settings.pooling = settings.pooling.toggled();
                vec![Effect::Trainer(Command::SetPooling(settings.pooling))]
            }
            Action::ToggleActivation => {
                let settings = &mut self.run_mut().settings;
                settings.activation = settings.activation.toggled();
                vec![Effect::Trainer(Command::SetActivation(settings.activation))]
            }
            Action::LrUp | Action::LrDown => {
                let factor = if action == Action::LrUp { 2.0 } else { 0.5 };
                match LearningRate::try_from(self.run().settings.learning_rate * factor) {
                    Ok(lr) => {
                        self.run_mut().settings.learning_rate = lr.get();
                        vec![Effect::Trainer(Command::SetLearningRate(lr))]
                    }
                    Err(why) => {
                        self.status = Some(why);
                        Vec::new()
                    }
                }
            }
            Action::StepBatch | Action::StepEpoch => {
                if self.run().state != RunState::Paused {
                    self.status = Some(format!(
                        "{} and {} step while paused ({} pauses)",
                        self.keymap.name(Action::StepBatch),
                        self.keymap.name(Action::StepEpoch),
                        self.keymap.name(Action::TogglePause)
                    ));
                    return Vec::new();
                }
                let stride = if action == Action::StepBatch {
                    Stride::Batch
                } else {
                    Stride::Epoch
                };
                vec![Effect::Trainer(Command::Step(stride))]
            }
            Action::PaceDown | Action::PaceUp => {
                let (full, now) = (self.run().examples_per_sec, self.run().settings.pace);
                let pace = if action == Action::PaceUp {
                    now.faster(full)
                } else {
                    now.slower(full)
                };
                if pace == now {
                    self.status = Some(match pace {
                        Pace::Full => "already at full speed".into(),
                        Pace::PerSecond(_) => format!("{}: the slowest pace", pace.label()),
                    });
                    return Vec::new();
                }
                // At once, so that presses in a row compound before the trainer answers.
                self.run_mut().settings.pace = pace;
                vec![Effect::Trainer(Command::SetPace(pace))]
            }
            Action::HistoryBack
            | Action::HistoryForward
            | Action::HistoryStart
            | Action::HistoryEnd => self.move_in_history(action),
            Action::PrevImage | Action::NextImage => {
                let side = self.active_side();
                self.probes[side] = self
                    .images
                    .step(self.probes[side], action == Action::NextImage);
                self.probe_effects()
            }
            Action::PrevClass | Action::NextClass => {
                let side = self.active_side();
                if let Some(p) = self.images.next_of_class(
                    self.probes[side],
                    action == Action::NextClass,
                    &self.dataset.test,
                    self.dataset.classes.len(),
                ) {
                    self.probes[side] = p;
                }
                self.probe_effects()
            }
            Action::Compare => {
                self.compare = match self.compare {
                    Compare::Off => Compare::Left,
                    Compare::Left => Compare::Right,
                    Compare::Right => Compare::Off,
                };
                self.probe_effects()
            }
            Action::OpenImage => {
                self.image_prompt.clear();
                self.overlay = Some(Overlay::OpenImage);
                Vec::new()
            }
            Action::Draw => self.start_drawing(false),
            Action::DrawOver => self.start_drawing(true),
            Action::ToggleProbabilities => self.toggle(Panel::Probabilities),
            Action::ToggleConfusion => self.toggle(Panel::Confusion),
            Action::ToggleKernels => self.toggle(Panel::Kernels),
            Action::ToggleDiagnostics => self.toggle(Panel::Diagnostics),
            Action::Restart => {
                self.overlay = Some(Overlay::ConfirmRestart);
                Vec::new()
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::Quit => {
                // A replay loses nothing by ending.
                if self.run().state.is_active() && self.replay.is_none() {
                    self.overlay = Some(Overlay::ConfirmQuit);
                } else {
                    self.should_quit = true;
                }
                Vec::new()
            }
            Action::Screenshot => vec![Effect::Screenshot],
            Action::Record => vec![Effect::ToggleRecording],
            Action::Figure => vec![Effect::Figure],
            Action::Focus1 | Action::Focus2 | Action::Focus3 | Action::Focus4 => {
                self.focus_lane(action.focused_lane().unwrap_or(0));
                Vec::new()
            }
            Action::ForceQuit => Vec::new(),
        }
    }

    /// Tells the trainer which images to show; while looking back, asks for the
    /// past model's view of them as well.
    pub(super) fn probe_effects(&self) -> Vec<Effect> {
        let mut effects = vec![Effect::Trainer(self.probe_command())];
        if let Some(past) = &self.run().past {
            effects.push(Effect::Trainer(Command::Recall(Seek::At(past.moment.at))));
        }
        effects
    }

    /// `,` `.` Home End: a cursor over the run's snapshots while it trains; in a
    /// replay, the play head.
    fn move_in_history(&mut self, action: Action) -> Vec<Effect> {
        if self.run().state == RunState::Starting {
            return Vec::new();
        }
        if self.replay.is_some() {
            let seek = match action {
                Action::HistoryBack => Seek::Before(self.run().at),
                Action::HistoryForward => Seek::After(self.run().at),
                Action::HistoryStart => Seek::Start,
                _ => Seek::End,
            };
            return vec![Effect::Trainer(Command::Seek(seek))];
        }
        let shown = self.run().past.as_ref().map(|p| p.moment.at);
        let seek = match (action, shown) {
            (Action::HistoryBack, Some(at)) => Seek::Before(at),
            (Action::HistoryBack, None) => Seek::Before(self.run().at),
            (Action::HistoryForward, Some(at)) => Seek::After(at),
            (Action::HistoryStart, _) => Seek::Start,
            (Action::HistoryEnd, Some(_)) => {
                self.run_mut().past = None;
                self.status = Some("back to live".into());
                return Vec::new();
            }
            _ => {
                self.status = Some(format!(
                    "already live: {} looks back over the run",
                    self.keymap.name(Action::HistoryBack)
                ));
                return Vec::new();
            }
        };
        vec![Effect::Trainer(Command::Recall(seek))]
    }

    /// Whether `action` does something here (a replay cannot change the run).
    pub fn offers(&self, action: Action) -> bool {
        self.replay_refuses(action).is_none()
    }

    /// Why a replay cannot do `action` (it shows the run as recorded), if it cannot.
    fn replay_refuses(&self, action: Action) -> Option<String> {
        self.replay.as_ref()?;
        let what = match action {
            Action::TogglePooling => "the pooling",
            Action::ToggleActivation => "the activation",
            Action::LrUp | Action::LrDown => "the learning rate",
            Action::Restart => "the weights",
            Action::Save | Action::RestoreGood => "the checkpoints",
            _ => return None,
        };
        Some(format!(
            "a replay shows the run as it was recorded: {what} cannot change \
             (train with `lenet-tui train --resume` to go on from it)"
        ))
    }

    /// Shows `panel` if hidden, hides it if shown.
    fn toggle(&mut self, panel: Panel) -> Vec<Effect> {
        if self.shows(panel) {
            self.panels.retain(|&p| p != panel);
        } else {
            self.panels.push(panel);
            self.panels
                .sort_by_key(|p| Panel::ALL.iter().position(|a| a == p));
        }
        Vec::new()
    }

    /// Whether `panel` is shown.
    pub fn shows(&self, panel: Panel) -> bool {
        self.panels.contains(&panel)
    }

    /// Cancels an overlay (a key with no action, such as Esc or `n`).
    pub fn on_unbound_key(&mut self) {
        self.overlay = None;
    }

    fn active_side(&self) -> usize {
        usize::from(self.compare == Compare::Right)
    }
}
