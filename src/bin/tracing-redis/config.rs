//! `config get|set` and `maintenance on|off|status`: read and change configuration. Every
//! change is announced on `config-changed`, so running processes follow it at once.

use clap::Subcommand;
use serde_json::{Value, json};
use tracing_redis::config::RedisComponentConfig;
use tracing_redis::{Error, Result};

use crate::cli::Context;
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration of COMPONENT of type TYPE (key `config:TYPE:COMPONENT`).
    Get {
        /// Configuration type, e.g. `redis`.
        #[arg(value_name = "TYPE")]
        kind: String,
        /// Component, e.g. `logs`.
        component: String,
    },
    /// Store JSON as the configuration of COMPONENT of type TYPE and announce the change.
    ///
    /// The value is checked first and a rejected one leaves the stored value untouched: it
    /// must be a JSON object (else exit 2), and for type `redis` a connection, `{"url": …}` or
    /// any of host, port, db, username, password (else exit 1).
    Set {
        /// Configuration type, e.g. `redis`.
        #[arg(value_name = "TYPE")]
        kind: String,
        /// Component, e.g. `logs`.
        component: String,
        /// The configuration, a JSON object, e.g. '{"url":"redis://10.0.0.5:6379/2"}'.
        // Not `json`: that id is the global `--json` flag's.
        #[arg(value_name = "JSON", value_parser = parse_json_object)]
        value: Value,
    },
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Put the whole service into maintenance.
    On,
    /// Take the service out of maintenance.
    Off,
    /// Whether the service is under maintenance.
    Status,
}

/// Accepts only a JSON object: anything else is a usage error.
fn parse_json_object(text: &str) -> std::result::Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(r#"a configuration must be a JSON object, e.g. '{"db":3}'"#.to_owned())
    }
}

pub fn run(ctx: &Context, command: ConfigCommand) -> Result<()> {
    match command {
        ConfigCommand::Get { kind, component } => get(ctx, &kind, &component),
        ConfigCommand::Set {
            kind,
            component,
            value,
        } => set(ctx, &kind, &component, &value),
    }
}

fn get(ctx: &Context, kind: &str, component: &str) -> Result<()> {
    let key = ctx.store.keys().config(kind, component)?;
    let mut con = ctx.connect()?;
    let Some(value) = ctx.store.get_config::<Value>(&mut con, kind, component)? else {
        return Err(Error::invalid_input(format!(
            "no configuration at `{key}`; set one with `tracing-redis config set {kind} \
             {component} JSON`"
        )));
    };
    if ctx.global.json {
        output::json_line(&json!({
            "type": kind,
            "component": component,
            "key": key,
            "config": value,
        }))
    } else {
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
        output::line(&pretty)
    }
}

fn set(ctx: &Context, kind: &str, component: &str, value: &Value) -> Result<()> {
    let key = ctx.store.keys().config(kind, component)?;
    if kind == "redis" {
        // A connection the registry could not build would only be reported by each process.
        RedisComponentConfig::from_json(&key, value)
            .and_then(|c| c.connection_info(&key))
            .map_err(|e| {
                Error::invalid_input(format!("rejected, nothing was written: {}", e.message()))
            })?;
    }
    let mut con = ctx.connect()?;
    let receivers = ctx.store.set_config(&mut con, kind, component, value)?;
    if ctx.global.json {
        output::json_line(&json!({
            "type": kind,
            "component": component,
            "key": key,
            "config": value,
            "announced_to": receivers,
        }))
    } else {
        output::line(&format!(
            "set `{key}` (announced to {receivers} subscriber{})",
            if receivers == 1 { "" } else { "s" }
        ))
    }
}

pub fn maintenance(ctx: &Context, command: MaintenanceCommand) -> Result<()> {
    let mut con = ctx.connect()?;
    match command {
        MaintenanceCommand::On => ctx.store.set_maintenance(&mut con, true)?,
        MaintenanceCommand::Off => ctx.store.set_maintenance(&mut con, false)?,
        MaintenanceCommand::Status => {}
    }
    let value = ctx.store.maintenance_value(&mut con)?;
    if ctx.global.json {
        output::json_line(&json!({
            "maintenance": value.is_some(),
            "value": value,
        }))
    } else {
        match value {
            Some(since) => output::line(&format!("maintenance: on ({since})")),
            None => output::line("maintenance: off"),
        }
    }
}
