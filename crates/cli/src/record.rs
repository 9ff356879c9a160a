//! `orderport record`: one walk of a store's window, recorded as a test-kit fixture.
//!
//! 1. The store's channel is built with an observer on its HTTP client ([`capture`]), and the
//!    window is walked page by page as the kit replays a fetch ([`orderport::pages`]).
//! 2. Each attempt's credentials and host become the fixture's ([`identity`], [`exchange`]),
//!    and the personal data stable pseudonyms ([`pseudonyms`]).
//! 3. The scenario is written in the kit's format in memory ([`scenario`]) and every file is
//!    checked ([`hygiene`]); then it is replayed from a staging directory ([`replay`]), which
//!    also renders `outcomes.snap`, checked in turn.
//! 4. Only then is anything written into `--out`. Any failure refuses the whole recording with
//!    exit code 4, naming the file and what failed; `--out` is left as it was.

mod capture;
mod exchange;
mod hygiene;
mod identity;
mod pseudonyms;
mod replay;
mod scenario;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use clap::Args;
use futures::StreamExt;
use orderport::layer::ObserveLayer;
use orderport::{FetchOutcome, TimeWindow};
use orderport_testkit::conformance::{MAX_PAGES, OUTCOMES_SNAPSHOT};
use orderport_testkit::pseudonym::PersonalKind;
use orderport_testkit::xsd::XsdSchema;

use crate::exit::{Failure, REFUSED};
use crate::{fresh_dir, stores};
use capture::Capture;
use exchange::Exchange;
use identity::StoreIdentity;
use scenario::{Recording, Walked};

/// Arguments of `orderport record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
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
    /// The scenario directory to write; it must not exist, or be empty. Its name is the
    /// scenario's.
    #[arg(long)]
    out: PathBuf,
    /// What the scenario shows, for people and the snapshot. Default: the channel and the window.
    #[arg(long)]
    description: Option<String>,
    /// The channel's published XML Schema, to mark each successful XML reply strict or lenient
    /// (fixtures/custom-store/schema/orders.xsd for the Custom Store channels).
    #[arg(long, value_name = "XSD")]
    schema: Option<PathBuf>,
    /// Take the pseudonyms' salt from this environment variable, so that recordings made with
    /// the same salt give a value the same pseudonym. Default: a random salt, kept nowhere.
    #[arg(long, value_name = "VAR")]
    salt_env: Option<String>,
}

/// Records the window into `--out`. See the [module documentation](self).
pub async fn run(args: RecordArgs, json: bool) -> Result<(), Failure> {
    let window = TimeWindow::new(args.from, args.to).map_err(Failure::usage)?;
    fresh_dir::ensure_free(&args.out, "--out")?;
    let salt = salt(args.salt_env.as_deref())?;
    let schema = args
        .schema
        .as_deref()
        .map(|path| {
            XsdSchema::load(path)
                .with_context(|| format!("loading the schema {}", path.display()))
                .map_err(Failure::usage)
        })
        .transpose()?;
    let file = stores::load(&args.config)?;
    stores::check_selected(&file, &args.config, std::slice::from_ref(&args.store))?;
    let capture = Arc::new(Capture::default());
    let observe = ObserveLayer::new(capture.clone());
    let (config, channel) = stores::connect_layered(file.store(&args.store)?, &[&observe])?;
    let channel_id = channel.spec().id;

    let walked = walk(channel.as_ref(), window).await?;
    let attempts = capture.take();
    let identity = StoreIdentity::of(&config);
    let services: Vec<_> = attempts.iter().map(|a| a.redactor.clone()).collect();
    let lost = attempts.iter().filter(|a| a.reply.is_none()).count();
    if lost > 0 {
        tracing::warn!(
            attempts = lost,
            "attempts that got no reply (connection failed or timed out) are left out of the fixture"
        );
    }
    let mut exchanges: Vec<Exchange> = attempts
        .iter()
        .filter_map(|a| Exchange::cleared(a, &identity))
        .collect();
    drop(attempts);
    let pseudonymized = pseudonyms::pseudonymize(&mut exchanges, &salt)
        .map_err(|e| refused(&args.out, anyhow!(e)))?;

    let name = scenario_name(&args.out);
    let description = args.description.clone().unwrap_or_else(|| {
        format!(
            "Recorded from {channel_id}: the orders modified from {} to {}",
            window
                .from()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            window
                .to()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    });
    let recording = Recording {
        name: &name,
        description: &description,
        window,
        config: &config,
        identity: &identity,
        exchanges: &exchanges,
        walked: &walked,
        schema: schema.as_ref(),
    };
    let (fixture, left_out) = scenario::scenario(&recording).map_err(|e| refused(&args.out, e))?;
    for setting in &left_out {
        tracing::warn!(
            setting = %setting,
            "a setting holding a URL is left out of the fixture's store (its only address is its url)"
        );
    }
    let mut files = fixture
        .files()
        .map_err(|e| refused(&args.out, anyhow!(e)))?;
    review(&args.out, &files, &identity, &services)?;
    let snapshot = replay::replay(&files, &name, channel_id, &walked)
        .await
        .map_err(|e| refused(&args.out, e))?;
    if let Some(snapshot) = snapshot {
        let snap: BTreeMap<String, Vec<u8>> =
            BTreeMap::from([(format!("{OUTCOMES_SNAPSHOT}.snap"), snapshot.into_bytes())]);
        review(&args.out, &snap, &identity, &services)?;
        files.extend(snap);
    }
    fresh_dir::write(
        &args.out,
        files.iter().map(|(f, b)| (f.as_str(), b.as_slice())),
    )?;
    report(
        &args,
        channel_id,
        &walked,
        exchanges.len(),
        &pseudonymized,
        &files,
        json,
    );
    Ok(())
}

/// Walks the window one page at a time, as the kit replays a fetch, and counts; an error of
/// the channel ends the walk and is recorded as the scenario's result.
async fn walk(
    channel: &dyn orderport::SellingChannel,
    window: TimeWindow,
) -> Result<Walked, Failure> {
    let mut walked = Walked {
        pages: 0,
        accepted: 0,
        rejected: 0,
        error: None,
    };
    let mut pages = std::pin::pin!(orderport::pages(channel, window));
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                walked.pages += 1;
                for outcome in &page.outcomes {
                    match outcome {
                        FetchOutcome::Accepted(_) => walked.accepted += 1,
                        FetchOutcome::Rejected(_) => walked.rejected += 1,
                    }
                }
                if walked.pages >= MAX_PAGES {
                    return Err(Failure {
                        code: REFUSED,
                        error: anyhow!(
                            "the window has {MAX_PAGES} pages or more, and a fixture replays at most {}; record a shorter window (nothing was written)",
                            MAX_PAGES - 1
                        ),
                    });
                }
            }
            Err(error) => {
                walked.error = Some(error);
                break;
            }
        }
    }
    Ok(walked)
}

