//! Deterministic bookstore data at any scale, streamed into PostgreSQL.
//!
//! The same seed always gives the same rows: every row's values come from a
//! random stream keyed by (seed, row index), and ids follow [`ids`]. The rows
//! go in with binary `COPY`, generated on one core while the server ingests
//! on the other, in one transaction that also drops the tables' indexes and
//! foreign keys first and builds them again afterwards. So an interrupted
//! seed leaves the database as it was, and the `dataset` record exists only
//! when the rows are complete.

pub mod ids;
mod load;
mod values;

use fastrand::Rng;

use ids::{Stream, key};

pub use load::{Error, NoProgress, Phase, Progress, seed};
pub use values::isbn13_check_digit;

/// Bumped whenever the rows made for a given seed change.
pub const GENERATOR_VERSION: i32 = 1;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 2019;

/// Named sizes; `Full` is the blog post's own data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Tiny,
    Small,
    Medium,
    Full,
}

impl Scale {
    pub const ALL: [Self; 4] = [Self::Tiny, Self::Small, Self::Medium, Self::Full];

    pub fn authors(self) -> u64 {
        match self {
            Self::Tiny => 1_000,
            Self::Small => 10_000,
            Self::Medium => 100_000,
            Self::Full => 1_000_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "tiny",
            Self::Small => "small",
            Self::Medium => "medium",
            Self::Full => "full",
        }
    }
}

impl std::str::FromStr for Scale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scale| scale.name() == s)
            .ok_or_else(|| format!("unknown scale '{s}'; valid scales: tiny, small, medium, full"))
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub seed: u64,
    pub authors: u64,
    /// The scale's name, when the plan came from one.
    pub scale: Option<String>,
}

impl Plan {
    pub fn from_scale(scale: Scale, seed: u64) -> Self {
        Self {
            seed,
            authors: scale.authors(),
            scale: Some(scale.name().to_string()),
        }
    }

    /// Row counts, computed without generating the rows (a few hash
    /// evaluations per row), so that progress can show a total.
    pub fn counts(&self) -> Counts {
        let books: u64 = (0..self.authors)
            .map(|a| u64::from(books_of(self.seed, a)))
            .sum();
        let book_genres = (0..books)
            .map(|b| u64::from(genre_count(&mut book_rng(self.seed, b))))
            .sum();
        Counts {
            authors: self.authors,
            books,
            book_genres,
        }
    }
}

/// How many rows of each kind a plan makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub authors: u64,
    pub books: u64,
    pub book_genres: u64,
}

/// Share of prolific authors, and their range of books.
const PROLIFIC_PERCENT: u8 = 2;
const PROLIFIC_BOOKS: std::ops::RangeInclusive<u32> = 50..=250;
/// The mean of everyone else's (geometric) count, so that the overall mean
/// is 10: 0.02 x 150 + 0.98 x 7.14 = 10.0.
const ORDINARY_MEAN: f64 = 7.14;

/// The number of books of author `index`: zero or more, mean 10, skewed: a
/// geometric count for most, a long tail of prolific authors.
pub fn books_of(seed: u64, index: u64) -> u32 {
    let mut rng = Rng::with_seed(key(seed, Stream::BookCount, index));
    if rng.u8(..100) < PROLIFIC_PERCENT {
        return rng.u32(PROLIFIC_BOOKS);
    }
    // Inverse transform: floor(ln U / ln(1 - p)) with p = 1 / (1 + mean).
    let p = 1.0 / (1.0 + ORDINARY_MEAN);
    let u = 1.0 - rng.f64(); // in (0, 1]
    // Bounded by about 40 x the mean for u near 2^-53, so the cast is exact.
    (u.ln() / (1.0 - p).ln()).floor() as u32
}

/// The random stream of book `index`. Its first draws are the book's genres,
/// so that the genre pass need not make the rest of the row.
fn book_rng(seed: u64, index: u64) -> Rng {
    Rng::with_seed(key(seed, Stream::BookValues, index))
}

fn genre_count(rng: &mut Rng) -> u8 {
    rng.u8(1..=3)
}

/// The genres of a book: 1 to 3 distinct ids from the 40 in the schema.
fn genres(rng: &mut Rng) -> ([i32; 3], usize) {
    let n = usize::from(genre_count(rng));
    let mut out = [0i32; 3];
    let mut len = 0;
    while len < n {
        let g = rng.i32(1..=40);
        if !out[..len].contains(&g) {
            out[len] = g;
            len += 1;
        }
    }
    (out, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_per_author_average_ten_with_a_long_tail() {
        let n = 200_000;
        let counts: Vec<u32> = (0..n).map(|a| books_of(DEFAULT_SEED, a)).collect();
        let mean = counts.iter().map(|&c| f64::from(c)).sum::<f64>() / n as f64;
        assert!((9.5..10.5).contains(&mean), "mean {mean}");
        assert!(counts.contains(&0), "no author without books");
        assert!(
            *counts.iter().max().unwrap_or(&0) >= 200,
            "no prolific author"
        );
    }

    #[test]
    fn counts_are_deterministic_and_scale_with_authors() {
        let a = Plan::from_scale(Scale::Tiny, 1).counts();
        assert_eq!(a, Plan::from_scale(Scale::Tiny, 1).counts());
        assert_ne!(a, Plan::from_scale(Scale::Tiny, 2).counts());
        assert_eq!(a.authors, 1_000);
        assert!(a.book_genres >= a.books && a.book_genres <= 3 * a.books);
    }

    #[test]
    fn scale_names_parse_and_unknown_ones_list_the_valid_ones() {
        assert_eq!("full".parse::<Scale>(), Ok(Scale::Full));
        let err = "huge".parse::<Scale>().expect_err("huge is no scale");
        assert!(err.contains("tiny, small, medium, full"), "{err}");
    }
}
