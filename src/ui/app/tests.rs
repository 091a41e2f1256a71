//! The dashboard state's reactions to events and keys.
use super::*;
use crate::data::own::{ImageId, OwnImage, ProbeImage};
use crate::model::{Activation, Pooling};
use crate::train::{Change, ConfusionMatrix, EpochSummary, PastView};
use crate::ui::history::PAST_RUNS;
use crate::ui::theme::{ChartMarker, ColorDepth, ThemeKind};

fn app() -> App {
    App::new(
        Arc::new(Dataset::embedded()),
        Theme::new(ThemeKind::Dark, ColorDepth::Ansi256, ChartMarker::Braille),
        KeyMap::default(),
    )
}

#[test]
fn starts_on_a_pullover_and_compares_it_with_a_coat() {
    let mut a = app();
    let labels = &a.runs.dataset.test.labels;
    assert_eq!(
        (labels[a.screen.probes[0]], labels[a.screen.probes[1]]),
        (2, 4),
        "no own images: positions are test indices"
    );
    assert_eq!(
        a.initial_commands(),
        vec![Command::SetProbes(ProbeImage::tests([a.screen.probes[0]]))]
    );
    let cmds = a.on_action(Action::Compare);
    assert_eq!(
        cmds,
        vec![Effect::Trainer(Command::SetProbes(ProbeImage::tests(
            a.screen.probes
        )))]
    );
    // Tab again: the arrows now move the right image.
    a.on_action(Action::Compare);
    let left = a.screen.probes[0];
    a.on_action(Action::NextImage);
    assert_eq!(a.screen.probes[0], left);
    assert_eq!(a.screen.compare, Compare::Right);
    a.on_action(Action::Compare);
    assert_eq!(a.screen.shown_probes().len(), 1);
}

#[test]
fn class_keys_walk_through_classes() {
    let mut a = app();
    a.on_action(Action::NextClass);
    assert_eq!(a.runs.dataset.test.labels[a.screen.probes[0]], 3);
    a.on_action(Action::PrevClass);
    a.on_action(Action::PrevClass);
    assert_eq!(a.runs.dataset.test.labels[a.screen.probes[0]], 1);
    let before = a.screen.probes[0];
    a.on_action(Action::PrevImage);
    a.on_action(Action::NextImage);
    assert_eq!(a.screen.probes[0], before);
}

#[test]
fn quit_and_restart_ask_first_while_training() {
    let mut a = app();
    a.run_mut().state = RunState::Running;
    assert!(a.on_action(Action::Quit).is_empty());
    assert_eq!(a.screen.overlay, Some(Overlay::ConfirmQuit));
    a.on_unbound_key();
    assert!(!a.should_quit && a.screen.overlay.is_none());
    a.on_action(Action::Quit);
    a.on_action(Action::Quit);
    assert!(a.should_quit);

    let mut a = app();
    a.run_mut().state = RunState::Running;
    a.on_action(Action::Restart);
    assert_eq!(a.on_action(Action::Help), Vec::new(), "another key cancels");
    a.on_action(Action::Restart);
    assert_eq!(
        a.on_action(Action::Restart),
        vec![Effect::Trainer(Command::Restart)]
    );

    let mut a = app();
    a.run_mut().state = RunState::Finished;
    a.on_action(Action::Quit);
    assert!(a.should_quit, "nothing to lose once finished");
}

#[test]
fn panel_keys_show_and_hide_panels_in_a_fixed_order() {
    let mut a = app();
    assert!(a.screen.panels.is_empty());
    assert_eq!(a.on_action(Action::ToggleKernels), vec![]);
    a.on_action(Action::ToggleProbabilities);
    a.on_action(Action::ToggleConfusion);
    a.on_action(Action::ToggleDiagnostics);
    assert_eq!(a.screen.panels, Panel::ALL);
    a.on_action(Action::ToggleProbabilities);
    assert!(!a.screen.shows(Panel::Probabilities));
    assert_eq!(
        a.screen.panels,
        [Panel::Confusion, Panel::Kernels, Panel::Diagnostics]
    );
}

