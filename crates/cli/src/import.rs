//! `orderport import`: every order modified in a window, as JSON lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use futures::TryStreamExt;
use orderport::{pages, FetchOutcome, Rejection, TimeWindow};

use crate::exit::Failure;
use crate::stores;

/// Arguments of `orderport import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The stores file.
    #[arg(long)]
    config: PathBuf,
    /// The store's id in the stores file.
    #[arg(long)]
    store: String,
    /// Start of the window of modification times (RFC 3339), inclusive.
    #[arg(long)]
    from: DateTime<Utc>,
    /// End of the window (RFC 3339), inclusive.
    #[arg(long)]
    to: DateTime<Utc>,
    /// Write each rejected order as a JSON line here. Without it, rejections are logged to stderr.
    #[arg(long)]
    rejects: Option<PathBuf>,
}

/// What an import did.
#[derive(Debug, Default)]
struct Tally {
    pages: usize,
    accepted: usize,
    rejected: usize,
}

/// Runs the import. Exit status 0 means the whole window was fetched; rejections alone do not
/// fail it.
pub async fn run(args: ImportArgs) -> Result<(), Failure> {
    let window = TimeWindow::new(args.from, args.to).map_err(Failure::usage)?;
    let (config, channel) = stores::open(&args.config, &args.store)?;
    let mut rejects = args
        .rejects
        .as_ref()
        .map(|path| {
            File::create(path)
                .map(BufWriter::new)
                .with_context(|| format!("creating the rejects file {}", path.display()))
        })
        .transpose()
        .map_err(Failure::usage)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    let mut walk = Box::pin(pages(channel.as_ref(), window));
    let result = loop {
        let page = match walk.try_next().await {
            Ok(Some(page)) => page,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        tally.pages += 1;
        for outcome in page.outcomes {
            match outcome {
                FetchOutcome::Accepted(order) => {
                    serde_json::to_writer(&mut out, &order).map_err(std::io::Error::from)?;
                    out.write_all(b"\n")?;
                    tally.accepted += 1;
                }
                FetchOutcome::Rejected(rejection) => {
                    write_rejection(rejects.as_mut(), &rejection)?;
                    tally.rejected += 1;
                }
            }
        }
        // One page at a time: what was fetched is on disk before the next request.
        out.flush()?;
        if let Some(file) = rejects.as_mut() {
            file.flush()?;
        }
    };
    tracing::info!(
        store = %config.id,
        pages = tally.pages,
        imported = tally.accepted,
        rejected = tally.rejected,
        "import {}",
        if result.is_ok() { "finished" } else { "stopped early" }
    );
    result.map_err(|e| Failure::from(e))
}

fn write_rejection(
    file: Option<&mut BufWriter<File>>,
    rejection: &Rejection,
) -> Result<(), Failure> {
    match file {
        Some(file) => {
            serde_json::to_writer(&mut *file, rejection).map_err(std::io::Error::from)?;
            file.write_all(b"\n")?;
        }
        None => tracing::warn!("{rejection}"),
    }
    Ok(())
}
