//! Exit codes, documented in docs/cli.md.

use orderport::{ChannelError, ConfigError};

/// The channel failed: a network error, a server error, an unreadable reply. Output may be partial.
pub const CHANNEL_FAILED: u8 = 1;
/// Bad usage or configuration (clap also exits 2 on usage errors).
pub const USAGE: u8 = 2;
/// The channel refused the credentials or lacks a permission.
pub const AUTH: u8 = 3;
/// `record` refused to write the recording: it fails the test kit's hygiene check, a
/// credential or a personal value survived, or it does not replay; nothing was written.
pub const REFUSED: u8 = 4;
/// Stopped by SIGINT or SIGTERM before the work was done (`import`, `demo`), or by a second
/// signal (any command). 128 + SIGINT, as shells report an interrupted command.
pub const INTERRUPTED: u8 = 130;

/// A failed command: its exit code and its error with context.
#[derive(Debug)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl Failure {
    /// A usage or configuration failure.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: USAGE,
            error: error.into(),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Self::usage(error)
    }
}

impl From<ChannelError> for Failure {
    fn from(error: ChannelError) -> Self {
        let code = match error {
            ChannelError::Authentication { .. } | ChannelError::Permission { .. } => AUTH,
            ChannelError::Configuration { .. } | ChannelError::InvalidShipment { .. } => USAGE,
            _ => CHANNEL_FAILED,
        };
        Self {
            code,
            error: error.into(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self {
            code: CHANNEL_FAILED,
            error: anyhow::Error::new(error).context("cannot write the output"),
        }
    }
}