/// Plays a run: progress at each quarter epoch up to `epochs`, an epoch end each.
fn play(a: &mut App, epochs: u32, loss: f64) {
    for q in 1..=epochs * 4 {
        let at = f64::from(q) / 4.0;
        a.on_event(Event::Progress(crate::train::Progress {
            epoch: at.ceil() as u32,
            at,
            batch: 1,
            batches: 4,
            train_loss: loss / at,
            train_acc: 0.5,
            examples_per_sec: 100.0,
            layers: Vec::new(),
        }));
    }
    for e in 1..=epochs {
        a.on_event(Event::EpochFinished(EpochSummary {
            epoch: e,
            train_loss: loss,
            train_acc: 0.5,
            test_acc: 0.6,
            examples_per_sec: 100.0,
            train_seconds: 1.0,
            eval_seconds: 0.1,
            layers: Vec::new(),
            class_acc: Vec::new(),
        }));
    }
}

fn restarted(a: &mut App) {
    a.on_event(Event::Changed {
        at: 1.0,
        change: Change::Restarted,
    });
}

#[test]
fn a_restart_keeps_the_earlier_runs_curves_labelled_by_their_settings() {
    let mut a = app();
    assert_eq!(a.run().curve_labels(), None, "one run: plain curve names");
    play(&mut a, 2, 2.0);
    a.on_event(Event::Confusion {
        epoch: 2,
        matrix: ConfusionMatrix::new(10),
    });
    // p, then r: the new run has max pooling; the old one started with avg.
    a.on_event(Event::Changed {
        at: 2.0,
        change: Change::Pooling(Pooling::Max),
    });
    restarted(&mut a);
    assert!(a.run().curves.loss.points().is_empty() && a.run().curves.test_acc.points().is_empty());
    assert_eq!(a.run().confusion, None, "the matrix was the old run's");
    assert_eq!(a.run().past_runs.len(), 1);
    assert_eq!(a.run().past_runs[0].curves.loss.points().len(), 8);
    assert_eq!(a.run().past_runs[0].curves.test_acc.points().len(), 2);
    assert_eq!(
        a.run().curve_labels(),
        Some((vec!["avg/sigmoid".to_string()], "max/sigmoid".to_string()))
    );
    // A restart before anything was plotted keeps no empty run.
    restarted(&mut a);
    assert_eq!(a.run().past_runs.len(), 1);
    // Only the newest few are kept.
    for _ in 0..PAST_RUNS + 2 {
        play(&mut a, 1, 1.0);
        restarted(&mut a);
    }
    assert_eq!(a.run().past_runs.len(), PAST_RUNS);
    assert!(
        a.run()
            .past_runs
            .iter()
            .all(|r| r.curves.loss.max_y() == Some(4.0))
    );
}

#[test]
fn swaps_and_learning_rate_keys_send_commands() {
    let mut a = app();
    a.run_mut().state = RunState::Running;
    let t = |c| vec![Effect::Trainer(c)];
    assert_eq!(a.on_action(Action::TogglePause), t(Command::Pause));
    assert_eq!(
        a.on_action(Action::TogglePooling),
        t(Command::SetPooling(Pooling::Max))
    );
    assert_eq!(
        a.on_action(Action::ToggleActivation),
        t(Command::SetActivation(Activation::Relu))
    );
    assert_eq!(
        a.on_action(Action::LrDown),
        t(Command::SetLearningRate(
            LearningRate::try_from(0.45).unwrap()
        ))
    );
    assert_eq!(a.on_action(Action::Screenshot), vec![Effect::Screenshot]);
    assert_eq!(a.on_action(Action::Record), vec![Effect::ToggleRecording]);
    a.on_action(Action::Quit);
    assert_eq!(
        a.on_action(Action::Screenshot),
        vec![],
        "answers the confirmation only"
    );
    a.on_event(Event::Changed {
        at: 1.5,
        change: Change::Pooling(Pooling::Max),
    });
    assert_eq!(
        a.run().changes[0],
        ChangeMark {
            at: 1.5,
            label: "pool max".into()
        }
    );
}

