//! `tracing-redis geoip import` and `geoip lookup` on the committed fixtures.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};

use crate::support::RedisServer;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/geoip")
        .join(path)
}

fn cli(server: &RedisServer) -> Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tracing-redis");
    cmd.env_remove("REDIS_URL").arg("--url").arg(server.url());
    cmd
}

fn import_geolite2(server: &RedisServer, json: bool) -> assert_cmd::assert::Assert {
    let mut cmd = cli(server);
    if json {
        cmd.arg("--json");
    }
    cmd.args(["geoip", "import", "--blocks"])
        .arg(fixture("geolite2/GeoLite2-City-Blocks-IPv4.csv"))
        .arg("--blocks")
        .arg(fixture("geolite2/GeoLite2-City-Blocks-IPv6.csv"))
        .arg("--locations")
        .arg(fixture("geolite2/GeoLite2-City-Locations-en.csv"))
        .assert()
}

fn lines(output: &[u8]) -> Vec<Value> {
    String::from_utf8(output.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_prints_counts_as_json_and_lookup_prints_one_object_per_address() {
    let server = RedisServer::start();
    let out = import_geolite2(&server, true)
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let report = &lines(&out)[0];
    assert_eq!(report["format"], "GeoLite2");
    assert_eq!(report["locations"], 5);
    assert_eq!(report["ipv4_ranges"], 5);
    assert_eq!(report["ipv6_ranges"], 2);
    assert_eq!(report["bad_rows"], 2);
    let samples = report["bad_row_samples"].as_array().unwrap();
    assert!(
        samples
            .iter()
            .any(|s| s["line"] == 7 && s["reason"].as_str().unwrap().contains("overlaps"))
    );
    assert!(
        samples
            .iter()
            .any(|s| s["line"] == 8 && s["file"].as_str().unwrap().ends_with("IPv4.csv"))
    );

    let out = cli(&server)
        .args([
            "geoip",
            "lookup",
            "8.8.8.8",
            "10.0.0.1",
            "2001:4860::8888",
            "::ffff:81.1.2.3",
            "9.9.9.9",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with(
            r#"{"ip":"8.8.8.8","city":"Mountain View","region":"California","country":"US","#
        ),
        "{text}"
    );
    let got = lines(&out);
    assert_eq!(got.len(), 5);
    assert_eq!(got[0]["postal_code"], "94043");
    assert_eq!(got[0]["time_zone"], "America/Los_Angeles");
    assert_eq!(
        got[1],
        json!({"ip": "10.0.0.1", "city": null, "region": null, "country": null})
    );
    assert_eq!(got[2]["city"], "Mountain View");
    assert_eq!(got[3]["ip"], "::ffff:81.1.2.3");
    assert_eq!(got[3]["city"], "Zürich");
    assert_eq!(
        (&got[4]["city"], &got[4]["country"]),
        (&Value::Null, &json!("US"))
    );
}

#[test]
fn import_prints_a_summary_with_the_bad_rows() {
    let server = RedisServer::start();
    import_geolite2(&server, false)
        .success()
        .stdout(predicate::str::contains(
            "imported GeoLite2 data: 5 locations, 9 cities, 5 IPv4 ranges, 2 IPv6 ranges",
        ))
        .stdout(predicate::str::contains("skipped 2 bad rows"))
        .stdout(predicate::str::contains(
            "GeoLite2-City-Blocks-IPv4.csv:8: unparsable network",
        ));
}

#[test]
fn legacy_latin1_files_import_and_print_as_utf8() {
    let server = RedisServer::start();
    cli(&server)
        .args(["geoip", "import", "--blocks"])
        .arg(fixture("legacy/GeoLiteCity-Blocks.csv"))
        .arg("--locations")
        .arg(fixture("legacy/GeoLiteCity-Location.csv"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "imported legacy GeoLiteCity data: 4 locations",
        ))
        .stdout(predicate::str::contains(
            "GeoLiteCity-Blocks.csv:6: reversed range",
        ));
    let out = cli(&server)
        .args(["geoip", "lookup", "1.0.0.1", "8.8.8.8", "3.0.0.0"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let got = lines(&out);
    assert_eq!(got[0]["city"], "São Paulo");
    assert_eq!(got[1]["area_code"], "650");
    assert_eq!(got[2]["country"], Value::Null);
}

#[test]
fn invalid_addresses_and_missing_files_exit_1_naming_them() {
    let server = RedisServer::start();
    cli(&server)
        .args(["geoip", "lookup", "8.8.8.8", "not-an-ip"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("\"not-an-ip\""));
    cli(&server)
        .args([
            "geoip",
            "import",
            "--blocks",
            "no-such-blocks.csv",
            "--locations",
        ])
        .arg(fixture("legacy/GeoLiteCity-Location.csv"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no-such-blocks.csv"));
}

#[test]
fn usage_errors_exit_2() {
    let server = RedisServer::start();
    cli(&server).args(["geoip", "lookup"]).assert().code(2);
    cli(&server)
        .args(["geoip", "import", "--locations", "x.csv"])
        .assert()
        .code(2);
    cli(&server)
        .args(["geoip", "import", "--blocks", "x.csv"])
        .assert()
        .code(2);
}
