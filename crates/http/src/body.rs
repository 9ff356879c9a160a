//! Reading a reply's body under a size limit: a declared `Content-Length` over the limit fails
//! before anything is read, and the body is otherwise read chunk by chunk and abandoned as soon
//! as it passes the limit, so a hostile server cannot make a reply cost more memory than the
//! limit. reqwest has no such cap of its own (seanmonstar/reqwest#1234).

use reqwest::Response;

/// The buffer a body starts with when the server declares no length.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// The most memory reserved up front for a declared length; the rest grows as bytes arrive.
const MAX_PREALLOCATION: usize = 8 * 1024 * 1024;

/// The most bytes of an error reply read for its message.
pub const ERROR_BODY_LIMIT: usize = 1024;

/// Why a body could not be read whole.
#[derive(Debug)]
pub enum BodyFailure {
    /// The reply is over the limit; `start` is what was read of it (at most the limit plus one
    /// chunk).
    TooLarge {
        /// The first bytes read.
        start: Vec<u8>,
        /// The size the server declared, where it did.
        declared: Option<u64>,
    },
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// Reads the whole body, failing once it is over `limit` bytes.
pub async fn read_limited(response: &mut Response, limit: u64) -> Result<Vec<u8>, BodyFailure> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > limit) {
        return Err(BodyFailure::TooLarge {
            start: Vec::new(),
            declared,
        });
    }
    let expected = declared.map_or(INITIAL_CAPACITY, |length| {
        usize::try_from(length).map_or(INITIAL_CAPACITY, |l| l.min(MAX_PREALLOCATION))
    });
    let mut body = Vec::with_capacity(expected);
    while let Some(chunk) = response.chunk().await.map_err(BodyFailure::Transport)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(BodyFailure::TooLarge {
                start: body,
                declared,
            });
        }
    }
    Ok(body)
}

/// At most the first [`ERROR_BODY_LIMIT`] bytes of a body, for an error message; the rest is
/// never read. A read failure gives what was read so far.
pub async fn read_start(response: &mut Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = ERROR_BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}