#[test]
fn pace_keys_halve_from_the_measured_speed_and_double_back_to_full() {
    let mut a = app();
    a.run_mut().state = RunState::Running;
    a.run_mut().examples_per_sec = Some(8000.0);
    let set = |p| vec![Effect::Trainer(Command::SetPace(p))];
    assert_eq!(a.on_action(Action::PaceDown), set(Pace::PerSecond(4000)));
    assert_eq!(a.on_action(Action::PaceDown), set(Pace::PerSecond(2000)));
    assert_eq!(a.on_action(Action::PaceDown), set(Pace::PerSecond(1000)));
    assert_eq!(
        a.run().settings.pace,
        Pace::PerSecond(1000),
        "an eighth of full speed"
    );
    a.on_event(Event::Changed {
        at: 0.5,
        change: Change::Pace(Pace::PerSecond(1000)),
    });
    assert_eq!(
        a.run().changes.last().map(|c| c.label.as_str()),
        Some("pace 1000")
    );
    assert_eq!(a.on_action(Action::PaceUp), set(Pace::PerSecond(2000)));
    assert_eq!(a.on_action(Action::PaceUp), set(Pace::PerSecond(4000)));
    assert_eq!(a.on_action(Action::PaceUp), set(Pace::Full));
    assert_eq!(a.on_action(Action::PaceUp), vec![], "already at full speed");
    assert_eq!(a.screen.status.as_deref(), Some("already at full speed"));
}

#[test]
fn step_keys_step_while_paused_and_say_so_otherwise() {
    let mut a = app();
    a.run_mut().state = RunState::Running;
    assert_eq!(a.on_action(Action::StepBatch), vec![]);
    assert_eq!(
        a.screen.status.as_deref(),
        Some("n and N step while paused (Space pauses)")
    );
    a.on_event(Event::Changed {
        at: 0.5,
        change: Change::Paused,
    });
    assert_eq!(
        a.screen.status.as_deref(),
        Some("paused: n trains one batch, N to the end of the epoch")
    );
    let t = |c| vec![Effect::Trainer(c)];
    assert_eq!(
        a.on_action(Action::StepBatch),
        t(Command::Step(Stride::Batch))
    );
    assert_eq!(
        a.on_action(Action::StepEpoch),
        t(Command::Step(Stride::Epoch))
    );
}

pub(super) fn past(at: f64) -> PastView {
    use crate::train::timeline::Moment;
    PastView {
        moment: Moment {
            at,
            epoch: at.floor() as u32 + 1,
            batch: 3,
            batches: 10,
            pooling: Pooling::Avg,
            activation: Activation::Sigmoid,
            learning_rate: 0.9,
        },
        reports: Vec::new(),
        kernels: None,
        confusion: None,
    }
}

#[test]
fn history_keys_move_a_cursor_over_the_runs_snapshots() {
    use crate::train::timeline::Seek;
    let t = |s| vec![Effect::Trainer(Command::Recall(s))];
    let mut a = app();
    a.run_mut().state = RunState::Running;
    a.run_mut().at = 1.5;
    assert_eq!(a.on_action(Action::HistoryBack), t(Seek::Before(1.5)));
    a.on_event(Event::Recalled(Some(past(1.25))));
    assert!(
        a.screen
            .status
            .as_deref()
            .unwrap()
            .starts_with("looking back")
    );
    // The cursor moves from where it is shown, not from the live position.
    a.run_mut().at = 1.7;
    assert_eq!(a.on_action(Action::HistoryBack), t(Seek::Before(1.25)));
    assert_eq!(a.on_action(Action::HistoryForward), t(Seek::After(1.25)));
    assert_eq!(a.on_action(Action::HistoryStart), t(Seek::Start));
    // Another image while looking back is shown as it was at the same moment.
    assert_eq!(
        a.on_action(Action::NextImage),
        vec![
            Effect::Trainer(a.probe_command()),
            Effect::Trainer(Command::Recall(Seek::At(1.25)))
        ]
    );
    // End is back to live at once; a live `.` or End says there is nothing further.
    assert_eq!(a.on_action(Action::HistoryEnd), vec![]);
    assert!(a.run().past.is_none());
    assert_eq!(a.screen.status.as_deref(), Some("back to live"));
    assert_eq!(a.on_action(Action::HistoryForward), vec![]);
    assert!(
        a.screen
            .status
            .as_deref()
            .unwrap()
            .starts_with("already live")
    );
    // Forward past the newest snapshot also returns to live.
    a.on_event(Event::Recalled(Some(past(1.6))));
    a.on_event(Event::Recalled(None));
    assert!(a.run().past.is_none());
}

