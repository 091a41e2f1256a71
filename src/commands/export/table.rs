//! A saved run's scalars as a table: one row per finished epoch or per logged progress
//! report, each with the settings in force when its figures were taken, rendered as
//! CSV (the `csv` crate) or JSON lines with the same columns. Kept apart from finding
//! runs and writing files so it can be tested on made-up histories.
//!
//! The settings a row carries are those its last batch trained with. A run records
//! them in two places: its setting changes (pooling, activation, learning rate, pace),
//! each marked at its position, and the snapshots of its saved history, each with the
//! pooling, activation and learning rate in force when it was taken (a resume that
//! changed a setting from the command line leaves no marker, but its snapshots still
//! tell). Either holds from its position on: a change at 2.0 is made after epoch 2's
//! last batch, so epoch 2's row still has the old value. A setting never changed keeps
//! the checkpoint's value throughout; one changed during a run without saved history
//! is unknown before its first change, and its cells are left empty there.

use std::fmt::Write as _;

use crate::model::{Activation, Pooling};
use crate::train::checkpoint::Meta;
use crate::train::timeline::Moment;
use crate::train::{Change, MarkedChange, Pace};

/// Positions closer than this (in epochs) are the same moment, as in the timeline.
const SAME_MOMENT: f64 = 1e-9;

/// The settings in force, each `None` where the run's records do not tell.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InForce {
    /// SGD learning rate.
    pub lr: Option<f64>,
    /// Pooling.
    pub pool: Option<Pooling>,
    /// Activation.
    pub act: Option<Activation>,
    /// Pace.
    pub pace: Option<Pace>,
}

/// What a snapshot or a change says about the settings from its position on.
#[derive(Debug, Clone, PartialEq)]
enum Said {
    Snapshot(Moment),
    Change(Change),
}

/// A run's settings over its course, from its checkpoint and its saved snapshots.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsLog {
    first: InForce,
    said: Vec<(f64, Said)>,
}

impl SettingsLog {
    /// The log of the run `meta` describes; `moments` are its saved snapshots' (none
    /// when it has no readable history).
    pub fn new(meta: &Meta, moments: &[Moment]) -> Self {
        let changes = &meta.history.changes;
        let never = |kind: fn(&Change) -> bool| !changes.iter().any(|c| kind(&c.change));
        let s = &meta.settings;
        let first = InForce {
            lr: never(|c| matches!(c, Change::LearningRate(_))).then(|| s.learning_rate.get()),
            pool: never(|c| matches!(c, Change::Pooling(_))).then_some(s.pooling),
            act: never(|c| matches!(c, Change::Activation(_))).then_some(s.activation),
            pace: never(|c| matches!(c, Change::Pace(_))).then_some(s.pace),
        };
        let mut said: Vec<(f64, Said)> = moments
            .iter()
            .map(|m| (m.at, Said::Snapshot(*m)))
            .chain(
                changes
                    .iter()
                    .map(|MarkedChange { at, change }| (*at, Said::Change(change.clone()))),
            )
            .collect();
        // A stable sort: at one position the snapshot goes first, the change after it
        // (a rewind snapshots the old rate, then marks the lowered one).
        said.sort_by(|a, b| {
            let rank = |s: &Said| matches!(s, Said::Change(_));
            a.0.total_cmp(&b.0).then(rank(&a.1).cmp(&rank(&b.1)))
        });
        Self { first, said }
    }

    /// The settings the batch ending at `at` (epochs) trained with.
    pub fn at(&self, at: f64) -> InForce {
        let mut now = self.first;
        for (_, said) in self
            .said
            .iter()
            .take_while(|(when, _)| *when < at - SAME_MOMENT)
        {
            match said {
                Said::Snapshot(m) => {
                    now.lr = Some(m.learning_rate);
                    now.pool = Some(m.pooling);
                    now.act = Some(m.activation);
                }
                Said::Change(Change::LearningRate(lr)) => now.lr = Some(*lr),
                Said::Change(Change::Pooling(p)) => now.pool = Some(*p),
                Said::Change(Change::Activation(a)) => now.act = Some(*a),
                Said::Change(Change::Pace(p)) => now.pace = Some(*p),
                Said::Change(_) => {}
            }
        }
        now
    }
}

