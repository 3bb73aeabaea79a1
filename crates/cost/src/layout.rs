//! A target's memory layouts: the same target started again with its
//! environment larger by another amount, so that what its process lays out
//! in memory falls elsewhere.

use bookbench_suite::targets::Target;

/// One of a target's memory layouts: its start with its environment larger
/// by `padding_bytes`, in one variable nothing reads. The layout moves
/// with what a process allocates first (its environment and module paths
/// come first), and a CPython process's counts move with it, by up to
/// 6% between two starts (docs/method.md, "Where a program is placed"); several
/// layouts turn that bias into a spread that a comparison can bound.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub index: usize,
    pub padding_bytes: u32,
}

/// The variable that pads the environment.
const LAYOUT_VARIABLE: &str = "BOOKBENCH_LAYOUT";

/// Padding of each layout: the first none (the target as configured), the
/// others uneven and of growing size, so that they fall in different size
/// classes of the allocators and at different alignments.
const LAYOUT_BYTES: [u32; 8] = [0, 23, 97, 211, 389, 613, 1201, 2477];

/// The most layouts a run can count.
pub const MAX_LAYOUTS: u32 = LAYOUT_BYTES.len() as u32;

impl Layout {
    pub fn all(n: u32) -> Vec<Self> {
        LAYOUT_BYTES
            .iter()
            .take((n as usize).clamp(1, LAYOUT_BYTES.len()))
            .enumerate()
            .map(|(index, &padding_bytes)| Self {
                index,
                padding_bytes,
            })
            .collect()
    }

    /// `target` started in this layout.
    pub fn of(&self, target: &Target) -> Target {
        let mut target = target.clone();
        if self.padding_bytes > 0 {
            // The variable's name and `=` count too: the padding is the
            // whole entry's length.
            let value = (self.padding_bytes as usize).saturating_sub(LAYOUT_VARIABLE.len() + 1);
            target
                .env
                .insert(LAYOUT_VARIABLE.to_string(), "x".repeat(value));
        }
        target
    }

    /// Where this layout's dumps and log go: the target's own name for the
    /// first.
    pub fn files(&self, target: &str) -> String {
        match self.index {
            0 => target.to_string(),
            i => format!("{target}.layout{}", i + 1),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "layout {} ({} bytes more environment)",
            self.index + 1,
            self.padding_bytes
        )
    }
}