#[test]
fn the_past_shows_instead_of_the_live_model_and_a_restart_ends_it() {
    let mut a = app();
    a.run_mut().state = RunState::Running;
    let mut then = past(0.5);
    then.confusion = Some(crate::train::timeline::EpochConfusion {
        epoch: 1,
        matrix: ConfusionMatrix::new(10),
    });
    a.on_event(Event::Confusion {
        epoch: 2,
        matrix: ConfusionMatrix::new(10),
    });
    assert_eq!(a.run().shown_confusion().map(|c| c.epoch), Some(2));
    a.on_event(Event::Recalled(Some(then)));
    assert_eq!(a.run().shown_confusion().map(|c| c.epoch), Some(1));
    a.on_event(Event::Changed {
        at: 0.0,
        change: Change::Restarted,
    });
    // A fresh run has no past to look at, nor an epoch evaluated.
    assert!(a.run().past.is_none());
    assert_eq!(a.run().shown_confusion().map(|c| c.epoch), None);
}

#[test]
fn a_replay_moves_its_play_head_and_refuses_to_change_the_run() {
    use crate::train::timeline::Seek;
    let mut a = app();
    a.runs.replay = Some("run-1".into());
    a.run_mut().state = RunState::Running;
    a.run_mut().at = 0.5;
    let t = |s| vec![Effect::Trainer(Command::Seek(s))];
    assert_eq!(a.on_action(Action::HistoryBack), t(Seek::Before(0.5)));
    assert_eq!(a.on_action(Action::HistoryForward), t(Seek::After(0.5)));
    assert_eq!(a.on_action(Action::HistoryEnd), t(Seek::End));
    for action in [
        Action::TogglePooling,
        Action::Restart,
        Action::Save,
        Action::LrUp,
    ] {
        assert_eq!(a.on_action(action), vec![], "{action:?}");
        assert!(
            a.screen
                .status
                .as_deref()
                .unwrap()
                .contains("a replay shows the run")
        );
    }
    // Ending a replay loses nothing: no confirmation.
    a.on_action(Action::Quit);
    assert!(a.should_quit);
}

fn key(code: crossterm::event::KeyCode) -> crate::ui::keys::Key {
    crate::ui::keys::Key::plain(code)
}

