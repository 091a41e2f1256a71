//! Modal overlays: the help (generated from the keymap) and confirmations.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::panel;
use crate::ui::app::{Overlay, RunState, Runs, Screen};
use crate::ui::keys::{Action, Mode};

fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// A confirmation: the question, then "Press KEY again to …".
fn confirm(
    title: &'static str,
    question: &'static str,
    key: Span<'static>,
    outcome: &'static str,
) -> (&'static str, Vec<Line<'static>>) {
    (
        title,
        vec![
            Line::from(question),
            Line::from(vec![Span::raw(" Press "), key, Span::raw(outcome)]),
        ],
    )
}

/// Draws the overlay, if one is open; else, after a divergence, what to do about it.
pub fn render(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect) {
    let t = &screen.theme;
    let Some(overlay) = screen.overlay else {
        if let RunState::Diverged(what) = &runs.lane(screen.focus).state {
            diverged(runs, screen, frame, area, what);
        }
        return;
    };
    let first_key = |a: Action| {
        screen
            .keymap
            .keys(a)
            .first()
            .map_or_else(|| "?".to_string(), ToString::to_string)
    };
    let (title, lines) = match overlay {
        Overlay::Help => {
            let racing = runs.race.is_some();
            let mut help = screen.keymap.help(racing);
            // The box's borders, the colours and closing lines: pair opposite keys when
            // short.
            if help.len() + 5 > usize::from(area.height) {
                help = screen.keymap.help_paired(racing);
            }
            let width = help
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            let mut lines: Vec<Line> = help
                .into_iter()
                .map(|(keys, what)| {
                    Line::from(vec![
                        Span::styled(format!(" {keys:>width$}  "), t.key),
                        Span::styled(what, t.text),
                    ])
                })
                .collect();
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                format!(" {}", colours_in_use(t)),
                t.dim,
            )));
            lines.push(Line::from(Span::styled(" any key closes this help", t.dim)));
            (" Keys ", lines)
        }
        Overlay::ConfirmQuit => confirm(
            " Quit? ",
            " Training is still running.",
            Span::styled(first_key(Action::Quit), t.key),
            " again to quit, any other key to stay.",
        ),
        Overlay::OpenImage => (
            " Open an image ",
            vec![
                Line::from(vec![
                    Span::styled(" file: ", t.dim),
                    Span::styled(format!("{}▏", screen.image_prompt), t.text),
                ]),
                Line::from(""),
                Line::from(Span::styled(
                    " PNG, JPEG, PGM or PPM; FILE=CLASS names its class",
                    t.dim,
                )),
                Line::from(Span::styled(prompt_keys(screen), t.dim)),
            ],
        ),
        Overlay::ConfirmRestart => confirm(
            " Restart? ",
            " Start over from epoch 1 with fresh weights?",
            Span::styled(first_key(Action::Restart), t.key),
            " again to restart, any other key to cancel.",
        ),
    };
    draw_box(frame, area, title, lines, t);
}

/// The prompt's keys and what they do: ` Enter opens it first in the images, Esc
/// cancels`.
fn prompt_keys(screen: &Screen) -> String {
    let keys: Vec<String> = screen
        .keymap
        .hints_in(Mode::Prompt, |_| true)
        .into_iter()
        .map(|(key, hint)| format!("{key} {hint}"))
        .collect();
    format!(" {}", keys.join(", "))
}

/// The colour depth in use and where it came from, for the help.
fn colours_in_use(t: &crate::ui::theme::Theme) -> String {
    let how = if t.depth_detected {
        "detected (--color sets it)"
    } else {
        "as set by --color or [ui] color"
    };
    format!("colours: {}, {how}", t.depth.name())
}

/// The divergence notice: where it happened and the keys that deal with it.
fn diverged(runs: &Runs, screen: &Screen, frame: &mut Frame, area: Rect, what: &str) {
    let t = &screen.theme;
    let key = |a: Action| {
        Span::styled(
            screen
                .keymap
                .keys(a)
                .first()
                .map_or_else(|| "?".to_string(), ToString::to_string),
            t.key,
        )
    };
    let mut lines = vec![
        Line::from(Span::styled(format!(" Training {what}."), t.error)),
        Line::from(" The trainer paused itself; the weights are no longer usable."),
        Line::from(""),
    ];
    if runs.lane(screen.focus).last_checkpoint.is_some() {
        lines.push(Line::from(vec![
            Span::raw(" "),
            key(Action::RestoreGood),
            Span::raw("  back to the last good checkpoint, learning rate ÷ 10"),
        ]));
    }
    lines.push(Line::from(vec![
        Span::raw(" "),
        key(Action::Restart),
        Span::raw(format!(
            "  restart with fresh weights (then {} lowers the rate)",
            screen.keymap.name(Action::LrDown)
        )),
    ]));
    lines.push(Line::from(vec![
        Span::raw(" "),
        key(Action::Quit),
        Span::raw("  quit"),
    ]));
    draw_box(frame, area, " Diverged ", lines, t);
}

fn draw_box(
    frame: &mut Frame,
    area: Rect,
    title: &'static str,
    lines: Vec<Line<'static>>,
    t: &crate::ui::theme::Theme,
) {
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 4;
    let height = lines.len() as u16 + 2;
    let rect = centred(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(panel(title, t)),
        rect,
    );
}
