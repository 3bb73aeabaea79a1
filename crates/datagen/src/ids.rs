//! The id scheme: every generated id is a pure function of (seed, index), so
//! that a load generator can draw existing rows knowing only the seed and
//! the counts in the `dataset` record, without reading the database.
//!
//! Authors are numbered 0..authors in generation order and books 0..books
//! (an author's books are consecutive). Ids look like random version-4
//! UUIDs: their order has nothing to do with the insertion order, as with
//! ids made by a real application, which is what makes a deep `OFFSET` page
//! expensive.

use uuid::Uuid;

/// Independent random streams, one per purpose, so that adding a column to
/// one row kind never shifts the values of another.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    AuthorId = 1,
    BookId = 2,
    AuthorValues = 3,
    BookCount = 4,
    BookValues = 5,
}

/// The id of author number `index` (0-based) of the data set made with `seed`.
pub fn author_id(seed: u64, index: u64) -> Uuid {
    uuid_from(key(seed, Stream::AuthorId, index))
}

/// The id of book number `index` (0-based) of the data set made with `seed`.
pub fn book_id(seed: u64, index: u64) -> Uuid {
    uuid_from(key(seed, Stream::BookId, index))
}

/// A 64-bit key for (seed, stream, index); for a fixed seed and stream,
/// distinct indexes give distinct keys (every step is a bijection on u64).
pub(crate) fn key(seed: u64, stream: Stream, index: u64) -> u64 {
    let base = splitmix(seed ^ (stream as u64).wrapping_mul(0xa076_1d64_78bd_642f));
    splitmix(base.wrapping_add(index.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

/// SplitMix64's finaliser: a bijective mix with good avalanche.
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uuid_from(k: u64) -> Uuid {
    let hi = k;
    let lo = splitmix(k ^ 0x5851_f42d_4c95_7f2d);
    let bits = (u128::from(hi) << 64) | u128::from(lo);
    uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_a_pure_function_of_seed_and_index() {
        assert_eq!(author_id(7, 12345), author_id(7, 12345));
        assert_ne!(author_id(7, 12345), author_id(8, 12345));
        assert_ne!(author_id(7, 12345), book_id(7, 12345));
        assert_eq!(author_id(7, 1).get_version_num(), 4);
    }

    #[test]
    fn ids_of_one_data_set_are_distinct() {
        let ids: HashSet<Uuid> = (0..200_000).map(|i| book_id(42, i)).collect();
        assert_eq!(ids.len(), 200_000);
    }
}
