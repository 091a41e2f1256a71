//! The confusion matrix of a test-set evaluation: how often each true class was
//! predicted as each class. The trainer fills it during its per-epoch evaluation (the
//! accuracy is its diagonal), so it costs no second pass over the data.

use serde::{Deserialize, Serialize};

/// Counts of (true class, predicted class) pairs; rows are true classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    classes: usize,
    /// `classes × classes` counts, row-major: `counts[truth * classes + predicted]`.
    counts: Vec<u64>,
}

/// One off-diagonal cell: `count` images of class `truth` predicted as `predicted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confusion {
    /// The true class.
    pub truth: usize,
    /// The class the model chose instead.
    pub predicted: usize,
    /// How many test images.
    pub count: u64,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// A matrix from row-major counts; `None` unless there are `classes²` of them.
    pub fn from_counts(classes: usize, counts: Vec<u64>) -> Option<Self> {
        (counts.len() == classes * classes).then_some(Self { classes, counts })
    }

    /// Counts one image of class `truth` predicted as `predicted`; pairs outside the
    /// classes are ignored (a label the data checks let through cannot index out).
    pub fn record(&mut self, truth: usize, predicted: usize) {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted] += 1;
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Images of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.classes + predicted]
    }

    /// The row of class `truth`: its images by predicted class.
    pub fn row(&self, truth: usize) -> &[u64] {
        &self.counts[truth * self.classes..(truth + 1) * self.classes]
    }

    /// Images counted: the test-set size after a whole evaluation.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Images predicted right: the diagonal.
    pub fn correct(&self) -> u64 {
        (0..self.classes).map(|c| self.count(c, c)).sum()
    }

    /// Share of images predicted right (0 when empty).
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }

    /// Share of class `truth`'s images predicted right, if it has any.
    pub fn recall(&self, truth: usize) -> Option<f64> {
        let row: u64 = self.row(truth).iter().sum();
        (row > 0).then(|| self.count(truth, truth) as f64 / row as f64)
    }

    /// The largest off-diagonal cell (the first in row order on a tie), or `None`
    /// when the model made no mistake.
    pub fn most_confused(&self) -> Option<Confusion> {
        let mut best: Option<Confusion> = None;
        for truth in 0..self.classes {
            for predicted in (0..self.classes).filter(|&p| p != truth) {
                let count = self.count(truth, predicted);
                if count > 0 && best.is_none_or(|b| count > b.count) {
                    best = Some(Confusion {
                        truth,
                        predicted,
                        count,
                    });
                }
            }
        }
        best
    }
}

/// What the model answered for one test image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The class it chose.
    pub predicted: u32,
    /// That class's probability.
    pub confidence: f32,
}

/// A test-set evaluation: the confusion matrix, and each image's answer (what the
/// gallery behind a confusion cell lists).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Test images by true and predicted class.
    pub matrix: ConfusionMatrix,
    /// Per test image, in the test set's order.
    pub answers: Vec<Answer>,
}

impl Evaluation {
    /// An evaluation of a test set of `images` images in `classes` classes, before
    /// any is recorded.
    pub fn new(classes: usize, images: usize) -> Self {
        Self {
            matrix: ConfusionMatrix::new(classes),
            answers: vec![
                Answer {
                    predicted: 0,
                    confidence: f32::NAN,
                };
                images
            ],
        }
    }

    /// Records the examples `ids` of `split` from their `logits` (one row of the
    /// matrix's classes each): the class with the largest logit, and its softmax
    /// probability.
    pub fn record_logits(&mut self, ids: &[u32], logits: &[f32], split: &crate::data::Split) {
        let classes = self.matrix.classes.max(1);
        for (&i, row) in ids.iter().zip(logits.chunks(classes)) {
            let best = super::argmax(row);
            let top = row.get(best).copied().unwrap_or(0.0);
            let sum: f32 = row.iter().map(|&z| (z - top).exp()).sum();
            self.matrix
                .record(usize::from(split.labels[i as usize]), best);
            if let Some(answer) = self.answers.get_mut(i as usize) {
                *answer = Answer {
                    predicted: best as u32,
                    confidence: 1.0 / sum,
                };
            }
        }
    }

    /// The test images of class `truth` the model took for `predicted`, with their
    /// top probability, in the test set's order.
    pub fn images(
        &self,
        truth: usize,
        predicted: usize,
        split: &crate::data::Split,
    ) -> Vec<(usize, f32)> {
        self.answers
            .iter()
            .enumerate()
            .filter(|&(i, a)| {
                usize::from(split.labels[i]) == truth && a.predicted as usize == predicted
            })
            .map(|(i, a)| (i, a.confidence))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_to_the_images_recorded_and_the_diagonal_is_the_accuracy() {
        let mut m = ConfusionMatrix::new(3);
        let pairs = [
            (0, 0),
            (0, 0),
            (0, 2),
            (1, 1),
            (2, 0),
            (2, 0),
            (2, 0),
            (2, 2),
        ];
        for (t, p) in pairs {
            m.record(t, p);
        }
        assert_eq!(m.total(), pairs.len() as u64);
        assert_eq!(m.correct(), 4);
        assert_eq!(m.accuracy(), 0.5);
        assert_eq!(m.row(2), &[3, 0, 1]);
        assert_eq!(m.recall(0), Some(2.0 / 3.0));
        m.record(3, 0);
        m.record(0, 7);
        assert_eq!(
            m.total(),
            pairs.len() as u64,
            "outside the classes: ignored"
        );
        assert_eq!(ConfusionMatrix::new(2).recall(1), None);
        assert_eq!(ConfusionMatrix::new(2).accuracy(), 0.0);
    }

    #[test]
    fn the_most_confused_pair_is_the_largest_off_diagonal_count() {
        // Shirts taken for T-shirts dominate, though the diagonal is larger still.
        let mut counts = vec![0; 100];
        let mut set = |t: usize, p: usize, n: u64| counts[t * 10 + p] = n;
        for c in 0..10 {
            set(c, c, 800);
        }
        set(6, 0, 152);
        set(4, 2, 99);
        set(0, 6, 151);
        let m = ConfusionMatrix::from_counts(10, counts).unwrap();
        assert_eq!(
            m.most_confused(),
            Some(Confusion {
                truth: 6,
                predicted: 0,
                count: 152
            })
        );
        assert_eq!(m.total(), 8000 + 152 + 99 + 151);
    }

    #[test]
    fn ties_go_to_the_first_pair_and_a_perfect_model_confuses_nothing() {
        let m = ConfusionMatrix::from_counts(2, vec![5, 2, 2, 5]).unwrap();
        assert_eq!(
            m.most_confused().map(|c| (c.truth, c.predicted)),
            Some((0, 1))
        );
        let perfect = ConfusionMatrix::from_counts(2, vec![5, 0, 0, 5]).unwrap();
        assert_eq!(perfect.most_confused(), None);
        assert!(ConfusionMatrix::from_counts(2, vec![1, 2, 3]).is_none());
    }
}
