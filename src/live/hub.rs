//! The run's side of its viewers: every event the trainers send is kept in a
//! [`Journal`] (what a late viewer needs to draw the run from nothing) and handed to
//! each viewer's bounded queue; viewers' commands go to the trainers in the order they
//! come, and the images every screen shows are probed together.
//!
//! The trainer never waits for a viewer: an event that finds a viewer's queue full is
//! dropped for that viewer, which is marked lagging; its writer then catches it up
//! from the journal ([`Hub::catch_up`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::data::own::ProbeImage;
use crate::train::{Command, Event};

/// The most viewers a run takes at once.
pub const MAX_VIEWERS: usize = 32;
/// Events a viewer's queue holds before the viewer counts as lagging.
const QUEUE: usize = 512;
/// Progress events a journal keeps per variant before thinning the older ones.
const MAX_PROGRESS: usize = 4096;

/// Who sent a command or shows images: the run's own screen, or a viewer by id.
pub type ScreenId = u64;
/// The run's own dashboard (or headless snapshots).
pub const LOCAL: ScreenId = 0;

/// A question one screen asks a trainer; the answer goes to that screen alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    /// A look back ([`Command::Recall`]).
    Recall,
    /// The arithmetic behind a value ([`Command::Explain`]).
    Explain,
    /// The images behind a confusion cell ([`Command::Gallery`]).
    Gallery,
}

impl Question {
    const COUNT: usize = 3;

    fn asked_by(command: &Command) -> Option<Self> {
        match command {
            Command::Recall(_) => Some(Self::Recall),
            Command::Explain(_) => Some(Self::Explain),
            Command::Gallery { .. } => Some(Self::Gallery),
            _ => None,
        }
    }

    fn answered_by(event: &Event) -> Option<Self> {
        match event {
            Event::Recalled(_) => Some(Self::Recall),
            Event::Explained(_) => Some(Self::Explain),
            Event::Gallery(_) => Some(Self::Gallery),
            _ => None,
        }
    }
}

/// What the run keeps of one variant's events for viewers that come late.
#[derive(Debug, Default)]
pub struct Journal {
    /// Events that add to the run's story, in order: start, progress, epochs,
    /// changes, the end.
    story: Vec<Event>,
    /// Of the events that replace each other, the newest.
    layers: Option<Event>,
    confusion: Option<Event>,
    saved: Option<Event>,
    activations: Option<Event>,
    gpu: Option<Event>,
}

impl Journal {
    /// Keeps what `event` adds to the run's state.
    pub fn record(&mut self, event: &Event) {
        let slot = match event {
            Event::Layers(_) => &mut self.layers,
            Event::Confusion { .. } => &mut self.confusion,
            Event::Saved(_) => &mut self.saved,
            Event::Activations { .. } => &mut self.activations,
            Event::Gpu(_) => &mut self.gpu,
            // Answers to one screen, or news of the moment: not part of the story.
            Event::Saving(_)
            | Event::Rejected(_)
            | Event::Recalled(_)
            | Event::Explained(_)
            | Event::Gallery(_)
            | Event::Seeked { .. }
            | Event::Warning { .. }
            | Event::SaveFailed { .. }
            | Event::CatchUp
            | Event::CaughtUp => return,
            Event::Restored(_) => {
                // A restored checkpoint carries the run's history: what came before is
                // in it, bar the start.
                self.story.retain(|e| matches!(e, Event::Started(_)));
                self.story.push(event.clone());
                return;
            }
            _ => {
                self.story.push(event.clone());
                self.thin();
                return;
            }
        };
        *slot = Some(event.clone());
    }

    /// Every other progress event of the older half goes once there are too many:
    /// the curves keep their shape, the epochs' figures stay whole.
    fn thin(&mut self) {
        let progress = |e: &Event| matches!(e, Event::Progress(_));
        if self.story.iter().filter(|e| progress(e)).count() <= MAX_PROGRESS {
            return;
        }
        let half = self.story.len() / 2;
        let mut seen = 0usize;
        let mut index = 0usize;
        self.story.retain(|e| {
            let keep = index >= half || !progress(e) || {
                seen += 1;
                seen.is_multiple_of(2)
            };
            index += 1;
            keep
        });
    }

