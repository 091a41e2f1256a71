//! The one table of actions: for each, its default keys, its name (the config
//! file's `[keys]` name), what it does (the help), its word in the hint bar, the line
//! it shares in a short help, where its keys are looked up (the dashboard, draw mode,
//! the open-image prompt) and what it does over an open overlay. The keymap, the
//! hint bar, the help, the config's `[keys]` and the draw and prompt keys all read
//! it; nothing about an action is written anywhere else.

use crossterm::event::KeyCode;

use super::Key;

/// Everything a key can ask the dashboard to do; [`TABLE`] says what each does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    // The dashboard's, in the order the help lists them.
    TogglePause,
    StepBatch,
    StepEpoch,
    TogglePooling,
    ToggleActivation,
    PrevImage,
    NextImage,
    PrevClass,
    NextClass,
    Compare,
    Draw,
    DrawOver,
    OpenImage,
    ToggleProbabilities,
    ToggleConfusion,
    ToggleKernels,
    ToggleDiagnostics,
    Explain,
    Smoothing,
    LogScale,
    Zoom,
    LrUp,
    LrDown,
    PaceDown,
    PaceUp,
    HistoryBack,
    HistoryForward,
    HistoryStart,
    HistoryEnd,
    Restart,
    Save,
    RestoreGood,
    Screenshot,
    Record,
    Figure,
    Focus1,
    Focus2,
    Focus3,
    Focus4,
    Help,
    Quit,
    ForceQuit,
    // Draw mode's.
    CursorLeft,
    CursorRight,
    CursorUp,
    CursorDown,
    Ink,
    Erase,
    ClearCanvas,
    KeepDrawing,
    LeaveDrawing,
    // A cursor's, on the activations or the confusion matrix.
    InspectLeft,
    InspectRight,
    InspectUp,
    InspectDown,
    InspectNextMap,
    InspectPrevMap,
    InspectNextLayer,
    InspectPrevLayer,
    InspectOpen,
    InspectLeave,
    // The open-image prompt's (other keys type).
    PromptOpen,
    PromptErase,
    PromptCancel,
}

/// How many actions there are: the last one's place, plus one.
const COUNT: usize = Action::PromptCancel as usize + 1;

/// Where an action's keys are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The dashboard, and draw mode for the keys draw mode leaves alone; the only
    /// keys `[keys]` can change, and the only ones the help and hint bar list.
    Dashboard,
    /// Draw mode, before the dashboard's keys.
    Draw,
    /// A cursor on the activations or the confusion matrix, before the dashboard's
    /// keys.
    Inspect,
    /// The open-image prompt, before everything; other keys without Ctrl or Alt type.
    Prompt,
}

/// What a dashboard action does while an overlay (help, a question, the prompt) is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Closes the overlay; over the help, then does what it does.
    Closes,
    /// As `Closes`; pressed again over the question it asked, answers yes.
    Answers,
    /// As `Closes`, but over the help it only closes it.
    Toggles,
    /// Does what it does over anything.
    Ignores,
}

/// An action's entry in the hint bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// None: the hint bar keeps its room for others.
    Not,
    /// Its key and this word.
    Word(&'static str),
    /// Its key joins the entry before it (`←/→ image`).
    Joins,
}

/// An action's line in the short help (a terminal too short for every line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Its own line, as in the full help.
    Alone,
    /// The first of a group on one line, which this text describes.
    Leads(&'static str),
    /// On the line of the group before it.
    Joins,
}

/// One action's entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The action.
    pub action: Action,
    /// Its name: the `[keys]` name of a dashboard action.
    pub name: &'static str,
    /// Its keys unless the config rebinds them, first the one texts name.
    pub keys: &'static [Key],
    /// What it does, for the help.
    pub help: &'static str,
    /// Its hint bar entry.
    pub hint: Hint,
    /// Its short help line.
    pub group: Group,
    /// Where its keys are looked up.
    pub mode: Mode,
    /// What it does over an overlay.
    pub over: Over,
    /// What it would change that a replay cannot (it shows the run as recorded).
    pub changes_run: Option<&'static str>,
    /// The race variant (0-based) it focuses.
    pub lane: Option<usize>,
}

