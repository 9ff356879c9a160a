//! The connector against a wiremock Order Time: each test fails without the behaviour it names.

mod auth;
mod common;
mod errors;
mod fetch;
mod hostile;
mod write_back;
