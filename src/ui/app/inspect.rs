//! A cursor inside the network: on the activations (explain a value: `x`) or on the
//! confusion matrix (`c`, then `Enter` for the test images behind a cell). While a
//! cursor is up its keys (arrows, Tab, Page Up/Down, Enter, Esc) come before the
//! dashboard's; the answers (the arithmetic, the gallery) come from the trainer to
//! this screen alone.

use super::*;
use crate::model::ActivationMap;
use crate::model::explain::Cell;
use crate::train::{ExplainAsk, Explained, Gallery, ProbeReport};
use crate::ui::keys::Mode;

/// Thumbnails in a row of the gallery: Up and Down move by a row.
pub const GALLERY_COLUMNS: usize = 8;

/// What the cursor is on.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspect {
    /// A value of the network, with the newest arithmetic for it.
    Explain {
        /// The value.
        cell: Cell,
        /// The trainer's answer for `cell` and the shown image, once it has come.
        answer: Option<Explained>,
    },
    /// A cell of the confusion matrix.
    Confusion {
        /// Its row.
        truth: usize,
        /// Its column.
        predicted: usize,
    },
    /// The test images behind a confusion cell.
    Gallery {
        /// The cell's row.
        truth: usize,
        /// The cell's column.
        predicted: usize,
        /// The trainer's answer, once it has come.
        answer: Option<Gallery>,
        /// The image under the cursor, an index into the answer's images.
        selected: usize,
    },
}

/// The maps `cell` is a value of, in `report` (none for the output).
pub fn maps_of(cell: Cell, report: Option<&ProbeReport>) -> Option<&ActivationMap> {
    match cell {
        Cell::Conv { layer, .. } => report?.probe.layer(layer),
        Cell::Output => None,
    }
}

/// The layers a cursor can explain: the convolution blocks the probes show, then the
/// output.
fn layers(report: Option<&ProbeReport>) -> Vec<Cell> {
    let mut all = Vec::new();
    if let Some(r) = report {
        for layer in [1, 2] {
            let Some(map) = r.probe.layer(layer) else {
                continue;
            };
            if map.channels > 0 {
                all.push(Cell::Conv {
                    layer,
                    map: 0,
                    at: (map.height / 2, map.width / 2),
                });
            }
        }
    }
    all.push(Cell::Output);
    all
}

impl App {
    /// `x`: the explain cursor on (at layer 1's middle) or off.
    pub(super) fn toggle_explain(&mut self) -> Vec<Effect> {
        if matches!(self.screen.inspect, Some(Inspect::Explain { .. })) {
            self.screen.inspect = None;
            return Vec::new();
        }
        let image = self.screen.active_image();
        let first = layers(self.run().report_for(&image))[0];
        self.screen.inspect = Some(Inspect::Explain {
            cell: first,
            answer: None,
        });
        self.screen.status = Some(format!(
            "explain: arrows move · {}/{} map · {}/{} layer · {} leaves",
            self.key_of(Action::InspectNextMap),
            self.key_of(Action::InspectPrevMap),
            self.key_of(Action::InspectNextLayer),
            self.key_of(Action::InspectPrevLayer),
            self.key_of(Action::InspectLeave),
        ));
        self.ask_explain()
    }

    fn key_of(&self, action: Action) -> String {
        self.screen.keymap.name(action)
    }

    /// Asks the focused trainer for the arithmetic behind the cursor's value, with the
    /// weights shown (the past's while looking back).
    pub(super) fn ask_explain(&self) -> Vec<Effect> {
        let Some(Inspect::Explain { cell, .. }) = self.screen.inspect else {
            return Vec::new();
        };
        vec![Effect::Trainer(Command::Explain(ExplainAsk {
            image: self.screen.active_image(),
            cell,
            at: self.run().past.as_ref().map(|p| p.moment.at),
        }))]
    }

