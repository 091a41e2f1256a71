//! What one terminal shows of the runs: its theme and keys, the images it looks at,
//! the panels and overlays open, the variant in focus, and its status line. A second
//! terminal watching the same runs is a second `Screen` over the same [`Runs`].
//!
//! [`Runs`]: super::Runs

use std::sync::Arc;

use super::canvas::{Canvas, DRAWING};
use super::images::ImageList;
use crate::data::Dataset;
use crate::data::own::{OwnImage, ProbeImage};
use crate::ui::keys::KeyMap;
use crate::ui::theme::Theme;

/// A modal overlay over the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// The key list.
    Help,
    /// "Quit while training?"
    ConfirmQuit,
    /// "Restart with fresh weights?"
    ConfirmRestart,
    /// The name of an image file to open, as typed so far ([`Screen::image_prompt`]).
    OpenImage,
}

/// Compare mode, and which image ←/→ move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// One image.
    Off,
    /// Two images; the keys move the left one.
    Left,
    /// Two images; the keys move the right one.
    Right,
}

/// A panel that a key shows and hides, beside the activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Class probabilities of the shown images, as bars.
    Probabilities,
    /// The test set's confusion matrix after the last epoch.
    Confusion,
    /// The first convolution's kernels.
    Kernels,
    /// Gradient flow per layer over the run, and the newest activation statistics.
    Diagnostics,
}

impl Panel {
    /// Every panel, in the order they are laid out.
    pub const ALL: [Panel; 4] = [
        Panel::Probabilities,
        Panel::Confusion,
        Panel::Kernels,
        Panel::Diagnostics,
    ];
}

/// What this terminal shows.
pub struct Screen {
    /// Colours and markers.
    pub theme: Theme,
    /// Keys → actions.
    pub keymap: KeyMap,
    /// The images `←`/`→` move through: the user's, then the test set's.
    pub images: ImageList,
    /// Positions in `images` of the images shown: left, right.
    pub probes: [usize; 2],
    /// Compare mode.
    pub compare: Compare,
    /// Draw mode's canvas, in place of the left image while drawing.
    pub drawing: Option<Canvas>,
    /// The file name typed into the open-image prompt.
    pub image_prompt: String,
    /// The shown images changed outside a key (an image file loaded): the trainer is
    /// told at the next tick.
    pub probes_changed: bool,
    /// The optional panels shown, in [`Panel::ALL`] order.
    pub panels: Vec<Panel>,
    /// A modal overlay, if any.
    pub overlay: Option<Overlay>,
    /// The status line message.
    pub status: Option<String>,
    /// Whether an asciicast recording is running (the header shows ● REC).
    pub recording: bool,
    /// Bytes a second routine heatmap refreshes keep the terminal output within.
    pub max_output: Option<f64>,
    /// How the charts show the run: smoothing, log scale, zoom.
    pub charts: crate::ui::chart_view::ChartView,
    /// A cursor on the activations or the confusion matrix, if one is up.
    pub inspect: Option<super::Inspect>,
    /// The run in focus: an index into [`Runs::views`](super::Runs::views), 0
    /// without a race.
    pub focus: usize,
}

impl Screen {
    /// A screen over `dataset`'s test images, showing a pullover beside a coat.
    pub fn new(dataset: &Dataset, theme: Theme, keymap: KeyMap) -> Self {
        // Exercise 4 of the chapter: a pullover beside a coat.
        let first = |class| dataset.test.first_of_class(class).unwrap_or(0);
        Self {
            theme,
            keymap,
            images: ImageList::new(Vec::new(), dataset.test.len()),
            probes: [first(2), first(4)],
            compare: Compare::Off,
            drawing: None,
            image_prompt: String::new(),
            probes_changed: false,
            panels: Vec::new(),
            overlay: None,
            status: None,
            recording: false,
            max_output: Some(f64::from(crate::ui::budget::DEFAULT_KB_PER_SEC) * 1000.0),
            charts: crate::ui::chart_view::ChartView::default(),
            inspect: None,
            focus: 0,
        }
    }

    /// The images currently shown.
    pub fn shown_probes(&self) -> Vec<ProbeImage> {
        let shown = match self.compare {
            Compare::Off => &self.probes[..1],
            _ => &self.probes[..],
        };
        let mut images: Vec<ProbeImage> = shown.iter().map(|&p| self.images.get(p)).collect();
        if let Some(drawing) = self.drawing_image() {
            images[0] = drawing;
        }
        images
    }

    /// The drawing as an image the model can be shown.
    pub fn drawing_image(&self) -> Option<ProbeImage> {
        self.drawing.as_ref().map(|c| {
            ProbeImage::Own(Arc::new(OwnImage {
                id: c.id,
                name: DRAWING.into(),
                label: None,
                pixels: c.pixels(),
            }))
        })
    }

    /// The user's images first in the list, the first of them shown on the left
    /// (the right keeps its test image).
    pub fn add_own_images(&mut self, own: Vec<Arc<OwnImage>>) {
        if own.is_empty() {
            return;
        }
        let added = own.len();
        for image in own.into_iter().rev() {
            self.images.push_front(image);
        }
        self.probes = [0, self.probes[1] + added];
    }

    /// Whether `panel` is shown.
    pub fn shows(&self, panel: Panel) -> bool {
        self.panels.contains(&panel)
    }

    /// The image ←/→ move (the drawing while drawing): the one a cursor explains.
    pub fn active_image(&self) -> ProbeImage {
        let shown = self.shown_probes();
        shown[self.active_side().min(shown.len() - 1)].clone()
    }

    /// Which image ←/→ move: 0 the left, 1 the right.
    pub fn active_side(&self) -> usize {
        usize::from(self.compare == Compare::Right)
    }
}
