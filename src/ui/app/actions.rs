//! Key actions: what each does to the dashboard's state, and the effects it asks for.

use super::*;
use crate::train::timeline::Seek;
use crate::ui::keys::Over;

impl App {
    /// Applies a key action; returns what the event loop should do.
    pub fn on_action(&mut self, action: Action) -> Vec<Effect> {
        if let Some(effects) = self.through_overlay(action) {
            return effects;
        }
        if let Some(why) = self.runs.refuses(action) {
            self.screen.status = Some(why);
            return Vec::new();
        }
        self.act(action)
    }

    /// What an open overlay makes of `action` (its [`Over`]): `None` lets the action
    /// go on to do what it does.
    fn through_overlay(&mut self, action: Action) -> Option<Vec<Effect>> {
        let over = action.spec().over;
        if over == Over::Ignores {
            return None;
        }
        match (self.screen.overlay.take()?, over) {
            (Overlay::Help, Over::Toggles) => Some(Vec::new()),
            (Overlay::Help, _) => None,
            (question, Over::Answers) if asked_by(question) == Some(action) => {
                Some(self.answer_yes(question))
            }
            // A question or the prompt (whose own keys go to `on_prompt_key`): any
            // other action only closes it.
            _ => Some(Vec::new()),
        }
    }

    /// Yes to the question `question`.
    fn answer_yes(&mut self, question: Overlay) -> Vec<Effect> {
        match question {
            Overlay::ConfirmQuit => {
                self.should_quit = true;
                Vec::new()
            }
            Overlay::ConfirmRestart => vec![Effect::Trainer(Command::Restart)],
            Overlay::Help | Overlay::OpenImage => Vec::new(),
        }
    }

