//! The checks of the fixture directory itself: layout, hygiene, schema marks, and the
//! connector's own scenarios.

use std::collections::HashSet;
use std::path::Path;

use super::harness::Check;
use super::{required_scenarios, CheckResult, Connector, Failures};
use crate::hygiene;
use crate::scenario::{scenario_dirs, Scenario, SchemaMark, SCENARIO_FILE};
use crate::xsd::{XsdError, XsdSchema};

/// Every scenario directory that is not a required one (the connector's own scenarios), each
/// replayed and judged by its `[expect]` and snapshot.
pub async fn check_connector_scenarios(connector: &Connector) -> CheckResult {
    let mut check = Check::new("connector scenarios");
    let dirs = match scenario_dirs(&connector.fixtures) {
        Ok(dirs) => dirs,
        Err(e) => {
            check.fail(e.to_string());
            return check.finish();
        }
    };
    for dir in dirs {
        let name = dir_name(&dir);
        if required_scenarios().contains(&name.as_str()) {
            continue;
        }
        let mut one = Check::new(&name);
        if let Some(scenario) = one.load(connector, &name) {
            one.run_with(connector, &scenario, &toml::Table::new())
                .await;
        }
        check.failures.absorb(one.finish());
    }
    check.finish()
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The fixture directory is complete and tidy: every required scenario is present, every
/// scenario loads, every file in a scenario directory is used (`scenario.toml`, a body it names,
/// a `.snap`, or a `.md` note), and no snapshot is left pending review (`.snap.new`).
pub async fn check_layout(connector: &Connector) -> CheckResult {
    let mut check = Check::new("layout");
    let dirs = match scenario_dirs(&connector.fixtures) {
        Ok(dirs) => dirs,
        Err(e) => {
            check.fail(e.to_string());
            return check.finish();
        }
    };
    let names: Vec<String> = dirs.iter().map(|d| dir_name(d)).collect();
    for required in required_scenarios() {
        check.ensure(
            names.iter().any(|n| n == required),
            format!("the required scenario {required}/ is missing"),
        );
    }
    for dir in &dirs {
        let name = dir_name(dir);
        if !dir.join(SCENARIO_FILE).is_file() {
            check.fail(format!("{name}/ has no {SCENARIO_FILE}"));
            continue;
        }
        let scenario = match Scenario::load(dir) {
            Ok(s) => s,
            Err(e) => {
                check.fail(e.to_string());
                continue;
            }
        };
        let used: HashSet<&str> = scenario
            .exchanges
            .iter()
            .flat_map(|e| [e.request.body.as_ref(), e.response.body.as_ref()])
            .flatten()
            .map(|b| b.file.as_str())
            .collect();
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".snap.new") || file.ends_with(".pending-snap") {
                check.fail(format!(
                    "{name}/{file} is a snapshot pending review: read it, then rename it to .snap or delete it"
                ));
            } else if !(file == SCENARIO_FILE
                || file.ends_with(".snap")
                || file.ends_with(".md")
                || used.contains(file.as_str()))
            {
                check.fail(format!("{name}/{file} is not used by {SCENARIO_FILE}"));
            }
        }
    }
    check.finish()
}

/// Fixture hygiene over the connector's fixtures: no real-looking credentials or personal data
/// (see [`crate::hygiene`] for the rules).
pub async fn check_hygiene(connector: &Connector) -> CheckResult {
    check_fixture_tree(&connector.fixtures)
}

/// Fixture hygiene over any tree, such as the whole `fixtures/` directory.
pub fn check_fixture_tree(root: &Path) -> CheckResult {
    let mut failures = Failures::default();
    for violation in hygiene::check_tree(root) {
        failures.add("hygiene", violation.to_string());
    }
    failures.into_result()
}

/// Schema marks are honest: with a connector schema, every response body marked
/// `schema = "strict"` validates against it, every one marked `"lenient"` fails validation, and
/// every successful XML response is marked one way or the other.
pub async fn check_schema_marks(connector: &Connector) -> CheckResult {
    let mut check = Check::new("schema");
    let schema = match &connector.schema {
        Some(path) => match XsdSchema::load(path) {
            Ok(schema) => Some(schema),
            Err(e) => {
                check.fail(format!("{}: {e}", path.display()));
                return check.finish();
            }
        },
        None => None,
    };
    let Ok(dirs) = scenario_dirs(&connector.fixtures) else {
        return check.finish();
    };
    for dir in dirs {
        let Ok(scenario) = Scenario::load(&dir) else {
            continue; // check_layout reports it
        };
        let name = &scenario.name;
        for (i, exchange) in scenario.exchanges.iter().enumerate() {
            let response = &exchange.response;
            let xml = response
                .content_type()
                .is_some_and(|t| t.to_ascii_lowercase().contains("xml"));
            if schema.is_some()
                && response.schema.is_none()
                && response.body.is_some()
                && xml
                && (200..300).contains(&response.status)
            {
                check.fail(format!(
                    "{name}: {} returns XML without schema = \"strict\" or \"lenient\"",
                    exchange.label(i)
                ));
            }
        }
        for (_, mark, body) in scenario.marked_responses() {
            let Some(schema) = &schema else {
                check.fail(format!(
                    "{name}/{}: marked {mark:?} but the connector declares no schema",
                    body.file
                ));
                continue;
            };
            match (mark, schema.validate(&body.bytes)) {
                (SchemaMark::Strict, Ok(())) => {}
                (SchemaMark::Strict, Err(e)) => check.fail(format!(
                    "{name}/{} is marked strict but does not validate: {e}",
                    body.file
                )),
                (SchemaMark::Lenient, Ok(())) => check.fail(format!(
                    "{name}/{} is marked lenient but validates: mark it strict",
                    body.file
                )),
                (SchemaMark::Lenient, Err(XsdError::Invalid(_) | XsdError::NotWellFormed(_))) => {}
                (SchemaMark::Lenient, Err(e)) => check.fail(format!("{name}/{}: {e}", body.file)),
            }
        }
    }
    check.finish()
}
