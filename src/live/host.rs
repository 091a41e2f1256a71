//! A live run's socket: one thread accepts viewers; each viewer gets a thread that
//! reads its messages and one that writes its queue. A viewer that sends garbage, too
//! much, or nothing, or that goes away, loses its own connection only: the run and the
//! other viewers never wait for it.

use std::io::{BufWriter, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::hub::{Hub, Outgoing, Ticket};
use super::place::{self, SocketFile};
use super::wire::{self, Status, ToRun, ToViewer, Want, Welcome, WireError};
use crate::data::Dataset;
use crate::data::source::DataLocation;
use crate::train::Command;

/// How long a new connection has to greet and say what it wants.
const HANDSHAKE: Duration = Duration::from_secs(5);

/// This process's socket and the hub behind it; the socket goes when this is dropped.
pub struct Host {
    hub: Arc<Hub>,
    socket: SocketFile,
}

impl Host {
    /// Listens on this process's socket for viewers of the variants `labels` (one
    /// `None` for a lone run) whose trainers take commands on `commanders`.
    pub fn start(
        labels: Vec<Option<String>>,
        commanders: Vec<Sender<Command>>,
        dataset: &Dataset,
        shared: bool,
    ) -> std::io::Result<Self> {
        let path = place::socket_path(std::process::id(), shared)?;
        let listener = place::listen(&path, shared)?;
        let hub = Arc::new(Hub::new(commanders));
        let welcome = Welcome {
            lanes: labels,
            control: false,
            pid: std::process::id(),
            data: match &dataset.location {
                DataLocation::Embedded => None,
                DataLocation::Dir { path, .. } => Some(path.clone()),
            },
            classes: dataset.classes.clone(),
        };
        let accepting = Arc::clone(&hub);
        std::thread::Builder::new()
            .name("live-accept".into())
            .spawn(move || accept(&listener, &accepting, &welcome, shared))?;
        tracing::info!("live: viewers attach at {}", path.display());
        Ok(Self {
            hub,
            socket: SocketFile(path),
        })
    }

    /// The hub the run's loop publishes its events to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Where viewers connect.
    pub fn path(&self) -> &Path {
        &self.socket.0
    }
}

/// Takes connections until the process ends, each on threads of its own.
fn accept(listener: &UnixListener, hub: &Arc<Hub>, welcome: &Welcome, shared: bool) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("live: accepting a viewer: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let hub = Arc::clone(hub);
        let welcome = welcome.clone();
        let spawned = std::thread::Builder::new()
            .name("live-viewer".into())
            .spawn(move || serve(stream, &hub, welcome, shared));
        if let Err(e) = spawned {
            tracing::warn!("live: no thread for a viewer: {e}");
        }
    }
}

