//! The importer: what to import ([`GeoipImport`]), what it reports while running
//! ([`ImportProgress`]) and when done ([`ImportReport`]), and the steps: read, settle,
//! write, swap.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use redis::ConnectionLike;

use super::formats::GeoipFormat;
use super::plan::{self, Addr, Entry, Range};
use super::read::{self, CityTable, Ranges};
use super::write::{Sink, Staging, Target};
use crate::error::{Error, Result};
use crate::store::Store;

/// Members sent per round trip while importing (split into commands of at most 1,000).
pub const DEFAULT_IMPORT_BATCH: usize = 10_000;

/// How many bad rows an [`ImportReport`] describes (all of them are counted).
pub const DEFAULT_REPORTED_BAD_ROWS: usize = 10;

/// What to import: one locations file and one or more blocks files of the same format.
///
/// ```
/// use tracing_redis::store::geoip::GeoipImport;
///
/// let import = GeoipImport::new("GeoLite2-City-Locations-en.csv")
///     .blocks("GeoLite2-City-Blocks-IPv4.csv")
///     .blocks("GeoLite2-City-Blocks-IPv6.csv")
///     .batch_size(5_000);
/// assert_eq!(import.blocks_files().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct GeoipImport {
    locations: PathBuf,
    blocks: Vec<PathBuf>,
    batch_size: usize,
    max_reported: usize,
}

impl GeoipImport {
    /// An import of the cities in `locations`; add blocks files with [`GeoipImport::blocks`].
    pub fn new(locations: impl Into<PathBuf>) -> Self {
        GeoipImport {
            locations: locations.into(),
            blocks: Vec::new(),
            batch_size: DEFAULT_IMPORT_BATCH,
            max_reported: DEFAULT_REPORTED_BAD_ROWS,
        }
    }

    /// Adds a blocks file (IPv4, IPv6 or both; rows need not be sorted).
    #[must_use]
    pub fn blocks(mut self, path: impl Into<PathBuf>) -> Self {
        self.blocks.push(path.into());
        self
    }

    /// Members per round trip; default [`DEFAULT_IMPORT_BATCH`], at least 1.
    #[must_use]
    pub fn batch_size(mut self, members: usize) -> Self {
        self.batch_size = members.max(1);
        self
    }

    /// How many bad rows the report describes; default [`DEFAULT_REPORTED_BAD_ROWS`].
    #[must_use]
    pub fn max_reported_bad_rows(mut self, n: usize) -> Self {
        self.max_reported = n;
        self
    }

    /// The locations file.
    pub fn locations_file(&self) -> &Path {
        &self.locations
    }

    /// The blocks files, in the order given.
    pub fn blocks_files(&self) -> &[PathBuf] {
        &self.blocks
    }
}

/// A step of an import, for [`ImportProgress`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportPhase {
    /// Reading the locations file; `done`/`total` count its bytes.
    Locations,
    /// Reading a blocks file; `done`/`total` count its bytes.
    Blocks,
    /// Writing the index; `done`/`total` count members.
    Index,
}

/// Where an import is, passed to the callback of [`Store::import_geoip_with_progress`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ImportProgress<'a> {
    /// The current step.
    pub phase: ImportPhase,
    /// The file being read, if any.
    pub file: Option<&'a Path>,
    /// Bytes read or members written so far in this step.
    pub done: u64,
    /// Bytes or members in this step.
    pub total: u64,
    /// Rows read from the current file so far (0 while writing).
    pub rows: u64,
}

/// A row that was skipped, and why.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The file it is in.
    pub file: PathBuf,
    /// Its line (1-based).
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// What an import did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The format of the files.
    pub format: GeoipFormat,
    /// Locations read from the locations file.
    pub locations: u64,
    /// Entries of `cityid2city:`: the locations, plus one per distinct set of extra fields
    /// that blocks of a location carry (GeoLite2 postal codes and coordinates).
    pub cities: u64,
    /// IPv4 ranges in the index (IPv4-mapped IPv6 networks included).
    pub ipv4_ranges: u64,
    /// IPv6 ranges in the index.
    pub ipv6_ranges: u64,
    /// Gap markers written after ranges not directly followed by another.
    pub gap_markers: u64,
    /// Rows skipped: unparsable, reversed or overlapping ranges, missing or unknown ids.
    pub bad_rows: u64,
    /// The first bad rows, with their lines.
    pub bad_row_samples: Vec<BadRow>,
}

/// Counts bad rows and keeps the first few.
#[derive(Debug)]
pub(crate) struct BadRows {
    count: u64,
    samples: Vec<BadRow>,
    max: usize,
}

impl BadRows {
    pub(crate) fn add(&mut self, file: &Path, line: u64, reason: impl FnOnce() -> String) {
        self.count += 1;
        if self.samples.len() < self.max {
            self.samples.push(BadRow {
                file: file.to_owned(),
                line,
                reason: reason(),
            });
        }
    }
}

impl Store {
    /// Replaces the IP → city data with the contents of `import`'s files. See
    /// [`Store::import_geoip_with_progress`].
    ///
    /// # Errors
    ///
    /// As [`Store::import_geoip_with_progress`].
    pub fn import_geoip(
        &self,
        con: &mut dyn ConnectionLike,
        import: &GeoipImport,
    ) -> Result<ImportReport> {
        self.import_geoip_with_progress(con, import, &mut |_| {})
    }

