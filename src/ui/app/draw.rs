//! Draw mode: the left image becomes a canvas; the mouse (captured only in this mode,
//! so text selection works elsewhere) or the keyboard paints; the model is asked
//! about the drawing at most ten times a second; Enter keeps it, Esc leaves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyCode;

use super::canvas::{Canvas, DRAWING, Pen};
use super::{App, Effect, EffectDone, Overlay};
use crate::data::own::{OwnImage, next_id};
use crate::ui::keys::{Action, Key, Mode};

/// What the pointer did over the canvas, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pointer {
    /// The left button went down or dragged here: paint.
    Paint((f32, f32)),
    /// The right button went down or dragged here: erase.
    Erase((f32, f32)),
    /// A button came up, or the pointer left the canvas: the stroke ends.
    Lift,
}

impl App {
    /// `i` (blank) or `I` (over the left image): draw mode on.
    pub(super) fn start_drawing(&mut self, over: bool) -> Vec<Effect> {
        if self.screen.drawing.is_some() {
            return Vec::new();
        }
        let side = self.runs.dataset.test.rows;
        // The drawing's reports carry an id of their own.
        let id = next_id();
        let canvas = if over {
            let shown = self.screen.images.get(self.screen.probes[0]);
            Canvas::from_pixels(side, id, shown.pixels(&self.runs.dataset.test))
        } else {
            Canvas::blank(side, id)
        };
        self.screen.drawing = Some(canvas);
        let keys: Vec<String> = self
            .screen
            .keymap
            .hints_in(Mode::Draw, |_| true)
            .into_iter()
            .map(|(key, hint)| format!("{key} {hint}"))
            .collect();
        self.screen.status = Some(format!("✎ mouse or arrows + {}", keys.join(" · ")));
        vec![Effect::MouseCapture(true)]
    }

    /// A key in draw mode: `None` when draw mode does not use it (the keymap then
    /// has it, so `s` still takes a screenshot).
    pub fn on_draw_key(&mut self, key: &Key) -> Option<Vec<Effect>> {
        let action = self.screen.keymap.action_in(Mode::Draw, key)?;
        let canvas = self.screen.drawing.as_mut()?;
        match action {
            Action::CursorLeft => canvas.move_cursor(-1, 0),
            Action::CursorRight => canvas.move_cursor(1, 0),
            Action::CursorUp => canvas.move_cursor(0, -1),
            Action::CursorDown => canvas.move_cursor(0, 1),
            Action::Ink => canvas.press(Pen::Ink),
            Action::Erase => canvas.press(Pen::Eraser),
            Action::ClearCanvas => canvas.clear(),
            Action::KeepDrawing => return Some(self.keep_drawing()),
            Action::LeaveDrawing => return Some(self.stop_drawing("left draw mode")),
            _ => return None,
        }
        Some(Vec::new())
    }

    /// A key while the open-image prompt is up: its keys (Enter opens, Backspace,
    /// Esc cancels), else typing; `None` for keys with Ctrl or Alt (the keymap has
    /// them: Ctrl-C).
    pub fn on_prompt_key(&mut self, key: &Key) -> Option<Vec<Effect>> {
        if self.screen.overlay != Some(Overlay::OpenImage) || key.ctrl || key.alt {
            return None;
        }
        match self.screen.keymap.action_in(Mode::Prompt, key) {
            Some(Action::PromptErase) => {
                self.screen.image_prompt.pop();
            }
            Some(Action::PromptCancel) => self.screen.overlay = None,
            Some(Action::PromptOpen) => {
                self.screen.overlay = None;
                let spec = self.screen.image_prompt.trim().to_string();
                if !spec.is_empty() {
                    return Some(vec![Effect::OpenImage(spec)]);
                }
            }
            _ => {
                if let KeyCode::Char(c) = key.code {
                    self.screen.image_prompt.push(c);
                }
            }
        }
        Some(Vec::new())
    }

    /// The mouse over the canvas.
    pub fn on_pointer(&mut self, pointer: Pointer) -> Vec<Effect> {
        if let Some(canvas) = self.screen.drawing.as_mut() {
            match pointer {
                Pointer::Paint(at) => canvas.stroke_to(at, false),
                Pointer::Erase(at) => canvas.stroke_to(at, true),
                Pointer::Lift => canvas.lift(),
            }
        }
        Vec::new()
    }

    /// Asks the model about the drawing if it changed and the last ask is old enough;
    /// the loop calls it on every turn, and waits at most [`App::draw_wait`].
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        if std::mem::take(&mut self.screen.probes_changed) {
            return self.probe_effects();
        }
        match self.screen.drawing.as_mut() {
            Some(canvas) if canvas.due(now) => {
                canvas.pending = false;
                canvas.last_sent = Some(now);
                self.probe_effects()
            }
            _ => Vec::new(),
        }
    }

    /// How long the loop may wait before [`App::tick`] has something to send.
    pub fn draw_wait(&self, now: Instant) -> Option<Duration> {
        self.screen.drawing.as_ref().and_then(|c| c.wait(now))
    }

    /// Enter: the drawing joins the image list first (and is shown there), and is
    /// saved to a file; draw mode ends.
    fn keep_drawing(&mut self) -> Vec<Effect> {
        let Some(canvas) = self.screen.drawing.as_ref() else {
            return Vec::new();
        };
        if canvas.is_blank() {
            self.screen.status = Some(format!(
                "nothing drawn yet: {} leaves draw mode",
                self.screen.keymap.name(Action::LeaveDrawing)
            ));
            return Vec::new();
        }
        let kept = Arc::new(OwnImage::new(DRAWING, None, canvas.pixels()));
        self.screen.images.push_front(Arc::clone(&kept));
        self.screen.probes = [0, self.screen.probes[1] + 1];
        let mut effects = self.stop_drawing("drawing kept");
        effects.push(Effect::SaveDrawing(kept));
        effects
    }

    /// Draw mode off; the left image is the list's again.
    fn stop_drawing(&mut self, status: &str) -> Vec<Effect> {
        self.screen.drawing = None;
        self.screen.status = Some(status.into());
        let mut effects = vec![Effect::MouseCapture(false)];
        effects.extend(self.probe_effects());
        effects
    }

    /// A kept drawing's file: the image takes the file's name.
    pub(super) fn drawing_saved(&mut self, done: &EffectDone) {
        if let EffectDone::DrawingSaved {
            id,
            result: Ok((name, _)),
        } = done
        {
            self.screen.images.rename(*id, name);
        }
    }
}