/// One cell of the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Not known or not applicable: empty in CSV, null in JSON.
    Empty,
    /// A count.
    Int(u64),
    /// A figure, written to the last digit that tells it apart (it reads back exactly).
    Float(f64),
    /// A word.
    Text(String),
}

impl Cell {
    fn of<T>(value: Option<T>, cell: impl FnOnce(T) -> Cell) -> Cell {
        value.map_or(Cell::Empty, cell)
    }

    /// As CSV writes it.
    fn csv(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }

    /// As JSON writes it (NaN and infinities, which JSON lacks, as null).
    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Empty => serde_json::Value::Null,
            Cell::Int(n) => (*n).into(),
            Cell::Float(v) => (*v).into(),
            Cell::Text(s) => s.as_str().into(),
        }
    }
}

/// One run to export: its checkpoint's metadata, its settings over time and, for a
/// race's variant, its label.
pub struct Source<'a> {
    /// The variant's label, for a race.
    pub variant: Option<&'a str>,
    /// The newest checkpoint's metadata: settings, position, data and history.
    pub meta: &'a Meta,
    /// The settings over the run.
    pub settings: SettingsLog,
}

/// The columns and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The header.
    pub columns: Vec<String>,
    /// The rows, each as long as the header.
    pub rows: Vec<Vec<Cell>>,
}

/// The columns every export has, after `variant` (a race's) and before the classes'.
pub const COLUMNS: [&str; 14] = [
    "epoch",
    "batch",
    "at",
    "step",
    "examples_seen",
    "train_loss",
    "train_acc",
    "test_acc",
    "lr",
    "pool",
    "act",
    "pace",
    "examples_per_sec",
    "batch_size",
];

/// Where a row stands and what it measured, before the settings are added.
struct Figures<'a> {
    epoch: u32,
    batch: usize,
    at: f64,
    train_loss: f64,
    train_acc: f64,
    test_acc: Option<f64>,
    examples_per_sec: f64,
    class_acc: &'a [f64],
}

/// The table of `sources`: their epochs, or (`batches`) their progress reports, in
/// order, one source after the other. A `variant` column leads when any source is a
/// race's variant; a `test_acc_<class>` column per class follows when any epoch has
/// per-class accuracies.
pub fn table(sources: &[Source<'_>], batches: bool) -> Table {
    let race = sources.iter().any(|s| s.variant.is_some());
    let classes: &[String] = sources
        .iter()
        .find(|s| {
            s.meta
                .history
                .epochs
                .iter()
                .any(|e| !e.class_acc.is_empty())
        })
        .map_or(&[], |s| &s.meta.data.classes);
    let mut columns: Vec<String> = race.then(|| "variant".to_string()).into_iter().collect();
    columns.extend(COLUMNS.iter().map(|c| c.to_string()));
    columns.extend(classes.iter().map(|c| format!("test_acc_{c}")));
    let mut rows = Vec::new();
    for source in sources {
        let h = &source.meta.history;
        let figures: Vec<Figures<'_>> = if batches {
            h.progress
                .iter()
                .map(|p| Figures {
                    epoch: p.epoch,
                    batch: p.batch,
                    at: p.at,
                    train_loss: p.train_loss,
                    train_acc: p.train_acc,
                    test_acc: None,
                    examples_per_sec: p.examples_per_sec,
                    class_acc: &[],
                })
                .collect()
        } else {
            let per_epoch = source.meta.position.batches;
            h.epochs
                .iter()
                .map(|e| Figures {
                    epoch: e.epoch,
                    batch: per_epoch,
                    at: f64::from(e.epoch),
                    train_loss: e.train_loss,
                    train_acc: e.train_acc,
                    test_acc: Some(e.test_acc),
                    examples_per_sec: e.examples_per_sec,
                    class_acc: &e.class_acc,
                })
                .collect()
        };
        for f in figures {
            let mut row: Vec<Cell> = race
                .then(|| Cell::of(source.variant, |v| Cell::Text(v.into())))
                .into_iter()
                .collect();
            row.extend(cells(source, &f));
            row.extend(
                (0..classes.len()).map(|i| Cell::of(f.class_acc.get(i), |a| Cell::Float(*a))),
            );
            rows.push(row);
        }
    }
    Table { columns, rows }
}

