//! IP → city: both importers on generated files, every edge of the lookups, re-imports, the
//! property test against an in-memory reference, and the CLI.

mod cli;
mod edges;
mod formats;
mod property;
mod replace;

use std::path::PathBuf;

use tracing_redis::store::Store;
use tracing_redis::store::geoip::{City, GeoipImport, ImportReport};

use crate::support::RedisServer;

pub const G2_BLOCKS: &str = "network,geoname_id,registered_country_geoname_id,\
    represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,\
    latitude,longitude,accuracy_radius,is_anycast";
pub const G2_LOCATIONS: &str = "geoname_id,locale_code,continent_code,continent_name,\
    country_iso_code,country_name,subdivision_1_iso_code,subdivision_1_name,\
    subdivision_2_iso_code,subdivision_2_name,city_name,metro_code,time_zone,\
    is_in_european_union";
pub const LEGACY_COPYRIGHT: &str = "Copyright (c) 2012 MaxMind LLC.  All Rights Reserved.";
pub const LEGACY_BLOCKS: &str = "startIpNum,endIpNum,locId";
pub const LEGACY_LOCATIONS: &str =
    "locId,country,region,city,postalCode,latitude,longitude,metroCode,areaCode";

/// A GeoLite2 blocks file: `(network, geoname_id)` rows, nothing else filled in.
pub fn g2_blocks(rows: &[(&str, &str)]) -> String {
    let mut s = format!("{G2_BLOCKS}\n");
    for (net, id) in rows {
        s.push_str(&format!("{net},{id},{id},,0,0,,,,100,0\n"));
    }
    s
}

/// A GeoLite2 locations file: `(geoname_id, country, region, city)` rows.
pub fn g2_locations(rows: &[(&str, &str, &str, &str)]) -> String {
    let mut s = format!("{G2_LOCATIONS}\n");
    for (id, country, region, city) in rows {
        s.push_str(&format!(
            "{id},en,EU,Europe,{country},,,{region},,,{city},,Europe/Berlin,0\n"
        ));
    }
    s
}

/// A legacy blocks file (copyright line, quoted integers): `(first, last, locId)` rows.
pub fn legacy_blocks(rows: &[(u32, u32, &str)]) -> String {
    let mut s = format!("{LEGACY_COPYRIGHT}\n{LEGACY_BLOCKS}\n");
    for (first, last, id) in rows {
        s.push_str(&format!("\"{first}\",\"{last}\",\"{id}\"\n"));
    }
    s
}

/// A legacy locations file in Latin-1: `(locId, country, region, city)` rows.
pub fn legacy_locations(rows: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let mut s = format!("{LEGACY_COPYRIGHT}\n{LEGACY_LOCATIONS}\n");
    for (id, country, region, city) in rows {
        s.push_str(&format!(
            "{id},\"{country}\",\"{region}\",\"{city}\",,,,,\n"
        ));
    }
    latin1(&s)
}

/// Encodes text as Latin-1 (every character must be below U+0100).
pub fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

/// A server, a connection, a store and a directory for the files of one test.
pub struct Geo {
    pub server: RedisServer,
    pub con: redis::Connection,
    pub store: Store,
    pub dir: tempfile::TempDir,
    files: usize,
}

impl Geo {
    pub fn new() -> Self {
        let server = RedisServer::start();
        let con = server.connection();
        Geo {
            server,
            con,
            store: Store::new(),
            dir: tempfile::tempdir().unwrap(),
            files: 0,
        }
    }

    /// Writes `contents` to a new file of the test directory.
    pub fn file(&mut self, contents: impl AsRef<[u8]>) -> PathBuf {
        self.files += 1;
        let path = self.dir.path().join(format!("file{}.csv", self.files));
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn try_import(
        &mut self,
        locations: impl AsRef<[u8]>,
        blocks: &[&str],
    ) -> tracing_redis::Result<ImportReport> {
        let mut import = GeoipImport::new(self.file(locations));
        for b in blocks {
            import = import.blocks(self.file(b));
        }
        self.store.import_geoip(&mut self.con, &import)
    }

    pub fn import(&mut self, locations: impl AsRef<[u8]>, blocks: &[&str]) -> ImportReport {
        self.try_import(locations, blocks).unwrap()
    }

    pub fn city(&mut self, ip: &str) -> Option<City> {
        self.store.find_city_by_ip(&mut self.con, ip).unwrap()
    }

    /// The city id found for `ip`.
    pub fn id(&mut self, ip: &str) -> Option<String> {
        self.city(ip).map(|c| c.id)
    }

    /// A sorted set's members with their scores, lowest first.
    pub fn zset(&mut self, key: &str) -> Vec<(String, f64)> {
        redis::cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut self.con)
            .unwrap()
    }

    /// Every key of the server, sorted.
    pub fn keys(&mut self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut self.con).unwrap();
        keys.sort();
        keys
    }
}
