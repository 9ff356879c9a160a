//! The Custom Store export reader on arbitrary bytes, in a DST-observing zone with a window
//! filter: it may refuse a page, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderport_core::{StoreProfile, StoresFile, TimeWindow};
use orderport_custom_store::{parse_page, ParseContext};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = StoresFile::parse(
        "[[store]]\nid = \"f\"\nname = \"F\"\nchannel = \"spark-shipping\"\n\
         url = \"https://x.example\"\ntimezone = \"America/Chicago\"\n",
        &|_| None,
    ) else {
        return;
    };
    let Ok(profile) = StoreProfile::new(&file.stores[0], &orderport_spark_shipping::SPEC) else {
        return;
    };
    let ctx = ParseContext {
        max_orders: 200,
        ..ParseContext::new(&orderport_spark_shipping::SPEC, &profile)
    };
    let _ = parse_page(data, &ctx);
    let Ok(window) = TimeWindow::new(
        "2026-03-08T00:00:00Z".parse().unwrap_or_default(),
        "2026-03-09T00:00:00Z".parse().unwrap_or_default(),
    ) else {
        return;
    };
    let _ = parse_page(data, &ctx.with_window(window));
});
