//! IP → city: importers for MaxMind-style CSV files and gap-correct lookups, IPv4 and IPv6.
//!
//! Like the rest of the store, everything here is **synchronous and does I/O on the calling
//! thread**; an import runs for seconds per million rows.
//!
//! # Keys
//!
//! - `P:ip2cityid:` (zset): IPv4. Member `<cityid>_<row>`, score: the first address of the
//!   range as an integer. A gap marker `_<row>` (empty city id) sits at `end + 1` of every
//!   range that the next range does not directly follow.
//! - `P:ip2cityid:v6` (zset, all scores 0): IPv6. Member `<32 lowercase hex digits of the
//!   first address>:<cityid>`; gap marker `<hex(end + 1)>:`.
//! - `P:cityid2city:` (hash): city id → JSON `[city, region, country]`, with a fourth element,
//!   an object of extra fields, when there are any. Empty fields are `null`.
//!
//! A lookup takes the last member at or below the address (`ZREVRANGEBYSCORE P:ip2cityid:
//! <ip> 0 LIMIT 0 1`, or `ZREVRANGEBYLEX P:ip2cityid:v6 "(<hex>;" - LIMIT 0 1`); an empty
//! city id means no city. `::ffff:a.b.c.d` is looked up in the IPv4 index.
//!
//! # Formats
//!
//! Recognised from each file's header ([`GeoipFormat`]):
//!
//! - **GeoLite2 City** (UTF-8): `…-City-Blocks-IPv4.csv` and `…-City-Blocks-IPv6.csv`
//!   (CIDR networks; an empty `geoname_id` falls back to `registered_country_geoname_id`)
//!   and `…-City-Locations-<locale>.csv` (city = `city_name`, region =
//!   `subdivision_1_name`, country = `country_iso_code`, extra `time_zone`). A block's own
//!   `postal_code`, `latitude` and `longitude` go in the extra object too: blocks of one
//!   location that carry different values get their own entries, `<geoname_id>-<n>`.
//! - **Legacy GeoLiteCity** (Latin-1, a copyright line before each header):
//!   `startIpNum,endIpNum,locId` (inclusive) and
//!   `locId,country,region,city,postalCode,latitude,longitude,metroCode,areaCode` (extra
//!   `postal_code`, `latitude`, `longitude`, `metro_code`, `area_code`).
//!
//! Rows need not be sorted. Bad rows (unparsable address, reversed range, range overlapping
//! one that starts earlier, missing or unknown id) are skipped, counted, and the first few
//! reported with their line numbers ([`ImportReport`]).
//!
//! # Example
//!
//! ```no_run
//! use tracing_redis::store::Store;
//! use tracing_redis::store::geoip::GeoipImport;
//!
//! # fn main() -> tracing_redis::Result<()> {
//! # let mut con = redis::Client::open("redis://127.0.0.1/").unwrap().get_connection().unwrap();
//! let store = Store::new();
//! let import = GeoipImport::new("GeoLite2-City-Locations-en.csv")
//!     .blocks("GeoLite2-City-Blocks-IPv4.csv")
//!     .blocks("GeoLite2-City-Blocks-IPv6.csv");
//! let report = store.import_geoip(&mut con, &import)?;
//! println!("{} IPv4 and {} IPv6 ranges", report.ipv4_ranges, report.ipv6_ranges);
//!
//! let cities = store.find_cities_by_ip(&mut con, &["8.8.8.8", "2001:4860::8888", "10.0.0.1"])?;
//! assert_eq!(cities.len(), 3);
//! # Ok(()) }
//! ```

mod formats;
mod import;
mod lookup;
mod plan;
mod read;
mod write;

pub use formats::GeoipFormat;
pub use import::{
    BadRow, DEFAULT_IMPORT_BATCH, DEFAULT_REPORTED_BAD_ROWS, GeoipImport, ImportPhase,
    ImportProgress, ImportReport,
};
pub use lookup::{City, IpQuery};
