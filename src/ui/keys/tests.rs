//! The keymap's tests: the table, the default keys, `[keys]` overrides, the hint bar
//! and the help.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;

#[test]
fn default_keys_map_to_actions() {
    let map = KeyMap::default();
    assert_eq!(
        map.action(&"space".parse().unwrap()),
        Some(Action::TogglePause)
    );
    assert_eq!(
        map.action(&"ctrl-c".parse().unwrap()),
        Some(Action::ForceQuit)
    );
    let ev = KeyEvent::new(
        KeyCode::Char('C'),
        KeyModifiers::CONTROL | KeyModifiers::SHIFT,
    );
    assert_eq!(map.action(&Key::from_event(&ev)), Some(Action::ForceQuit));
    let ev = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
    assert_eq!(map.action(&Key::from_event(&ev)), Some(Action::Help));
}

#[test]
fn function_and_editing_keys_have_names() {
    for (name, code, shown) in [
        ("f1", KeyCode::F(1), "F1"),
        ("F12", KeyCode::F(12), "F12"),
        ("backspace", KeyCode::Backspace, "Backspace"),
        ("Delete", KeyCode::Delete, "Del"),
        ("del", KeyCode::Delete, "Del"),
        ("insert", KeyCode::Insert, "Ins"),
        ("PageUp", KeyCode::PageUp, "PgUp"),
    ] {
        let key: Key = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key, Key::plain(code), "{name}");
        assert_eq!(key.to_string(), shown);
    }
    let ctrl: Key = "ctrl-f5".parse().unwrap();
    assert_eq!(ctrl.to_string(), "Ctrl-F5");
    // One character stays itself, case and all; f13 is no key.
    assert_eq!("F".parse::<Key>().unwrap(), Key::plain(KeyCode::Char('F')));
    for bad in ["f13", "f0", "fx", "shift-tab"] {
        let err = bad.parse::<Key>().unwrap_err();
        assert!(err.contains(&format!("`{bad}` is not a key")), "{err}");
        assert!(err.contains("f1 to f12"), "{err}");
    }
}

#[test]
fn hints_and_help_come_from_the_bindings() {
    let map = KeyMap::default();
    let hints: Vec<String> = map
        .hints()
        .iter()
        .map(|(k, h)| format!("{k} {h}"))
        .collect();
    assert_eq!(
        hints,
        [
            "Space pause",
            "p pool",
            "a act",
            "←/→ image",
            "↑/↓ class",
            "Tab compare",
            "i draw",
            "b/c/k/d panels",
            "+/- lr",
            ",/. history",
            "r restart",
            "s shot",
            "R rec",
            "g fig",
            "? help",
            "q quit"
        ]
    );
    let help = map.help(true);
    assert_eq!(help.len(), Action::dashboard().count());
    assert!(help.contains(&("+ =".to_string(), "learning rate × 2")));

    let mut over = BTreeMap::new();
    over.insert("pause".to_string(), vec!["j".to_string()]);
    let map = KeyMap::with_overrides(&over).unwrap();
    assert_eq!(map.hints()[0], ("j".to_string(), "pause"));
    assert_eq!(map.action(&"space".parse().unwrap()), None);

    let mut swap = BTreeMap::new();
    swap.insert("pause".to_string(), vec!["p".to_string()]);
    swap.insert("pooling".to_string(), vec!["space".to_string()]);
    let map = KeyMap::with_overrides(&swap).unwrap();
    assert_eq!(map.action(&"p".parse().unwrap()), Some(Action::TogglePause));
}

#[test]
fn bad_overrides_name_the_problem() {
    let mut over = BTreeMap::new();
    over.insert("jump".to_string(), vec!["j".to_string()]);
    assert!(
        KeyMap::with_overrides(&over)
            .unwrap_err()
            .contains("`jump` is not an action")
    );
    let mut over = BTreeMap::new();
    over.insert("pause".to_string(), vec!["p".to_string()]);
    assert_eq!(
        KeyMap::with_overrides(&over).unwrap_err(),
        "keys.pause: p is already bound to `pooling`"
    );
    let mut over = BTreeMap::new();
    over.insert("help".to_string(), vec!["f1x".to_string()]);
    assert!(
        KeyMap::with_overrides(&over)
            .unwrap_err()
            .starts_with("keys.help: `f1x` is not a key")
    );
}

#[test]
fn texts_name_the_keys_as_bound() {
    let map = KeyMap::default();
    assert_eq!(map.name(Action::Compare), "Tab");
    assert_eq!(map.pair(Action::PrevImage, Action::NextImage), "←/→");
    let table = BTreeMap::from([("compare".to_string(), vec!["v".to_string()])]);
    let rebound = KeyMap::with_overrides(&table).unwrap();
    assert_eq!(rebound.name(Action::Compare), "v");
}

