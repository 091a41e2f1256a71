//! `lenet-tui completions SHELL` and `lenet-tui man`: the command line described for
//! shells and for `man`, generated from the same clap definition that parses it.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

/// Writes `shell`'s completion script for `lenet-tui` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> Result<()> {
    clap_complete::generate(shell, &mut Cli::command(), "lenet-tui", out);
    out.flush().context("writing the completion script")
}

/// Writes the manual page (roff) to `out`, with a section for each subcommand.
pub fn man(out: &mut impl Write) -> Result<()> {
    let command = Cli::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render(out).context("writing the manual page")?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        writeln!(out, ".SH \"LENET-TUI {}\"", name.to_uppercase())?;
        let sub = sub.clone().bin_name(format!("lenet-tui {name}"));
        let sub_page = clap_mangen::Man::new(sub);
        sub_page.render_synopsis_section(out)?;
        sub_page.render_description_section(out)?;
        sub_page.render_options_section(out)?;
    }
    out.flush().context("writing the manual page")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::PowerShell,
            clap_complete::Shell::Elvish,
        ] {
            let mut out = Vec::new();
            completions(shell, &mut out).unwrap();
            let script = String::from_utf8(out).unwrap();
            assert!(script.contains("lenet-tui"), "{shell}");
            assert!(script.contains("replay"), "{shell}: {script}");
        }
    }

    #[test]
    fn the_man_page_is_roff_with_every_subcommand() {
        let mut out = Vec::new();
        man(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(
            page.starts_with(".ie") || page.contains(".TH lenet-tui"),
            "{page}"
        );
        for sub in ["TRAIN", "REPLAY", "RUNS", "COMPARE", "COMPLETIONS"] {
            assert!(page.contains(&format!("LENET-TUI {sub}")), "{sub}");
        }
        assert!(page.contains("\\-\\-pace"), "options are listed");
    }
}