/// The salt: from the environment variable named, or random.
fn salt(variable: Option<&str>) -> Result<Vec<u8>, Failure> {
    match variable {
        None => Ok(rand::random::<[u8; 32]>().to_vec()),
        Some(name) => match std::env::var(name) {
            Ok(salt) if !salt.is_empty() => Ok(salt.into_bytes()),
            _ => Err(Failure::usage(anyhow!(
                "--salt-env {name}: the variable is not set, or empty"
            ))),
        },
    }
}

fn scenario_name(out: &Path) -> String {
    out.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "recorded".to_owned())
}

/// A refusal: exit code 4, naming the output directory, saying nothing was written.
fn refused(out: &Path, error: anyhow::Error) -> Failure {
    Failure {
        code: REFUSED,
        error: error.context(format!(
            "refusing to record into {}: nothing was written",
            out.display()
        )),
    }
}

/// Refuses the recording when a file fails the kit's hygiene check or holds a credential.
fn review(
    out: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    identity: &StoreIdentity,
    services: &[orderport::http::Redactor],
) -> Result<(), Failure> {
    let problems = hygiene::problems(out, files, identity, services);
    if problems.is_empty() {
        return Ok(());
    }
    Err(refused(
        out,
        anyhow!(
            "the recording fails the test kit's hygiene check (docs/testing.md, \"Fixture hygiene\"):\n  {}",
            problems.join("\n  ")
        ),
    ))
}

fn report(
    args: &RecordArgs,
    channel: &str,
    walked: &Walked,
    exchanges: usize,
    pseudonymized: &BTreeMap<PersonalKind, usize>,
    files: &BTreeMap<String, Vec<u8>>,
    json: bool,
) {
    let result = walked
        .error
        .as_ref()
        .map(|e| orderport_testkit::ResultKind::of::<()>(&Err(e.clone())).to_string())
        .unwrap_or_else(|| "ok".to_owned());
    if json {
        let counts: serde_json::Map<String, serde_json::Value> = pseudonymized
            .iter()
            .map(|(kind, n)| (kind.to_string(), (*n).into()))
            .collect();
        let report = serde_json::json!({
            "store": args.store, "channel": channel, "dir": args.out.display().to_string(),
            "result": result, "pages": walked.pages, "accepted": walked.accepted,
            "rejected": walked.rejected, "exchanges": exchanges, "pseudonyms": counts,
            "files": files.keys().collect::<Vec<_>>(),
        });
        println!("{report}");
        return;
    }
    println!(
        "recorded store {} ({channel}): {} page(s), {} accepted, {} rejected, result {result}, {exchanges} exchange(s)",
        args.store, walked.pages, walked.accepted, walked.rejected
    );
    let counts: Vec<String> = pseudonymized
        .iter()
        .map(|(kind, n)| format!("{kind}: {n}"))
        .collect();
    println!(
        "pseudonymized (distinct values): {}",
        if counts.is_empty() {
            "none found".to_owned()
        } else {
            counts.join(", ")
        }
    );
    println!(
        "wrote {}: {}",
        args.out.display(),
        files.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    println!(
        "next: read every file, then move the directory under the connector's fixtures (docs/testing.md, \"Recording fixtures from a real store\")"
    );
}
