//! Inside the network (issue 35) in the dashboard: the arithmetic behind a value, as the
//! trainer answers it, equals what the activations and probabilities show; the images
//! behind a confusion cell are exactly the ones the cell counts; and in a real
//! terminal, `x` and `c` … `Enter` show both.

use std::time::Duration;

use lenet_tui::data::Dataset;
use lenet_tui::data::own::ProbeImage;
use lenet_tui::model::explain::{Cell, Explanation};
use lenet_tui::train::{
    BatchSize, Command, ConfusionMatrix, Epochs, Event, ExplainAsk, Explained, ProbeReport,
    TrainSettings, TrainerHandle,
};

use crate::tmux_e2e::Tmux;
use crate::trainer_thread::{next_matching, trainer};

/// One epoch of the embedded subset, then the trainer waits for commands.
fn trained_for_an_epoch() -> (TrainerHandle, ConfusionMatrix) {
    let settings = TrainSettings {
        epochs: Epochs::try_from(1).unwrap(),
        batch_size: BatchSize::try_from(64).unwrap(),
        ..TrainSettings::default()
    };
    let t = trainer(settings);
    let mut matrix = None;
    loop {
        match next_matching(&t, |e| {
            matches!(e, Event::Confusion { .. } | Event::Finished(_))
        }) {
            Event::Confusion { matrix: m, .. } => matrix = Some(m),
            _ => return (t, matrix.expect("the epoch's matrix came first")),
        }
    }
}

fn explain(t: &TrainerHandle, image: usize, cell: Cell, at: Option<f64>) -> Explained {
    assert!(t.send(Command::Explain(ExplainAsk {
        image: ProbeImage::Test(image),
        cell,
        at,
    })));
    match next_matching(t, |e| matches!(e, Event::Explained(_) | Event::Rejected(_))) {
        Event::Explained(answer) => answer,
        other => panic!("{cell:?}: {other:?}"),
    }
}

fn probe(t: &TrainerHandle, image: usize) -> ProbeReport {
    assert!(t.send(Command::SetProbes(ProbeImage::tests([image]))));
    match next_matching(t, |e| matches!(e, Event::Activations { .. })) {
        Event::Activations { mut reports, .. } => reports.remove(0),
        _ => unreachable!(),
    }
}

#[test]
fn the_arithmetic_the_trainer_answers_equals_the_activations_and_probabilities_shown() {
    let (t, _) = trained_for_an_epoch();
    let report = probe(&t, 5);
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5;
    for (layer, map, at) in [
        (1, 3, (10, 12)),
        (1, 0, (0, 0)),
        (2, 7, (4, 6)),
        (2, 15, (9, 9)),
    ] {
        let answer = explain(&t, 5, Cell::Conv { layer, map, at }, None);
        let Ok(Explanation::Conv(work)) = answer.work else {
            panic!("{answer:?}")
        };
        let maps = if layer == 1 {
            &report.probe.layer1
        } else {
            &report.probe.layer2
        };
        let shown = maps.channel(map)[at.0 * maps.width + at.1];
        assert!(
            close(work.act, shown),
            "layer {layer} map {map} {at:?}: {} explained, {shown} shown",
            work.act
        );
        let sum: f32 = work.partial.iter().sum::<f32>() + work.bias;
        assert!(close(sum, work.pre));
    }
    let answer = explain(&t, 5, Cell::Output, None);
    let Ok(Explanation::Output(out)) = answer.work else {
        panic!("{answer:?}")
    };
    for (explained, shown) in out.probs.iter().zip(&report.probe.probabilities) {
        assert!(
            close(*explained, *shown),
            "{:?} vs {:?}",
            out.probs,
            report.probe.probabilities
        );
    }
    assert_eq!(out.top, report.predicted);
    // A cell outside the maps is answered with the reason, naming it.
    let bad = explain(
        &t,
        5,
        Cell::Conv {
            layer: 1,
            map: 6,
            at: (0, 0),
        },
        None,
    );
    assert!(
        bad.work.as_ref().is_err_and(|why| why.contains("map 6")),
        "{bad:?}"
    );
    // With the weights of a snapshot: the fresh weights' activations, not today's.
    assert!(t.send(Command::Recall(lenet_tui::train::timeline::Seek::Start)));
    let Event::Recalled(Some(then)) = next_matching(&t, |e| matches!(e, Event::Recalled(_))) else {
        panic!("the first snapshot")
    };
    let cell = Cell::Conv {
        layer: 1,
        map: 3,
        at: (10, 12),
    };
    let past = explain(&t, 5, cell, Some(0.0));
    assert_eq!(past.at, Some(0.0));
    let Ok(Explanation::Conv(work)) = past.work else {
        panic!("{past:?}")
    };
    let fresh = then.reports[0].probe.layer1.channel(3)[10 * 28 + 12];
    assert!(close(work.act, fresh), "{} vs {fresh}", work.act);
    assert!(!close(
        work.act,
        report.probe.layer1.channel(3)[10 * 28 + 12]
    ));
}