    /// The events that bring a fresh view to the run's state now.
    pub fn replay(&self) -> impl Iterator<Item = &Event> {
        let latest = [
            &self.layers,
            &self.confusion,
            &self.saved,
            &self.gpu,
            &self.activations,
        ];
        self.story.iter().chain(latest.into_iter().flatten())
    }
}

/// What a viewer's writer sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// Variant `lane`'s event.
    Event(usize, Event),
    /// A command of this viewer's was not taken, and why.
    Declined(String),
}

/// A viewer let in: its id, its queue, and whether it fell behind.
#[derive(Debug)]
pub struct Ticket {
    /// Its id.
    pub id: ScreenId,
    /// What to send it, in order, after the catch-up.
    pub queue: Receiver<Outgoing>,
    /// The catch-up: each variant's journal, as `(lane, event)`.
    pub catch_up: Vec<(usize, Event)>,
    /// Set when an event found the queue full: catch up again.
    pub lagging: Arc<AtomicBool>,
}

struct Viewer {
    id: ScreenId,
    queue: Sender<Outgoing>,
    lagging: Arc<AtomicBool>,
    control: bool,
}

struct State {
    journals: Vec<Journal>,
    viewers: Vec<Viewer>,
    next_id: ScreenId,
    /// The images each screen shows.
    probes: BTreeMap<ScreenId, Vec<ProbeImage>>,
    commanders: Vec<Sender<Command>>,
    /// Per variant and [`Question`], the screen whose question the trainer answers
    /// next: the answer goes to that screen alone.
    asking: Vec<[ScreenId; Question::COUNT]>,
}

/// The run's viewers and what they are sent; shared by the loop that takes the
/// trainers' events and the threads that serve the viewers.
pub struct Hub {
    state: Mutex<State>,
}