/// An action whose keys are looked up in `mode`, by default with no hint, a line
/// of its own, closing any overlay, and no change to the run.
const fn on(mode: Mode, action: Action, name: &'static str, keys: &'static [Key]) -> Spec {
    Spec {
        action,
        name,
        keys,
        help: "",
        hint: Hint::Not,
        group: Group::Alone,
        mode,
        over: Over::Closes,
        changes_run: None,
        lane: None,
    }
}

const fn dash(action: Action, name: &'static str, keys: &'static [Key]) -> Spec {
    on(Mode::Dashboard, action, name, keys)
}

const fn draw(action: Action, name: &'static str, keys: &'static [Key]) -> Spec {
    on(Mode::Draw, action, name, keys)
}

const fn inspect(action: Action, name: &'static str, keys: &'static [Key]) -> Spec {
    on(Mode::Inspect, action, name, keys)
}

const fn prompt(action: Action, name: &'static str, keys: &'static [Key]) -> Spec {
    on(Mode::Prompt, action, name, keys)
}

impl Spec {
    const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }

    const fn hint(mut self, word: &'static str) -> Self {
        self.hint = Hint::Word(word);
        self
    }

    const fn hint_joins(mut self) -> Self {
        self.hint = Hint::Joins;
        self
    }

    const fn leads(mut self, line: &'static str) -> Self {
        self.group = Group::Leads(line);
        self
    }

    const fn joins(mut self) -> Self {
        self.group = Group::Joins;
        self
    }

    const fn over(mut self, over: Over) -> Self {
        self.over = over;
        self
    }

    const fn changes(mut self, what: &'static str) -> Self {
        self.changes_run = Some(what);
        self
    }

    const fn lane(mut self, lane: usize) -> Self {
        self.lane = Some(lane);
        self
    }
}

const fn c(c: char) -> Key {
    Key::plain(KeyCode::Char(c))
}

const fn k(code: KeyCode) -> Key {
    Key::plain(code)
}

use Action as A;
use KeyCode::{
    BackTab, Backspace, Delete, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};