    /// Replaces the IP → city data with the contents of `import`'s files, calling `progress`
    /// now and then. Synchronous and long: it runs on the calling thread for as long as the
    /// files take (seconds per million rows).
    ///
    /// The files are streamed; locations go to a staging hash as they are read, block rows
    /// are kept in memory as compact ranges (24 bytes per IPv4 row, 48 per IPv6 row), sorted,
    /// checked for overlaps, and written with their gap markers to staging keys in pipelined
    /// batches. One MULTI/EXEC then renames the staging keys over the live ones: readers see
    /// the old data set or the new one, never a mix. Bad rows are skipped and counted.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io): a file cannot be read;
    /// - [`ErrorKind::Malformed`](crate::ErrorKind::Malformed): a file has no recognised
    ///   header, or no block row is usable (the live data is then left as it was);
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput): no blocks file, a
    ///   locations file given as blocks or the other way round, or mixed formats;
    /// - any Redis error.
    ///
    /// On error the staging keys are deleted and the live data is unchanged.
    pub fn import_geoip_with_progress(
        &self,
        con: &mut dyn ConnectionLike,
        import: &GeoipImport,
        progress: &mut dyn FnMut(&ImportProgress<'_>),
    ) -> Result<ImportReport> {
        if import.blocks.is_empty() {
            return Err(Error::invalid_input(
                "no blocks file to import: add at least one (IPv4 or IPv6 blocks CSV)",
            ));
        }
        let staging = Staging::new(self.keys());
        let result = run(con, &staging, import, progress);
        if result.is_err() {
            staging.discard(con);
        }
        result
    }
}

fn run(
    con: &mut dyn ConnectionLike,
    staging: &Staging,
    import: &GeoipImport,
    progress: &mut dyn FnMut(&ImportProgress<'_>),
) -> Result<ImportReport> {
    let mut bad = BadRows {
        count: 0,
        samples: Vec::new(),
        max: import.max_reported,
    };
    let mut sink = Sink::new(con, staging, import.batch_size);
    let mut cities = read::locations(&mut sink, &import.locations, &mut bad, progress)?;
    let mut ranges = Ranges::default();
    for (no, path) in import.blocks.iter().enumerate() {
        let no = u32::try_from(no).unwrap_or(u32::MAX);
        read::blocks(path, no, &mut cities, &mut ranges, &mut bad, progress)?;
    }
    settle(&mut ranges.v4, &import.blocks, &mut bad, &mut cities);
    settle(&mut ranges.v6, &import.blocks, &mut bad, &mut cities);
    if ranges.v4.is_empty() && ranges.v6.is_empty() {
        return Err(Error::malformed(format!(
            "no usable block rows in {} ({} bad rows{}); the existing data was left as it was",
            import
                .blocks
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            bad.count,
            bad.samples
                .first()
                .map_or(String::new(), |b| format!(", first: {b}")),
        )));
    }

    let markers = |n: usize, gaps: usize| (gaps - n) as u64;
    let v4_entries = plan::entries(&ranges.v4).count();
    let v6_entries = plan::entries(&ranges.v6).count();
    let variants = cities.used_variant_count();
    let mut index = Progress {
        start: sink.members(),
        total: (v4_entries + v6_entries + variants) as u64,
        callback: progress,
    };
    for (id, entry) in cities.used_variants() {
        let flushed = sink.add(Target::Cities, id, entry.as_str())?;
        index.tick(flushed, &sink);
    }
    let mut member = String::new();
    for (row, Entry { at, city }) in plan::entries(&ranges.v4).enumerate() {
        member.clear();
        if let Some(city) = city {
            member.push_str(cities.id(city));
        }
        let _ = write!(member, "_{row}");
        let flushed = sink.add(Target::V4, at, member.as_str())?;
        index.tick(flushed, &sink);
    }
    for Entry { at, city } in plan::entries(&ranges.v6) {
        member.clear();
        let _ = write!(member, "{at:032x}:");
        if let Some(city) = city {
            member.push_str(cities.id(city));
        }
        let flushed = sink.add(Target::V6, 0, member.as_str())?;
        index.tick(flushed, &sink);
    }
    sink.flush()?;
    index.tick(true, &sink);
    sink.commit()?;
    Ok(ImportReport {
        format: cities.format,
        locations: cities.locations() as u64,
        cities: (cities.locations() + variants) as u64,
        ipv4_ranges: ranges.v4.len() as u64,
        ipv6_ranges: ranges.v6.len() as u64,
        gap_markers: markers(ranges.v4.len(), v4_entries) + markers(ranges.v6.len(), v6_entries),
        bad_rows: bad.count,
        bad_row_samples: bad.samples,
    })
}

/// Sorts and de-overlaps one index's ranges, reporting each dropped row, and marks the
/// variants that kept ranges use.
fn settle<T: Addr>(
    ranges: &mut Vec<Range<T>>,
    files: &[PathBuf],
    bad: &mut BadRows,
    cities: &mut CityTable,
) {
    let path = |no: u32| {
        files
            .get(no as usize)
            .map_or(Path::new(""), |p| p.as_path())
    };
    plan::settle(ranges, |dropped, kept| {
        bad.add(path(dropped.file), dropped.line, || {
            format!(
                "range overlaps the one at {}:{}",
                path(kept.file).display(),
                kept.line
            )
        });
    });
    for r in ranges.iter() {
        cities.mark_used(r.city);
    }
}

/// Reports index progress after each batch sent.
struct Progress<'p> {
    start: u64,
    total: u64,
    callback: &'p mut dyn FnMut(&ImportProgress<'_>),
}

impl Progress<'_> {
    fn tick(&mut self, flushed: bool, sink: &Sink<'_>) {
        if flushed {
            (self.callback)(&ImportProgress {
                phase: ImportPhase::Index,
                file: None,
                done: sink.members() - self.start,
                total: self.total,
                rows: 0,
            });
        }
    }
}
