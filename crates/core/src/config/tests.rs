use secrecy::ExposeSecret;

use super::*;

const GOOD: &str = r#"
[[store]]
id = "spark-hq"
name = "Spark HQ"
channel = "spark-shipping"
url = "https://spark.example/ss"
username = "vendor"
password_env = "SPARK_PW"
timezone = "America/Chicago"
unmapped_status = "on_hold"
[store.status_map]
awaiting_payment = ["unpaid"]
awaiting_shipment = ["paid"]
on_hold = ["on-hold"]
shipped = ["shipped"]
cancelled = ["cancelled"]

[[store]]
id = "ot"
name = "Order Time"
channel = "order-time"
url = "https://services.ordertime.com/api"
username = "admin@example.com"
api_key = "inline-key-value"
password = "inline-password"
shipped_status_ref = "Shipped"
"#;

fn env(var: &str) -> Option<String> {
    (var == "SPARK_PW").then(|| "secret-from-env".to_owned())
}

fn parse(text: &str) -> Result<StoresFile, ConfigError> {
    StoresFile::parse(text, &env)
}

#[test]
fn the_documented_shape_loads() {
    let file = parse(GOOD).unwrap();
    let spark = file.store("spark-hq").unwrap();
    assert_eq!(spark.timezone.to_string(), "America/Chicago");
    assert_eq!(
        spark.unmapped_status,
        UnmappedPolicy::Use(CanonicalStatus::OnHold)
    );
    assert_eq!(
        spark.secrets.password.as_ref().unwrap().expose_secret(),
        "secret-from-env"
    );
    let mapping = spark.status_mapping(&[]).unwrap();
    assert_eq!(mapping.map("on-hold"), Ok(CanonicalStatus::OnHold));
    assert_eq!(mapping.map("whatever"), Ok(CanonicalStatus::OnHold));

    let ot = file.store("ot").unwrap();
    assert_eq!(ot.timezone, StoreZone::UTC);
    assert_eq!(ot.unmapped_status, UnmappedPolicy::Reject);
    assert!(ot.secrets.api_key.is_some() && ot.secrets.dev_key.is_none());
    assert_eq!(
        ot.setting_str("shipped_status_ref").unwrap(),
        Some("Shipped")
    );
    assert!(ot.reject_unknown_settings(&["shipped_status_ref"]).is_ok());
    let err = ot.reject_unknown_settings(&[]).unwrap_err();
    assert_eq!(err.field, "shipped_status_ref");
}

#[test]
fn a_missing_status_map_falls_back_to_the_connector_default() {
    let file = parse(GOOD).unwrap();
    let ot = file.store("ot").unwrap();
    let defaults: DefaultStatusMap = &[(CanonicalStatus::Cancelled, &["voided"])];
    let mapping = ot.status_mapping(defaults).unwrap();
    assert_eq!(mapping.map("voided"), Ok(CanonicalStatus::Cancelled));
    // A store's own map replaces the default instead of merging with it.
    let spark = file.store("spark-hq").unwrap();
    let mapping = spark.status_mapping(defaults).unwrap();
    assert_eq!(mapping.map("voided"), Ok(CanonicalStatus::OnHold));
}

#[test]
fn secrets_never_reach_debug_output_or_errors() {
    let file = parse(GOOD).unwrap();
    let debug = format!("{file:?}");
    for secret in ["secret-from-env", "inline-key-value", "inline-password"] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug");
    }
    assert!(debug.contains("REDACTED"));
}

fn expect_error(text: &str, store: &str, field: &str, needle: &str) {
    let err = parse(text).unwrap_err();
    assert_eq!(err.store.as_deref(), Some(store), "{err}");
    assert_eq!(err.field, field, "{err}");
    let message = err.to_string();
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    assert!(
        message.contains(store) && message.contains(field),
        "{message}"
    );
}

const HEAD: &str =
    "[[store]]\nid = \"s1\"\nname = \"S\"\nchannel = \"spark-shipping\"\nurl = \"http://x\"\n";

#[test]
fn an_unknown_zone_names_the_store_and_field() {
    expect_error(
        &format!("{HEAD}timezone = \"Mars/Olympus\"\n"),
        "s1",
        "timezone",
        "IANA",
    );
}

