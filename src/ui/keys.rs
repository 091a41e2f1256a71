//! The keymap is data: every binding has an action and a description, and both the
//! hint bar and the help overlay are generated from it, so they never drift from
//! what the keys really do. Bindings can be changed in the config file's `[keys]`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask the dashboard to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Pause or resume training.
    TogglePause,
    /// While paused: train one batch.
    StepBatch,
    /// While paused: train to the end of the epoch.
    StepEpoch,
    /// Swap average and max pooling.
    TogglePooling,
    /// Swap sigmoid and ReLU.
    ToggleActivation,
    /// The previous test image.
    PrevImage,
    /// The next test image.
    NextImage,
    /// The next image of the previous class.
    PrevClass,
    /// The next image of the next class.
    NextClass,
    /// Compare mode: off → moving left image → moving right image → off.
    Compare,
    /// Draw mode on a blank canvas in place of the left image.
    Draw,
    /// Draw mode on a canvas starting from the left image.
    DrawOver,
    /// Type the name of an image file to add to the image list.
    OpenImage,
    /// Show or hide the class-probability bars of the shown images.
    ToggleProbabilities,
    /// Show or hide the test set's confusion matrix.
    ToggleConfusion,
    /// Show or hide the first convolution's kernels.
    ToggleKernels,
    /// Show or hide the gradient flow and activation statistics per layer.
    ToggleDiagnostics,
    /// Double the learning rate.
    LrUp,
    /// Halve the learning rate.
    LrDown,
    /// Halve the pace (from full speed: half the measured speed).
    PaceDown,
    /// Double the pace, up to full speed.
    PaceUp,
    /// Look back: the snapshot before the one shown (in a replay: move the play head).
    HistoryBack,
    /// The snapshot after the one shown (in a replay: move the play head).
    HistoryForward,
    /// The first snapshot: the fresh weights.
    HistoryStart,
    /// Back to live (in a replay: the end of the run).
    HistoryEnd,
    /// Restart with fresh weights (asks first).
    Restart,
    /// Write a checkpoint now.
    Save,
    /// After a divergence: back to the last good checkpoint with a lower learning rate.
    RestoreGood,
    /// Save a screenshot (SVG, PNG, text).
    Screenshot,
    /// Start or stop an asciicast recording.
    Record,
    /// Save the training figure (PNG, SVG).
    Figure,
    /// A race: focus the first variant.
    Focus1,
    /// A race: focus the second variant.
    Focus2,
    /// A race: focus the third variant.
    Focus3,
    /// A race: focus the fourth variant.
    Focus4,
    /// Show or hide the help overlay.
    Help,
    /// Quit (asks first while training runs).
    Quit,
    /// Quit at once.
    ForceQuit,
}

impl Action {
    /// Every action, in the order help lists them.
    pub const ALL: [Action; 38] = [
        Action::TogglePause,
        Action::StepBatch,
        Action::StepEpoch,
        Action::TogglePooling,
        Action::ToggleActivation,
        Action::PrevImage,
        Action::NextImage,
        Action::PrevClass,
        Action::NextClass,
        Action::Compare,
        Action::Draw,
        Action::DrawOver,
        Action::OpenImage,
        Action::ToggleProbabilities,
        Action::ToggleConfusion,
        Action::ToggleKernels,
        Action::ToggleDiagnostics,
        Action::LrUp,
        Action::LrDown,
        Action::PaceDown,
        Action::PaceUp,
        Action::HistoryBack,
        Action::HistoryForward,
        Action::HistoryStart,
        Action::HistoryEnd,
        Action::Restart,
        Action::Save,
        Action::RestoreGood,
        Action::Screenshot,
        Action::Record,
        Action::Figure,
        Action::Focus1,
        Action::Focus2,
        Action::Focus3,
        Action::Focus4,
        Action::Help,
        Action::Quit,
        Action::ForceQuit,
    ];

