//! Progress for long imports: a live line on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports pages as they arrive.
pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress display for `label`: a spinner when stderr is a terminal and `quiet` is false,
    /// debug log lines otherwise.
    pub fn new(label: impl Into<String>, quiet: bool) -> Self {
        let label = label.into();
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { label, bar }
    }

    /// One more page: totals so far.
    pub fn page(&self, pages: usize, imported: usize, rejected: usize) {
        let message = format!("{pages} pages, {imported} imported, {rejected} rejected");
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => tracing::debug!(store = %self.label, "{message}"),
        }
    }

    /// What is happening now, in words.
    pub fn step(&self, message: impl Into<String>) {
        let message = message.into();
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => tracing::debug!(store = %self.label, "{message}"),
        }
    }

    /// Removes the live line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