    /// Does what a dashboard action does.
    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::TogglePause => self.toggle_pause(),
            Action::Save => vec![Effect::Trainer(Command::Save(SaveReason::User))],
            Action::RestoreGood => self.restore_good(),
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
            Action::LrUp => self.scale_learning_rate(2.0),
            Action::LrDown => self.scale_learning_rate(0.5),
            Action::StepBatch => self.step(Stride::Batch),
            Action::StepEpoch => self.step(Stride::Epoch),
            Action::PaceDown => self.change_pace(false),
            Action::PaceUp => self.change_pace(true),
            Action::HistoryBack
            | Action::HistoryForward
            | Action::HistoryStart
            | Action::HistoryEnd => self.move_in_history(action),
            Action::PrevImage => self.step_image(false),
            Action::NextImage => self.step_image(true),
            Action::PrevClass => self.step_class(false),
            Action::NextClass => self.step_class(true),
            Action::Compare => self.cycle_compare(),
            Action::OpenImage => {
                self.screen.image_prompt.clear();
                self.open(Overlay::OpenImage)
            }
            Action::Draw => self.start_drawing(false),
            Action::DrawOver => self.start_drawing(true),
            Action::ToggleProbabilities => self.toggle(Panel::Probabilities),
            Action::ToggleConfusion => self.toggle_confusion(),
            Action::Explain => self.toggle_explain(),
            Action::Smoothing => {
                let charts = &mut self.screen.charts;
                charts.smoothing = charts.smoothing.next();
                Vec::new()
            }
            Action::LogScale => {
                self.screen.charts.log_loss ^= true;
                Vec::new()
            }
            Action::Zoom => {
                self.screen.charts.zoomed ^= true;
                Vec::new()
            }
            Action::ToggleKernels => self.toggle(Panel::Kernels),
            Action::ToggleDiagnostics => self.toggle(Panel::Diagnostics),
            Action::Restart => self.open(Overlay::ConfirmRestart),
            Action::Help => self.open(Overlay::Help),
            Action::Quit => self.quit(),
            Action::ForceQuit => {
                self.should_quit = true;
                Vec::new()
            }
            Action::Screenshot => vec![Effect::Screenshot],
            Action::Record => vec![Effect::ToggleRecording],
            Action::Figure => vec![Effect::Figure],
            Action::Focus1 | Action::Focus2 | Action::Focus3 | Action::Focus4 => {
                self.focus_lane(action.focused_lane().unwrap_or(0));
                Vec::new()
            }
            // Draw mode's and the prompt's keys go to `on_draw_key` and
            // `on_prompt_key`, before the keymap's dashboard actions.
            Action::CursorLeft
            | Action::CursorRight
            | Action::CursorUp
            | Action::CursorDown
            | Action::Ink
            | Action::Erase
            | Action::ClearCanvas
            | Action::KeepDrawing
            | Action::LeaveDrawing
            | Action::InspectLeft
            | Action::InspectRight
            | Action::InspectUp
            | Action::InspectDown
            | Action::InspectNextMap
            | Action::InspectPrevMap
            | Action::InspectNextLayer
            | Action::InspectPrevLayer
            | Action::InspectOpen
            | Action::InspectLeave
            | Action::PromptOpen
            | Action::PromptErase
            | Action::PromptCancel => Vec::new(),
        }
    }

    fn open(&mut self, overlay: Overlay) -> Vec<Effect> {
        self.screen.overlay = Some(overlay);
        Vec::new()
    }

    fn toggle_pause(&mut self) -> Vec<Effect> {
        match self.run().state {
            RunState::Running => vec![Effect::Trainer(Command::Pause)],
            RunState::Paused => vec![Effect::Trainer(Command::Resume)],
            RunState::Diverged(_) => {
                self.screen.status = Some(format!(
                    "diverged: {} goes back to the last good checkpoint, {} restarts",
                    self.screen.keymap.name(Action::RestoreGood),
                    self.screen.keymap.name(Action::Restart)
                ));
                Vec::new()
            }
            RunState::Finished if self.runs.replay.is_some() => {
                self.screen.status = Some(format!(
                    "the end of the replay: {} plays it from the start",
                    self.screen.keymap.name(Action::HistoryStart)
                ));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn restore_good(&mut self) -> Vec<Effect> {
        if matches!(self.run().state, RunState::Diverged(_)) {
            return vec![Effect::Trainer(Command::RestoreLastGood)];
        }
        self.screen.status = Some(format!(
            "{} goes back to the last good checkpoint after a divergence; \
             training has not diverged",
            self.screen.keymap.name(Action::RestoreGood)
        ));
        Vec::new()
    }

    fn scale_learning_rate(&mut self, factor: f64) -> Vec<Effect> {
        match LearningRate::try_from(self.run().settings.learning_rate * factor) {
            Ok(lr) => {
                self.run_mut().settings.learning_rate = lr.get();
                vec![Effect::Trainer(Command::SetLearningRate(lr))]
            }
            Err(why) => {
                self.screen.status = Some(why);
                Vec::new()
            }
        }
    }

    fn step(&mut self, stride: Stride) -> Vec<Effect> {
        if self.run().state != RunState::Paused {
            self.screen.status = Some(format!(
                "{} and {} step while paused ({} pauses)",
                self.screen.keymap.name(Action::StepBatch),
                self.screen.keymap.name(Action::StepEpoch),
                self.screen.keymap.name(Action::TogglePause)
            ));
            return Vec::new();
        }
        vec![Effect::Trainer(Command::Step(stride))]
    }

    fn change_pace(&mut self, faster: bool) -> Vec<Effect> {
        let (full, now) = (self.run().examples_per_sec, self.run().settings.pace);
        let pace = if faster {
            now.faster(full)
        } else {
            now.slower(full)
        };
        if pace == now {
            self.screen.status = Some(match pace {
                Pace::Full => "already at full speed".into(),
                Pace::PerSecond(_) => format!("{}: the slowest pace", pace.label()),
            });
            return Vec::new();
        }
        // At once, so that presses in a row compound before the trainer answers.
        self.run_mut().settings.pace = pace;
        vec![Effect::Trainer(Command::SetPace(pace))]
    }

    fn step_image(&mut self, forward: bool) -> Vec<Effect> {
        let side = self.screen.active_side();
        self.screen.probes[side] = self.screen.images.step(self.screen.probes[side], forward);
        self.probe_effects()
    }

    fn step_class(&mut self, forward: bool) -> Vec<Effect> {
        let side = self.screen.active_side();
        if let Some(p) = self.screen.images.next_of_class(
            self.screen.probes[side],
            forward,
            &self.runs.dataset.test,
            self.runs.dataset.classes.len(),
        ) {
            self.screen.probes[side] = p;
        }
        self.probe_effects()
    }

    /// Compare mode: off → moving the left image → moving the right image → off.
    fn cycle_compare(&mut self) -> Vec<Effect> {
        self.screen.compare = match self.screen.compare {
            Compare::Off => Compare::Left,
            Compare::Left => Compare::Right,
            Compare::Right => Compare::Off,
        };
        self.probe_effects()
    }

    fn quit(&mut self) -> Vec<Effect> {
        // A replay loses nothing by ending, nor a viewer leaving a run that goes on.
        let owner = self.runs.replay.is_none() && self.runs.watching.is_none();
        if self.run().state.is_active() && owner {
            self.screen.overlay = Some(Overlay::ConfirmQuit);
        } else {
            self.should_quit = true;
        }
        Vec::new()
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
        if self.runs.replay.is_some() {
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
                self.screen.status = Some("back to live".into());
                return Vec::new();
            }
            _ => {
                self.screen.status = Some(format!(
                    "already live: {} looks back over the run",
                    self.screen.keymap.name(Action::HistoryBack)
                ));
                return Vec::new();
            }
        };
        vec![Effect::Trainer(Command::Recall(seek))]
    }

    /// Shows `panel` if hidden, hides it if shown.
    fn toggle(&mut self, panel: Panel) -> Vec<Effect> {
        if self.screen.shows(panel) {
            self.screen.panels.retain(|&p| p != panel);
        } else {
            self.screen.panels.push(panel);
            self.screen
                .panels
                .sort_by_key(|p| Panel::ALL.iter().position(|a| a == p));
        }
        Vec::new()
    }

    /// `c`: the confusion matrix with its cursor, or neither.
    fn toggle_confusion(&mut self) -> Vec<Effect> {
        self.toggle(Panel::Confusion);
        if self.screen.shows(Panel::Confusion) {
            self.start_confusion_cursor();
        } else if matches!(
            self.screen.inspect,
            Some(Inspect::Confusion { .. } | Inspect::Gallery { .. })
        ) {
            self.screen.inspect = None;
        }
        Vec::new()
    }

    /// Cancels an overlay (a key with no action, such as Esc or `n`).
    pub fn on_unbound_key(&mut self) {
        self.screen.overlay = None;
    }
}

/// The action whose key asked `question`: pressed again, it answers yes.
fn asked_by(question: Overlay) -> Option<Action> {
    match question {
        Overlay::ConfirmQuit => Some(Action::Quit),
        Overlay::ConfirmRestart => Some(Action::Restart),
        Overlay::Help | Overlay::OpenImage => None,
    }
}