/// Every action, in [`Action`]'s order (which is the help's).
pub const TABLE: [Spec; COUNT] = [
    dash(A::TogglePause, "pause", &[c(' ')])
        .help("pause / resume training")
        .hint("pause"),
    // Step keys: shown in the status line on pausing.
    dash(A::StepBatch, "step_batch", &[c('n')])
        .help("while paused: train one batch")
        .leads("while paused: one batch / to the end of the epoch"),
    dash(A::StepEpoch, "step_epoch", &[c('N')])
        .help("while paused: train to the end of the epoch")
        .joins(),
    dash(A::TogglePooling, "pooling", &[c('p')])
        .help("swap pooling: avg ↔ max")
        .hint("pool")
        .changes("the pooling"),
    dash(A::ToggleActivation, "activation", &[c('a')])
        .help("swap activation: sigmoid ↔ relu")
        .hint("act")
        .changes("the activation"),
    dash(A::PrevImage, "prev_image", &[k(Left)])
        .help("previous image (yours first, then the test set's)")
        .hint("image")
        .leads("previous / next image (yours first, then the test set's)"),
    dash(A::NextImage, "next_image", &[k(Right)])
        .help("next image")
        .hint_joins()
        .joins(),
    dash(A::PrevClass, "prev_class", &[k(Up)])
        .help("next image of the previous class")
        .hint("class")
        .leads("next image of the previous / next class"),
    dash(A::NextClass, "next_class", &[k(Down)])
        .help("next image of the next class")
        .hint_joins()
        .joins(),
    dash(A::Compare, "compare", &[k(Tab)])
        .help("compare two images: off → move left → move right")
        .hint("compare"),
    dash(A::Draw, "draw", &[c('i')])
        .help("draw your own image (mouse, or arrows + Space); Enter keeps it")
        .hint("draw")
        .leads("draw your own image: blank / over the shown one"),
    // This and the next: told in the help, beside `i`.
    dash(A::DrawOver, "draw_over", &[c('I')])
        .help("draw over the shown image")
        .joins(),
    dash(A::OpenImage, "open_image", &[c('o')])
        .help("open an image file (PNG, JPEG, PGM, PPM) into the image list"),
    // b for bars: p is pooling.
    dash(A::ToggleProbabilities, "probabilities", &[c('b')])
        .help("show / hide the class probabilities of the images")
        .hint("panels")
        .leads("show / hide probabilities / confusion / kernels / gradients"),
    dash(A::ToggleConfusion, "confusion", &[c('c')])
        .help("show / hide the test set's confusion matrix")
        .hint_joins()
        .joins(),
    dash(A::ToggleKernels, "kernels", &[c('k')])
        .help("show / hide the first layer's kernels")
        .hint_joins()
        .joins(),
    dash(A::ToggleDiagnostics, "diagnostics", &[c('d')])
        .help("show / hide gradient flow and activation statistics per layer")
        .hint_joins()
        .joins(),
    dash(A::Explain, "explain", &[c('x')])
        .help("explain a value: the arithmetic under a cursor on the maps"),
    // The charts' view: told in their titles.
    dash(A::Smoothing, "smoothing", &[c('m')])
        .help("smooth the loss and train accuracy: 0 → 0.6 → 0.9 (TensorBoard's)")
        .leads("charts: smoothing 0 → 0.6 → 0.9 / log-scale loss / zoom in"),
    dash(A::LogScale, "log_scale", &[c('y')])
        .help("the loss on a log scale, or back to linear")
        .joins(),
    dash(A::Zoom, "zoom", &[c('z')])
        .help("the charts: the whole run ↔ its newest 2 epochs (or tenth)")
        .joins(),
    // `=` shares the key cap with `+` on most layouts.
    dash(A::LrUp, "lr_up", &[c('+'), c('=')])
        .help("learning rate × 2")
        .hint("lr")
        .leads("learning rate × 2 / ÷ 2")
        .changes("the learning rate"),
    dash(A::LrDown, "lr_down", &[c('-')])
        .help("learning rate ÷ 2")
        .hint_joins()
        .joins()
        .changes("the learning rate"),
    // Pace keys: the header shows the pace; the hint bar keeps room for the capture keys.
    dash(A::PaceDown, "pace_down", &[c('[')])
        .help("pace ÷ 2: slower, for a class to watch")
        .leads("pace ÷ 2 / × 2: slower / faster"),
    dash(A::PaceUp, "pace_up", &[c(']')])
        .help("pace × 2, up to full speed")
        .joins(),
    dash(A::HistoryBack, "history_back", &[c(',')])
        .help("look back: the model one snapshot earlier")
        .hint("history")
        .leads("history: back / forward / first / live"),
    dash(A::HistoryForward, "history_forward", &[c('.')])
        .help("one snapshot later (past the newest: live)")
        .hint_joins()
        .joins(),
    // This and the next: told in the status line on moving into history.
    dash(A::HistoryStart, "history_start", &[k(Home)])
        .help("the first snapshot: the fresh weights")
        .joins(),
    dash(A::HistoryEnd, "history_end", &[k(End)])
        .help("back to live (a replay: the end of the run)")
        .joins(),
    dash(A::Restart, "restart", &[c('r')])
        .help("restart with fresh weights (asks first)")
        .hint("restart")
        .over(Over::Answers)
        .changes("the weights"),
    // Checkpoints are saved at every epoch end anyway; the hint bar keeps room for
    // draw mode and quitting.
    dash(A::Save, "save", &[c('w')])
        .help("save a checkpoint now (also at every epoch end and on quit)")
        .changes("the checkpoints"),
    // Shown in the status line when it applies, after a divergence.
    dash(A::RestoreGood, "restore", &[c('u')])
        .help("after a divergence: last good checkpoint, learning rate ÷ 10")
        .changes("the checkpoints"),
    dash(A::Screenshot, "screenshot", &[c('s')])
        .help("screenshot: SVG, PNG and text of this frame")
        .hint("shot")
        .leads("screenshot / start, stop a recording / the training figure"),
    dash(A::Record, "record", &[c('R')])
        .help("start / stop an asciicast recording")
        .hint("rec")
        .joins(),
    dash(A::Figure, "figure", &[c('g')])
        .help("save the training figure (PNG and SVG)")
        .hint("fig")
        .joins(),
    // Focus keys: the race line in the header numbers the variants.
    dash(A::Focus1, "focus_1", &[c('1')])
        .help("a race: focus variant 1 (its shapes, activations, panels, keys)")
        .leads("a race: focus variant 1 / 2 / 3 / 4")
        .lane(0),
    dash(A::Focus2, "focus_2", &[c('2')])
        .help("a race: focus variant 2")
        .joins()
        .lane(1),
    dash(A::Focus3, "focus_3", &[c('3')])
        .help("a race: focus variant 3")
        .joins()
        .lane(2),
    dash(A::Focus4, "focus_4", &[c('4')])
        .help("a race: focus variant 4")
        .joins()
        .lane(3),
    dash(A::Help, "help", &[c('?')])
        .help("show / hide this help")
        .hint("help")
        .over(Over::Toggles),
    dash(A::Quit, "quit", &[c('q')])
        .help("quit (asks first while training)")
        .hint("quit")
        .over(Over::Answers),
    dash(A::ForceQuit, "force_quit", &[Key::ctrl('c')])
        .help("quit at once")
        .over(Over::Ignores),
    // Draw mode: the status line lists the hints on entering it, after "mouse or arrows".
    draw(A::CursorLeft, "cursor_left", &[k(Left)]).help("move the cursor left"),
    draw(A::CursorRight, "cursor_right", &[k(Right)]).help("move the cursor right"),
    draw(A::CursorUp, "cursor_up", &[k(Up)]).help("move the cursor up"),
    draw(A::CursorDown, "cursor_down", &[k(Down)]).help("move the cursor down"),
    draw(A::Ink, "ink", &[c(' ')])
        .help("pen down: paint as the cursor moves (again without moving: up)")
        .hint("paint"),
    draw(A::Erase, "erase", &[c('x')])
        .help("eraser down: erase as the cursor moves (again without moving: up)")
        .hint("erase"),
    draw(A::ClearCanvas, "clear", &[k(Backspace), k(Delete)])
        .help("wipe the canvas")
        .hint("clear"),
    draw(A::KeepDrawing, "keep", &[k(Enter)])
        .help("keep the drawing: first in the images, and saved to a file")
        .hint("keep"),
    draw(A::LeaveDrawing, "leave", &[k(Esc)])
        .help("leave draw mode")
        .hint("leave"),
    inspect(A::InspectLeft, "inspect_left", &[k(Left)]).help("the cell (or image) to the left"),
    inspect(A::InspectRight, "inspect_right", &[k(Right)]).help("the cell (or image) to the right"),
    inspect(A::InspectUp, "inspect_up", &[k(Up)]).help("the cell (or row of images) above"),
    inspect(A::InspectDown, "inspect_down", &[k(Down)]).help("the cell (or row of images) below"),
    inspect(A::InspectNextMap, "next_map", &[k(Tab)]).help("the next map (the gallery: image)"),
    inspect(A::InspectPrevMap, "prev_map", &[k(BackTab)])
        .help("the previous map (the gallery: image)"),
    inspect(A::InspectNextLayer, "next_layer", &[k(PageDown)])
        .help("the next layer (the gallery: two rows on)"),
    inspect(A::InspectPrevLayer, "prev_layer", &[k(PageUp)])
        .help("the previous layer (the gallery: two rows back)"),
    inspect(A::InspectOpen, "open_cell", &[k(Enter)])
        .help("the images behind a confusion cell; in them, show the one chosen"),
    inspect(A::InspectLeave, "leave_cursor", &[k(Esc)]).help("put the cursor away"),
    prompt(A::PromptOpen, "open", &[k(Enter)])
        .help("open the file typed, first in the images")
        .hint("opens it first in the images"),
    prompt(A::PromptErase, "erase_char", &[k(Backspace)]).help("erase the last character"),
    prompt(A::PromptCancel, "cancel", &[k(Esc)])
        .help("close the prompt")
        .hint("cancels"),
];

