//! A viewer's side of a live run: connect to its socket, greet it, and speak to it
//! through one [`TrainerHandle`] per variant, as the dashboard speaks to trainers of
//! its own. Events arrive on the handles; commands sent to them go to the run (a
//! viewer's own stop only closes the connection).

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crossbeam_channel::{Receiver, Select, Sender};

use super::wire::{self, Status, ToRun, ToViewer, Want, Welcome, WireError};
use crate::train::{Command, Event, TrainerHandle};

/// A live run, attached.
pub struct Attached {
    /// What the run said when it let the viewer in.
    pub welcome: Welcome,
    /// One handle per variant, in race order.
    pub lanes: Vec<TrainerHandle>,
}

/// Why attaching failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Nothing answers at the socket.
    #[error("{path}: {source}")]
    Connect {
        /// The socket.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The greeting or the welcome failed.
    #[error("{0}")]
    Wire(#[from] WireError),
    /// The run said no.
    #[error("the run refused: {0}")]
    Refused(String),
}

/// Greets the run at `path` and says what this connection wants.
fn connect(path: &Path, want: Want) -> Result<UnixStream, AttachError> {
    let stream = UnixStream::connect(path).map_err(|source| AttachError::Connect {
        path: path.display().to_string(),
        source,
    })?;
    let mut writer = &stream;
    wire::send_greeting(&mut writer).map_err(WireError::Io)?;
    let mut reader = &stream;
    wire::read_greeting(&mut reader)?;
    wire::send(&mut writer, &ToRun::Hello(want))?;
    Ok(stream)
}

/// Asks the run at `path` how it is.
pub fn status(path: &Path) -> Result<Status, AttachError> {
    let stream = connect(path, Want::Status)?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .map_err(WireError::Io)?;
    match wire::receive(&mut &stream)? {
        ToViewer::Status(status) => Ok(status),
        ToViewer::Refused(why) => Err(AttachError::Refused(why)),
        other => Err(WireError::Malformed(format!("{other:?} for a status")).into()),
    }
}

/// Attaches to the run at `path` as `want` says: the run so far, then its events,
/// come on the handles' event channels.
pub fn attach(path: &Path, want: Want) -> Result<Attached, AttachError> {
    let stream = connect(path, want)?;
    let mut reader = BufReader::new(stream.try_clone().map_err(WireError::Io)?);
    let welcome = match wire::receive(&mut reader)? {
        ToViewer::Welcome(w) => w,
        ToViewer::Refused(why) => return Err(AttachError::Refused(why)),
        other => return Err(WireError::Malformed(format!("{other:?} for a welcome")).into()),
    };
    let n = welcome.lanes.len().max(1);
    let (event_senders, event_receivers): (Vec<Sender<Event>>, Vec<Receiver<Event>>) =
        (0..n).map(|_| crossbeam_channel::unbounded()).unzip();
    let (command_senders, command_receivers): (Vec<Sender<Command>>, Vec<Receiver<Command>>) =
        (0..n).map(|_| crossbeam_channel::unbounded()).unzip();
    let writer = stream.try_clone().map_err(WireError::Io)?;
    std::thread::Builder::new()
        .name("attach-read".into())
        .spawn(move || read_events(reader, &event_senders))
        .map_err(WireError::Io)?;
    std::thread::Builder::new()
        .name("attach-write".into())
        .spawn(move || write_commands(writer, &command_receivers))
        .map_err(WireError::Io)?;
    let lanes = command_senders
        .into_iter()
        .zip(event_receivers)
        .map(|(commands, events)| TrainerHandle::remote(commands, events))
        .collect();
    Ok(Attached { welcome, lanes })
}

/// Hands the run's events to each variant's channel until the connection ends; then
/// says so on every variant that had not finished.
fn read_events(mut reader: impl std::io::Read, lanes: &[Sender<Event>]) {
    let mut finished = vec![false; lanes.len()];
    let why = loop {
        match wire::receive::<ToViewer>(&mut reader) {
            Ok(ToViewer::Event { lane, event }) => {
                let Some(channel) = lanes.get(lane) else {
                    break format!("the run sent an event of variant {lane}, which it has not");
                };
                finished[lane] = matches!(event, Event::Finished(_))
                    || (finished[lane] && !matches!(event, Event::CatchUp));
                if channel.send(event).is_err() {
                    return; // The dashboard is gone.
                }
            }
            Ok(ToViewer::Declined(why)) => {
                let _ = lanes[0].send(Event::Rejected(why));
            }
            Ok(other) => break format!("the run sent {other:?} in the middle of its events"),
            Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break "the run's process has ended".to_string();
            }
            Err(e) => break format!("the connection to the run failed: {e}"),
        }
    };
    for (channel, done) in lanes.iter().zip(finished) {
        if !done {
            let _ = channel.send(Event::Error(why.clone()));
        }
    }
}

/// Sends the dashboard's commands to the run, each variant's with its lane; the images
/// once (the dashboard sends them to every variant). A stop closes the connection.
fn write_commands(stream: UnixStream, lanes: &[Receiver<Command>]) {
    let mut out = BufWriter::new(&stream);
    let mut select = Select::new();
    for lane in lanes {
        select.recv(lane);
    }
    loop {
        let op = select.select();
        let lane = op.index();
        let Ok(command) = op.recv(&lanes[lane]) else {
            break;
        };
        let message = match command {
            Command::Stop => break,
            Command::SetProbes(images) if lane == 0 => ToRun::Probes(images),
            Command::SetProbes(_) => continue,
            command => ToRun::Command { lane, command },
        };
        if wire::send(&mut out, &message).is_err() || out.flush().is_err() {
            break;
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
