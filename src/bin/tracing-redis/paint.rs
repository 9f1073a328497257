//! Colour for the human views, only when stdout is a terminal.

use crossterm::style::Stylize;
use tracing_redis::store::Severity;

use crate::output;

/// Colours text when enabled; passes it through otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colour on a terminal only.
    pub fn for_stdout() -> Self {
        Paint {
            on: output::is_terminal(),
        }
    }

    /// A severity's text in its colour.
    pub fn level(self, level: Severity, text: &str) -> String {
        if !self.on {
            return text.to_owned();
        }
        match level {
            Severity::Trace => text.dark_grey().to_string(),
            Severity::Debug => text.blue().to_string(),
            Severity::Info => text.green().to_string(),
            Severity::Warning => text.yellow().to_string(),
            Severity::Error => text.red().to_string(),
            Severity::Critical => text.red().bold().to_string(),
        }
    }

    /// Secondary text (times, hours).
    pub fn dim(self, text: &str) -> String {
        if self.on {
            text.dark_grey().to_string()
        } else {
            text.to_owned()
        }
    }

    /// Headings.
    pub fn bold(self, text: &str) -> String {
        if self.on {
            text.bold().to_string()
        } else {
            text.to_owned()
        }
    }

    /// Bars and charts.
    pub fn bar(self, text: &str) -> String {
        if self.on {
            text.cyan().to_string()
        } else {
            text.to_owned()
        }
    }
}