#[test]
fn an_unknown_canonical_status_names_the_key() {
    expect_error(
        &format!("{HEAD}[store.status_map]\nready = [\"paid\"]\n"),
        "s1",
        "status_map.ready",
        "awaiting_shipment",
    );
    expect_error(
        &format!("{HEAD}unmapped_status = \"later\"\n"),
        "s1",
        "unmapped_status",
        "reject",
    );
}

#[test]
fn a_raw_status_mapped_twice_is_refused() {
    expect_error(
        &format!(
            "{HEAD}[store.status_map]\nawaiting_shipment = [\"paid\"]\nshipped = [\"paid\"]\n"
        ),
        "s1",
        "status_map",
        "\"paid\"",
    );
    expect_error(
        &format!("{HEAD}status_match = \"case_insensitive\"\n[store.status_map]\nawaiting_shipment = [\"paid\"]\nshipped = [\"PAID\"]\n"),
        "s1",
        "status_map",
        "\"PAID\"",
    );
}

#[test]
fn an_unset_secret_variable_names_the_variable() {
    expect_error(
        &format!("{HEAD}password_env = \"NOT_SET_ANYWHERE\"\n"),
        "s1",
        "password_env",
        "NOT_SET_ANYWHERE",
    );
    expect_error(
        &format!("{HEAD}password = \"a\"\npassword_env = \"SPARK_PW\"\n"),
        "s1",
        "password",
        "not both",
    );
}

#[test]
fn a_blank_username_is_an_error_naming_the_field_with_the_hint() {
    let file = parse(&format!("{HEAD}username = \"  \"\n")).unwrap();
    let err = file.stores[0]
        .required_username("copy it from the channel")
        .unwrap_err();
    assert_eq!(
        (err.store.as_deref(), err.field.as_str()),
        (Some("s1"), "username")
    );
    assert!(err.to_string().contains("copy it from the channel"));
    let file = parse(&format!("{HEAD}username = \" vendor \"\n")).unwrap();
    assert_eq!(file.stores[0].required_username("x"), Ok("vendor"));
}

#[test]
fn duplicate_ids_and_missing_fields_are_refused() {
    let err = parse(&format!("{HEAD}{HEAD}")).unwrap_err();
    assert_eq!(err.field, "id");
    let err = parse("[[store]]\nid = \"s2\"\nname = \"S\"\n").unwrap_err();
    assert_eq!(err.store.as_deref(), Some("s2"));
    assert!(err.to_string().contains("channel"), "{err}");
    assert!(parse("[[stores]]\nid = 1\n").is_err());
}

#[test]
fn insecure_http_and_the_page_limit_are_common_store_keys() {
    let file = parse(GOOD).unwrap();
    let store = file.store("spark-hq").unwrap();
    assert!(!store.allow_insecure_http);
    assert_eq!(store.max_pages_per_window, DEFAULT_MAX_PAGES_PER_WINDOW);
    assert!(store.settings.is_empty(), "{:?}", store.settings);

    let text = GOOD.replace(
        "timezone = \"America/Chicago\"",
        "timezone = \"America/Chicago\"\nallow_insecure_http = true\nmax_pages_per_window = 50",
    );
    let file = parse(&text).unwrap();
    let store = file.store("spark-hq").unwrap();
    assert!(store.allow_insecure_http);
    assert_eq!(store.max_pages_per_window, 50);
    assert!(store.settings.is_empty(), "{:?}", store.settings);

    for bad in ["0", "-3", "99999999999"] {
        let text = GOOD.replace(
            "timezone = \"America/Chicago\"",
            &format!("timezone = \"America/Chicago\"\nmax_pages_per_window = {bad}"),
        );
        expect_error(&text, "spark-hq", "max_pages_per_window", "out of range");
    }
}

