//! `orderport import`: every order modified in a window, as JSON lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use orderport::{FetchOutcome, Rejection, TimeWindow};

use crate::exit::{Failure, INTERRUPTED};
use crate::progress::Progress;
use crate::shutdown::Shutdown;
use crate::stores;
use crate::walk::{walk, WalkError};

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

/// Runs the import. Exit status 0 means the whole window was fetched; rejections alone do not
/// fail it. With `json`, the closing summary goes to stderr as one JSON object. SIGTERM or
/// Ctrl-C stops it at once (the pages written so far are complete lines) with exit 130.
pub async fn run(args: ImportArgs, json: bool) -> Result<(), Failure> {
    let shutdown = Shutdown::listen();
    let window = TimeWindow::new(args.from, args.to).map_err(Failure::usage)?;
    let (config, channel) = stores::open(&args.config, &args.store)?;
    let rejects = args
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
    let out = std::cell::RefCell::new(BufWriter::new(stdout.lock()));
    let rejects = std::cell::RefCell::new(rejects);
    let progress = Progress::new(&config.id, json);
    let (tally, result) = walk(
        channel.as_ref(),
        window,
        &progress,
        shutdown.token(),
        |outcome| match outcome {
            FetchOutcome::Accepted(order) => write_line(&mut *out.borrow_mut(), &order),
            FetchOutcome::Rejected(rejection) => {
                write_rejection(rejects.borrow_mut().as_mut(), &rejection)
            }
        },
        || {
            // One page at a time: what was fetched is on disk before the next request.
            out.borrow_mut().flush()?;
            rejects.borrow_mut().as_mut().map_or(Ok(()), Write::flush)
        },
    )
    .await;
    progress.finish();
    let finished = result.is_ok();
    if json {
        let summary = serde_json::json!({
            "store": config.id, "finished": finished, "pages": tally.pages,
            "imported": tally.imported, "rejected": tally.rejected, "by_status": tally.by_status,
        });
        eprintln!("{summary}");
    } else {
        tracing::info!(
            store = %config.id,
            pages = tally.pages,
            imported = tally.imported,
            rejected = tally.rejected,
            "import {}",
            if finished { "finished" } else { "stopped early" }
        );
    }
    match result {
        Ok(()) => Ok(()),
        Err(WalkError::Channel(e)) => Err(Failure::from(e)),
        Err(WalkError::Handler(e)) => Err(Failure::from(e)),
        Err(WalkError::Cancelled) => {
            // Every page handled so far is written out: what is on stdout is whole lines.
            out.borrow_mut().flush()?;
            Err(Failure {
                code: INTERRUPTED,
                error: anyhow::anyhow!(
                    "store {}: stopped by {} after {} page(s); the output is partial: import the same window again",
                    config.id,
                    shutdown.signal().unwrap_or("a signal"),
                    tally.pages
                ),
            })
        }
    }
}

/// Writes one value as a JSON line.
pub fn write_line(out: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

fn write_rejection(
    file: Option<&mut BufWriter<File>>,
    rejection: &Rejection,
) -> std::io::Result<()> {
    match file {
        Some(file) => write_line(file, rejection),
        None => {
            tracing::warn!("{rejection}");
            Ok(())
        }
    }
}
