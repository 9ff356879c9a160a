//! The last look before anything is written: every file of the recording, as it would be
//! written into the output directory, through the test kit's hygiene rules
//! ([`orderport_testkit::hygiene::check_contents`]) and through the search for an original
//! credential in any spelling ([`StoreIdentity::survivors`]). One problem anywhere refuses the
//! whole recording.

use std::collections::BTreeMap;
use std::path::Path;

use orderport::http::Redactor;
use orderport_testkit::hygiene::check_contents;

use super::identity::StoreIdentity;

/// Every problem of every file, one line each, naming the file (as `dir/<file>`) and what
/// failed; empty when the files may be written.
pub fn problems(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    identity: &StoreIdentity,
    services: &[Redactor],
) -> Vec<String> {
    let mut problems = Vec::new();
    for (file, bytes) in files {
        let path = dir.join(file);
        problems.extend(check_contents(&path, bytes).iter().map(ToString::to_string));
        if identity.survivors(&String::from_utf8_lossy(bytes), services) {
            problems.push(format!(
                "{}: a credential of the store is still in it (in some spelling)",
                path.display()
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_checked_and_named() {
        let file = orderport::StoresFile::parse(
            "[[store]]\nid = \"s\"\nname = \"S\"\nchannel = \"spark-shipping\"\nurl = \"http://127.0.0.1:9/ss\"\nusername = \"u\"\npassword = \"hunter2-pw\"\n",
            &|_| None,
        )
        .unwrap();
        let identity = StoreIdentity::of(&file.stores[0]);
        let files: BTreeMap<String, Vec<u8>> = [
            ("clean.xml", "<Email>ada@example.com</Email>"),
            ("mail.xml", "<!-- ops@acme.test -->"),
            ("leak.txt", "echo: hunter2-pw"),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t.as_bytes().to_vec()))
        .collect();
        let found = problems(Path::new("out"), &files, &identity, &[]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("out/leak.txt: a credential"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("out/mail.xml:1: e-mail address"),
            "{found:?}"
        );
        // The message never quotes the credential.
        assert!(!found[0].contains("hunter2"));
    }
}
