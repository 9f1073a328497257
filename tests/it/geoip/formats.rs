//! What each format holds: quoted fields, UTF-8 and Latin-1 names, extra fields, fallbacks,
//! and every kind of bad row, skipped, counted and reported with its line.

use serde_json::json;
use tracing_redis::ErrorKind;
use tracing_redis::store::geoip::GeoipFormat;

use super::{G2_BLOCKS, G2_LOCATIONS, Geo, LEGACY_BLOCKS, LEGACY_COPYRIGHT, LEGACY_LOCATIONS};
use super::{g2_blocks, g2_locations, latin1, legacy_blocks, legacy_locations};

fn g2_locations_quoted() -> String {
    format!(
        "{G2_LOCATIONS}\n\
         4140963,en,NA,\"North America\",US,\"United States\",DC,\"District of Columbia\",,,\"Washington, D.C.\",511,America/New_York,0\n\
         2657896,en,EU,Europe,CH,Switzerland,ZH,Zürich,,,Zürich,,Europe/Zurich,0\n\
         1000001,en,EU,Europe,GB,\"United Kingdom\",ENG,England,,,\"Saint \"\"Quoted\"\" Town\",,Europe/London,0\n\
         6252001,en,NA,\"North America\",US,\"United States\",,,,,,,,0\n"
    )
}

