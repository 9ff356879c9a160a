//! Replaying the recording before it is written: the fixture's files are staged in a temporary
//! directory and replayed by the test kit ([`run_scenario`]) against the connector, which must
//! make exactly the recorded requests and end the walk as the recording did (the same result,
//! pages, accepted and rejected orders). The snapshot is rendered from that replay
//! ([`render_outcomes`]), so it holds the pseudonyms, never the store's data, and is what the
//! conformance suite will compare with.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context as _};
use orderport::toml;
use orderport_testkit::snapshot::render_outcomes;
use orderport_testkit::{run_scenario, Connector, ResultKind, Scenario};

use super::scenario::Walked;

/// Replays the scenario made of `files` as the directory `name`, for the channel `channel`,
/// and checks that it ends as `walked` did; returns the snapshot of a whole walk (`None` for a
/// walk that ended with an error). An error says why the recording cannot be a fixture.
pub async fn replay(
    files: &BTreeMap<String, Vec<u8>>,
    name: &str,
    channel: &'static str,
    walked: &Walked,
) -> Result<Option<String>, anyhow::Error> {
    let staging = tempfile::tempdir().context("cannot make a staging directory")?;
    let dir = staging.path().join(name);
    std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, bytes) in files {
        std::fs::write(dir.join(file), bytes).with_context(|| format!("cannot stage {file}"))?;
    }
    let scenario =
        Scenario::load(&dir).map_err(|e| anyhow!("the recorded scenario does not load: {e}"))?;
    let connector = Connector::new(channel, orderport::connect, staging.path());
    let run = run_scenario(&connector, &scenario, &toml::Table::new())
        .await
        .map_err(|e| anyhow!("the recorded scenario cannot be replayed: {e}"))?;
    if let Err(mismatch) = &run.replay {
        bail!(
            "replayed, the connector does not make the recorded requests, so the fixture would \
             not replay: {mismatch}\n(a setting left out of the fixture's store, such as an \
             absolute custom_store_url, or a request that changes from one run to the next, \
             causes this)"
        );
    }
    let expected = walked.expect()?;
    let kind = run.result_kind();
    if kind != expected.result {
        bail!(
            "replayed, the walk ends with {kind}, the recording with {}{}",
            expected.result,
            run.result
                .as_ref()
                .err()
                .map(|e| format!(" (replayed: {e})"))
                .unwrap_or_default()
        );
    }
    if kind != ResultKind::Ok {
        return Ok(None);
    }
    let replayed = (
        run.pages.len(),
        run.accepted().count(),
        run.rejected().count(),
    );
    let recorded = (walked.pages, walked.accepted, walked.rejected);
    if replayed != recorded {
        bail!(
            "replayed, the walk returns {} page(s), {} accepted and {} rejected order(s); the \
             recording returned {}, {} and {}: the pseudonyms changed what the connector reads",
            replayed.0,
            replayed.1,
            replayed.2,
            recorded.0,
            recorded.1,
            recorded.2
        );
    }
    let snapshot =
        render_outcomes(&scenario.description, &run.pages).context("cannot render the snapshot")?;
    Ok(Some(snapshot))
}

#[cfg(test)]
mod tests {
    use orderport::ChannelError;
    use orderport_testkit::workspace_fixtures;

    use super::*;

    /// Spark Shipping's `multi-page` fixture: three pages, five accepted orders.
    fn files(edit: impl Fn(String) -> String) -> BTreeMap<String, Vec<u8>> {
        let dir = workspace_fixtures().join("spark-shipping/multi-page");
        ["scenario.toml", "page-1.xml", "page-2.xml", "page-3.xml"]
            .into_iter()
            .map(|f| {
                let text = std::fs::read_to_string(dir.join(f)).unwrap();
                let text = if f == "scenario.toml" {
                    edit(text)
                } else {
                    text
                };
                (f.to_owned(), text.into_bytes())
            })
            .collect()
    }

    fn walked(pages: usize, accepted: usize, error: Option<ChannelError>) -> Walked {
        Walked {
            pages,
            accepted,
            rejected: 0,
            error,
        }
    }

    #[tokio::test]
    async fn a_replay_that_ends_as_recorded_renders_the_snapshot_the_suite_compares() {
        let snapshot = replay(
            &files(|t| t),
            "multi-page",
            "spark-shipping",
            &walked(3, 5, None),
        )
        .await
        .unwrap()
        .unwrap();
        let on_disk = std::fs::read_to_string(
            workspace_fixtures().join("spark-shipping/multi-page/outcomes.snap"),
        )
        .unwrap();
        assert_eq!(
            snapshot.splitn(3, "---\n").nth(2),
            on_disk.splitn(3, "---\n").nth(2)
        );
    }

    #[tokio::test]
    async fn a_replay_that_differs_from_the_recording_is_refused() {
        let other_counts = replay(&files(|t| t), "m", "spark-shipping", &walked(3, 6, None))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            other_counts.contains("5 accepted") && other_counts.contains("recording returned 3, 6"),
            "{other_counts}"
        );
        // A header the connector does not send: the requests differ.
        let header = |t: String| {
            t.replacen(
                "[exchange.request.headers]\n",
                "[exchange.request.headers]\nx-recorded = \"only once\"\n",
                1,
            )
        };
        let requests = replay(&files(header), "m", "spark-shipping", &walked(3, 5, None))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            requests.contains("does not make the recorded requests")
                && requests.contains("x-recorded"),
            "{requests}"
        );
        // Recorded as a failure, replayed as a success.
        let refused = ChannelError::Authentication {
            store: "s".into(),
            detail: "HTTP 401".into(),
        };
        let result = replay(
            &files(|t| t),
            "m",
            "spark-shipping",
            &walked(0, 0, Some(refused)),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            result.contains("ends with ok, the recording with authentication"),
            "{result}"
        );
    }
}
