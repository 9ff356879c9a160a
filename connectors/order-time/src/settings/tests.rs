use orderport_core::StoresFile;

use super::*;

fn config(extra: &str) -> StoreConfig {
    let text = format!(
        "[[store]]\nid = \"ot\"\nname = \"OT\"\nchannel = \"order-time\"\n\
         url = \"https://services.ordertime.com/api/\"\nusername = \"api@example.com\"\n\
         api_key = \"fixture-key\"\npassword = \"fixture-password\"\n{extra}\n"
    );
    let file = StoresFile::parse(&text, &|_| None).unwrap();
    file.stores.into_iter().next().unwrap()
}

fn error(extra: &str) -> ConfigError {
    Settings::from_config(&config(extra)).unwrap_err()
}

#[test]
fn defaults() {
    let settings = Settings::from_config(&config("")).unwrap();
    assert_eq!(settings.base.as_str(), "https://services.ordertime.com/api");
    assert_eq!(
        settings.shipnotify_url.as_str(),
        "https://services.ordertime.com/api/shipstation"
    );
    assert_eq!(settings.page_size, 100);
    assert_eq!(settings.fetch_concurrency, 4);
    assert_eq!(settings.fetch_details, FetchDetails::WhenMissing);
    assert_eq!(settings.record_type, 4);
    assert_eq!(settings.modified_property, "RecordInfo.ModifiedDate");
    assert_eq!(settings.shipped_status, None);
    assert_eq!(settings.http.retry, orderport_core::RetryPolicy::default());
    assert_eq!(settings.http.request_timeout, Duration::from_secs(30));
}

#[test]
fn every_setting_is_read() {
    let settings = Settings::from_config(&config(
        "page_size = 1000\nfetch_concurrency = 2\nfetch_details = \"always\"\n\
         ship_doc_record_type = 7\nmodified_property = \"ModifiedDate\"\n\
         shipped_status_ref = \"shipped\"\nshipped_status_ref_id = 12\n\
         shipnotify_url = \"https://ss.example.com/notify\"\nretry_max_attempts = 2\n\
         retry_base_delay_ms = 10\nretry_max_delay_ms = 20\nrequest_timeout_secs = 5",
    ))
    .unwrap();
    assert_eq!(settings.page_size, 1000);
    assert_eq!(settings.fetch_concurrency, 2);
    assert_eq!(settings.fetch_details, FetchDetails::Always);
    assert_eq!(settings.record_type, 7);
    assert_eq!(settings.modified_property, "ModifiedDate");
    assert_eq!(
        settings.shipped_status,
        Some(StatusRef {
            id: Some(12),
            name: Some("shipped".into())
        })
    );
    assert_eq!(
        settings.shipnotify_url.as_str(),
        "https://ss.example.com/notify"
    );
    assert_eq!(settings.http.retry.max_attempts, 2);
    assert_eq!(settings.http.retry.base_delay, Duration::from_millis(10));
    assert_eq!(settings.http.retry.max_delay, Duration::from_millis(20));
    assert_eq!(settings.http.request_timeout, Duration::from_secs(5));
}

#[test]
fn page_sizes_above_order_times_limit_are_refused() {
    let err = error("page_size = 1001");
    assert_eq!(err.field, "page_size");
    assert!(err.message.contains("1 to 1000"), "{err}");
    assert_eq!(error("fetch_concurrency = 0").field, "fetch_concurrency");
}

#[test]
fn unknown_and_malformed_settings_are_refused() {
    let err = error("pagesize = 10");
    assert_eq!(err.field, "pagesize");
    assert!(err.message.contains("page_size"), "{err}");
    assert_eq!(
        error("fetch_details = \"sometimes\"").field,
        "fetch_details"
    );
    assert_eq!(
        error("shipped_status_ref = \" \"").field,
        "shipped_status_ref"
    );
    assert_eq!(
        error("retry_base_delay_ms = 500\nretry_max_delay_ms = 100").field,
        "retry_base_delay_ms"
    );
}

#[test]
fn credentials_are_required() {
    let without = |line: &str| {
        let mut config = config("");
        match line {
            "api_key" => config.secrets.api_key = None,
            "password" => config.secrets.password = None,
            "username" => config.username = Some("not-an-email".into()),
            _ => unreachable!(),
        }
        Settings::from_config(&config).unwrap_err()
    };
    assert_eq!(without("api_key").field, "api_key");
    assert_eq!(without("password").field, "password");
    assert_eq!(without("username").field, "username");
    let mut config = config("");
    config.url = "ftp://services.ordertime.com/api".into();
    assert_eq!(Settings::from_config(&config).unwrap_err().field, "url");
    config.url = "http://services.ordertime.com/api".into();
    let err = Settings::from_config(&config).unwrap_err();
    assert_eq!(err.field, "url");
    assert!(err.message.contains("allow_insecure_http"), "{err}");
    config.allow_insecure_http = true;
    assert!(Settings::from_config(&config).is_ok());
}

#[test]
fn no_secret_reaches_debug_output() {
    let mut config = config("");
    config.secrets.dev_key = Some("fixture-devkey".into());
    let settings = Settings::from_config(&config).unwrap();
    let text = format!("{settings:?}");
    for secret in ["fixture-key", "fixture-password", "fixture-devkey"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("DevKey"), "{text}");
}
