//! The images `←`/`→` move through: the user's own first, then the test set's.

use std::sync::Arc;

use crate::data::Split;
use crate::data::own::{OwnImage, ProbeImage};

/// The user's images (newest first) followed by the test images, by position.
#[derive(Debug, Clone, Default)]
pub struct ImageList {
    own: Vec<Arc<OwnImage>>,
    tests: usize,
}

impl ImageList {
    /// The user's `own` images, then `tests` test images.
    pub fn new(own: Vec<Arc<OwnImage>>, tests: usize) -> Self {
        Self { own, tests }
    }

    /// How many images in all.
    pub fn len(&self) -> usize {
        self.own.len() + self.tests
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many are the user's.
    pub fn own_count(&self) -> usize {
        self.own.len()
    }

    /// The image at `position` (past the end: the last).
    pub fn get(&self, position: usize) -> ProbeImage {
        match self.own.get(position) {
            Some(own) => ProbeImage::Own(Arc::clone(own)),
            None => ProbeImage::Test((position - self.own.len()).min(self.tests.saturating_sub(1))),
        }
    }

    /// The position of test image `index`.
    pub fn test_position(&self, index: usize) -> usize {
        self.own.len() + index
    }

    /// The position one step forward or back, round the ends.
    pub fn step(&self, position: usize, forward: bool) -> usize {
        let n = self.len().max(1);
        if forward {
            (position + 1) % n
        } else {
            (position + n - 1) % n
        }
    }

    /// The next test image (after `position`, round the end) of the class after (or
    /// before) the shown image's; from an image of no known class, the first of the
    /// first (or last) class.
    pub fn next_of_class(
        &self,
        position: usize,
        forward: bool,
        test: &Split,
        classes: usize,
    ) -> Option<usize> {
        let classes = classes.max(1);
        let target = match self.get(position).label(test) {
            Some(c) if forward => (c + 1) % classes,
            Some(c) => (c + classes - 1) % classes,
            None if forward => 0,
            None => classes - 1,
        };
        let from = position.saturating_sub(self.own.len());
        let n = test.len();
        let start = if position < self.own.len() {
            n - 1
        } else {
            from
        };
        (1..=n)
            .map(|k| (start + k) % n)
            .find(|&i| usize::from(test.labels[i]) == target)
            .map(|i| self.test_position(i))
    }

    /// Gives the user's image `id` a new name (a kept drawing, once saved).
    pub fn rename(&mut self, id: u64, name: &str) {
        if let Some(image) = self.own.iter_mut().find(|i| i.id == id) {
            *image = Arc::new(OwnImage {
                name: name.into(),
                ..OwnImage::clone(image)
            });
        }
    }

    /// Puts `image` first; returns its position (0). Positions held elsewhere move
    /// one on.
    pub fn push_front(&mut self, image: Arc<OwnImage>) -> usize {
        self.own.insert(0, image);
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_split() -> Split {
        Split {
            rows: 1,
            cols: 1,
            pixels: vec![0; 5],
            labels: vec![0, 1, 2, 1, 0],
        }
    }

    fn own(name: &str, label: Option<usize>) -> Arc<OwnImage> {
        Arc::new(OwnImage::new(name, label, vec![0]))
    }

    #[test]
    fn the_users_images_come_first() {
        let list = ImageList::new(vec![own("a.png", None), own("b.png", None)], 5);
        assert_eq!(list.len(), 7);
        assert!(matches!(list.get(1), ProbeImage::Own(o) if o.name == "b.png"));
        assert_eq!(list.get(2), ProbeImage::Test(0));
        assert_eq!(list.get(6), ProbeImage::Test(4));
        assert_eq!(list.step(6, true), 0, "round the end to the user's first");
        assert_eq!(list.step(0, false), 6);
    }

    #[test]
    fn class_jumps_go_through_the_test_images() {
        let split = test_split();
        let list = ImageList::new(vec![own("coat.png", Some(1)), own("x.png", None)], 5);
        // From a labelled image of class 1, the next class is 2: test image 2.
        assert_eq!(
            list.next_of_class(0, true, &split, 3),
            Some(list.test_position(2))
        );
        // From an unlabelled one, the first class: test image 0.
        assert_eq!(
            list.next_of_class(1, true, &split, 3),
            Some(list.test_position(0))
        );
        // From test image 1 (class 1) back: class 0, the next one after it is image 4.
        assert_eq!(
            list.next_of_class(list.test_position(1), false, &split, 3),
            Some(list.test_position(4))
        );
    }

    #[test]
    fn a_new_image_goes_first() {
        let mut list = ImageList::new(Vec::new(), 5);
        assert_eq!(list.push_front(own("drawing", None)), 0);
        assert_eq!(list.own_count(), 1);
        assert_eq!(list.get(1), ProbeImage::Test(0));
        let id = list.own[0].id;
        list.rename(id, "drawing_1.png");
        assert!(
            matches!(list.get(0), ProbeImage::Own(o) if o.name == "drawing_1.png" && o.id == id)
        );
    }
}