/// A row's cells in [`COLUMNS`]' order.
fn cells(source: &Source<'_>, f: &Figures<'_>) -> [Cell; 14] {
    let meta = source.meta;
    let per_epoch = meta.position.batches.max(1) as u64;
    let train = meta.data.train_examples as u64;
    let batch_size = u64::from(meta.settings.batch_size.get());
    let done = u64::from(f.epoch.saturating_sub(1));
    // The last batch of an epoch keeps the remainder, so the epoch's own count is capped.
    let seen = done * train + (f.batch as u64 * batch_size).min(train);
    let s = source.settings.at(f.at);
    [
        Cell::Int(u64::from(f.epoch)),
        Cell::Int(f.batch as u64),
        Cell::Float(f.at),
        Cell::Int(done * per_epoch + f.batch as u64),
        Cell::Int(seen),
        Cell::Float(f.train_loss),
        Cell::Float(f.train_acc),
        Cell::of(f.test_acc, Cell::Float),
        Cell::of(s.lr, Cell::Float),
        Cell::of(s.pool, |p| Cell::Text(p.to_string())),
        Cell::of(s.act, |a| Cell::Text(a.to_string())),
        Cell::of(s.pace, |p| match p {
            Pace::Full => Cell::Text("full".into()),
            Pace::PerSecond(n) => Cell::Int(u64::from(n)),
        }),
        Cell::Float(f.examples_per_sec),
        Cell::Int(batch_size),
    ]
}