    /// The confusion matrix's cursor, on its most confused cell (the diagonal's first
    /// before any mistake).
    pub(super) fn start_confusion_cursor(&mut self) {
        let (truth, predicted) = self
            .run()
            .shown_confusion()
            .and_then(|c| c.matrix.most_confused())
            .map_or((0, 0), |c| (c.truth, c.predicted));
        self.screen.inspect = Some(Inspect::Confusion { truth, predicted });
        self.screen.status = Some(format!(
            "confusion: arrows move · {} its images · {} leaves",
            self.key_of(Action::InspectOpen),
            self.key_of(Action::InspectLeave),
        ));
    }

    /// A key while a cursor is up: its own keys, `None` for the dashboard's.
    pub fn on_inspect_key(&mut self, key: &Key) -> Option<Vec<Effect>> {
        let action = self.screen.keymap.action_in(Mode::Inspect, key)?;
        let inspect = self.screen.inspect.clone()?;
        Some(match inspect {
            Inspect::Explain { cell, .. } => self.move_explain(cell, action)?,
            Inspect::Confusion { truth, predicted } => {
                self.move_confusion((truth, predicted), action)?
            }
            Inspect::Gallery {
                truth,
                predicted,
                answer,
                selected,
            } => self.move_gallery((truth, predicted), answer.as_ref(), selected, action)?,
        })
    }

    fn move_explain(&mut self, cell: Cell, action: Action) -> Option<Vec<Effect>> {
        let image = self.screen.active_image();
        let report = self.run().report_for(&image);
        let all = layers(report);
        let layer_of = |c: Cell| all.iter().position(|&l| same_layer(l, c)).unwrap_or(0);
        let here = layer_of(cell);
        let maps = |c: Cell| maps_of(c, report);
        let moved = match (action, cell) {
            (Action::InspectLeave, _) => {
                self.screen.inspect = None;
                self.screen.status = None;
                return Some(Vec::new());
            }
            (Action::InspectNextLayer, _) => all[(here + 1) % all.len()],
            (Action::InspectPrevLayer, _) => all[(here + all.len() - 1) % all.len()],
            (Action::InspectNextMap | Action::InspectPrevMap, Cell::Conv { layer, map, at }) => {
                let n = maps(cell).map_or(1, |m| m.channels.max(1));
                let map = if action == Action::InspectNextMap {
                    (map + 1) % n
                } else {
                    (map + n - 1) % n
                };
                Cell::Conv { layer, map, at }
            }
            (_, Cell::Conv { layer, map, at }) => {
                let (h, w) = maps(cell).map_or((1, 1), |m| (m.height.max(1), m.width.max(1)));
                let (dy, dx) = arrow(action)?;
                let at = (
                    at.0.saturating_add_signed(dy).min(h - 1),
                    at.1.saturating_add_signed(dx).min(w - 1),
                );
                Cell::Conv { layer, map, at }
            }
            (_, Cell::Output) => return Some(Vec::new()),
        };
        self.screen.inspect = Some(Inspect::Explain {
            cell: moved,
            answer: None,
        });
        Some(self.ask_explain())
    }

    fn move_confusion(
        &mut self,
        (truth, predicted): (usize, usize),
        action: Action,
    ) -> Option<Vec<Effect>> {
        let n = self.runs.dataset.classes.len().max(1);
        match action {
            Action::InspectLeave => {
                self.screen.inspect = None;
                self.screen.status = None;
                Some(Vec::new())
            }
            Action::InspectOpen if self.run().shown_confusion().is_none() => {
                self.screen.status =
                    Some("the images behind a cell come with the first epoch's evaluation".into());
                Some(Vec::new())
            }
            Action::InspectOpen => {
                self.screen.inspect = Some(Inspect::Gallery {
                    truth,
                    predicted,
                    answer: None,
                    selected: 0,
                });
                self.screen.status = Some(format!(
                    "arrows pick an image · {} shows it · {} back to the matrix",
                    self.key_of(Action::InspectOpen),
                    self.key_of(Action::InspectLeave),
                ));
                Some(vec![Effect::Trainer(Command::Gallery { truth, predicted })])
            }
            _ => {
                let (dy, dx) = arrow(action)?;
                let truth = truth.saturating_add_signed(dy).min(n - 1);
                let predicted = predicted.saturating_add_signed(dx).min(n - 1);
                self.screen.inspect = Some(Inspect::Confusion { truth, predicted });
                Some(Vec::new())
            }
        }
    }