// The table is in `Action`'s order, so an action's entry is at its place.
const _: () = {
    let mut i = 0;
    while i < COUNT {
        assert!(
            TABLE[i].action as usize == i,
            "TABLE is out of Action's order"
        );
        i += 1;
    }
};

impl Action {
    /// Every action, in the order help lists them.
    pub const ALL: [Action; COUNT] = {
        let mut all = [Action::Help; COUNT];
        let mut i = 0;
        while i < COUNT {
            all[i] = TABLE[i].action;
            i += 1;
        }
        all
    };

    /// The action's entry in [`TABLE`].
    pub fn spec(self) -> &'static Spec {
        &TABLE[self as usize]
    }

    /// The config file's name for the action (`[keys]` table key).
    pub fn config_name(self) -> &'static str {
        self.spec().name
    }

    /// What the action does, for the help overlay.
    pub fn description(self) -> &'static str {
        self.spec().help
    }

    /// Where the action's keys are looked up.
    pub fn mode(self) -> Mode {
        self.spec().mode
    }

    /// The word of the action's hint bar entry; `None` keeps the action out of it.
    pub fn hint(self) -> Option<&'static str> {
        match self.spec().hint {
            Hint::Not => None,
            Hint::Word(word) => Some(word),
            Hint::Joins => TABLE[..self as usize].last()?.action.hint(),
        }
    }

    /// The entries listed with this one on one line of the short help (the first
    /// leads), and what they do.
    pub fn group(self) -> Option<(&'static [Spec], &'static str)> {
        let at = self as usize;
        let start = TABLE[..=at].iter().rposition(|s| s.group != Group::Joins)?;
        let Group::Leads(what) = TABLE[start].group else {
            return None;
        };
        let len = TABLE[start + 1..]
            .iter()
            .take_while(|s| s.group == Group::Joins)
            .count();
        Some((&TABLE[start..=start + len], what))
    }

    /// The action focusing a race's `n`-th variant (1-based; past four, the fourth's).
    pub fn focus(n: usize) -> Action {
        // The last variant with a key up to the `n`-th.
        TABLE
            .iter()
            .rev()
            .filter_map(|s| Some((s.lane?, s.action)))
            .find(|&(lane, _)| lane < n.max(1))
            .map_or(Action::Focus1, |(_, a)| a)
    }

    /// The variant (0-based) a focus action moves the focus to.
    pub fn focused_lane(self) -> Option<usize> {
        self.spec().lane
    }

    /// Whether the action only does something in a race (the help leaves it out
    /// otherwise).
    pub fn for_races(self) -> bool {
        self.focused_lane().is_some()
    }

    /// The dashboard action the config file calls `name`.
    pub(super) fn from_config_name(name: &str) -> Option<Action> {
        Action::dashboard().find(|a| a.config_name() == name)
    }

    /// The dashboard's actions (those `[keys]`, the help and the hint bar know).
    pub fn dashboard() -> impl Iterator<Item = Action> {
        Action::ALL
            .into_iter()
            .filter(|a| a.mode() == Mode::Dashboard)
    }
}