    /// The config file's name for the action (`[keys]` table key).
    pub fn config_name(self) -> &'static str {
        match self {
            Action::TogglePause => "pause",
            Action::StepBatch => "step_batch",
            Action::StepEpoch => "step_epoch",
            Action::TogglePooling => "pooling",
            Action::ToggleActivation => "activation",
            Action::PrevImage => "prev_image",
            Action::NextImage => "next_image",
            Action::PrevClass => "prev_class",
            Action::NextClass => "next_class",
            Action::Compare => "compare",
            Action::Draw => "draw",
            Action::DrawOver => "draw_over",
            Action::OpenImage => "open_image",
            Action::ToggleProbabilities => "probabilities",
            Action::ToggleConfusion => "confusion",
            Action::ToggleKernels => "kernels",
            Action::ToggleDiagnostics => "diagnostics",
            Action::LrUp => "lr_up",
            Action::LrDown => "lr_down",
            Action::PaceDown => "pace_down",
            Action::PaceUp => "pace_up",
            Action::HistoryBack => "history_back",
            Action::HistoryForward => "history_forward",
            Action::HistoryStart => "history_start",
            Action::HistoryEnd => "history_end",
            Action::Restart => "restart",
            Action::Save => "save",
            Action::RestoreGood => "restore",
            Action::Screenshot => "screenshot",
            Action::Record => "record",
            Action::Figure => "figure",
            Action::Focus1 => "focus_1",
            Action::Focus2 => "focus_2",
            Action::Focus3 => "focus_3",
            Action::Focus4 => "focus_4",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::ForceQuit => "force_quit",
        }
    }

    /// What the action does, for the help overlay.
    pub fn description(self) -> &'static str {
        match self {
            Action::TogglePause => "pause / resume training",
            Action::StepBatch => "while paused: train one batch",
            Action::StepEpoch => "while paused: train to the end of the epoch",
            Action::TogglePooling => "swap pooling: avg ↔ max",
            Action::ToggleActivation => "swap activation: sigmoid ↔ relu",
            Action::PrevImage => "previous image (yours first, then the test set's)",
            Action::NextImage => "next image",
            Action::PrevClass => "next image of the previous class",
            Action::NextClass => "next image of the next class",
            Action::Compare => "compare two images: off → move left → move right",
            Action::Draw => "draw your own image (mouse, or arrows + Space); Enter keeps it",
            Action::DrawOver => "draw over the shown image",
            Action::OpenImage => "open an image file (PNG, JPEG, PGM, PPM) into the image list",
            Action::ToggleProbabilities => "show / hide the class probabilities of the images",
            Action::ToggleConfusion => "show / hide the test set's confusion matrix",
            Action::ToggleKernels => "show / hide the first layer's kernels",
            Action::ToggleDiagnostics => {
                "show / hide gradient flow and activation statistics per layer"
            }
            Action::LrUp => "learning rate × 2",
            Action::LrDown => "learning rate ÷ 2",
            Action::PaceDown => "pace ÷ 2: slower, for a class to watch",
            Action::PaceUp => "pace × 2, up to full speed",
            Action::HistoryBack => "look back: the model one snapshot earlier",
            Action::HistoryForward => "one snapshot later (past the newest: live)",
            Action::HistoryStart => "the first snapshot: the fresh weights",
            Action::HistoryEnd => "back to live (a replay: the end of the run)",
            Action::Restart => "restart with fresh weights (asks first)",
            Action::Save => "save a checkpoint now (also at every epoch end and on quit)",
            Action::RestoreGood => "after a divergence: last good checkpoint, learning rate ÷ 10",
            Action::Screenshot => "screenshot: SVG, PNG and text of this frame",
            Action::Record => "start / stop an asciicast recording",
            Action::Figure => "save the training figure (PNG and SVG)",
            Action::Focus1 => "a race: focus variant 1 (its shapes, activations, panels, keys)",
            Action::Focus2 => "a race: focus variant 2",
            Action::Focus3 => "a race: focus variant 3",
            Action::Focus4 => "a race: focus variant 4",
            Action::Help => "show / hide this help",
            Action::Quit => "quit (asks first while training)",
            Action::ForceQuit => "quit at once",
        }
    }

    /// A word or two for the hint bar; `None` keeps the action out of it.
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            Action::TogglePause => "pause",
            // Shown in the status line on pausing.
            Action::StepBatch | Action::StepEpoch => return None,
            Action::TogglePooling => "pool",
            Action::ToggleActivation => "act",
            Action::PrevImage | Action::NextImage => "image",
            Action::PrevClass | Action::NextClass => "class",
            Action::Compare => "compare",
            Action::Draw => "draw",
            // Told in the help, beside `i`.
            Action::DrawOver | Action::OpenImage => return None,
            Action::ToggleProbabilities
            | Action::ToggleConfusion
            | Action::ToggleKernels
            | Action::ToggleDiagnostics => "panels",
            Action::LrUp | Action::LrDown => "lr",
            // The header shows the pace; the hint bar keeps room for the capture keys.
            Action::PaceDown | Action::PaceUp => return None,
            Action::HistoryBack | Action::HistoryForward => "history",
            // Told in the status line on moving into history.
            Action::HistoryStart | Action::HistoryEnd => return None,
            Action::Restart => "restart",
            // Checkpoints are saved at every epoch end anyway; the hint bar keeps
            // room for draw mode and quitting.
            Action::Save => return None,
            // Shown in the status line when it applies, after a divergence.
            Action::RestoreGood => return None,
            Action::Screenshot => "shot",
            Action::Record => "rec",
            Action::Figure => "fig",
            // The race line in the header numbers the variants.
            Action::Focus1 | Action::Focus2 | Action::Focus3 | Action::Focus4 => return None,
            Action::Help => "help",
            Action::Quit => "quit",
            Action::ForceQuit => return None,
        })
    }

    /// For the compact help of a short terminal: the actions listed with this one on
    /// one line (this one first), and what they do.
    fn grouped(self) -> Option<(&'static [Action], &'static str)> {
        use Action as A;
        Some(match self {
            A::PrevImage => (
                &[A::PrevImage, A::NextImage],
                "previous / next image (yours first, then the test set's)",
            ),
            A::PrevClass => (
                &[A::PrevClass, A::NextClass],
                "next image of the previous / next class",
            ),
            A::LrUp => (&[A::LrUp, A::LrDown], "learning rate × 2 / ÷ 2"),
            A::Focus1 => (
                &[A::Focus1, A::Focus2, A::Focus3, A::Focus4],
                "a race: focus variant 1 / 2 / 3 / 4",
            ),
            A::Draw => (
                &[A::Draw, A::DrawOver],
                "draw your own image: blank / over the shown one",
            ),
            A::PaceDown => (&[A::PaceDown, A::PaceUp], "pace ÷ 2 / × 2: slower / faster"),
            A::HistoryBack => (
                &[
                    A::HistoryBack,
                    A::HistoryForward,
                    A::HistoryStart,
                    A::HistoryEnd,
                ],
                "history: back / forward / first / live",
            ),
            A::StepBatch => (
                &[A::StepBatch, A::StepEpoch],
                "while paused: one batch / to the end of the epoch",
            ),
            A::ToggleProbabilities => (
                &[
                    A::ToggleProbabilities,
                    A::ToggleConfusion,
                    A::ToggleKernels,
                    A::ToggleDiagnostics,
                ],
                "show / hide probabilities / confusion / kernels / gradients",
            ),
            _ => return None,
        })
    }

    /// The action focusing a race's `n`-th variant (1-based; past four, the fourth's).
    pub fn focus(n: usize) -> Action {
        match n {
            0 | 1 => Action::Focus1,
            2 => Action::Focus2,
            3 => Action::Focus3,
            _ => Action::Focus4,
        }
    }

    /// The variant (0-based) a focus action moves the focus to.
    pub fn focused_lane(self) -> Option<usize> {
        match self {
            Action::Focus1 => Some(0),
            Action::Focus2 => Some(1),
            Action::Focus3 => Some(2),
            Action::Focus4 => Some(3),
            _ => None,
        }
    }

    /// Whether the action only does something in a race (the help leaves it out
    /// otherwise).
    pub fn for_races(self) -> bool {
        self.focused_lane().is_some()
    }

    fn from_config_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.config_name() == name)
    }
}