/// One connection, from the handshake to its end.
fn serve(stream: UnixStream, hub: &Arc<Hub>, welcome: Welcome, shared: bool) {
    let peer = place::peer_uid(&stream);
    match handshake(&stream, peer, shared) {
        Ok(Some(want)) => {
            if let Err(e) = watch(stream, hub, welcome, want) {
                tracing::info!("live: a viewer left: {e}");
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!("live: a connection closed: {e}");
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Greetings both ways and the viewer's [`Want`], within [`HANDSHAKE`]; `None` once a
/// refusal has been sent. Another user is refused, or with `shared` let in to watch
/// only, whatever it asked for.
fn handshake(
    stream: &UnixStream,
    peer: std::io::Result<u32>,
    shared: bool,
) -> Result<Option<Want>, WireError> {
    stream.set_read_timeout(Some(HANDSHAKE))?;
    stream.set_write_timeout(Some(HANDSHAKE))?;
    let mut writer = stream;
    wire::send_greeting(&mut writer)?;
    let mut reader = stream;
    wire::read_greeting(&mut reader)?;
    let uid = peer?;
    let stranger = uid != place::own_uid();
    if stranger && !shared {
        tracing::warn!("live: refused a connection from uid {uid}");
        let why = format!("this run is private to its user (uid {})", place::own_uid());
        wire::send(&mut writer, &ToViewer::Refused(why))?;
        return Ok(None);
    }
    let ToRun::Hello(mut want) = wire::receive(&mut reader)? else {
        return Err(WireError::Malformed(
            "the first message is not a hello".into(),
        ));
    };
    if stranger && want == Want::Control {
        tracing::info!("live: uid {uid} watches only");
        want = Want::View;
    }
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    Ok(Some(want))
}

/// Serves a viewer that asked for `want`: its catch-up and events on a writer thread,
/// its commands read here.
fn watch(
    stream: UnixStream,
    hub: &Arc<Hub>,
    mut welcome: Welcome,
    want: Want,
) -> Result<(), WireError> {
    let mut writer = &stream;
    if want == Want::Status {
        let status = Status {
            pid: welcome.pid,
            viewers: hub.viewers(),
        };
        return wire::send(&mut writer, &ToViewer::Status(status));
    }
    welcome.control = want == Want::Control;
    let ticket = match hub.join(welcome.control) {
        Ok(t) => t,
        Err(why) => return wire::send(&mut writer, &ToViewer::Refused(why)),
    };
    wire::send(&mut writer, &ToViewer::Welcome(welcome))?;
    let id = ticket.id;
    tracing::info!(
        "live: viewer {id} attached ({want:?}); {} now",
        hub.viewers()
    );
    let out = stream.try_clone()?;
    let writing = Arc::clone(hub);
    let writer = std::thread::Builder::new()
        .name("live-writer".into())
        .spawn(move || write_queue(out, &writing, &ticket))?;
    let read = read_commands(&stream, hub, id);
    hub.leave(id);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    tracing::info!("live: viewer {id} gone; {} left", hub.viewers());
    read
}

/// Takes the viewer's messages until it goes or sends something wrong.
fn read_commands(stream: &UnixStream, hub: &Hub, id: u64) -> Result<(), WireError> {
    let mut reader = stream;
    loop {
        match wire::receive::<ToRun>(&mut reader) {
            Ok(ToRun::Command { lane, command }) => hub.command(id, lane, command),
            Ok(ToRun::Probes(images)) => hub.set_probes(id, images),
            Ok(ToRun::Hello(_)) => {
                return Err(WireError::Malformed("a second hello".into()));
            }
            Err(WireError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sends the catch-up, then the queue; catches up again whenever the viewer fell
/// behind. Ends when the viewer leaves (its queue closes) or the socket fails.
fn write_queue(stream: UnixStream, hub: &Hub, ticket: &Ticket) {
    let mut out = BufWriter::new(&stream);
    let mut result = send_all(&mut out, &ticket.catch_up);
    while result.is_ok() {
        let Ok(next) = ticket.queue.recv() else {
            break;
        };
        if ticket.lagging.load(Ordering::Relaxed) {
            tracing::info!("live: viewer {} fell behind; catching it up", ticket.id);
            result = send_all(&mut out, &hub.catch_up(ticket));
            continue;
        }
        let message = match next {
            Outgoing::Event(lane, event) => ToViewer::Event { lane, event },
            Outgoing::Declined(why) => ToViewer::Declined(why),
        };
        result = wire::send(&mut out, &message);
        if result.is_ok() && ticket.queue.is_empty() {
            result = out.flush().map_err(Into::into);
        }
    }
    if let Err(e) = result {
        tracing::info!("live: writing to viewer {}: {e}", ticket.id);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Sends `events` and flushes.
fn send_all(
    out: &mut impl Write,
    events: &[(usize, crate::train::Event)],
) -> Result<(), WireError> {
    for (lane, event) in events {
        let message = ToViewer::Event {
            lane: *lane,
            event: event.clone(),
        };
        wire::send(out, &message)?;
    }
    out.flush()?;
    Ok(())
}
