//! `orderport import`: every order modified in a window, as JSON lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

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
    #[arg(long, env = "ORDERPORT_CONFIG")]
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
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout().lock());
    let mut rejects = rejects;
    let to_file = rejects.is_some();
    let progress = Progress::new(&config.id, json);
    let (tally, result) = walk(
        Arc::from(channel),
        window,
        &progress,
        shutdown.token(),
        move |page| render(page, to_file),
        |page: std::io::Result<Rendered>| {
            let page = page?;
            out.write_all(&page.orders)?;
            // One page at a time: what was fetched is on disk before the next page is written.
            out.flush()?;
            match &mut rejects {
                Some(file) => {
                    file.write_all(&page.rejections)?;
                    file.flush()
                }
                None => {
                    page.logged.iter().for_each(|r| tracing::warn!("{r}"));
                    Ok(())
                }
            }
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
            // Every page handled so far was written out and flushed: stdout holds whole lines.
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

/// The output's buffer: large enough that a page's lines go out in a few writes.
const OUTPUT_BUFFER: usize = 1 << 20;

/// Writes one value as a JSON line.
pub fn write_line(out: &mut impl Write, value: &impl serde::Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// One page as JSON lines, rendered off the writing task.
struct Rendered {
    /// The accepted orders, one JSON line each.
    orders: Vec<u8>,
    /// The rejections, one JSON line each, when they go to a file.
    rejections: Vec<u8>,
    /// The rejections to log, when they go to no file.
    logged: Vec<Rejection>,
}

fn render(page: orderport::Page, rejections_to_file: bool) -> std::io::Result<Rendered> {
    // About 2 KiB per order: one allocation per page, not one per order.
    let mut rendered = Rendered {
        orders: Vec::with_capacity(page.outcomes.len() * 2048),
        rejections: Vec::new(),
        logged: Vec::new(),
    };
    for outcome in page.outcomes {
        match outcome {
            FetchOutcome::Accepted(order) => {
                sonic_rs::to_writer(&mut rendered.orders, &order).map_err(std::io::Error::other)?;
                rendered.orders.push(b'\n');
            }
            FetchOutcome::Rejected(rejection) if rejections_to_file => {
                write_line(&mut rendered.rejections, &rejection)?
            }
            FetchOutcome::Rejected(rejection) => rendered.logged.push(rejection),
        }
    }
    Ok(rendered)
}
