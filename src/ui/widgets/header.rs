//! Header: run state, epoch with a progress gauge and ETA, throughput and pace, then
//! pooling, activation, learning rate, device and data.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::format_duration;
use crate::train::Pace;
use crate::ui::app::{RunState, Runs, Screen};
use crate::ui::theme::Theme;

/// Draws the two header lines.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    // A race shows each variant on the second line; the shape table and the
    // activations say what the focused one is.
    let line2 = if runs.race.is_some() {
        race_line(runs, screen, area.width)
    } else {
        settings_line(runs, screen, area.width)
    };
    let lines = vec![state_line(runs, screen, area.width), line2];
    frame.render_widget(Paragraph::new(lines), area);
}

/// The state word and its style: `● running`, `‖ paused`, `▶ replaying`, ….
fn state_word(state: &RunState, replaying: bool, t: &Theme) -> (&'static str, Style) {
    match state {
        RunState::Running if replaying => ("▶ replaying", t.running),
        RunState::Finished if replaying => ("✔ end of replay", t.finished),
        RunState::Starting => ("◌ starting", t.dim),
        RunState::Running => ("● running", t.running),
        RunState::Paused => ("‖ paused", t.paused),
        RunState::Diverged(_) => ("✖ diverged", t.error),
        RunState::Finished => ("✔ finished", t.finished),
        RunState::Error(_) => ("✖ error", t.error),
    }
}

/// ` lenet-tui ● running   epoch 3/10 ━━━━──── 27%  ETA 0:12  27000 ex/s · full speed`.
fn state_line(runs: &Runs, screen: &Screen, width: u16) -> Line<'static> {
    let t = &screen.theme;
    let run = runs.lane(screen.focus);
    let (state, style) = state_word(&run.state, runs.replay.is_some(), t);
    let fraction = (run.at / f64::from(run.epochs.max(1))).clamp(0.0, 1.0);
    // Looking back, the header says where (training carries on behind it).
    let history = run.past.as_ref().map_or(String::new(), |p| {
        format!("◀ history: epoch {:.2} of {}  ", p.moment.at, run.epochs)
    });
    let wide = usize::from(width) >= 100 + history.chars().count();
    let eta = match runs.eta_seconds(screen.focus) {
        Some(s) => format!("ETA {}", format_duration(s)),
        None => "ETA –".into(),
    };
    let speed = run
        .examples_per_sec
        .map_or("– ex/s".into(), |s| format!("{s:.0} ex/s"));
    let percent = format!(" {:>3.0}%", fraction * 100.0);
    let epoch = format!(
        "{}epoch {}/{} ",
        if run.past.is_some() { "live " } else { "  " },
        run.current_epoch(),
        run.epochs
    );
    // Stepping through an epoch batch by batch, the batch is what counts.
    let batch = match (&run.state, run.batch) {
        (RunState::Paused, Some((b, n))) => format!("batch {b}/{n} "),
        _ => String::new(),
    };
    let history_gap = if history.is_empty() { "" } else { "  " };
    let rec = if screen.recording { "● REC " } else { "" };
    let spans = [
        (" lenet-tui ", t.title),
        (rec, t.error),
        (state, style),
        (history_gap, t.text),
        (history.as_str(), t.paused),
        (epoch.as_str(), t.text),
        (batch.as_str(), t.highlight),
    ];
    let words: usize = spans.iter().map(|(s, _)| s.chars().count()).sum();
    // The figures after the gauge, most telling first; the gauge keeps 10 cells.
    let text = |s: String| vec![Span::styled(s, t.text)];
    let figures: Vec<Piece> = vec![
        vec![text(percent)],
        vec![text(format!("  {eta}"))],
        vec![text(format!("  {speed}"))],
        pace_words(run.settings.pace, wide)
            .into_iter()
            .map(text)
            .collect(),
    ];
    let room = usize::from(width).saturating_sub(words + 1);
    let (figures, _) = fit(figures, room.saturating_sub(GAUGE_MIN));
    let figures_width: usize = figures.iter().map(Span::width).sum();
    // The gauge takes what the words leave, within 10 to 40 cells.
    let gauge_width = room
        .saturating_sub(figures_width)
        .clamp(GAUGE_MIN.min(room), 40);
    let filled = (fraction * gauge_width as f64).round() as usize;
    let mut line: Vec<Span> = spans
        .into_iter()
        .map(|(text, style)| Span::styled(text.to_string(), style))
        .collect();
    line.extend([
        Span::styled("━".repeat(filled), t.gauge),
        Span::styled("─".repeat(gauge_width - filled), t.dim),
    ]);
    line.extend(figures);
    Line::from(line)
}

/// The least a progress gauge takes.
const GAUGE_MIN: usize = 10;

/// One item of a header line, in its forms from the longest to the shortest.
type Piece = Vec<Vec<Span<'static>>>;

