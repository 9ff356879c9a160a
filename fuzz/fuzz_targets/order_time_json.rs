//! Order Time's list page and ship doc replies on arbitrary bytes: a page may be refused, a
//! row rejected, nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderport_core::{StoreProfile, StoresFile};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = StoresFile::parse(
        "[[store]]\nid = \"f\"\nname = \"F\"\nchannel = \"order-time\"\n\
         url = \"https://x.example/api\"\ntimezone = \"America/Denver\"\n",
        &|_| None,
    ) else {
        return;
    };
    let Ok(profile) = StoreProfile::new(&file.stores[0], &orderport_order_time::SPEC) else {
        return;
    };
    let _ = orderport_order_time::decode::list_page(data, 100, &profile);
    let _ = orderport_order_time::decode::ship_doc(data, &profile);
});