impl Hub {
    /// A hub for trainers taking commands on `commanders` (one per variant).
    pub fn new(commanders: Vec<Sender<Command>>) -> Self {
        Self {
            state: Mutex::new(State {
                journals: commanders.iter().map(|_| Journal::default()).collect(),
                viewers: Vec::new(),
                next_id: LOCAL + 1,
                probes: BTreeMap::new(),
                asking: vec![[LOCAL; Question::COUNT]; commanders.len()],
                commanders,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A viewer's thread that panicked leaves the state whole: every change is one
        // push or one swap.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps variant `lane`'s `event` and hands it to every viewer, never waiting;
    /// whether the run's own screen takes it too (an answer to a viewer's look back
    /// goes to that viewer alone).
    pub fn publish(&self, lane: usize, event: &Event) -> bool {
        let mut state = self.lock();
        if let Some(journal) = state.journals.get_mut(lane) {
            journal.record(event);
        }
        let to = Question::answered_by(event)
            .and_then(|q| state.asking.get(lane).map(|asking| asking[q as usize]));
        for viewer in state
            .viewers
            .iter()
            .filter(|v| to.is_none_or(|id| id == v.id))
        {
            if viewer.lagging.load(Ordering::Relaxed) {
                continue;
            }
            match viewer.queue.try_send(Outgoing::Event(lane, event.clone())) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(_)) => viewer.lagging.store(true, Ordering::Relaxed),
            }
        }
        to.is_none_or(|id| id == LOCAL)
    }

    /// The run's own screen sends `command` to variant `lane`'s trainer itself; the
    /// answer to its question is then its own.
    pub fn local_command(&self, lane: usize, command: &Command) {
        if let Some(q) = Question::asked_by(command)
            && let Some(asking) = self.lock().asking.get_mut(lane)
        {
            asking[q as usize] = LOCAL;
        }
    }

    /// Lets a viewer in (`control` when its commands are taken), with the run so far;
    /// `Err` says why not.
    pub fn join(&self, control: bool) -> Result<Ticket, String> {
        let mut state = self.lock();
        if state.viewers.len() >= MAX_VIEWERS {
            return Err(format!(
                "the run has {MAX_VIEWERS} viewers already, the most it takes"
            ));
        }
        let id = state.next_id;
        state.next_id += 1;
        let (queue, receiver) = crossbeam_channel::bounded(QUEUE);
        let lagging = Arc::new(AtomicBool::new(false));
        state.viewers.push(Viewer {
            id,
            queue,
            lagging: Arc::clone(&lagging),
            control,
        });
        Ok(Ticket {
            id,
            queue: receiver,
            catch_up: catch_up(&state.journals),
            lagging,
        })
    }

    /// For a lagging viewer: empties its queue and returns the run so far, in one step
    /// so that no event is both in the catch-up and still queued.
    pub fn catch_up(&self, ticket: &Ticket) -> Vec<(usize, Event)> {
        let state = self.lock();
        while ticket.queue.try_recv().is_ok() {}
        ticket.lagging.store(false, Ordering::Relaxed);
        catch_up(&state.journals)
    }

    /// The viewer `id` has gone: its queue closes and its images are no longer probed.
    pub fn leave(&self, id: ScreenId) {
        let mut state = self.lock();
        state.viewers.retain(|v| v.id != id);
        if state.probes.remove(&id).is_some() {
            send_probes(&state);
        }
    }

    /// Viewers attached now.
    pub fn viewers(&self) -> usize {
        self.lock().viewers.len()
    }

    /// Carries out viewer `id`'s command for variant `lane`, if the viewer may
    /// control the run and the command is one a viewer may give.
    pub fn command(&self, id: ScreenId, lane: usize, command: Command) {
        let mut state = self.lock();
        let Some(viewer) = state.viewers.iter().find(|v| v.id == id) else {
            return;
        };
        // Questions (looking back, explaining) are a screen's own business: any
        // viewer may ask.
        let question = Question::asked_by(&command);
        let refusal = if !viewer.control && question.is_none() {
            Some("view only: this viewer cannot change the run".to_string())
        } else if matches!(command, Command::Stop) {
            Some("a viewer leaves with q; `lenet-tui stop` ends the run".to_string())
        } else {
            None
        };
        if let Some(why) = refusal {
            let _ = viewer.queue.try_send(Outgoing::Declined(why));
            return;
        }
        if let Command::SetProbes(_) = command {
            return; // Images come as `set_probes`, to be shown together.
        }
        if let Some(q) = question
            && let Some(asking) = state.asking.get_mut(lane)
        {
            asking[q as usize] = id;
        }
        if let Some(commander) = state.commanders.get(lane) {
            let _ = commander.send(command);
        }
    }

    /// Screen `id` shows `images`: the trainers probe every screen's together.
    pub fn set_probes(&self, id: ScreenId, images: Vec<ProbeImage>) {
        let mut state = self.lock();
        state.probes.insert(id, images);
        send_probes(&state);
    }
}

/// Every screen's images, each once, to every trainer.
fn send_probes(state: &State) {
    let mut all: Vec<ProbeImage> = Vec::new();
    for image in state.probes.values().flatten() {
        if !all.iter().any(|i| i.id() == image.id()) {
            all.push(image.clone());
        }
    }
    for commander in &state.commanders {
        let _ = commander.send(Command::SetProbes(all.clone()));
    }
}

/// Each variant's journal as `(lane, event)`, starting with a [`Event::CatchUp`] each.
fn catch_up(journals: &[Journal]) -> Vec<(usize, Event)> {
    journals
        .iter()
        .enumerate()
        .flat_map(|(lane, j)| {
            let story = j.replay().map(move |e| (lane, e.clone()));
            std::iter::once((lane, Event::CatchUp))
                .chain(story)
                .chain(std::iter::once((lane, Event::CaughtUp)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::own::ImageId;
    use crate::train::{Change, Progress};

    fn progress(at: f64) -> Event {
        Event::Progress(Progress {
            epoch: at.ceil() as u32,
            at,
            batch: 1,
            batches: 10,
            train_loss: 1.0,
            train_acc: 0.5,
            examples_per_sec: 100.0,
            layers: Vec::new(),
        })
    }

    fn layers() -> Event {
        Event::Layers(crate::model::LayerTable {
            input: vec![1, 1, 28, 28],
            layers: Vec::new(),
        })
    }

    fn paused() -> Event {
        Event::Changed {
            at: 0.2,
            change: Change::Paused,
        }
    }

    #[test]
    fn a_late_viewer_gets_the_story_and_the_newest_of_the_rest() {
        let hub = Hub::new(vec![crossbeam_channel::unbounded().0]);
        hub.publish(0, &progress(0.1));
        hub.publish(0, &layers());
        hub.publish(0, &paused());
        hub.publish(0, &Event::Rejected("no".into()));
        hub.publish(0, &layers());
        let ticket = hub.join(true).unwrap();
        let events: Vec<&Event> = ticket.catch_up.iter().map(|(_, e)| e).collect();
        assert_eq!(events.len(), 5, "{events:?}");
        assert_eq!(events[4], &Event::CaughtUp);
        assert_eq!(events[0], &Event::CatchUp);
        assert_eq!(events[1], &progress(0.1));
        assert_eq!(events[2], &paused());
        assert!(matches!(events[3], Event::Layers(_)));
        hub.publish(0, &progress(0.2));
        assert_eq!(
            ticket.queue.try_recv().unwrap(),
            Outgoing::Event(0, progress(0.2))
        );
    }

    #[test]
    fn a_full_queue_marks_the_viewer_lagging_and_never_blocks() {
        let hub = Hub::new(vec![crossbeam_channel::unbounded().0]);
        let ticket = hub.join(false).unwrap();
        for i in 0..QUEUE + 10 {
            hub.publish(0, &progress(i as f64 / 100.0));
        }
        assert!(ticket.lagging.load(Ordering::Relaxed));
        let caught = hub.catch_up(&ticket);
        assert!(!ticket.lagging.load(Ordering::Relaxed));
        assert!(ticket.queue.try_recv().is_err(), "the queue is emptied");
        assert_eq!(caught.len(), 2 + QUEUE + 10);
        hub.publish(0, &paused());
        assert_eq!(
            ticket.queue.try_recv().unwrap(),
            Outgoing::Event(0, paused())
        );
    }

    #[test]
    fn view_only_viewers_are_declined_and_controllers_reach_the_trainer() {
        let (commands, trainer) = crossbeam_channel::unbounded();
        let hub = Hub::new(vec![commands]);
        let viewer = hub.join(false).unwrap();
        let controller = hub.join(true).unwrap();
        hub.command(viewer.id, 0, Command::Pause);
        assert!(matches!(viewer.queue.try_recv(), Ok(Outgoing::Declined(_))));
        assert!(trainer.try_recv().is_err());
        hub.command(controller.id, 0, Command::Stop);
        assert!(matches!(
            controller.queue.try_recv(),
            Ok(Outgoing::Declined(_))
        ));
        hub.command(controller.id, 0, Command::Pause);
        assert_eq!(trainer.try_recv().unwrap(), Command::Pause);
        assert_eq!(hub.viewers(), 2);
        hub.leave(viewer.id);
        assert_eq!(hub.viewers(), 1);
    }

    #[test]
    fn the_viewer_past_the_most_is_refused() {
        let hub = Hub::new(vec![crossbeam_channel::unbounded().0]);
        let tickets: Vec<Ticket> = (0..MAX_VIEWERS).map(|_| hub.join(false).unwrap()).collect();
        let refused = hub.join(true).unwrap_err();
        assert!(refused.contains("32 viewers"), "{refused}");
        hub.leave(tickets[0].id);
        assert!(hub.join(true).is_ok(), "a place freed is taken");
    }

    #[test]
    fn a_look_back_is_answered_to_the_screen_that_asked() {
        let (commands, trainer) = crossbeam_channel::unbounded();
        let hub = Hub::new(vec![commands]);
        let asker = hub.join(false).unwrap();
        let other = hub.join(true).unwrap();
        let seek = crate::train::timeline::Seek::Start;
        hub.command(asker.id, 0, Command::Recall(seek));
        assert_eq!(trainer.try_recv().unwrap(), Command::Recall(seek));
        let answer = Event::Recalled(None);
        assert!(!hub.publish(0, &answer), "not the run's own screen's");
        assert_eq!(
            asker.queue.try_recv().unwrap(),
            Outgoing::Event(0, answer.clone())
        );
        assert!(other.queue.try_recv().is_err());
        hub.local_command(0, &Command::Recall(seek));
        assert!(hub.publish(0, &answer));
        assert!(asker.queue.try_recv().is_err());
    }

    #[test]
    fn each_question_is_answered_to_its_own_asker_and_never_journaled() {
        use crate::model::explain::Cell;
        use crate::train::{ExplainAsk, Explained, Gallery};
        let (commands, trainer) = crossbeam_channel::unbounded();
        let hub = Hub::new(vec![commands]);
        // View-only viewers may ask: questions change nothing in the run.
        let explaining = hub.join(false).unwrap();
        let gallery = hub.join(false).unwrap();
        let ask = ExplainAsk {
            image: ProbeImage::Test(5),
            cell: Cell::Output,
            at: None,
        };
        hub.command(explaining.id, 0, Command::Explain(ask.clone()));
        hub.command(
            gallery.id,
            0,
            Command::Gallery {
                truth: 6,
                predicted: 0,
            },
        );
        assert_eq!(trainer.try_recv().unwrap(), Command::Explain(ask));
        assert!(matches!(trainer.try_recv(), Ok(Command::Gallery { .. })));
        let explained = Event::Explained(Explained {
            image: ImageId::Test(5),
            cell: Cell::Output,
            at: None,
            work: Err("no".into()),
        });
        let images = Event::Gallery(Gallery {
            epoch: 1,
            truth: 6,
            predicted: 0,
            images: vec![(17, 0.5)],
        });
        assert!(!hub.publish(0, &images), "not the run's own screen's");
        assert!(!hub.publish(0, &explained));
        assert_eq!(
            explaining.queue.try_recv().unwrap(),
            Outgoing::Event(0, explained)
        );
        assert!(explaining.queue.try_recv().is_err());
        assert_eq!(
            gallery.queue.try_recv().unwrap(),
            Outgoing::Event(0, images)
        );
        // A screen that comes later is not told what others asked.
        let late = hub.join(true).unwrap();
        assert!(
            late.catch_up
                .iter()
                .all(|(_, e)| !matches!(e, Event::Explained(_) | Event::Gallery(_)))
        );
    }

    #[test]
    fn every_screens_images_are_probed_together() {
        let (commands, trainer) = crossbeam_channel::unbounded();
        let hub = Hub::new(vec![commands]);
        hub.set_probes(LOCAL, vec![ProbeImage::Test(3)]);
        let viewer = hub.join(true).unwrap();
        hub.set_probes(viewer.id, vec![ProbeImage::Test(3), ProbeImage::Test(9)]);
        let last = trainer.try_iter().last().unwrap();
        assert_eq!(
            last,
            Command::SetProbes(vec![ProbeImage::Test(3), ProbeImage::Test(9)])
        );
        hub.leave(viewer.id);
        let last = trainer.try_iter().last().unwrap();
        assert_eq!(last, Command::SetProbes(vec![ProbeImage::Test(3)]));
    }

    #[test]
    fn many_progress_events_are_thinned_in_the_older_half() {
        let mut journal = Journal::default();
        for i in 0..=MAX_PROGRESS {
            journal.record(&progress(i as f64));
        }
        let kept = journal.replay().count();
        assert!(kept < MAX_PROGRESS && kept > MAX_PROGRESS / 2, "{kept}");
        let Some(Event::Progress(last)) = journal.replay().last() else {
            panic!("the newest stays");
        };
        assert_eq!(last.at, MAX_PROGRESS as f64);
    }
}