/// The pieces that fit in `width` cells, in order, each in its longest form that
/// fits: the first that fits in no form ends the line, so no number or word is ever
/// cut. Whether any was left out.
fn fit(pieces: Vec<Piece>, width: usize) -> (Vec<Span<'static>>, bool) {
    let mut line = Vec::new();
    let mut used = 0;
    for forms in pieces {
        let fitting = forms
            .into_iter()
            .find(|spans| used + spans.iter().map(Span::width).sum::<usize>() <= width);
        let Some(spans) = fitting else {
            return (line, true);
        };
        used += spans.iter().map(Span::width).sum::<usize>();
        line.extend(spans);
    }
    (line, false)
}

/// `pieces` in `width`, ending with ` …` when some were left out.
fn fit_with_ellipsis(pieces: Vec<Piece>, width: usize, t: &Theme) -> Line<'static> {
    let (mut spans, dropped) = fit(pieces, width.saturating_sub(2));
    if dropped {
        spans.push(Span::styled(" …", t.dim));
    }
    Line::from(spans)
}

/// Measured throughput is that of the training work; the pace is what the trainer
/// keeps to by waiting between batches. A narrow terminal keeps only a set pace, in
/// short; the forms go from the longest to the shortest.
fn pace_words(pace: Pace, wide: bool) -> Vec<String> {
    match (pace, wide) {
        (Pace::Full, true) => vec![" · full speed".into()],
        (Pace::Full, false) => vec![String::new()],
        (p, true) => vec![
            format!(" of work · {}", p.label()),
            format!(" · {}", p.label()),
        ],
        (p, false) => vec![format!(" · {}", p.label())],
    }
}

/// ` pool avg │ act sigmoid │ lr 0.9 │ cpu │ fashion-mnist 60000/10000`: what does not
/// fit is left out whole, from the right, and ` …` says so.
fn settings_line(runs: &Runs, screen: &Screen, width: u16) -> Line<'static> {
    let t = &screen.theme;
    let run = runs.lane(screen.focus);
    let (data, device) = run
        .info
        .as_ref()
        .map_or(("…", "…"), |i| (i.data.as_str(), i.device.as_str()));
    let sep = || Span::styled(" │ ", t.dim);
    let setting = |name: &str, value: String, first: bool| -> Piece {
        let lead = if first {
            format!(" {name} ")
        } else {
            format!("{name} ")
        };
        let mut spans = if first { Vec::new() } else { vec![sep()] };
        spans.extend([Span::styled(lead, t.dim), Span::styled(value, t.highlight)]);
        vec![spans]
    };
    // The data's description, else just the data set's name: what comes before its
    // place (` in /usr/…`) or its counts (` (60000 train …`).
    let short = data
        .split(" in ")
        .next()
        .and_then(|s| s.split(" (").next())
        .unwrap_or(data);
    let pieces = vec![
        setting("pool", run.settings.pooling.to_string(), true),
        setting("act", run.settings.activation.to_string(), false),
        setting("lr", run.settings.learning_rate.to_string(), false),
        vec![vec![
            sep(),
            Span::styled(device.to_string(), t.text),
            Span::styled(runs.gpu.map_or_else(String::new, gpu_figures), t.dim),
        ]],
        vec![
            vec![sep(), Span::styled(data.to_string(), t.dim)],
            vec![sep(), Span::styled(short.to_string(), t.dim)],
        ],
    ];
    fit_with_ellipsis(pieces, usize::from(width), t)
}

/// `▸1 avg sigmoid ep 2/3 27k ex/s test 0.612 │ 2 max …`: every variant of a race, in
/// its chart colour, the focused one marked and bold.
fn race_line(runs: &Runs, screen: &Screen, width: u16) -> Line<'static> {
    let t = &screen.theme;
    let mut pieces: Vec<Piece> = vec![vec![vec![Span::raw(" ")]]];
    for (i, s) in runs.lane_summaries(screen.focus).into_iter().enumerate() {
        let mut spans = Vec::new();
        if i > 0 {
            spans.push(Span::styled(" │ ", t.dim));
        }
        let mut style = t.variant_line(i);
        if s.focused {
            style = style.add_modifier(ratatui::style::Modifier::BOLD);
        }
        let mark = match s.state {
            RunState::Diverged(_) => "✖",
            RunState::Finished => "✔",
            RunState::Paused => "‖",
            _ if s.focused => "▸",
            _ => " ",
        };
        spans.push(Span::styled(
            format!("{mark}{} {}", s.number, s.label),
            style,
        ));
        let speed = s
            .examples_per_sec
            .map_or_else(String::new, |v| format!(" {}", short_speed(v)));
        let test = s
            .test_acc
            .map_or_else(String::new, |a| format!(" test {a:.3}"));
        spans.push(Span::styled(
            format!(" ep {}/{}{speed}{test}", s.epoch.0, s.epoch.1),
            t.text,
        ));
        pieces.push(vec![spans]);
    }
    fit_with_ellipsis(pieces, usize::from(width), t)
}

/// `27.4k/s`: a throughput in few cells.
fn short_speed(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}k/s", v / 1000.0)
    } else {
        format!("{v:.0}/s")
    }
}

/// " 37% · 2.1/141 GiB": utilisation and memory in use, as NVML reports them.
fn gpu_figures(g: crate::device::GpuStats) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    format!(
        " {}% · {:.1}/{:.0} GiB",
        g.utilization,
        g.memory_used as f64 / GIB,
        g.memory_total as f64 / GIB
    )
}