#[test]
fn geolite2_quoted_fields_utf8_extras_and_fallback() {
    let mut geo = Geo::new();
    let blocks = format!(
        "{G2_BLOCKS}\n\
         1.0.0.0/24,4140963,6252001,,0,0,20001,38.9,-77.03,20,0\n\
         1.0.1.0/24,4140963,6252001,,0,0,20002,38.91,-77.04,20,0\n\
         1.0.2.0/24,4140963,6252001,,0,0,20001,38.9,-77.03,20,0\n\
         1.0.3.0/24,4140963,6252001,,0,0,,,,20,0\n\
         2.0.0.0/16,2657896,2658434,,0,0,8001,47.37,8.54,5,0\n\
         3.0.0.0/8,1000001,2635167,,0,0,,,,5,0\n\
         4.0.0.0/8,,6252001,,0,0,,37.75,-97.82,1000,0\n"
    );
    let report = geo.import(g2_locations_quoted(), &[&blocks]);
    assert_eq!(report.format, GeoipFormat::GeoLite2);
    assert_eq!(
        (report.locations, report.ipv4_ranges, report.bad_rows),
        (4, 7, 0)
    );
    // Four block-specific extras (two postal codes of D.C., Zürich, the US centroid).
    assert_eq!(report.cities, 8);

    let dc = geo.city("1.0.0.1").unwrap();
    assert_eq!(dc.city.as_deref(), Some("Washington, D.C."));
    assert_eq!(dc.region.as_deref(), Some("District of Columbia"));
    assert_eq!(dc.country.as_deref(), Some("US"));
    assert_eq!(dc.extra["postal_code"], "20001");
    assert_eq!(dc.extra["latitude"], json!(38.9));
    assert_eq!(dc.extra["longitude"], json!(-77.03));
    assert_eq!(dc.extra["time_zone"], "America/New_York");
    let other_postcode = geo.city("1.0.1.1").unwrap();
    assert_eq!(other_postcode.extra["postal_code"], "20002");
    assert_ne!(other_postcode.id, dc.id);
    // The same extras share one entry; a block without any uses the location's own.
    assert_eq!(geo.city("1.0.2.1").unwrap().id, dc.id);
    let plain = geo.city("1.0.3.1").unwrap();
    assert_eq!(plain.id, "4140963");
    assert_eq!(plain.extra.len(), 1, "{:?}", plain.extra);

    let zurich = geo.city("2.0.255.255").unwrap();
    assert_eq!(zurich.city.as_deref(), Some("Zürich"));
    assert_eq!(zurich.extra["time_zone"], "Europe/Zurich");
    let quoted = geo.city("3.1.2.3").unwrap();
    assert_eq!(quoted.city.as_deref(), Some("Saint \"Quoted\" Town"));

    // An empty geoname_id falls back to the registered country.
    let country = geo.city("4.4.4.4").unwrap();
    assert_eq!(country.id.split('-').next(), Some("6252001"));
    assert_eq!((country.city, country.region), (None, None));
    assert_eq!(country.country.as_deref(), Some("US"));
    assert_eq!(country.extra["latitude"], json!(37.75));

    // The hash entry itself: `[city, region, country, extra]`, nulls for empty fields.
    let raw: String = redis::cmd("HGET")
        .arg("cityid2city:")
        .arg("6252001")
        .query(&mut geo.con)
        .unwrap();
    assert_eq!(raw, r#"[null,null,"US"]"#);
}

#[test]
fn legacy_latin1_names_copyright_line_and_extras() {
    let mut geo = Geo::new();
    let locations = latin1(&format!(
        "{LEGACY_COPYRIGHT}\n{LEGACY_LOCATIONS}\n\
         1,\"O1\",\"\",\"\",\"\",0.0000,0.0000,,\n\
         17,\"BR\",\"27\",\"São Paulo\",\"\",-23.5477,-46.6358,,\n\
         23,\"DE\",\"07\",\"Düsseldorf\",\"40210\",51.2217,6.7762,,\n\
         42,\"US\",\"CA\",\"Mountain View\",\"94043\",37.4192,-122.0574,807,650\n"
    ));
    let blocks = legacy_blocks(&[
        (16_777_216, 16_777_471, "17"),
        (33_554_432, 33_554_687, "23"),
        (134_744_064, 134_744_319, "42"),
        (50_331_648, 50_331_903, "1"),
    ]);
    let report = geo.import(locations, &[&blocks]);
    assert_eq!(report.format, GeoipFormat::Legacy);
    assert_eq!(
        (report.locations, report.cities, report.ipv4_ranges),
        (4, 4, 4)
    );

    let sp = geo.city("1.0.0.0").unwrap();
    assert_eq!(
        (sp.id.as_str(), sp.city.as_deref()),
        ("17", Some("São Paulo"))
    );
    assert_eq!(sp.region.as_deref(), Some("27"));
    assert_eq!(sp.extra["latitude"], json!(-23.5477));
    assert!(!sp.extra.contains_key("postal_code"));
    assert_eq!(
        geo.city("2.0.0.255").unwrap().city.as_deref(),
        Some("Düsseldorf")
    );
    let mv = geo.city("8.8.8.8").unwrap();
    assert_eq!(mv.country.as_deref(), Some("US"));
    assert_eq!(mv.extra["postal_code"], "94043");
    assert_eq!(mv.extra["metro_code"], "807");
    assert_eq!(mv.extra["area_code"], "650");
    let anonymous = geo.city("3.0.0.1").unwrap();
    assert_eq!(
        (anonymous.city, anonymous.country.as_deref()),
        (None, Some("O1"))
    );
}

#[test]
fn geolite2_bad_rows_are_skipped_counted_and_located() {
    let mut geo = Geo::new();
    let locations = g2_locations(&[("1", "DE", "", "A"), ("2", "DE", "", "B")]);
    let blocks = format!(
        "{G2_BLOCKS}\n\
         10.0.0.0/8,1,,,0,0,,,,1,0\n\
         not-a-network,1,,,0,0,,,,1,0\n\
         10.1.0.0/16,2,,,0,0,,,,1,0\n\
         11.0.0.0/8,,,,0,0,,,,1,0\n\
         12.0.0.0/8,99,,,0,0,,,,1,0\n\
         13.0.0.0/33,1,,,0,0,,,,1,0\n\
         short\n\
         14.0.0.0/8,2,,,0,0,,,,1,0\n"
    );
    let report = geo.import(locations, &[&blocks]);
    assert_eq!((report.ipv4_ranges, report.bad_rows), (2, 6));
    let lines: Vec<(u64, &str)> = report
        .bad_row_samples
        .iter()
        .map(|b| (b.line, b.reason.as_str()))
        .collect();
    let reason_at = |line: u64| {
        lines
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, r)| *r)
            .unwrap_or_else(|| panic!("no bad row at line {line}: {lines:?}"))
    };
    assert!(reason_at(3).contains("not-a-network"), "{lines:?}");
    assert!(
        reason_at(4).contains("overlaps") && reason_at(4).ends_with(":2"),
        "{lines:?}"
    );
    assert!(reason_at(5).contains("no location id"), "{lines:?}");
    assert!(reason_at(6).contains("`99`"), "{lines:?}");
    assert!(reason_at(7).contains("13.0.0.0/33"), "{lines:?}");
    assert!(reason_at(8).contains("unparsable"), "{lines:?}");
    assert!(report.bad_row_samples[0].file.ends_with("file2.csv"));
    assert_eq!(geo.id("10.1.2.3").as_deref(), Some("1"));
    assert_eq!(geo.id("11.0.0.1"), None);
    assert_eq!(geo.id("14.0.0.1").as_deref(), Some("2"));
}