#[test]
fn a_short_help_pairs_opposite_keys_on_one_line() {
    let map = KeyMap::default();
    let (full, paired) = (map.help(true), map.help_paired(true));
    assert_eq!(full.len(), Action::dashboard().count());
    assert_eq!(
        map.help(false).len(),
        Action::dashboard().count() - 4,
        "no race, no focus keys"
    );
    assert_eq!(paired.len(), full.len() - 19);
    assert!(paired.contains(&("1/2/3/4".to_string(), "a race: focus variant 1 / 2 / 3 / 4")));
    assert!(paired.contains(&(
        ",/./Home/End".to_string(),
        "history: back / forward / first / live"
    )));
    assert!(paired.contains(&(
        "← / →".to_string(),
        "previous / next image (yours first, then the test set's)"
    )));
    assert!(paired.contains(&("+ = / -".to_string(), "learning rate × 2 / ÷ 2")));
    assert!(paired.contains(&("[ / ]".to_string(), "pace ÷ 2 / × 2: slower / faster")));
    assert!(paired.iter().any(|(k, _)| k == "Ctrl-C"), "{paired:?}");
}

#[test]
fn the_table_names_each_action_once() {
    let names: Vec<&str> = Action::dashboard().map(Action::config_name).collect();
    assert_eq!(
        names.join(", "),
        "pause, step_batch, step_epoch, pooling, activation, prev_image, next_image, \
         prev_class, next_class, compare, draw, draw_over, open_image, probabilities, \
         confusion, kernels, diagnostics, explain, smoothing, log_scale, zoom, lr_up, lr_down, pace_down, pace_up, \
         history_back, history_forward, history_start, history_end, restart, save, \
         restore, screenshot, record, figure, focus_1, focus_2, focus_3, focus_4, help, \
         quit, force_quit",
        "the `[keys]` names, in the order errors list them"
    );
    for (i, spec) in TABLE.iter().enumerate() {
        assert!(!spec.help.is_empty(), "{:?} has no help", spec.action);
        assert!(!spec.keys.is_empty(), "{:?} has no key", spec.action);
        for other in &TABLE[i + 1..] {
            assert_ne!(spec.name, other.name);
            assert_ne!(spec.help, other.help, "{:?}", other.action);
            if spec.mode == other.mode {
                assert!(
                    spec.keys.iter().all(|k| !other.keys.contains(k)),
                    "{:?} and {:?} share a key",
                    spec.action,
                    other.action
                );
            }
        }
    }
    // Draw mode's and the prompt's keys are fixed: `[keys]` does not know them.
    let over = BTreeMap::from([("ink".to_string(), vec!["j".to_string()])]);
    assert!(
        KeyMap::with_overrides(&over)
            .unwrap_err()
            .contains("`ink` is not an action")
    );
}

#[test]
fn draw_mode_and_the_prompt_read_their_keys_from_the_table() {
    let map = KeyMap::default();
    let space = Key::plain(KeyCode::Char(' '));
    assert_eq!(map.action(&space), Some(Action::TogglePause));
    assert_eq!(map.action_in(Mode::Draw, &space), Some(Action::Ink));
    assert_eq!(
        map.action_in(Mode::Draw, &Key::plain(KeyCode::Delete)),
        Some(Action::ClearCanvas)
    );
    assert_eq!(map.action_in(Mode::Draw, &"s".parse().unwrap()), None);
    assert_eq!(
        map.action_in(Mode::Prompt, &Key::plain(KeyCode::Enter)),
        Some(Action::PromptOpen)
    );
    let line = |mode| -> Vec<String> {
        map.hints_in(mode, |_| true)
            .iter()
            .map(|(k, h)| format!("{k} {h}"))
            .collect()
    };
    assert_eq!(
        line(Mode::Draw),
        [
            "Space paint",
            "x erase",
            "Backspace clear",
            "Enter keep",
            "Esc leave"
        ]
    );
    assert_eq!(
        line(Mode::Prompt),
        ["Enter opens it first in the images", "Esc cancels"]
    );
    // The help and the hint bar are the dashboard's: Enter (draw's keep, a cursor's
    // open) is in neither.
    assert!(map.help(true).iter().all(|(k, _)| k != "Enter"));
    assert_eq!(
        map.action_in(Mode::Inspect, &Key::plain(KeyCode::Tab)),
        Some(Action::InspectNextMap)
    );
    assert_eq!(map.action(&Key::plain(KeyCode::Tab)), Some(Action::Compare));
}

#[test]
fn focus_keys_and_groups_come_from_the_table() {
    assert_eq!(Action::focus(0), Action::Focus1);
    assert_eq!(Action::focus(1), Action::Focus1);
    assert_eq!(Action::focus(3), Action::Focus3);
    assert_eq!(Action::focus(9), Action::Focus4);
    assert_eq!(Action::Focus3.focused_lane(), Some(2));
    assert_eq!(Action::Help.focused_lane(), None);
    let members = |a: Action| -> Vec<Action> {
        a.group()
            .map(|(g, _)| g.iter().map(|s| s.action).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        members(Action::HistoryEnd),
        [
            Action::HistoryBack,
            Action::HistoryForward,
            Action::HistoryStart,
            Action::HistoryEnd
        ]
    );
    assert_eq!(members(Action::DrawOver), [Action::Draw, Action::DrawOver]);
    assert!(members(Action::OpenImage).is_empty());
    assert_eq!(Action::NextImage.hint(), Some("image"));
    assert_eq!(Action::HistoryStart.hint(), None);
}