#[test]
fn draw_mode_captures_the_mouse_asks_the_model_and_lets_go() {
    use crossterm::event::KeyCode;
    let mut a = app();
    assert_eq!(a.on_action(Action::Draw), vec![Effect::MouseCapture(true)]);
    let id = a.screen.drawing.as_ref().unwrap().id;
    // The canvas is the left image, and the model hears of it at the next tick.
    assert!(matches!(&a.screen.shown_probes()[0], ProbeImage::Own(o) if o.id == id));
    let now = std::time::Instant::now();
    let sent = a.tick(now);
    assert!(
        matches!(&sent[..], [Effect::Trainer(Command::SetProbes(images))]
            if matches!(&images[0], ProbeImage::Own(o) if o.id == id)),
        "{sent:?}"
    );
    assert!(a.tick(now).is_empty(), "nothing new to tell");
    // Arrows move the cursor, not the image; the keymap does not see them.
    let shown = a.screen.probes;
    assert_eq!(a.on_draw_key(&key(KeyCode::Right)), Some(Vec::new()));
    assert_eq!(a.screen.probes, shown);
    assert_eq!(
        a.on_draw_key(&key(KeyCode::Char('s'))),
        None,
        "s still screenshots"
    );
    // A stroke: asked again, but not before a tenth of a second has passed.
    a.on_draw_key(&key(KeyCode::Char(' ')));
    a.on_draw_key(&key(KeyCode::Down));
    assert!(
        a.tick(now + std::time::Duration::from_millis(50))
            .is_empty()
    );
    assert_eq!(a.tick(now + std::time::Duration::from_millis(100)).len(), 1);
    // Esc: the mouse goes back to the terminal and the left image to the list.
    let effects = a.on_draw_key(&key(KeyCode::Esc)).unwrap();
    assert_eq!(effects[0], Effect::MouseCapture(false));
    assert!(a.screen.drawing.is_none());
    assert_eq!(
        a.screen.shown_probes()[0],
        ProbeImage::Test(a.screen.probes[0])
    );
}

#[test]
fn enter_keeps_a_drawing_first_and_names_it_after_its_file() {
    use crossterm::event::KeyCode;
    let mut a = app();
    a.on_action(Action::Draw);
    assert_eq!(a.on_draw_key(&key(KeyCode::Enter)), Some(Vec::new()));
    assert!(
        a.screen
            .status
            .as_deref()
            .unwrap()
            .contains("nothing drawn")
    );
    a.on_draw_key(&key(KeyCode::Char(' ')));
    let effects = a.on_draw_key(&key(KeyCode::Enter)).unwrap();
    let Some(Effect::SaveDrawing(kept)) = effects.last() else {
        panic!("{effects:?}");
    };
    assert!(effects.contains(&Effect::MouseCapture(false)));
    assert_eq!(a.screen.probes[0], 0);
    assert_eq!(a.screen.shown_probes()[0].id(), ImageId::Own(kept.id));
    a.on_effect_done(EffectDone::DrawingSaved {
        id: kept.id,
        result: Ok(("drawing_1.png".into(), "~/captures/drawing_1.png".into())),
    });
    assert_eq!(a.screen.shown_probes()[0].caption(), "drawing_1.png");
    assert!(
        a.screen
            .status
            .as_deref()
            .unwrap()
            .contains("~/captures/drawing_1.png")
    );
}

#[test]
fn the_open_prompt_reads_a_file_name_and_adds_the_image_first() {
    use crossterm::event::KeyCode;
    let mut a = app();
    a.on_action(Action::OpenImage);
    assert_eq!(a.screen.overlay, Some(Overlay::OpenImage));
    for c in "shoe.pngx".chars() {
        a.on_prompt_key(&key(KeyCode::Char(c)));
    }
    a.on_prompt_key(&key(KeyCode::Backspace));
    assert_eq!(
        a.on_prompt_key(&key(KeyCode::Enter)),
        Some(vec![Effect::OpenImage("shoe.png".into())])
    );
    assert_eq!(a.screen.overlay, None);
    assert_eq!(a.on_prompt_key(&key(KeyCode::Char('x'))), None, "closed");
    // A file that could not be read: said, and nothing changes.
    let probes = a.screen.probes;
    a.on_effect_done(EffectDone::ImageOpened(
        Err("shoe.png: not an image".into()),
    ));
    assert_eq!(
        a.screen.status.as_deref(),
        Some("cannot open: shoe.png: not an image")
    );
    assert_eq!(a.screen.probes, probes);
    // One that could: first in the list and shown, the trainer told at the next tick.
    let image = Arc::new(OwnImage::new("shoe.png", None, vec![0; 784]));
    a.on_effect_done(EffectDone::ImageOpened(Ok(image.clone())));
    assert_eq!(a.screen.shown_probes()[0].id(), ImageId::Own(image.id));
    assert!(matches!(
        &a.tick(std::time::Instant::now())[..],
        [Effect::Trainer(Command::SetProbes(_))]
    ));
}