#[test]
fn legacy_bad_rows_and_overlaps_across_unsorted_rows() {
    let mut geo = Geo::new();
    let locations = legacy_locations(&[
        ("1", "DE", "", "A"),
        ("2", "FR", "", "B"),
        ("1", "IT", "", "dup"),
    ]);
    let blocks = format!(
        "{LEGACY_COPYRIGHT}\n{LEGACY_BLOCKS}\n\
         \"500\",\"600\",\"2\"\n\
         \"100\",\"200\",\"1\"\n\
         \"300\",\"299\",\"1\"\n\
         \"150\",\"160\",\"2\"\n\
         \"550\",\"700\",\"1\"\n\
         \"x\",\"1\",\"1\"\n\
         \"4294967296\",\"4294967296\",\"1\"\n\
         \"800\",\"900\",\"\"\n\
         \"201\",\"299\",\"2\"\n"
    );
    let report = geo.import(locations, &[&blocks]);
    // The duplicate location, the reversed, two overlapping, two unparsable, the id-less.
    assert_eq!((report.ipv4_ranges, report.bad_rows), (3, 7));
    let reasons: Vec<String> = report
        .bad_row_samples
        .iter()
        .map(|b| b.to_string())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains(":5: reversed range")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(":6: range overlaps") && r.ends_with(":4")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(":7: range overlaps") && r.ends_with(":3")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("duplicate location id `1`")),
        "{reasons:?}"
    );
    assert_eq!(geo.id("0.0.0.150").as_deref(), Some("1"));
    assert_eq!(geo.id("0.0.1.43").as_deref(), Some("2")); // 299
    assert_eq!(geo.id("0.0.1.44").as_deref(), None); // 300: the reversed row is gone
    assert_eq!(geo.id("0.0.2.188").as_deref(), None); // 700: only in the dropped row
    assert_eq!(
        geo.city("0.0.0.100").unwrap().country.as_deref(),
        Some("DE")
    );
}

#[test]
fn the_number_of_reported_bad_rows_is_capped_but_all_are_counted() {
    let mut geo = Geo::new();
    let mut blocks = format!("{LEGACY_COPYRIGHT}\n{LEGACY_BLOCKS}\n\"1\",\"1\",\"1\"\n");
    for i in 0..50 {
        blocks.push_str(&format!("\"{}\",\"0\",\"1\"\n", i + 10));
    }
    let report = geo.import(legacy_locations(&[("1", "DE", "", "A")]), &[&blocks]);
    assert_eq!(report.bad_rows, 50);
    assert_eq!(
        report.bad_row_samples.len(),
        tracing_redis::store::geoip::DEFAULT_REPORTED_BAD_ROWS
    );
    assert_eq!(report.bad_row_samples[0].line, 4);
}

#[test]
fn unusable_files_are_errors_naming_the_file() {
    let mut geo = Geo::new();
    let loc = g2_locations(&[("1", "DE", "", "A")]);
    let blocks = g2_blocks(&[("1.0.0.0/8", "1")]);

    let err = geo.try_import(&loc, &["a,b,c\n1,2,3\n"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(
        err.to_string().contains("file2.csv") && err.to_string().contains("header"),
        "{err}"
    );

    let err = geo.try_import(&blocks, &[&blocks]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not locations"), "{err}");

    let err = geo.try_import(&loc, &[&loc]).unwrap_err();
    assert!(err.to_string().contains("not IP blocks"), "{err}");

    let legacy = legacy_blocks(&[(1, 2, "1")]);
    let err = geo.try_import(&loc, &[&legacy]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("one format"), "{err}");

    let err = geo
        .try_import(&loc, &[&format!("{G2_BLOCKS}\nbad,1,,,0,0,,,,1,0\n")])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
    assert!(err.to_string().contains("no usable block rows"), "{err}");

    let import = tracing_redis::store::geoip::GeoipImport::new(geo.dir.path().join("missing.csv"))
        .blocks(geo.dir.path().join("file2.csv"));
    let err = geo.store.import_geoip(&mut geo.con, &import).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("missing.csv"), "{err}");

    let err = geo.try_import(&loc, &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // Nothing was written, not even staging keys.
    assert_eq!(geo.keys(), Vec::<String>::new());
}
