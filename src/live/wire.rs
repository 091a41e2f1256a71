//! What goes over a live run's socket: a greeting that any version can read, then
//! length-prefixed MessagePack frames of [`ToRun`] and [`ToViewer`].
//!
//! The greeting is fixed bytes: `LENETTUI`, the protocol number (u32, little-endian)
//! and the program's version (a u16 length, then UTF-8). Each side sends its own and
//! reads the other's, so a viewer of another version says so in one line instead of
//! misreading frames. A frame is a u32 little-endian length, at most [`MAX_FRAME`],
//! then that many bytes of MessagePack; anything else closes the connection.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::data::own::ProbeImage;
use crate::train::{Command, Event};

/// Changes whenever a message changes shape.
pub const PROTOCOL: u32 = 1;
/// The greeting's first bytes.
const MAGIC: &[u8; 8] = b"LENETTUI";
/// The longest version string a greeting may carry.
const MAX_VERSION: usize = 64;
/// The largest frame either side accepts: a resumed run's history with its layer
/// statistics fits many times over; nothing is allocated before the length is checked.
pub const MAX_FRAME: usize = 32 << 20;

/// What a connection is for, said in [`ToRun::Hello`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Want {
    /// The dashboard, driving the run (granted to the run's own user only).
    Control,
    /// The dashboard, watching only.
    View,
    /// The run's events, watching only (`attach --json`).
    Events,
    /// One [`ToViewer::Status`] and goodbye (`lenet-tui runs`).
    Status,
}

/// A viewer's messages to the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToRun {
    /// The first frame: what the viewer wants.
    Hello(Want),
    /// A command for variant `lane`'s trainer (0 for a lone run).
    Command {
        /// The variant.
        lane: usize,
        /// The command.
        command: Command,
    },
    /// The images this viewer shows: the run's probes are every screen's together.
    Probes(Vec<ProbeImage>),
}

/// What the run tells a viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToViewer {
    /// The answer to [`ToRun::Hello`].
    Welcome(Welcome),
    /// The connection is refused, and why (in words for the viewer's user).
    Refused(String),
    /// Forget the run's state: what follows is the run so far, then live events.
    Reset,
    /// Variant `lane` sent an event.
    Event {
        /// The variant (0 for a lone run).
        lane: usize,
        /// The event.
        event: Event,
    },
    /// The answer to a [`Want::Status`] hello.
    Status(Status),
    /// A command of this viewer's was not taken, and why.
    Declined(String),
}

/// The run a viewer is let in to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// Each variant's label in a race; one `None` for a lone run.
    pub lanes: Vec<Option<String>>,
    /// Whether the viewer's commands are taken.
    pub control: bool,
    /// The process training the run.
    pub pid: u32,
    /// The directory of the run's data; `None` for the embedded subset. A viewer reads
    /// the test images from it itself: they are not sent.
    pub data: Option<std::path::PathBuf>,
    /// The class names, in label order.
    pub classes: Vec<String>,
}

/// A live run's figures for `lenet-tui runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The process training the run.
    pub pid: u32,
    /// Viewers attached now.
    pub viewers: usize,
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The connection failed or closed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The other side is not a lenet-tui run or viewer.
    #[error("the other end does not speak lenet-tui's protocol")]
    NotLenet,
    /// The other side speaks another protocol version.
    #[error(
        "the other end is lenet-tui {theirs} (protocol {their_protocol}), this is {ours} \
         (protocol {PROTOCOL}): use the same version on both ends"
    )]
    Version {
        /// The other program's version.
        theirs: String,
        /// Its protocol number.
        their_protocol: u32,
        /// This program's version.
        ours: &'static str,
    },
    /// A frame longer than [`MAX_FRAME`] was announced.
    #[error("a message of {0} bytes, over the limit of {MAX_FRAME}")]
    TooLong(usize),
    /// A frame did not decode as a message.
    #[error("a malformed message: {0}")]
    Malformed(String),
}

/// Sends this program's greeting.
pub fn send_greeting(w: &mut impl Write) -> io::Result<()> {
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    let mut bytes = Vec::with_capacity(MAGIC.len() + 6 + version.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&PROTOCOL.to_le_bytes());
    bytes.extend_from_slice(&(version.len() as u16).to_le_bytes());
    bytes.extend_from_slice(version);
    w.write_all(&bytes)?;
    w.flush()
}