#[test]
fn pages_ahead_is_a_common_store_key_within_bounds() {
    let file = parse(GOOD).unwrap();
    let store = file.store("spark-hq").unwrap();
    assert_eq!(store.pages_ahead, crate::config::DEFAULT_PAGES_AHEAD);
    for (text, expected) in [("0", 0), ("1", 1), ("32", 32)] {
        let toml = GOOD.replace(
            "timezone = \"America/Chicago\"",
            &format!("timezone = \"America/Chicago\"\npages_ahead = {text}"),
        );
        let file = parse(&toml).unwrap();
        let store = file.store("spark-hq").unwrap();
        assert_eq!(store.pages_ahead, expected);
        assert!(store.settings.is_empty(), "{:?}", store.settings);
    }
    for bad in ["-1", "33", "99999999999"] {
        let text = GOOD.replace(
            "timezone = \"America/Chicago\"",
            &format!("timezone = \"America/Chicago\"\npages_ahead = {bad}"),
        );
        expect_error(&text, "spark-hq", "pages_ahead", "out of range");
    }
}

const WOO: &str = r#"
[[store]]
id = "woo"
name = "Woo"
channel = "woo"
url = "https://woo.example"
api_key = "fixed-api-key"
request_timeout_secs = 5
[store.secrets]
consumer_key_env = "SPARK_PW"
consumer_secret = "cs_inline_value"
"#;

#[test]
fn named_secrets_are_read_inline_or_from_the_environment_and_never_become_settings() {
    let file = parse(WOO).unwrap();
    let store = file.store("woo").unwrap();
    let key = store.required_secret("consumer_key", "set it").unwrap();
    assert_eq!(key.expose_secret(), "secret-from-env");
    let secret = store.secret("consumer_secret").unwrap();
    assert_eq!(secret.expose_secret(), "cs_inline_value");
    // The fixed three are read by name too.
    assert_eq!(
        store
            .secret("api_key")
            .map(|s| s.expose_secret().to_owned()),
        Some("fixed-api-key".to_owned())
    );
    let names: Vec<&str> = store.secrets.iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["api_key", "consumer_key", "consumer_secret"]);
    // Neither the table nor any value sits in the plain settings, and Debug shows no value.
    assert_eq!(
        store.settings.keys().collect::<Vec<_>>(),
        ["request_timeout_secs"]
    );
    let debug = format!("{file:?}");
    for value in ["secret-from-env", "cs_inline_value", "fixed-api-key"] {
        assert!(!debug.contains(value), "{value} leaked into {debug}");
    }
    assert!(debug.contains("consumer_secret"), "{debug}");
    assert!(store
        .reject_unknown_settings(&["request_timeout_secs"])
        .is_ok());
    assert!(store
        .reject_unknown_secrets(&["consumer_key", "consumer_secret"])
        .is_ok());
    let err = store.reject_unknown_secrets(&["consumer_key"]).unwrap_err();
    assert_eq!(err.field, "secrets.consumer_secret");
    assert!(
        err.to_string().contains("known secrets: consumer_key"),
        "{err}"
    );
}

#[test]
fn a_missing_or_blank_required_secret_names_its_field_and_says_how_to_set_it() {
    let file = parse(&format!(
        "{HEAD}password = \"  \"\n[store.secrets]\ntoken = \"\"\n"
    ))
    .unwrap();
    let store = file.store("s1").unwrap();
    for (name, field) in [
        ("password", "password"),
        ("token", "secrets.token"),
        ("consumer_key", "secrets.consumer_key"),
    ] {
        let err = store
            .required_secret(name, "set it in [store.secrets]")
            .unwrap_err();
        assert_eq!(err.field, field);
        assert_eq!(err.store.as_deref(), Some("s1"));
        assert!(
            err.message.contains("set it in [store.secrets]"),
            "{}",
            err.message
        );
    }
}

#[test]
fn bad_named_secrets_are_refused_by_field() {
    for (table, field, needle) in [
        (
            "token_env = \"NOT_SET_ANYWHERE\"",
            "secrets.token_env",
            "NOT_SET_ANYWHERE",
        ),
        (
            "token = \"a\"\ntoken_env = \"SPARK_PW\"",
            "secrets.token",
            "not both",
        ),
        ("token = 5", "secrets.token", "expected a string"),
        ("password = \"x\"", "secrets.password", "top level"),
        ("Bad-Name = \"x\"", "secrets.Bad-Name", "lower-case"),
    ] {
        expect_error(
            &format!("{HEAD}[store.secrets]\n{table}\n"),
            "s1",
            field,
            needle,
        );
    }
    expect_error(
        &format!("{HEAD}secrets = \"x\"\n"),
        "s1",
        "secrets",
        "expected a table",
    );
}
