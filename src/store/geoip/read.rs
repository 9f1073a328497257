//! Reading the CSV files, streamed: locations go straight to the staging hash (their ids are
//! kept to check the blocks), blocks become compact ranges kept in memory until they can be
//! sorted, checked for overlaps and written with their gap markers.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use csv::ByteRecord;
use serde_json::{Map, Value};

use super::formats::{
    self, BlocksLayout, GeoipFormat, Layout, LocationsLayout, RangeColumns, Span,
};
use super::import::{BadRows, ImportPhase, ImportProgress};
use super::plan::Range;
use super::write::{Sink, Target};
use crate::error::{Error, Result};

/// Progress is reported every this many rows (and at the end of each file).
const PROGRESS_EVERY: u64 = 16_384;

/// Lines before the header that may be skipped (the legacy copyright line).
const MAX_PREAMBLE: usize = 2;

/// The cities an import knows: the locations, plus one variant per distinct extra object
/// that blocks of a location carry (GeoLite2 blocks have their own postal code and
/// coordinates). City `i` is location `i` below `ids.len()`, variant `i - ids.len()` above.
#[derive(Debug)]
pub(crate) struct CityTable {
    pub format: GeoipFormat,
    ids: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    /// Each location's hash value, kept only when blocks may need variants of it.
    entries: Vec<Box<str>>,
    variants: Vec<Variant>,
    /// (location, the block's extra object as JSON) → variant.
    variant_index: HashMap<(u32, Box<str>), u32>,
    per_location: HashMap<u32, u32>,
}

#[derive(Debug, Clone)]
struct Variant {
    id: Box<str>,
    used: bool,
}

impl CityTable {
    /// How many locations were read.
    pub(crate) fn locations(&self) -> usize {
        self.ids.len()
    }

    /// The city id written into the index for city `city`.
    pub(crate) fn id(&self, city: u32) -> &str {
        let i = city as usize;
        match self.ids.get(i) {
            Some(id) => id,
            None => self.variants.get(i - self.ids.len()).map_or("", |v| &v.id),
        }
    }

    /// Marks the variant behind `city` (if it is one) as referenced by a kept range.
    pub(crate) fn mark_used(&mut self, city: u32) {
        if let Some(v) = (city as usize)
            .checked_sub(self.ids.len())
            .and_then(|i| self.variants.get_mut(i))
        {
            v.used = true;
        }
    }

    /// The hash entries of the variants kept ranges refer to: `(id, JSON value)`.
    pub(crate) fn used_variants(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.variant_index
            .iter()
            .filter_map(|((location, extra), &i)| {
                let v = self.variants.get(i as usize - self.ids.len())?;
                if !v.used {
                    return None;
                }
                let base = self.entries.get(*location as usize)?;
                Some((&*v.id, merge_extra(base, extra)))
            })
    }

    pub(crate) fn used_variant_count(&self) -> usize {
        self.variants.iter().filter(|v| v.used).count()
    }

    fn variant(&mut self, location: u32, extra: Map<String, Value>) -> u32 {
        let key = (location, Value::Object(extra).to_string().into_boxed_str());
        if let Some(&city) = self.variant_index.get(&key) {
            return city;
        }
        let n = self.per_location.entry(location).or_insert(0);
        let base = &self.ids[location as usize];
        let id = loop {
            *n += 1;
            let id = format!("{base}-{n}");
            // A location may itself be called `<id>-<n>`; ids must stay unique.
            if !self.index.contains_key(id.as_str()) {
                break id;
            }
        };
        let city = u32::try_from(self.ids.len() + self.variants.len()).unwrap_or(u32::MAX);
        self.variants.push(Variant {
            id: id.into_boxed_str(),
            used: false,
        });
        self.variant_index.insert(key, city);
        city
    }
}

/// A location's entry with the block's extra fields added (the block's win).
fn merge_extra(base: &str, extra: &str) -> String {
    let mut value: Value = serde_json::from_str(base).unwrap_or(Value::Null);
    let extra: Map<String, Value> = serde_json::from_str(extra).unwrap_or_default();
    if let Value::Array(items) = &mut value {
        match items.get_mut(3) {
            Some(Value::Object(obj)) => obj.extend(extra),
            _ => items.push(Value::Object(extra)),
        }
    }
    value.to_string()
}

/// An open CSV file, positioned after its header.
struct CsvFile<'p> {
    path: &'p Path,
    reader: csv::Reader<File>,
    len: u64,
    layout: Layout,
}

fn open(path: &Path) -> Result<CsvFile<'_>> {
    let file = File::open(path).map_err(|e| Error::io(e, path.display()))?;
    let len = file.metadata().map_or(0, |m| m.len());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(file);
    let mut record = ByteRecord::new();
    for _ in 0..=MAX_PREAMBLE {
        if !read(&mut reader, &mut record, path)? {
            break;
        }
        if let Some(layout) = formats::detect(&record) {
            return Ok(CsvFile {
                path,
                reader,
                len,
                layout,
            });
        }
    }
    Err(Error::malformed(format!(
        "{}: no recognised header in its first lines; {}",
        path.display(),
        formats::EXPECTED_HEADERS
    )))
}

fn read(reader: &mut csv::Reader<File>, record: &mut ByteRecord, path: &Path) -> Result<bool> {
    reader
        .read_byte_record(record)
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::io(io, path.display()),
            other => Error::malformed(format!("{}: {other:?}", path.display())),
        })
}

