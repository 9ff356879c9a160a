//! `[[sink]]` tables, and the API key never showing.

use orderport_klaviyo::{ExternalIdScope, KlaviyoConfig, KlaviyoError, KlaviyoSink};

use crate::common::KEY;

fn parse(text: &str) -> Result<KlaviyoConfig, KlaviyoError> {
    let table: toml::Table = toml::from_str(text).expect("TOML");
    KlaviyoConfig::from_table_with_env(&table, &|var| {
        (var == "KLAVIYO_KEY").then(|| KEY.to_owned())
    })
}

#[test]
fn a_sink_table_with_the_key_in_the_environment() {
    let config = parse(
        r#"
        kind = "klaviyo"
        url = "http://127.0.0.1:9/"
        api_key_env = "KLAVIYO_KEY"
        timeout_secs = 5
        max_attempts = 2
        external_id_scope = "global"
        "#,
    )
    .expect("valid");
    assert_eq!(config.url, "http://127.0.0.1:9");
    assert_eq!(config.http.request_timeout.as_secs(), 5);
    assert_eq!(config.http.retry.max_attempts, 2);
    assert_eq!(config.external_id_scope, ExternalIdScope::Global);
    assert!(!format!("{config:?}").contains(KEY));
}

#[test]
fn defaults_and_an_inline_key() {
    let config = parse(&format!("kind = \"klaviyo\"\napi_key = \"{KEY}\"")).expect("valid");
    assert_eq!(config.url, "https://a.klaviyo.com");
    assert_eq!(config.external_id_scope, ExternalIdScope::Store);
    let sink = KlaviyoSink::new(config).expect("sink");
    assert!(!format!("{sink:?}").contains(KEY));
}

#[test]
fn bad_tables_name_the_setting_and_never_the_key() {
    for (text, field) in [
        ("api_key_env = \"KLAVIYO_KEY\"", "kind"),
        ("kind = \"webhook\"\napi_key_env = \"KLAVIYO_KEY\"", "kind"),
        ("kind = \"klaviyo\"", "api_key"),
        ("kind = \"klaviyo\"\napi_key_env = \"NOPE\"", "api_key_env"),
        (
            "kind = \"klaviyo\"\napi_key_env = \"KLAVIYO_KEY\"\napi_key = \"x\"",
            "api_key",
        ),
        (
            "kind = \"klaviyo\"\napi_key_env = \"KLAVIYO_KEY\"\nurl = \"a.klaviyo.com\"",
            "url",
        ),
        (
            "kind = \"klaviyo\"\napi_key_env = \"KLAVIYO_KEY\"\napikey = \"x\"",
            "apikey",
        ),
        (
            "kind = \"klaviyo\"\napi_key_env = \"KLAVIYO_KEY\"\nmax_attempts = 0",
            "max_attempts",
        ),
        (
            "kind = \"klaviyo\"\napi_key_env = \"KLAVIYO_KEY\"\nexternal_id_scope = \"world\"",
            "external_id_scope",
        ),
    ] {
        let error = parse(text).expect_err(text);
        let KlaviyoError::Config { field: got, .. } = &error else {
            panic!("{text}: {error:?}");
        };
        assert_eq!(got, field, "{text}");
        assert!(!error.to_string().contains(KEY));
    }
}

#[test]
fn a_key_that_cannot_be_a_header_is_refused_without_showing_it() {
    let config = parse("kind = \"klaviyo\"\napi_key = \"pk_line\\nbreak\"").expect("parses");
    let error = KlaviyoSink::new(config).expect_err("refused");
    assert!(!error.to_string().contains("pk_line"));
}
