//! Durations (`sync_*` settings, through the window arithmetic) and the lenient date reader in
//! a DST zone, on arbitrary text: refused or read, never a panic.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use orderport_core::StoreZone;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(zone) = StoreZone::parse("America/New_York") {
        let _ = zone.read(text);
    }
    let _ = orderport_core::store_time::parse_timestamp(text);
    let _ = orderport_sync::parse_duration(text);
    // The same text as every sync setting of a store, through a run's window arithmetic.
    for key in orderport_sync::SYNC_SETTINGS {
        let toml = format!(
            "[[store]]\nid = \"f\"\nname = \"F\"\nchannel = \"spark-shipping\"\n\
             url = \"https://x.example\"\nusername = \"u\"\npassword = \"p\"\n{key} = {}\n",
            toml_string(text)
        );
        let Ok(file) = orderport_core::StoresFile::parse(&toml, &|_| None) else {
            continue;
        };
        let Ok((_, setup)) = orderport_sync::split_sync_settings(&file.stores[0]) else {
            continue;
        };
        let Ok(store) = setup.resolve(&orderport_spark_shipping::SPEC) else {
            continue;
        };
        for now in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::UNIX_EPOCH, DateTime::<Utc>::MAX_UTC] {
            for watermark in [None, Some(now), Some(DateTime::<Utc>::MIN_UTC)] {
                if let Some((from, to)) = orderport_sync::window::run_range(watermark, now, &store.settings) {
                    let _ = orderport_sync::window::slices(from, to, store.settings.slice).take(3).count();
                }
            }
        }
    }
});

fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