fn report(
    progress: &mut dyn FnMut(&ImportProgress<'_>),
    phase: ImportPhase,
    file: &CsvFile<'_>,
    rows: u64,
) {
    progress(&ImportProgress {
        phase,
        file: Some(file.path),
        done: file.reader.position().byte(),
        total: file.len,
        rows,
    });
}

fn text(format: GeoipFormat, record: &ByteRecord, column: usize) -> Value {
    let t = format.decode(record.get(column).unwrap_or_default());
    let t = t.trim();
    if t.is_empty() {
        Value::Null
    } else {
        Value::String(t.to_owned())
    }
}

/// Reads the locations file into the staging hash and returns the city table.
pub(crate) fn locations(
    sink: &mut Sink<'_>,
    path: &Path,
    bad: &mut BadRows,
    progress: &mut dyn FnMut(&ImportProgress<'_>),
) -> Result<CityTable> {
    let mut file = open(path)?;
    let layout: LocationsLayout = match &file.layout {
        Layout::Locations(l) => l.clone(),
        Layout::Blocks(b) => {
            return Err(Error::invalid_input(format!(
                "{}: holds {} IP blocks, not locations; give it as a blocks file",
                path.display(),
                b.format
            )));
        }
    };
    let format = layout.format;
    let mut table = CityTable {
        format,
        ids: Vec::new(),
        index: HashMap::new(),
        entries: Vec::new(),
        variants: Vec::new(),
        variant_index: HashMap::new(),
        per_location: HashMap::new(),
    };
    // Legacy blocks carry no extra fields, so no variants: no need to keep the entries.
    let keep_entries = format == GeoipFormat::GeoLite2;
    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    while read(&mut file.reader, &mut record, path)? {
        rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        let id = format.decode(record.get(layout.id).unwrap_or_default());
        let id = id.trim();
        if id.is_empty() {
            bad.add(path, line, || "empty location id".to_owned());
            continue;
        }
        if table.index.contains_key(id) {
            bad.add(path, line, || format!("duplicate location id `{id}`"));
            continue;
        }
        let mut entry = vec![
            text(format, &record, layout.city),
            layout
                .region
                .map_or(Value::Null, |c| text(format, &record, c)),
            text(format, &record, layout.country),
        ];
        let extra = formats::extras(format, &layout.extras, &record);
        if !extra.is_empty() {
            entry.push(Value::Object(extra));
        }
        let entry = Value::Array(entry).to_string();
        sink.add(Target::Cities, id, entry.as_str())?;
        let index = u32::try_from(table.ids.len()).unwrap_or(u32::MAX);
        table.ids.push(id.into());
        table.index.insert(id.into(), index);
        if keep_entries {
            table.entries.push(entry.into_boxed_str());
        }
        if rows.is_multiple_of(PROGRESS_EVERY) {
            report(progress, ImportPhase::Locations, &file, rows);
        }
    }
    report(progress, ImportPhase::Locations, &file, rows);
    Ok(table)
}

/// The ranges read from the blocks files, per index.
#[derive(Debug, Default)]
pub(crate) struct Ranges {
    pub v4: Vec<Range<u32>>,
    pub v6: Vec<Range<u128>>,
}

/// Reads one blocks file (number `file_no` of the import) into `ranges`.
pub(crate) fn blocks(
    path: &Path,
    file_no: u32,
    cities: &mut CityTable,
    ranges: &mut Ranges,
    bad: &mut BadRows,
    progress: &mut dyn FnMut(&ImportProgress<'_>),
) -> Result<()> {
    let mut file = open(path)?;
    let layout: BlocksLayout = match &file.layout {
        Layout::Blocks(b) if b.format == cities.format => b.clone(),
        Layout::Blocks(b) => {
            return Err(Error::invalid_input(format!(
                "{}: holds {} blocks but the locations are {}; import files of one format together",
                path.display(),
                b.format,
                cities.format
            )));
        }
        Layout::Locations(_) => {
            return Err(Error::invalid_input(format!(
                "{}: holds locations, not IP blocks; give it as the locations file",
                path.display()
            )));
        }
    };
    let format = layout.format;
    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    while read(&mut file.reader, &mut record, path)? {
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY) {
            report(progress, ImportPhase::Blocks, &file, rows);
        }
        let line = record.position().map_or(0, |p| p.line());
        let field = |c: usize| format.decode(record.get(c).unwrap_or_default());
        let span = match layout.range {
            RangeColumns::Network(c) => formats::parse_network(&field(c)),
            RangeColumns::StartEnd(a, b) => formats::parse_start_end(&field(a), &field(b)),
        };
        let span = match span {
            Ok(span) => span,
            Err(reason) => {
                bad.add(path, line, || reason);
                continue;
            }
        };
        let mut id = field(layout.id);
        if id.trim().is_empty()
            && let Some(c) = layout.fallback_id
        {
            id = field(c);
        }
        let id = id.trim();
        if id.is_empty() {
            bad.add(path, line, || "no location id".to_owned());
            continue;
        }
        let Some(&location) = cities.index.get(id) else {
            bad.add(path, line, || {
                format!("location id `{id}` is not in the locations file")
            });
            continue;
        };
        let extra = formats::extras(format, &layout.extras, &record);
        let city = if extra.is_empty() {
            location
        } else {
            cities.variant(location, extra)
        };
        match span {
            Span::V4(start, end) => ranges.v4.push(Range {
                start,
                end,
                city,
                file: file_no,
                line,
            }),
            Span::V6(start, end) => ranges.v6.push(Range {
                start,
                end,
                city,
                file: file_no,
                line,
            }),
        }
    }
    report(progress, ImportPhase::Blocks, &file, rows);
    Ok(())
}
