//! The conformance table's unconfigured route for rocket: a `Verified` guard on a path that
//! `Receivers` does not map, with no managed `Receiver` either.

use rocket::{Build, Rocket};
use webhook::rocket::Verified;

use crate::cases::UNCONFIGURED_PATH;

#[rocket::post("/", data = "<_delivery>")]
fn unconfigured(_delivery: Verified) -> &'static str {
    "handler ran"
}

/// `rocket` with the unconfigured route mounted.
pub(crate) fn with_unconfigured_route(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount(UNCONFIGURED_PATH, rocket::routes![unconfigured])
}
