//! A text bar chart of a counter series with labelled axes, for the `counter` view on a
//! terminal: eighth-block bars, the value range on the left, the first and last bucket times
//! below. Plain strings; colour is the caller's choice.

use crate::units::{bucket_label, short_duration};

const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The chart of `points` (bucket start, count), oldest first, at `precision` seconds, in at
/// most `width` columns and `height` rows of bars (plus a title, an axis and a label line).
/// When there are more buckets than columns, neighbouring buckets are summed and the title
/// says over what span.
pub fn render(
    name: &str,
    points: &[(i64, i64)],
    precision: u64,
    width: usize,
    height: usize,
) -> Vec<String> {
    let Some((&(first, _), &(last, _))) = points.first().zip(points.last()) else {
        return vec![format!("{name}: no data in this window")];
    };
    let height = height.max(1);
    // Summing buckets widens the value labels, which narrows the plot: settle both.
    let mut per_col = 1;
    let columns = loop {
        let columns = columns_of(points, per_col);
        let avail = width.saturating_sub(label_width(&columns) + 2).max(1);
        if columns.len() <= avail || per_col >= points.len() {
            break columns;
        }
        per_col = points.len().div_ceil(avail).max(per_col + 1);
    };
    let (lo, hi) = range_of(&columns);
    let label_w = label_width(&columns);
    let avail = width.saturating_sub(label_w + 2).max(1);
    let col_w = (avail / columns.len()).clamp(1, 4);

    let span = short_duration(precision.saturating_mul(per_col as u64));
    let mut out = vec![format!("{name} per {span} (UTC)")];
    let eighths = (height * 8) as f64;
    let scale = (hi - lo).max(1) as f64;
    for row in 0..height {
        let base = ((height - 1 - row) * 8) as i64;
        let label = match row {
            0 => hi.to_string(),
            r if r == height - 1 => lo.to_string(),
            _ => String::new(),
        };
        let bars: String = columns
            .iter()
            .flat_map(|v| {
                let filled = (((v - lo) as f64 / scale) * eighths).round() as i64;
                let cell = BLOCKS[(filled - base).clamp(0, 8) as usize];
                std::iter::repeat_n(cell, col_w)
            })
            .collect();
        out.push(format!("{label:>label_w$} │{bars}"));
    }
    let plot_w = columns.len() * col_w;
    out.push(format!("{:label_w$} └{}", "", "─".repeat(plot_w)));
    let (left, right) = (
        bucket_label(first, precision),
        bucket_label(last, precision),
    );
    let gap = plot_w.saturating_sub(left.chars().count() + right.chars().count());
    let labels = if gap >= 1 {
        format!("{left}{}{right}", " ".repeat(gap))
    } else {
        format!("{left} … {right}")
    };
    out.push(format!("{:label_w$}  {labels}", ""));
    out
}

/// The series summed `per_col` buckets at a time, in `i128`: counters may hold values near
/// the ends of `i64`, whose sums and differences do not fit it.
fn columns_of(points: &[(i64, i64)], per_col: usize) -> Vec<i128> {
    points
        .chunks(per_col)
        .map(|c| c.iter().map(|(_, v)| i128::from(*v)).sum())
        .collect()
}

fn label_width(columns: &[i128]) -> usize {
    let (lo, hi) = range_of(columns);
    lo.to_string().len().max(hi.to_string().len())
}

/// The value range drawn: from 0 (or the lowest negative) to the highest value.
fn range_of(values: &[i128]) -> (i128, i128) {
    let lo = values.iter().copied().min().unwrap_or(0).min(0);
    let hi = values.iter().copied().max().unwrap_or(0).max(lo);
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ramp_uses_every_eighth_block_and_labels_both_axes() {
        let points: Vec<(i64, i64)> = (0..9).map(|i| (i * 5, i)).collect();
        let lines = render("hits", &points, 5, 80, 1);
        assert_eq!(lines[0], "hits per 5s (UTC)");
        // One column of four cells per bucket: the bars rise one eighth at a time.
        let bars: String = " ▁▂▃▄▅▆▇█".chars().flat_map(|c| [c; 4]).collect();
        assert_eq!(lines[1], format!("8 │{bars}"));
        assert!(lines[2].starts_with("  └────"), "{}", lines[2]);
        assert!(lines[3].starts_with("   00:00:00"), "{}", lines[3]);
        assert!(lines[3].ends_with("00:00:40"), "{}", lines[3]);
    }

    #[test]
    fn taller_charts_label_top_and_bottom_and_fill_full_rows() {
        let lines = render("x", &[(0, 0), (60, 10), (120, 5)], 60, 40, 2);
        assert_eq!(lines.len(), 2 + 3);
        assert!(lines[1].starts_with("10 │"), "{}", lines[1]);
        assert!(lines[2].starts_with(" 0 │"), "{}", lines[2]);
        // 10 fills both rows; 5 fills the bottom row only.
        assert!(lines[1].contains('█') && lines[2].contains('█'));
        assert_eq!(lines[1].chars().filter(|c| *c == '█').count(), 4);
        assert_eq!(lines[2].chars().filter(|c| *c == '█').count(), 8);
    }

    #[test]
    fn many_buckets_are_summed_into_the_width() {
        let points: Vec<(i64, i64)> = (0..120).map(|i| (i * 5, 1)).collect();
        let lines = render("hits", &points, 5, 40, 3);
        assert_eq!(lines[0], "hits per 20s (UTC)");
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        assert!(lines[1].starts_with("4 │"), "{}", lines[1]);
    }

    #[test]
    fn negative_values_and_empty_series() {
        let lines = render("d", &[(0, -3), (1, 3)], 1, 20, 2);
        assert!(lines[1].starts_with(" 3 │") && lines[2].starts_with("-3 │"));
        assert_eq!(render("d", &[], 1, 20, 2), ["d: no data in this window"]);
    }

    #[test]
    fn values_near_the_ends_of_i64_neither_overflow_nor_lose_their_labels() {
        let lines = render("big", &[(0, i64::MAX), (1, i64::MIN)], 1, 80, 2);
        let label = |line: &str| line.split('│').next().unwrap().trim().to_owned();
        assert_eq!(label(&lines[1]), i64::MAX.to_string());
        assert_eq!(label(&lines[2]), i64::MIN.to_string());
        // Narrow: neighbouring buckets are summed beyond what an i64 holds.
        let points: Vec<(i64, i64)> = (0..8).map(|i| (i, i64::MAX)).collect();
        let lines = render("big", &points, 1, 25, 1);
        assert_ne!(lines[0], "big per 1s (UTC)", "{lines:#?}");
        let top: i128 = label(&lines[1]).parse().unwrap();
        assert!(top > i128::from(i64::MAX), "{lines:#?}");
        assert_eq!(top % i128::from(i64::MAX), 0, "{lines:#?}");
    }
}