impl Table {
    /// The table as CSV: the header, then the rows.
    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&self.columns)?;
        for row in &self.rows {
            out.write_record(row.iter().map(Cell::csv))?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }

    /// The table as JSON lines: one object per row, its keys the columns in order.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            let fields: Vec<String> = self
                .columns
                .iter()
                .zip(row)
                .map(|(k, v)| format!("{}:{}", serde_json::Value::from(k.as_str()), v.json()))
                .collect();
            let _ = writeln!(out, "{{{}}}", fields.join(","));
        }
        out
    }

    /// Which of the settings' columns have an empty cell: what the run's records do
    /// not tell.
    pub fn unknown_settings(&self) -> Vec<&str> {
        ["lr", "pool", "act", "pace"]
            .into_iter()
            .filter(|name| {
                let Some(i) = self.columns.iter().position(|c| c == name) else {
                    return false;
                };
                self.rows.iter().any(|r| r[i] == Cell::Empty)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Architecture;
    use crate::train::checkpoint::{self, DataFacts, Position, WeightsFacts};
    use crate::train::{EpochSummary, History, Progress, SaveReason, TrainSettings};

    /// A run of 3 epochs of 24 batches (6,000 images in batches of 256, the last
    /// batch 112), ending with max pooling and lr 0.1 after the changes given.
    fn meta(changes: Vec<MarkedChange>) -> Meta {
        let epoch = |n: u32| EpochSummary {
            epoch: n,
            train_loss: 1.0 / f64::from(n),
            train_acc: 0.5,
            test_acc: 0.6 + f64::from(n) / 100.0,
            examples_per_sec: 1000.0,
            train_seconds: 1.0,
            eval_seconds: 0.1,
            layers: Vec::new(),
            class_acc: if n == 3 {
                vec![0.5, f64::NAN]
            } else {
                Vec::new()
            },
        };
        let progress = |at: f64| Progress {
            epoch: at.ceil() as u32,
            at,
            batch: ((at - (at.ceil() - 1.0)) * 24.0).round() as usize,
            batches: 24,
            train_loss: 2.0 - at / 2.0,
            train_acc: 0.1 * at,
            examples_per_sec: 900.0,
            layers: Vec::new(),
        };
        let mut position = Position::start(24);
        position.epoch = 4;
        Meta {
            format: checkpoint::FORMAT,
            program: "lenet-tui test".into(),
            saved_at: "2026-12-07T00:00:00+00:00".into(),
            reason: SaveReason::EpochEnd,
            architecture: Architecture::default(),
            settings: TrainSettings {
                pooling: Pooling::Max,
                learning_rate: 0.1.try_into().unwrap(),
                ..TrainSettings::default()
            },
            position,
            data: DataFacts {
                description: "test".into(),
                dir: None,
                train_examples: 6000,
                test_examples: 1000,
                classes: vec!["T-shirt/top".into(), "Trouser, long".into()],
            },
            history: History {
                progress: [0.5, 1.0, 1.5, 2.0, 2.5, 3.0].map(progress).to_vec(),
                epochs: (1..=3).map(epoch).collect(),
                changes,
            },
            weights: WeightsFacts { bytes: 0, crc32: 0 },
            rng: crate::rng::ALGORITHM.into(),
        }
    }

    fn moment(at: f64, pooling: Pooling, learning_rate: f64) -> Moment {
        Moment {
            at,
            epoch: at.floor() as u32 + 1,
            batch: 0,
            batches: 24,
            pooling,
            activation: Activation::Sigmoid,
            learning_rate,
        }
    }

    fn change(at: f64, change: Change) -> MarkedChange {
        MarkedChange { at, change }
    }

    /// The column `name` of `table`, as CSV writes each cell.
    fn column(table: &Table, name: &str) -> Vec<String> {
        let i = table.columns.iter().position(|c| c == name).unwrap();
        table.rows.iter().map(|r| r[i].csv()).collect()
    }

    #[test]
    fn each_row_has_the_settings_its_last_batch_trained_with() {
        // Pooling swapped halfway through epoch 2; the rate lowered right after
        // epoch 2's last batch (epoch 2 still trained at 0.9); a pace from 2.5 on.
        let m = meta(vec![
            change(1.5, Change::Pooling(Pooling::Max)),
            change(2.0, Change::LearningRate(0.1)),
            change(2.5, Change::Pace(Pace::PerSecond(2000))),
        ]);
        let moments = [0.0, 1.0, 2.0]
            .map(|at| moment(at, if at < 1.5 { Pooling::Avg } else { Pooling::Max }, 0.9));
        let log = SettingsLog::new(&m, &moments);
        let sources = [Source {
            variant: None,
            meta: &m,
            settings: log,
        }];
        let epochs = table(&sources, false);
        assert_eq!(column(&epochs, "pool"), ["avg", "max", "max"]);
        assert_eq!(column(&epochs, "lr"), ["0.9", "0.9", "0.1"]);
        assert_eq!(column(&epochs, "act"), ["sigmoid"; 3]);
        // The pace before its first change is not known: the checkpoint has only the
        // newest.
        assert_eq!(column(&epochs, "pace"), ["", "", "2000"]);
        assert_eq!(epochs.unknown_settings(), ["pace"]);
        let batches = table(&sources, true);
        assert_eq!(
            column(&batches, "pool"),
            ["avg", "avg", "avg", "max", "max", "max"]
        );
        assert_eq!(
            column(&batches, "lr"),
            ["0.9", "0.9", "0.9", "0.9", "0.1", "0.1"]
        );
    }

    #[test]
    fn snapshots_tell_what_a_resume_changed_and_a_rewind_lowered() {
        // Resumed at 1.0 with --lr 0.3 (no marker: the snapshot there says it), then
        // rewound at 2.0: the snapshot keeps 0.3, the marker after it says 0.03.
        let m = meta(vec![change(2.0, Change::LearningRate(0.03))]);
        let moments = [
            moment(0.0, Pooling::Max, 0.9),
            moment(0.5, Pooling::Max, 0.9),
            moment(1.0, Pooling::Max, 0.3),
            moment(2.0, Pooling::Max, 0.3),
        ];
        let sources = [Source {
            variant: None,
            meta: &m,
            settings: SettingsLog::new(&m, &moments),
        }];
        assert_eq!(
            column(&table(&sources, false), "lr"),
            ["0.9", "0.3", "0.03"]
        );
        // Without the snapshots the rate before its first marker is not known, and
        // a setting never changed is the checkpoint's throughout.
        let bare = [Source {
            variant: None,
            meta: &m,
            settings: SettingsLog::new(&m, &[]),
        }];
        let t = table(&bare, false);
        assert_eq!(column(&t, "lr"), ["", "", "0.03"]);
        assert_eq!(column(&t, "pool"), ["max"; 3]);
        assert_eq!(t.unknown_settings(), ["lr"]);
    }

    #[test]
    fn positions_count_batches_and_examples_with_the_short_last_batch() {
        let m = meta(Vec::new());
        let sources = [Source {
            variant: None,
            meta: &m,
            settings: SettingsLog::new(&m, &[]),
        }];
        let epochs = table(&sources, false);
        assert_eq!(column(&epochs, "step"), ["24", "48", "72"]);
        assert_eq!(column(&epochs, "examples_seen"), ["6000", "12000", "18000"]);
        assert_eq!(column(&epochs, "test_acc"), ["0.61", "0.62", "0.63"]);
        let batches = table(&sources, true);
        assert_eq!(
            column(&batches, "batch"),
            ["12", "24", "12", "24", "12", "24"]
        );
        assert_eq!(
            column(&batches, "step"),
            ["12", "24", "36", "48", "60", "72"]
        );
        // 12 batches of 256 are 3,072 images; 24 would be 6,144 of the 6,000.
        assert_eq!(
            column(&batches, "examples_seen"),
            ["3072", "6000", "9072", "12000", "15072", "18000"]
        );
        assert_eq!(column(&batches, "test_acc"), [""; 6]);
    }

    #[test]
    fn csv_quotes_what_needs_it_and_json_lines_have_the_same_columns() {
        let a = meta(Vec::new());
        let b = meta(Vec::new());
        let sources = [
            Source {
                variant: Some("avg sigmoid"),
                meta: &a,
                settings: SettingsLog::new(&a, &[]),
            },
            Source {
                variant: Some("max, \"fast\""),
                meta: &b,
                settings: SettingsLog::new(&b, &[]),
            },
        ];
        let t = table(&sources, false);
        assert_eq!(t.columns[0], "variant");
        assert_eq!(
            &t.columns[t.columns.len() - 2..],
            ["test_acc_T-shirt/top", "test_acc_Trouser, long"]
        );
        let csv = String::from_utf8(t.to_csv().unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(header.len(), t.columns.len());
        assert_eq!(&header[header.len() - 1], "test_acc_Trouser, long");
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 6, "three epochs of each variant");
        assert_eq!(&records[3][0], "max, \"fast\"");
        // Epoch 3 has per-class figures; a class without test images is NaN.
        assert_eq!(&records[2][header.len() - 2], "0.5");
        assert_eq!(&records[2][header.len() - 1], "NaN");
        assert_eq!(&records[0][header.len() - 1], "");
        let json = t.to_json_lines();
        let lines: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 6);
        let keys: Vec<&String> = lines[2].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), t.columns.len());
        assert_eq!(lines[2]["test_acc_Trouser, long"], serde_json::Value::Null);
        assert_eq!(lines[2]["test_acc"], 0.63);
        assert_eq!(lines[0]["pace"], "full");
        assert_eq!(lines[0]["epoch"], 1);
        assert!(
            json.starts_with("{\"variant\":\"avg sigmoid\",\"epoch\":1,"),
            "{json}"
        );
    }
}