/// Reads the other side's greeting; an error unless it is lenet-tui with this
/// protocol.
pub fn read_greeting(r: &mut impl Read) -> Result<(), WireError> {
    let mut head = [0u8; 14];
    r.read_exact(&mut head)?;
    if &head[..8] != MAGIC {
        return Err(WireError::NotLenet);
    }
    let protocol = u32::from_le_bytes(head[8..12].try_into().expect("four bytes"));
    let len = usize::from(u16::from_le_bytes([head[12], head[13]]));
    if len > MAX_VERSION {
        return Err(WireError::NotLenet);
    }
    let mut version = vec![0u8; len];
    r.read_exact(&mut version)?;
    if protocol != PROTOCOL {
        return Err(WireError::Version {
            theirs: String::from_utf8_lossy(&version).into_owned(),
            their_protocol: protocol,
            ours: env!("CARGO_PKG_VERSION"),
        });
    }
    Ok(())
}

/// Encodes `message` as one frame.
pub fn encode(message: &impl Serialize) -> Result<Vec<u8>, WireError> {
    let body = rmp_serde::to_vec_named(message).map_err(|e| WireError::Malformed(e.to_string()))?;
    if body.len() > MAX_FRAME {
        return Err(WireError::TooLong(body.len()));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Sends `message` as one frame.
pub fn send(w: &mut impl Write, message: &impl Serialize) -> Result<(), WireError> {
    w.write_all(&encode(message)?)?;
    Ok(())
}

/// Reads one frame and decodes it; the length is checked before anything is
/// allocated for it.
pub fn receive<T: DeserializeOwned>(r: &mut impl Read) -> Result<T, WireError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLong(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    rmp_serde::from_slice(&body).map_err(|e| WireError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Progress, Stride};

    fn progress(loss: f64) -> Event {
        Event::Progress(Progress {
            epoch: 1,
            at: 0.5,
            batch: 3,
            batches: 6,
            train_loss: loss,
            train_acc: 0.25,
            examples_per_sec: 1000.0,
            layers: Vec::new(),
        })
    }

    #[test]
    fn messages_travel_whole_nan_included() {
        let sent = vec![
            ToViewer::Event {
                lane: 1,
                event: progress(f64::NAN),
            },
            ToViewer::Event {
                lane: 0,
                event: Event::Recalled(None),
            },
            ToViewer::Reset,
        ];
        let mut bytes = Vec::new();
        for m in &sent {
            send(&mut bytes, m).unwrap();
        }
        let mut r = bytes.as_slice();
        let first: ToViewer = receive(&mut r).unwrap();
        let ToViewer::Event {
            lane: 1,
            event: Event::Progress(p),
        } = first
        else {
            panic!("{first:?}");
        };
        assert!(p.train_loss.is_nan());
        assert_eq!(receive::<ToViewer>(&mut r).unwrap(), sent[1]);
        assert_eq!(receive::<ToViewer>(&mut r).unwrap(), sent[2]);
        assert!(matches!(receive::<ToViewer>(&mut r), Err(WireError::Io(_))));
        let command = ToRun::Command {
            lane: 0,
            command: Command::Step(Stride::Epoch),
        };
        let mut bytes = Vec::new();
        send(&mut bytes, &command).unwrap();
        assert_eq!(receive::<ToRun>(&mut bytes.as_slice()).unwrap(), command);
    }

    #[test]
    fn oversized_truncated_and_garbage_frames_are_errors() {
        let mut huge = ((MAX_FRAME + 1) as u32).to_le_bytes().to_vec();
        huge.extend_from_slice(&[0; 16]);
        assert!(matches!(
            receive::<ToRun>(&mut huge.as_slice()),
            Err(WireError::TooLong(_))
        ));
        let mut frame = encode(&ToRun::Hello(Want::View)).unwrap();
        frame.truncate(frame.len() - 1);
        assert!(matches!(
            receive::<ToRun>(&mut frame.as_slice()),
            Err(WireError::Io(_))
        ));
        let garbage = [5u8, 0, 0, 0, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1];
        assert!(matches!(
            receive::<ToRun>(&mut garbage.as_slice()),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn greetings_tell_versions_apart() {
        let mut ours = Vec::new();
        send_greeting(&mut ours).unwrap();
        read_greeting(&mut ours.as_slice()).unwrap();
        let mut other = ours.clone();
        other[8] = other[8].wrapping_add(1);
        let err = read_greeting(&mut other.as_slice()).unwrap_err();
        assert!(err.to_string().contains("use the same version"), "{err}");
        assert!(matches!(
            read_greeting(&mut &b"GET / HTTP/1.1\r\n"[..]),
            Err(WireError::NotLenet)
        ));
    }
}