/// One key with its modifiers, as written in the config file (`space`, `ctrl-c`, `p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key itself.
    pub code: KeyCode,
    /// With Ctrl held.
    pub ctrl: bool,
    /// With Alt held.
    pub alt: bool,
}

impl Key {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// The key with Ctrl held.
    pub const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// The key a terminal event stands for. Shift is folded into the character
    /// (`?`, `+`), which is what the user sees on the key cap.
    pub fn from_event(event: &KeyEvent) -> Self {
        let code = match event.code {
            KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            code => code,
        };
        Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }
}

impl FromStr for Key {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut rest = s;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                (ctrl, rest) = (true, r);
            } else if let Some(r) = rest.strip_prefix("alt-") {
                (alt, rest) = (true, r);
            } else {
                break;
            }
        }
        // Names are case-blind (`F1`, `f1`); a single character is itself (`n`, `N`).
        let name = rest.to_ascii_lowercase();
        let function = name
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n));
        let code = match name.as_str() {
            _ if rest.chars().count() == 1 => KeyCode::Char(rest.chars().next().unwrap_or(' ')),
            _ if function.is_some() => KeyCode::F(function.unwrap_or(1)),
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            _ => {
                return Err(format!(
                    "`{s}` is not a key (a single character, space, tab, enter, esc, \
                     backspace, delete, insert, left, right, up, down, home, end, pageup, \
                     pagedown, f1 to f12, with optional ctrl-/alt-)"
                ));
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Insert => f.write_str("Ins"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys → actions, with each action's keys in binding order for display.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    bindings: Vec<(Key, Action)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        use KeyCode::*;
        let bindings = vec![
            (Key::plain(Char(' ')), Action::TogglePause),
            (Key::plain(Char('n')), Action::StepBatch),
            (Key::plain(Char('N')), Action::StepEpoch),
            (Key::plain(Char('p')), Action::TogglePooling),
            (Key::plain(Char('a')), Action::ToggleActivation),
            (Key::plain(Left), Action::PrevImage),
            (Key::plain(Right), Action::NextImage),
            (Key::plain(Up), Action::PrevClass),
            (Key::plain(Down), Action::NextClass),
            (Key::plain(Tab), Action::Compare),
            (Key::plain(Char('i')), Action::Draw),
            (Key::plain(Char('I')), Action::DrawOver),
            (Key::plain(Char('o')), Action::OpenImage),
            // b for bars: p is pooling.
            (Key::plain(Char('b')), Action::ToggleProbabilities),
            (Key::plain(Char('c')), Action::ToggleConfusion),
            (Key::plain(Char('k')), Action::ToggleKernels),
            (Key::plain(Char('d')), Action::ToggleDiagnostics),
            (Key::plain(Char('+')), Action::LrUp),
            // `=` shares the key cap with `+` on most layouts.
            (Key::plain(Char('=')), Action::LrUp),
            (Key::plain(Char('-')), Action::LrDown),
            (Key::plain(Char('[')), Action::PaceDown),
            (Key::plain(Char(']')), Action::PaceUp),
            (Key::plain(Char(',')), Action::HistoryBack),
            (Key::plain(Char('.')), Action::HistoryForward),
            (Key::plain(Home), Action::HistoryStart),
            (Key::plain(End), Action::HistoryEnd),
            (Key::plain(Char('r')), Action::Restart),
            (Key::plain(Char('w')), Action::Save),
            (Key::plain(Char('u')), Action::RestoreGood),
            (Key::plain(Char('s')), Action::Screenshot),
            (Key::plain(Char('R')), Action::Record),
            (Key::plain(Char('g')), Action::Figure),
            (Key::plain(Char('1')), Action::Focus1),
            (Key::plain(Char('2')), Action::Focus2),
            (Key::plain(Char('3')), Action::Focus3),
            (Key::plain(Char('4')), Action::Focus4),
            (Key::plain(Char('?')), Action::Help),
            (Key::plain(Char('q')), Action::Quit),
            (Key::ctrl('c'), Action::ForceQuit),
        ];
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The action bound to `key`.
    pub fn action(&self, key: &Key) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(k, _)| k == key)
            .map(|&(_, a)| a)
    }

    /// The keys bound to `action`.
    pub fn keys(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|&&(_, a)| a == action)
            .map(|&(k, _)| k)
            .collect()
    }

    /// The default map with the config file's `[keys]` replacing whole actions:
    /// `pause = "space"` or `lr_up = ["+", "="]`. Errors name the action and key.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<KeyMap, String> {
        let mut replaced = Vec::new();
        for (name, keys) in overrides {
            let action = Action::from_config_name(name).ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.config_name()).collect();
                format!("`{name}` is not an action (one of: {})", names.join(", "))
            })?;
            let parsed = keys
                .iter()
                .map(|k| k.parse::<Key>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("keys.{name}: {e}"))?;
            replaced.push((name, action, parsed));
        }
        // Drop every replaced action's defaults first, so two actions can swap keys.
        let mut map = KeyMap::default();
        map.bindings
            .retain(|&(_, a)| !replaced.iter().any(|&(_, r, _)| r == a));
        for (name, action, keys) in replaced {
            for key in keys {
                if let Some(other) = map.action(&key) {
                    return Err(format!(
                        "keys.{name}: {key} is already bound to `{}`",
                        other.config_name()
                    ));
                }
                map.bindings.push((key, action));
            }
        }
        if map.keys(Action::ForceQuit).is_empty() && map.keys(Action::Quit).is_empty() {
            return Err("keys: at least one of `quit` and `force_quit` needs a key".into());
        }
        Ok(map)
    }

    /// The name of `action`'s first key, for texts that tell the user what to press
    /// (so a rebound key never leaves a stale hint); `[keys] NAME` if it has none.
    pub fn name(&self, action: Action) -> String {
        self.keys(action).first().map_or_else(
            || format!("[keys] {}", action.config_name()),
            Key::to_string,
        )
    }

    /// Two actions' keys as a pair, `←/→`.
    pub fn pair(&self, first: Action, second: Action) -> String {
        format!("{}/{}", self.name(first), self.name(second))
    }

    /// Hint bar entries: keys joined by `/` and the hint word, in help order; actions
    /// that share a hint word share an entry (`←/→ image`).
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        self.hints_for(|_| true)
    }

    /// Hint bar entries for the actions `offered` keeps (a replay leaves out those
    /// that would change the run).
    pub fn hints_for(&self, offered: impl Fn(Action) -> bool) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for action in Action::ALL.into_iter().filter(|&a| offered(a)) {
            let Some(hint) = action.hint() else { continue };
            let keys: Vec<String> = self
                .keys(action)
                .iter()
                .take(1)
                .map(Key::to_string)
                .collect();
            if keys.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(_, h)| *h == hint) {
                Some((k, _)) => {
                    k.push('/');
                    k.push_str(&keys.join("/"));
                }
                None => out.push((keys.join("/"), hint)),
            }
        }
        out
    }

    /// Help lines as [`KeyMap::help`], with each group of related actions (previous and
    /// next image, × 2 and ÷ 2, the panels) on one line: for a terminal too short for
    /// them all.
    pub fn help_paired(&self, racing: bool) -> Vec<(String, &'static str)> {
        let names =
            |a: Action| -> Vec<String> { self.keys(a).iter().map(Key::to_string).collect() };
        // A group shares a line only when all of its actions have keys.
        let complete = |a: Action| {
            a.grouped()
                .filter(|(group, _)| group.iter().all(|&g| !names(g).is_empty()))
        };
        let later: Vec<Action> = Action::ALL
            .into_iter()
            .filter_map(complete)
            .flat_map(|(group, _)| group[1..].iter().copied())
            .collect();
        Action::ALL
            .into_iter()
            .filter(|a| racing || !a.for_races())
            .filter(|a| !later.contains(a))
            .filter_map(|a| match complete(a) {
                Some((group, what)) => {
                    let keys: Vec<String> = group.iter().map(|&g| names(g).join(" ")).collect();
                    // Three or four keys close up, so the key column stays narrow.
                    let sep = if group.len() > 2 { "/" } else { " / " };
                    Some((keys.join(sep), what))
                }
                _ => {
                    let keys = names(a);
                    (!keys.is_empty()).then(|| (keys.join(" "), a.description()))
                }
            })
            .collect()
    }

    /// Help lines: every action with all its keys and what it does.
    pub fn help(&self, racing: bool) -> Vec<(String, &'static str)> {
        Action::ALL
            .into_iter()
            .filter(|a| racing || !a.for_races())
            .filter_map(|a| {
                let keys = self.keys(a);
                (!keys.is_empty()).then(|| {
                    let names: Vec<String> = keys.iter().map(Key::to_string).collect();
                    (names.join(" "), a.description())
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_map_to_actions() {
        let map = KeyMap::default();
        assert_eq!(
            map.action(&"space".parse().unwrap()),
            Some(Action::TogglePause)
        );
        assert_eq!(
            map.action(&"ctrl-c".parse().unwrap()),
            Some(Action::ForceQuit)
        );
        let ev = KeyEvent::new(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(map.action(&Key::from_event(&ev)), Some(Action::ForceQuit));
        let ev = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(map.action(&Key::from_event(&ev)), Some(Action::Help));
    }

    #[test]
    fn function_and_editing_keys_have_names() {
        for (name, code, shown) in [
            ("f1", KeyCode::F(1), "F1"),
            ("F12", KeyCode::F(12), "F12"),
            ("backspace", KeyCode::Backspace, "Backspace"),
            ("Delete", KeyCode::Delete, "Del"),
            ("del", KeyCode::Delete, "Del"),
            ("insert", KeyCode::Insert, "Ins"),
            ("PageUp", KeyCode::PageUp, "PgUp"),
        ] {
            let key: Key = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(key, Key::plain(code), "{name}");
            assert_eq!(key.to_string(), shown);
        }
        let ctrl: Key = "ctrl-f5".parse().unwrap();
        assert_eq!(ctrl.to_string(), "Ctrl-F5");
        // One character stays itself, case and all; f13 is no key.
        assert_eq!("F".parse::<Key>().unwrap(), Key::plain(KeyCode::Char('F')));
        for bad in ["f13", "f0", "fx", "shift-tab"] {
            let err = bad.parse::<Key>().unwrap_err();
            assert!(err.contains(&format!("`{bad}` is not a key")), "{err}");
            assert!(err.contains("f1 to f12"), "{err}");
        }
    }

    #[test]
    fn hints_and_help_come_from_the_bindings() {
        let map = KeyMap::default();
        let hints: Vec<String> = map
            .hints()
            .iter()
            .map(|(k, h)| format!("{k} {h}"))
            .collect();
        assert_eq!(
            hints,
            [
                "Space pause",
                "p pool",
                "a act",
                "←/→ image",
                "↑/↓ class",
                "Tab compare",
                "i draw",
                "b/c/k/d panels",
                "+/- lr",
                ",/. history",
                "r restart",
                "s shot",
                "R rec",
                "g fig",
                "? help",
                "q quit"
            ]
        );
        let help = map.help(true);
        assert_eq!(help.len(), Action::ALL.len());
        assert!(help.contains(&("+ =".to_string(), "learning rate × 2")));

        let mut over = BTreeMap::new();
        over.insert("pause".to_string(), vec!["x".to_string()]);
        let map = KeyMap::with_overrides(&over).unwrap();
        assert_eq!(map.hints()[0], ("x".to_string(), "pause"));
        assert_eq!(map.action(&"space".parse().unwrap()), None);

        let mut swap = BTreeMap::new();
        swap.insert("pause".to_string(), vec!["p".to_string()]);
        swap.insert("pooling".to_string(), vec!["space".to_string()]);
        let map = KeyMap::with_overrides(&swap).unwrap();
        assert_eq!(map.action(&"p".parse().unwrap()), Some(Action::TogglePause));
    }

    #[test]
    fn bad_overrides_name_the_problem() {
        let mut over = BTreeMap::new();
        over.insert("jump".to_string(), vec!["j".to_string()]);
        assert!(
            KeyMap::with_overrides(&over)
                .unwrap_err()
                .contains("`jump` is not an action")
        );
        let mut over = BTreeMap::new();
        over.insert("pause".to_string(), vec!["p".to_string()]);
        assert_eq!(
            KeyMap::with_overrides(&over).unwrap_err(),
            "keys.pause: p is already bound to `pooling`"
        );
        let mut over = BTreeMap::new();
        over.insert("help".to_string(), vec!["f1x".to_string()]);
        assert!(
            KeyMap::with_overrides(&over)
                .unwrap_err()
                .starts_with("keys.help: `f1x` is not a key")
        );
    }

    #[test]
    fn texts_name_the_keys_as_bound() {
        let map = KeyMap::default();
        assert_eq!(map.name(Action::Compare), "Tab");
        assert_eq!(map.pair(Action::PrevImage, Action::NextImage), "←/→");
        let table = BTreeMap::from([("compare".to_string(), vec!["v".to_string()])]);
        let rebound = KeyMap::with_overrides(&table).unwrap();
        assert_eq!(rebound.name(Action::Compare), "v");
    }

    #[test]
    fn a_short_help_pairs_opposite_keys_on_one_line() {
        let map = KeyMap::default();
        let (full, paired) = (map.help(true), map.help_paired(true));
        assert_eq!(full.len(), Action::ALL.len());
        assert_eq!(
            map.help(false).len(),
            Action::ALL.len() - 4,
            "no race, no focus keys"
        );
        assert_eq!(paired.len(), full.len() - 15);
        assert!(paired.contains(&("1/2/3/4".to_string(), "a race: focus variant 1 / 2 / 3 / 4")));
        assert!(paired.contains(&(
            ",/./Home/End".to_string(),
            "history: back / forward / first / live"
        )));
        assert!(paired.contains(&(
            "← / →".to_string(),
            "previous / next image (yours first, then the test set's)"
        )));
        assert!(paired.contains(&("+ = / -".to_string(), "learning rate × 2 / ÷ 2")));
        assert!(paired.contains(&("[ / ]".to_string(), "pace ÷ 2 / × 2: slower / faster")));
        assert!(paired.iter().any(|(k, _)| k == "Ctrl-C"), "{paired:?}");
    }
}
