//! From rows to index entries: sort by start, drop every row that overlaps one already kept,
//! and put a gap marker right after each range that the next one does not directly follow.
//! Pure, so the edges are unit-tested here and the importer only formats and writes.

use std::fmt::Debug;
use std::iter;

/// An address of one index: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait Addr: Copy + Ord + Debug {
    /// The next address, `None` past the last one of the space.
    fn successor(self) -> Option<Self>;
}

impl Addr for u32 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl Addr for u128 {
    fn successor(self) -> Option<Self> {
        self.checked_add(1)
    }
}

/// One row: an inclusive range, its city (an index into the import's city table) and where
/// it was read, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range<T> {
    pub start: T,
    pub end: T,
    pub city: u32,
    pub file: u32,
    pub line: u64,
}

/// Sorts `ranges` by start (ties in file order) and removes each range that overlaps one
/// kept before it, calling `on_overlap(dropped, kept)`. What remains is strictly increasing
/// and disjoint.
pub(crate) fn settle<T: Addr>(
    ranges: &mut Vec<Range<T>>,
    mut on_overlap: impl FnMut(&Range<T>, &Range<T>),
) {
    ranges.sort_unstable_by_key(|r| (r.start, r.file, r.line));
    let mut kept = 0;
    for i in 0..ranges.len() {
        let r = ranges[i];
        // Kept ranges are disjoint and sorted, so the last one has the highest end.
        if kept > 0 && r.start <= ranges[kept - 1].end {
            on_overlap(&r, &ranges[kept - 1]);
            continue;
        }
        ranges[kept] = r;
        kept += 1;
    }
    ranges.truncate(kept);
}

/// One member of an index: a range start with its city, or a gap marker (`city: None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry<T> {
    pub at: T,
    pub city: Option<u32>,
}

/// The members of the index for settled `ranges`, in address order.
pub(crate) fn entries<T: Addr>(ranges: &[Range<T>]) -> impl Iterator<Item = Entry<T>> + '_ {
    ranges.iter().enumerate().flat_map(move |(i, r)| {
        let gap = r
            .end
            .successor()
            .filter(|&after| ranges.get(i + 1).is_none_or(|next| next.start != after));
        iter::once(Entry {
            at: r.start,
            city: Some(r.city),
        })
        .chain(gap.map(|at| Entry { at, city: None }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u32, end: u32, city: u32, line: u64) -> Range<u32> {
        Range {
            start,
            end,
            city,
            file: 0,
            line,
        }
    }

    fn e(at: u32, city: Option<u32>) -> Entry<u32> {
        Entry { at, city }
    }

    #[test]
    fn gap_markers_only_where_the_next_range_does_not_follow() {
        let mut v = vec![r(20, 29, 3, 3), r(0, 9, 1, 1), r(10, 14, 2, 2)];
        settle(&mut v, |_, _| panic!("no overlap"));
        let got: Vec<_> = entries(&v).collect();
        assert_eq!(
            got,
            [
                e(0, Some(1)),
                e(10, Some(2)),
                e(15, None),
                e(20, Some(3)),
                e(30, None)
            ]
        );
    }

    #[test]
    fn no_marker_after_the_last_address() {
        let v = vec![r(u32::MAX - 1, u32::MAX, 1, 1)];
        assert_eq!(entries(&v).collect::<Vec<_>>(), [e(u32::MAX - 1, Some(1))]);
        let w = vec![Range {
            start: 0u128,
            end: u128::MAX,
            city: 1,
            file: 0,
            line: 1,
        }];
        assert_eq!(entries(&w).count(), 1);
    }

    #[test]
    fn overlapping_rows_lose_to_the_earlier_start_then_the_earlier_line() {
        let mut v = vec![
            r(5, 15, 2, 2),
            r(0, 9, 1, 1),
            r(0, 3, 9, 7),
            r(10, 10, 3, 3),
            r(16, 20, 4, 4),
        ];
        let mut dropped = Vec::new();
        settle(&mut v, |d, k| dropped.push((d.line, k.line)));
        assert_eq!(dropped, [(7, 1), (2, 1)]);
        let kept: Vec<_> = v.iter().map(|x| x.line).collect();
        assert_eq!(kept, [1, 3, 4]);
    }
}
