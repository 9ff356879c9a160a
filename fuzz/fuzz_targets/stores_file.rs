//! A stores file as text: parsing, connecting every store (no request is made) and reading its
//! sync settings may refuse it, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = orderport_core::StoresFile::parse(text, &|var| Some(format!("secret-{var}"))) else {
        return;
    };
    for store in &file.stores {
        let Ok((for_connector, setup)) = orderport_sync::split_sync_settings(store) else {
            continue;
        };
        if let Ok(channel) = orderport::connect(&for_connector) {
            let _ = setup.resolve(channel.spec());
        }
    }
});
