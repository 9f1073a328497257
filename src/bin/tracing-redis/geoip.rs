//! `geoip import` and `geoip lookup`: load IP → city data, look addresses up.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tracing_redis::Result;
use tracing_redis::store::geoip::{
    City, GeoipImport, ImportPhase, ImportProgress, ImportReport, IpQuery as _,
};

use crate::cli::Context;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum GeoipCommand {
    /// Replace the IP → city data with GeoLite2 City or legacy GeoLiteCity CSV files (the
    /// format is recognised from the headers; bad rows are skipped and reported).
    Import {
        /// A blocks file (IPv4 or IPv6 ranges); repeat for several.
        #[arg(long = "blocks", value_name = "FILE", required = true)]
        blocks: Vec<PathBuf>,
        /// The locations file the blocks refer to.
        #[arg(long, value_name = "FILE")]
        locations: PathBuf,
    },
    /// Print where each address is, one JSON object per line in the order given:
    /// `{"ip":…,"city":…,"region":…,"country":…,…extra}`, all null when not found.
    Lookup {
        /// IPv4 or IPv6 addresses (`::ffff:a.b.c.d` uses the IPv4 data).
        #[arg(value_name = "IP", required = true)]
        ips: Vec<String>,
    },
}

pub fn run(ctx: &Context, command: GeoipCommand) -> Result<()> {
    match command {
        GeoipCommand::Import { blocks, locations } => import(ctx, blocks, locations),
        GeoipCommand::Lookup { ips } => lookup(ctx, &ips),
    }
}

fn import(ctx: &Context, blocks: Vec<PathBuf>, locations: PathBuf) -> Result<()> {
    let import = blocks
        .into_iter()
        .fold(GeoipImport::new(locations), GeoipImport::blocks);
    let mut con = ctx.connect()?;
    let mut bar = Bar::new();
    let report = ctx
        .store
        .import_geoip_with_progress(&mut con, &import, &mut |p| bar.update(p));
    bar.bar.finish_and_clear();
    let report = report?;
    if ctx.global.json {
        output::json_line(&report_json(&report))
    } else {
        print_report(&report)
    }
}

/// The progress bar: drawn on stderr when it is a terminal, hidden otherwise.
struct Bar {
    bar: ProgressBar,
    step: Option<(ImportPhase, Option<PathBuf>)>,
}

impl Bar {
    fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        Bar { bar, step: None }
    }

    fn update(&mut self, p: &ImportProgress<'_>) {
        let step = (p.phase, p.file.map(Path::to_path_buf));
        if self.step.as_ref() != Some(&step) {
            let (template, message) = match (p.phase, p.file) {
                (ImportPhase::Index, _) => (
                    "{msg} [{bar:40}] {human_pos}/{human_len} members ({eta})",
                    "writing the index".to_owned(),
                ),
                (phase, file) => (
                    "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})",
                    format!(
                        "reading {} {}",
                        if phase == ImportPhase::Locations {
                            "locations"
                        } else {
                            "blocks"
                        },
                        file.map_or(String::new(), |f| f.display().to_string())
                    ),
                ),
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            self.bar.reset();
            self.bar.set_style(style);
            self.bar.set_message(message);
            self.step = Some(step);
        }
        self.bar.set_length(p.total);
        self.bar.set_position(p.done);
    }
}

fn report_json(r: &ImportReport) -> Value {
    json!({
        "format": r.format.to_string(),
        "locations": r.locations,
        "cities": r.cities,
        "ipv4_ranges": r.ipv4_ranges,
        "ipv6_ranges": r.ipv6_ranges,
        "gap_markers": r.gap_markers,
        "bad_rows": r.bad_rows,
        "bad_row_samples": r.bad_row_samples.iter().map(|b| json!({
            "file": b.file.display().to_string(),
            "line": b.line,
            "reason": b.reason,
        })).collect::<Vec<_>>(),
    })
}

fn print_report(r: &ImportReport) -> Result<()> {
    output::line(&format!(
        "imported {} data: {} locations, {} cities, {} IPv4 ranges, {} IPv6 ranges, {} gap markers",
        r.format, r.locations, r.cities, r.ipv4_ranges, r.ipv6_ranges, r.gap_markers
    ))?;
    if r.bad_rows > 0 {
        output::line(&format!("skipped {} bad rows:", r.bad_rows))?;
        for b in &r.bad_row_samples {
            output::line(&format!("  {b}"))?;
        }
        let more = r.bad_rows - r.bad_row_samples.len() as u64;
        if more > 0 {
            output::line(&format!("  … and {more} more"))?;
        }
    }
    Ok(())
}

fn lookup(ctx: &Context, ips: &[String]) -> Result<()> {
    // Every address is checked before connecting: a typo fails fast, whatever the server.
    for ip in ips {
        ip.to_ip_addr()?;
    }
    let mut con = ctx.connect()?;
    let cities = ctx.store.find_cities_by_ip(&mut con, ips)?;
    for (ip, city) in ips.iter().zip(cities) {
        output::line(&lookup_line(ip, city.as_ref()))?;
    }
    Ok(())
}

/// `{"ip":…,"city":…,"region":…,"country":…,…extra}`, keys in that order.
fn lookup_line(ip: &str, city: Option<&City>) -> String {
    let field = |f: fn(&City) -> &Option<String>| city.and_then(|c| f(c).as_deref());
    let mut fields: Vec<(&str, Value)> = vec![
        ("ip", json!(ip)),
        ("city", json!(field(|c| &c.city))),
        ("region", json!(field(|c| &c.region))),
        ("country", json!(field(|c| &c.country))),
    ];
    if let Some(c) = city {
        for (k, v) in &c.extra {
            if !fields.iter().any(|(name, _)| name == k) {
                fields.push((k, v.clone()));
            }
        }
    }
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
        .collect();
    format!("{{{}}}", body.join(","))
}
