//! What the dashboard's state asks the event loop to do beyond changing itself, and
//! what doing it came to: plain values, so that only [`super::app::App`] changes state
//! and the loop alone touches files and the trainer.

use std::sync::Arc;

use crate::data::own::OwnImage;
use crate::train::Command;

/// What a key asks for beyond a state change: a trainer command, or file output that
/// the event loop carries out (the state itself never does I/O).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this to the trainer.
    Trainer(Command),
    /// Save the current frame as SVG, PNG and text.
    Screenshot,
    /// Start or stop recording.
    ToggleRecording,
    /// Save the training figure.
    Figure,
    /// Turn the terminal's mouse reporting on (draw mode) or off (text selection
    /// works again).
    MouseCapture(bool),
    /// Save a kept drawing as a PNG in the capture directory.
    SaveDrawing(Arc<OwnImage>),
    /// Read this image file (`FILE` or `FILE=CLASS`) into the image list.
    OpenImage(String),
}

/// What carrying out an [`Effect`] came to, fed back to [`App::on_effect_done`] so
/// that the state changes only here. Paths are as the status line shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectDone {
    /// A screenshot's files (`…/name.{svg,png,txt}`), or where and why it failed.
    Screenshot(Result<String, String>),
    /// The training figure's files, or where and why it failed; `asked` when a key
    /// asked for it (the figure saved at the end of a run reports only failures).
    Figure {
        /// The files, or where and why not.
        result: Result<String, String>,
        /// Whether the user asked for it.
        asked: bool,
    },
    /// A recording the user started: its file, or where and why it failed.
    RecordingStarted(Result<String, String>),
    /// A recording that runs from the first frame (`--record`).
    RecordingFromStart,
    /// The user stopped the recording, saved in this file.
    RecordingStopped(String),
    /// The recording stopped by itself (a full disk), and why.
    RecordingLost(String),
    /// An image file read and prepared, or why it could not be (naming the file).
    ImageOpened(Result<Arc<OwnImage>, String>),
    /// A kept drawing (its image id) saved as this file, or where and why not.
    DrawingSaved {
        /// The drawing's [`OwnImage::id`].
        id: u64,
        /// The file (its name, and the path the status line shows), or why not.
        result: Result<(String, String), String>,
    },
}

impl EffectDone {
    /// The line for the status bar and the log, if there is one to tell.
    pub fn message(&self) -> Option<String> {
        match self {
            EffectDone::Screenshot(Ok(files)) => Some(format!("saved {files}")),
            EffectDone::Screenshot(Err(why)) => Some(format!("screenshot failed: {why}")),
            EffectDone::Figure {
                result: Ok(files), ..
            } => Some(format!("figure saved: {files}")),
            EffectDone::Figure {
                result: Err(why), ..
            } => Some(format!("figure failed: {why}")),
            EffectDone::RecordingStarted(Ok(file)) => Some(format!("recording to {file}")),
            EffectDone::RecordingStarted(Err(why)) => Some(format!("recording failed: {why}")),
            EffectDone::RecordingFromStart => None,
            EffectDone::RecordingStopped(file) => Some(format!("recording saved: {file}")),
            EffectDone::RecordingLost(why) => Some(why.clone()),
            EffectDone::DrawingSaved {
                result: Ok((_, path)),
                ..
            } => Some(format!("drawing kept as {path} (reuse it with --image)")),
            EffectDone::ImageOpened(Ok(image)) => {
                Some(format!("{} added first to the images", image.name))
            }
            EffectDone::ImageOpened(Err(why)) => Some(format!("cannot open: {why}")),
            EffectDone::DrawingSaved {
                result: Err(why), ..
            } => Some(format!("drawing kept, but not saved: {why}")),
        }
    }
}