    fn move_gallery(
        &mut self,
        cell: (usize, usize),
        answer: Option<&Gallery>,
        selected: usize,
        action: Action,
    ) -> Option<Vec<Effect>> {
        let count = answer.map_or(0, |g| g.images.len());
        let columns = GALLERY_COLUMNS;
        let selected = match action {
            Action::InspectLeave => {
                self.screen.inspect = Some(Inspect::Confusion {
                    truth: cell.0,
                    predicted: cell.1,
                });
                self.screen.status = None;
                return Some(Vec::new());
            }
            Action::InspectOpen => {
                let &(index, _) = answer?.images.get(selected)?;
                return Some(self.show_test_image(index));
            }
            Action::InspectNextMap => selected + 1,
            Action::InspectPrevMap => selected.saturating_sub(1),
            Action::InspectNextLayer => selected + columns * 2,
            Action::InspectPrevLayer => selected.saturating_sub(columns * 2),
            _ => {
                let (dy, dx) = arrow(action)?;
                let step = dy * columns as isize + dx;
                selected.saturating_add_signed(step)
            }
        };
        if let Some(Inspect::Gallery { selected: s, .. }) = &mut self.screen.inspect {
            *s = selected.min(count.saturating_sub(1));
        }
        Some(Vec::new())
    }

    /// Test image `index` on the side the image keys move; the cursor comes down so
    /// the activations show it.
    fn show_test_image(&mut self, index: usize) -> Vec<Effect> {
        let side = self.screen.active_side();
        self.screen.probes[side] = self.screen.images.test_position(index);
        self.screen.inspect = None;
        self.screen.status = Some(format!("test image {index} shown"));
        self.probe_effects()
    }

    /// A trainer's event: an answer to this screen's question goes to the cursor; a
    /// new look at the model (fresh activations, a look back) asks the explanation
    /// again, so that it follows the weights shown.
    pub(super) fn on_trainer(&mut self, lane: usize, event: Event) -> Vec<Effect> {
        let focused = self.runs.race.is_none() || lane == self.focus();
        if let Event::Explained(_) | Event::Gallery(_) = event {
            if focused {
                self.on_answer(event);
            }
            return Vec::new();
        }
        let new_look = matches!(
            event,
            Event::Activations { .. } | Event::Recalled(_) | Event::Seeked { .. }
        );
        self.on_lane_event(lane, event);
        if new_look && focused {
            self.ask_explain()
        } else {
            Vec::new()
        }
    }

    /// Takes the trainer's answer to this screen's question, if it is for what the
    /// cursor is on now (an answer for a cell left behind is dropped).
    fn on_answer(&mut self, event: Event) {
        let shown = self.screen.active_image().id();
        match (&mut self.screen.inspect, event) {
            (Some(Inspect::Explain { cell, answer }), Event::Explained(explained))
                if explained.cell == *cell && explained.image == shown =>
            {
                *answer = Some(explained);
            }
            (
                Some(Inspect::Gallery {
                    truth,
                    predicted,
                    answer,
                    ..
                }),
                Event::Gallery(gallery),
            ) if (gallery.truth, gallery.predicted) == (*truth, *predicted) => {
                *answer = Some(gallery);
            }
            _ => {}
        }
    }
}

/// Whether `a` and `b` are in the same layer.
fn same_layer(a: Cell, b: Cell) -> bool {
    match (a, b) {
        (Cell::Conv { layer: x, .. }, Cell::Conv { layer: y, .. }) => x == y,
        (Cell::Output, Cell::Output) => true,
        _ => false,
    }
}

/// An arrow action's `(rows, columns)` step.
fn arrow(action: Action) -> Option<(isize, isize)> {
    match action {
        Action::InspectLeft => Some((0, -1)),
        Action::InspectRight => Some((0, 1)),
        Action::InspectUp => Some((-1, 0)),
        Action::InspectDown => Some((1, 0)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "inspect_tests.rs"]
mod tests;
