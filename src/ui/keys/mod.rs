//! The keymap is data: one table ([`TABLE`]) gives every action its keys, its
//! `[keys]` name, its help and its hint, and the hint bar, the help overlay, the
//! config's `[keys]` and draw mode's and the prompt's keys are all read from it, so
//! they never drift from what the keys really do. The dashboard's bindings can be
//! changed in the config file's `[keys]`.

mod key;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use key::Key;
pub use table::{Action, Group, Hint, Mode, Over, Spec, TABLE};

/// Keys → actions, with each action's keys in binding order for display.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    bindings: Vec<(Key, Action)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let bindings = TABLE
            .iter()
            .flat_map(|s| s.keys.iter().map(|&k| (k, s.action)))
            .collect();
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// The dashboard action bound to `key`.
    pub fn action(&self, key: &Key) -> Option<Action> {
        self.action_in(Mode::Dashboard, key)
    }

    /// The action bound to `key` in `mode`.
    pub fn action_in(&self, mode: Mode, key: &Key) -> Option<Action> {
        self.bindings
            .iter()
            .find(|&&(k, a)| k == *key && a.mode() == mode)
            .map(|&(_, a)| a)
    }

    /// The keys bound to `action`.
    pub fn keys(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|&&(_, a)| a == action)
            .map(|&(k, _)| k)
            .collect()
    }

    /// The default map with the config file's `[keys]` replacing whole actions:
    /// `pause = "space"` or `lr_up = ["+", "="]`. Errors name the action and key.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<KeyMap, String> {
        let mut replaced = Vec::new();
        for (name, keys) in overrides {
            let action = Action::from_config_name(name).ok_or_else(|| {
                let names: Vec<&str> = Action::dashboard().map(Action::config_name).collect();
                format!("`{name}` is not an action (one of: {})", names.join(", "))
            })?;
            let parsed = keys
                .iter()
                .map(|k| k.parse::<Key>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("keys.{name}: {e}"))?;
            replaced.push((name, action, parsed));
        }
        // Drop every replaced action's defaults first, so two actions can swap keys.
        let mut map = KeyMap::default();
        map.bindings
            .retain(|&(_, a)| !replaced.iter().any(|&(_, r, _)| r == a));
        for (name, action, keys) in replaced {
            for key in keys {
                if let Some(other) = map.action(&key) {
                    return Err(format!(
                        "keys.{name}: {key} is already bound to `{}`",
                        other.config_name()
                    ));
                }
                map.bindings.push((key, action));
            }
        }
        if map.keys(Action::ForceQuit).is_empty() && map.keys(Action::Quit).is_empty() {
            return Err("keys: at least one of `quit` and `force_quit` needs a key".into());
        }
        Ok(map)
    }

    /// The name of `action`'s first key, for texts that tell the user what to press
    /// (so a rebound key never leaves a stale hint); `[keys] NAME` if it has none.
    pub fn name(&self, action: Action) -> String {
        self.keys(action).first().map_or_else(
            || format!("[keys] {}", action.config_name()),
            Key::to_string,
        )
    }

    /// Two actions' keys as a pair, `←/→`.
    pub fn pair(&self, first: Action, second: Action) -> String {
        format!("{}/{}", self.name(first), self.name(second))
    }

    /// Hint bar entries: keys joined by `/` and the hint word, in help order; actions
    /// that share a hint word share an entry (`←/→ image`).
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        self.hints_for(|_| true)
    }

    /// Hint bar entries for the dashboard actions `offered` keeps (a replay leaves
    /// out those that would change the run).
    pub fn hints_for(&self, offered: impl Fn(Action) -> bool) -> Vec<(String, &'static str)> {
        self.hints_in(Mode::Dashboard, offered)
    }

    /// Hint entries for the actions of `mode` that `offered` keeps.
    pub fn hints_in(
        &self,
        mode: Mode,
        offered: impl Fn(Action) -> bool,
    ) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        let actions = Action::ALL.into_iter().filter(|a| a.mode() == mode);
        for action in actions.filter(|&a| offered(a)) {
            let Some(hint) = action.hint() else { continue };
            let Some(key) = self.keys(action).first().map(Key::to_string) else {
                continue;
            };
            match out.iter_mut().find(|(_, h)| *h == hint) {
                Some((k, _)) => {
                    k.push('/');
                    k.push_str(&key);
                }
                None => out.push((key, hint)),
            }
        }
        out
    }

    /// Help lines as [`KeyMap::help`], with each group of related actions (previous and
    /// next image, × 2 and ÷ 2, the panels) on one line: for a terminal too short for
    /// them all.
    pub fn help_paired(&self, racing: bool) -> Vec<(String, &'static str)> {
        let names =
            |a: Action| -> Vec<String> { self.keys(a).iter().map(Key::to_string).collect() };
        // A group shares a line only when all of its actions have keys.
        let complete = |a: Action| {
            a.group()
                .filter(|(group, _)| group.iter().all(|g| !names(g.action).is_empty()))
        };
        Action::dashboard()
            .filter(|a| racing || !a.for_races())
            .filter_map(|a| match complete(a) {
                Some((group, what)) if group[0].action == a => {
                    let keys: Vec<String> =
                        group.iter().map(|g| names(g.action).join(" ")).collect();
                    // Three or four keys close up, so the key column stays narrow.
                    let sep = if group.len() > 2 { "/" } else { " / " };
                    Some((keys.join(sep), what))
                }
                // On its group's first line.
                Some(_) => None,
                None => {
                    let keys = names(a);
                    (!keys.is_empty()).then(|| (keys.join(" "), a.description()))
                }
            })
            .collect()
    }

    /// Help lines: every dashboard action with all its keys and what it does.
    pub fn help(&self, racing: bool) -> Vec<(String, &'static str)> {
        Action::dashboard()
            .filter(|a| racing || !a.for_races())
            .filter_map(|a| {
                let keys = self.keys(a);
                (!keys.is_empty()).then(|| {
                    let names: Vec<String> = keys.iter().map(Key::to_string).collect();
                    (names.join(" "), a.description())
                })
            })
            .collect()
    }
}
