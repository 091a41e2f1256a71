//! When and where a run's checkpoints are written. The [`Saver`] owns the run
//! directory and the checkpoint policy; [`Saver::decide`] says what a save request
//! comes to (a decision, no I/O), and [`Saver::write`] carries out a write.

use std::path::{Path, PathBuf};

use super::checkpoint::{CheckpointError, Meta, RunDir, RunLock};
use super::messages::{Divergence, SaveReason};
use candle_core::Tensor;

/// Where and how many checkpoints a run keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointPolicy {
    /// The directory holding one directory per run.
    pub runs_dir: PathBuf,
    /// Checkpoints kept per run, the newest.
    pub keep: usize,
    /// The run directory's name (a race's variant); else the local time.
    pub run_name: Option<String>,
}

/// What a save request comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveDecision {
    /// Write a new checkpoint.
    Write,
    /// Nothing changed since the last checkpoint: it is this state.
    Reuse(PathBuf),
    /// Nothing is written and that is expected (routine saves with checkpoints off).
    Skip,
    /// Nothing is written, and the asker is told why.
    Refuse(String),
}

/// A run's checkpoints: the policy, the run's directory once it has one, the newest
/// checkpoint (the one to go back to after a divergence), and whether anything has
/// changed since it was written.
#[derive(Debug)]
pub struct Saver {
    policy: Option<CheckpointPolicy>,
    run_dir: Option<RunDir>,
    last_saved: Option<PathBuf>,
    unsaved: bool,
}

impl Saver {
    /// A saver for a new run; `None` trains without checkpoints.
    pub fn new(policy: Option<CheckpointPolicy>) -> Self {
        Self {
            policy,
            run_dir: None,
            last_saved: None,
            unsaved: true,
        }
    }

    /// Goes on writing into the run of the checkpoint `resumed` (in its directory),
    /// which `lock` holds for this process. Without checkpoints nothing is written
    /// there, so the lock is let go.
    pub fn resume(&mut self, resumed: &Path, lock: RunLock) -> Result<(), CheckpointError> {
        if let (Some(policy), Some(run)) = (&self.policy, resumed.parent()) {
            self.run_dir = Some(RunDir::open(run, policy.keep, lock)?);
        }
        self.last_saved = Some(resumed.to_path_buf());
        Ok(())
    }

    /// Fresh weights make a new run, with checkpoints of its own.
    pub fn new_run(&mut self) {
        self.run_dir = None;
        self.last_saved = None;
        self.unsaved = true;
    }

    /// Something a checkpoint holds has changed since the last one.
    pub fn changed(&mut self) {
        self.unsaved = true;
    }

    /// The run's directory, once its first checkpoint has made it.
    pub fn run_dir(&self) -> Option<&Path> {
        self.run_dir.as_ref().map(RunDir::path)
    }

    /// The newest checkpoint of this run.
    pub fn last_saved(&self) -> Option<&PathBuf> {
        self.last_saved.as_ref()
    }

    /// What a save for `reason` comes to, with the run diverged or not.
    pub fn decide(&self, reason: SaveReason, diverged: Option<&Divergence>) -> SaveDecision {
        if self.policy.is_none() {
            return if matches!(reason, SaveReason::Start | SaveReason::EpochEnd) {
                SaveDecision::Skip
            } else {
                SaveDecision::Refuse("checkpoints are off for this run".into())
            };
        }
        if let Some(d) = diverged {
            let last = self
                .last_saved
                .as_ref()
                .map_or_else(|| "none".to_string(), |p| p.display().to_string());
            return SaveDecision::Refuse(format!(
                "not saved: training {d}; the last good checkpoint is {last}"
            ));
        }
        match &self.last_saved {
            Some(path) if !self.unsaved => SaveDecision::Reuse(path.clone()),
            _ => SaveDecision::Write,
        }
    }

    /// Writes `parameters` and `meta` as the run's next checkpoint (creating the run
    /// directory first if need be); returns its path.
    pub fn write(
        &mut self,
        parameters: &[(String, Tensor)],
        meta: Meta,
    ) -> Result<PathBuf, String> {
        let policy = self
            .policy
            .as_ref()
            .ok_or("checkpoints are off for this run")?;
        let run = match &mut self.run_dir {
            Some(run) => run,
            run @ None => run.insert(
                RunDir::create(&policy.runs_dir, policy.keep, policy.run_name.as_deref())
                    .map_err(|e| e.to_string())?,
            ),
        };
        let path = run.save(parameters, meta).map_err(|e| e.to_string())?;
        self.last_saved = Some(path.clone());
        self.unsaved = false;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn divergence() -> Divergence {
        Divergence {
            epoch: 2,
            batch: 5,
            loss: f64::NAN,
            last_good: None,
        }
    }

    #[test]
    fn without_checkpoints_routine_saves_are_skipped_and_asked_ones_refused() {
        let saver = Saver::new(None);
        assert_eq!(saver.decide(SaveReason::Start, None), SaveDecision::Skip);
        assert_eq!(saver.decide(SaveReason::EpochEnd, None), SaveDecision::Skip);
        assert_eq!(
            saver.decide(SaveReason::User, None),
            SaveDecision::Refuse("checkpoints are off for this run".into())
        );
    }

    #[test]
    fn a_diverged_run_is_never_saved_and_an_unchanged_one_reuses_its_checkpoint() {
        let policy = CheckpointPolicy {
            runs_dir: PathBuf::from("/nonexistent"),
            keep: 2,
            run_name: None,
        };
        let mut saver = Saver::new(Some(policy));
        assert_eq!(saver.decide(SaveReason::Start, None), SaveDecision::Write);
        saver.last_saved = Some(PathBuf::from("/runs/a/ckpt-0001"));
        saver.unsaved = false;
        assert_eq!(
            saver.decide(SaveReason::Quit, None),
            SaveDecision::Reuse(PathBuf::from("/runs/a/ckpt-0001"))
        );
        let SaveDecision::Refuse(why) = saver.decide(SaveReason::Quit, Some(&divergence())) else {
            panic!("a diverged run must not be saved");
        };
        assert!(
            why.ends_with("the last good checkpoint is /runs/a/ckpt-0001"),
            "{why}"
        );
        saver.changed();
        assert_eq!(saver.decide(SaveReason::Quit, None), SaveDecision::Write);
        saver.new_run();
        assert_eq!(saver.last_saved(), None);
    }
}
