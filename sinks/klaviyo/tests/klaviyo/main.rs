//! The Klaviyo sink's tests: payloads (validated against Klaviyo's published OpenAPI schemas),
//! configuration, and delivery against `orderport_sim::KlaviyoSim` and wiremock.

mod check;
mod common;
mod config;
mod delivery;
mod engine;
mod hostile;
mod payload;
mod schema;
