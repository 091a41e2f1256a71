//! Key actions: what each does to the dashboard's state, and the effects it asks for.

use super::*;

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
        match action {
            Action::TogglePause => match self.state {
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
                _ => Vec::new(),
            },
            Action::Save => vec![Effect::Trainer(Command::Save(SaveReason::User))],
            Action::RestoreGood => {
                if matches!(self.state, RunState::Diverged(_)) {
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
                self.pooling = self.pooling.toggled();
                vec![Effect::Trainer(Command::SetPooling(self.pooling))]
            }
            Action::ToggleActivation => {
                self.activation = self.activation.toggled();
                vec![Effect::Trainer(Command::SetActivation(self.activation))]
            }
            Action::LrUp | Action::LrDown => {
                let factor = if action == Action::LrUp { 2.0 } else { 0.5 };
                match LearningRate::try_from(self.learning_rate * factor) {
                    Ok(lr) => {
                        self.learning_rate = lr.get();
                        vec![Effect::Trainer(Command::SetLearningRate(lr))]
                    }
                    Err(why) => {
                        self.status = Some(why);
                        Vec::new()
                    }
                }
            }
            Action::StepBatch | Action::StepEpoch => {
                if self.state != RunState::Paused {
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
                let full = self.examples_per_sec;
                let pace = if action == Action::PaceUp {
                    self.pace.faster(full)
                } else {
                    self.pace.slower(full)
                };
                if pace == self.pace {
                    self.status = Some(match pace {
                        Pace::Full => "already at full speed".into(),
                        Pace::PerSecond(_) => format!("{}: the slowest pace", pace.label()),
                    });
                    return Vec::new();
                }
                // At once, so that presses in a row compound before the trainer answers.
                self.pace = pace;
                vec![Effect::Trainer(Command::SetPace(pace))]
            }
            Action::PrevImage | Action::NextImage => {
                let n = self.dataset.test.len().max(1);
                let step = if action == Action::NextImage {
                    1
                } else {
                    n - 1
                };
                let side = self.active_side();
                self.probes[side] = (self.probes[side] + step) % n;
                vec![Effect::Trainer(self.probe_command())]
            }
            Action::PrevClass | Action::NextClass => {
                let side = self.active_side();
                let classes = self.dataset.classes.len().max(1);
                let current = usize::from(self.dataset.test.labels[self.probes[side]]);
                let step = if action == Action::NextClass {
                    1
                } else {
                    classes - 1
                };
                let target = (current + step) % classes;
                if let Some(i) = self.next_of_class(self.probes[side], target) {
                    self.probes[side] = i;
                }
                vec![Effect::Trainer(self.probe_command())]
            }
            Action::Compare => {
                self.compare = match self.compare {
                    Compare::Off => Compare::Left,
                    Compare::Left => Compare::Right,
                    Compare::Right => Compare::Off,
                };
                vec![Effect::Trainer(self.probe_command())]
            }
            Action::ToggleProbabilities => self.toggle(Panel::Probabilities),
            Action::ToggleConfusion => self.toggle(Panel::Confusion),
            Action::ToggleKernels => self.toggle(Panel::Kernels),
            Action::Restart => {
                self.overlay = Some(Overlay::ConfirmRestart);
                Vec::new()
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::Quit => {
                if self.state.is_active() {
                    self.overlay = Some(Overlay::ConfirmQuit);
                } else {
                    self.should_quit = true;
                }
                Vec::new()
            }
            Action::Screenshot => vec![Effect::Screenshot],
            Action::Record => vec![Effect::ToggleRecording],
            Action::Figure => vec![Effect::Figure],
            Action::ForceQuit => Vec::new(),
        }
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

    /// The first test image of `class` after `from`, wrapping around.
    fn next_of_class(&self, from: usize, class: usize) -> Option<usize> {
        let labels = &self.dataset.test.labels;
        let n = labels.len();
        (1..=n)
            .map(|k| (from + k) % n)
            .find(|&i| usize::from(labels[i]) == class)
    }
}