#[test]
fn the_gallery_behind_a_confusion_cell_holds_exactly_the_images_it_counts() {
    let (t, matrix) = trained_for_an_epoch();
    let test = Dataset::embedded().test;
    let worst = matrix.most_confused().expect("an epoch makes mistakes");
    for (truth, predicted) in [
        (worst.truth, worst.predicted),
        (3, 3),
        (worst.truth, worst.truth),
    ] {
        assert!(t.send(Command::Gallery { truth, predicted }));
        let Event::Gallery(g) =
            next_matching(&t, |e| matches!(e, Event::Gallery(_) | Event::Rejected(_)))
        else {
            panic!("a gallery for {truth} → {predicted}")
        };
        assert_eq!((g.epoch, g.truth, g.predicted), (1, truth, predicted));
        assert_eq!(g.images.len() as u64, matrix.count(truth, predicted));
        for &(index, p) in &g.images {
            assert_eq!(usize::from(test.labels[index]), truth);
            assert!(p > 0.0 && p <= 1.0, "image {index}: {p}");
        }
    }
}

/// The text screenshot the dashboard saved last.
fn newest_text_shot(dir: &std::path::Path) -> String {
    let newest = std::fs::read_dir(dir.join("captures"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .expect("a text screenshot");
    std::fs::read_to_string(newest).unwrap()
}

#[test]
fn x_explains_a_value_and_enter_on_a_confusion_cell_shows_its_images() {
    let home = tempfile::tempdir().unwrap();
    let Some(t) = Tmux::launch(
        home.path(),
        "",
        "train --data embedded --epochs 1 --capture-dir CAPTURES",
    ) else {
        return;
    };
    t.wait_for("the run to finish", |s| s.contains("finished"));
    t.keys(&["x"]);
    t.keys(&["Right", "Right", "Down"]);
    let screen = t.wait_for("the arithmetic", |s| s.contains("pre-activation"));
    assert!(screen.contains("row 15 (0–27), col 16 (0–27)"), "{screen}");
    t.keys(&["s"]);
    t.wait_for("the screenshot", |s| s.contains("saved "));
    let shot = newest_text_shot(home.path());
    for word in [
        "kernel",
        "bias",
        "patch",
        "pre-activation",
        "activation",
        "pooling",
    ] {
        assert!(shot.contains(word), "no {word} in the screenshot:\n{shot}");
    }
    t.keys(&["Escape"]);
    // Apart, so that the terminal does not read Esc c as Alt-c.
    std::thread::sleep(Duration::from_millis(300));
    t.keys(&["c"]);
    // The cursor starts on the most confused cell, named under the matrix with its
    // count; one to the left is another cell of the same row.
    let screen = t.wait_for("the cursor", |s| s.contains("shows them"));
    t.keys(&["Left"]);
    std::thread::sleep(Duration::from_millis(300));
    let screen = t.wait_for("the cursor moved", |s| {
        s.contains("shows them") && s != screen
    });
    let line = screen
        .lines()
        .find(|l| l.contains("shows them"))
        .unwrap()
        .to_string();
    // `Shirt → T-shirt/top: 152 · Enter shows them`, beside other panels' text.
    let end = line.find(" · Enter shows them").unwrap();
    let count: u64 = line[..end]
        .rsplit(": ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a count in {line:?}"));
    t.keys(&["Enter"]);
    let gallery = t.wait_for("the gallery", |s| s.contains(" images · epoch 1"));
    let title = gallery
        .lines()
        .find(|l| l.contains(" images · epoch 1"))
        .unwrap();
    assert!(
        title.contains(&format!(": {count} images")),
        "the gallery's count is the cell's ({count}): {title}"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), "0");
}
