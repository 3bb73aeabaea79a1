//! The server's allocator, mimalloc 2, and the warming that makes what a
//! request costs it the same from one start to the next.
//!
//! mimalloc carves each size class's blocks from a page and extends the
//! page's free list lazily, only as far as the most blocks ever in use at
//! once. That high-water mark depends on how many of the first requests
//! overlapped, which differs start to start; and a request takes mimalloc's
//! slower path each time the free list runs out, once every "extended less
//! in use" allocations. So the same hello world cost the server about 150
//! more instructions in one start than in another (up to 1.3% of 12 k,
//! docs/method.md). Extending every small page to the whole page before
//! serving leaves nothing for the first requests to decide.

pub use mimalloc::MiMalloc;

/// A small page of mimalloc 2 on 64-bit targets.
const SMALL_PAGE: usize = 64 * 1024;
/// The largest block a small page holds (`MI_SMALL_OBJ_SIZE_MAX`).
const SMALL_BLOCK_MAX: usize = SMALL_PAGE / 8;

/// Fills a page of every small size class on the calling thread, then frees
/// all its blocks but the first, which is kept for the life of the process.
///
/// Call it on each thread that serves requests, before it serves: mimalloc's
/// heaps are per thread. The kept block stops mimalloc from retiring the
/// page once it empties (a retired page comes back unextended). It must be
/// the first: a page's worth of blocks can spill into a second page, which
/// would then be the one kept, barely extended, and the full one freed. It
/// costs about 3 MiB a thread, once.
pub fn warm_thread() {
    let kept: Vec<Vec<u8>> = size_classes()
        .filter_map(|size| {
            let page: Vec<Vec<u8>> = (0..SMALL_PAGE / size)
                .map(|_| Vec::with_capacity(size))
                .collect();
            // The rest are freed as the iterator is dropped.
            page.into_iter().next()
        })
        .collect();
    // Kept on purpose: freeing them would let the pages be retired.
    let _: &'static mut [Vec<u8>] = kept.leak();
}

/// The largest size of each of mimalloc 2's small size classes: a class a
/// word up to 8 words, then four classes to each doubling.
fn size_classes() -> impl Iterator<Item = usize> {
    let words = (1..=8).map(|w| w * 8);
    let doublings = std::iter::successors(Some(64_usize), |p| Some(p * 2))
        .take_while(|p| p * 2 <= SMALL_BLOCK_MAX)
        .flat_map(|p| [p * 5 / 4, p * 3 / 2, p * 7 / 4, p * 2]);
    words.chain(doublings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_climb_from_a_word_to_the_largest_small_block() {
        let sizes: Vec<usize> = size_classes().collect();
        assert_eq!(sizes.first(), Some(&8));
        assert_eq!(sizes.last(), Some(&SMALL_BLOCK_MAX));
        assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
        assert_eq!(&sizes[8..12], &[80, 96, 112, 128]);
    }
}
