//! A rig: a receiver on a fixed clock, signed requests, and a rocket with handlers of every
//! outcome that count their runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalRequest};
use rocket::{Build, Rocket, State, post, routes};
use webhook_core::{
    DecodeError, FixedClock, Freshness, Outgoing, Receiver, ReceiverBuilder, Secret, SharedClock,
    Signer, StandardWebhooks, StandardWebhooksSigner, VerifyError, VerifyErrorKind, WebhookEvent,
    WebhookRequest,
};
use webhook_rocket::{Verified, Webhook, WebhookFairing, WebhookRejection};

pub(crate) const NOW: i64 = 1_700_000_000;
pub(crate) const BODY: &[u8] = br#"{"type":"ping"}"#;

pub(crate) struct Rig {
    pub clock: FixedClock,
    pub secret: Secret,
}

impl Rig {
    pub(crate) fn new() -> Self {
        Self {
            clock: FixedClock::at_secs(NOW),
            secret: Secret::random(24),
        }
    }

    pub(crate) fn shared(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    pub(crate) fn receiver(
        &self,
        tweak: impl FnOnce(ReceiverBuilder) -> ReceiverBuilder,
    ) -> Receiver {
        let verifier = StandardWebhooks::new(self.secret.clone())
            .unwrap()
            .freshness(Freshness::default().with_shared_clock(self.shared()));
        tweak(Receiver::builder().verifier(verifier).clock(self.shared()))
            .build()
            .unwrap()
    }

    /// A signed delivery of `body` with message id `id` to `path`, from 192.0.2.1.
    pub(crate) fn request<'c>(
        &self,
        client: &'c Client,
        path: &'static str,
        id: &str,
        body: &[u8],
    ) -> LocalRequest<'c> {
        let headers = StandardWebhooksSigner::new(self.secret.clone())
            .clock(self.shared())
            .sign(&Outgoing::new(body).id(id))
            .unwrap();
        let mut request = client
            .post(path)
            .header(ContentType::JSON)
            .remote(SocketAddr::from(([192, 0, 2, 1], 5000)))
            .body(body);
        for (name, value) in headers.iter() {
            request = request.header(Header::new(name.to_owned(), value.to_owned()));
        }
        request
    }
}

/// Runs of each handler.
#[derive(Default)]
pub(crate) struct Runs(AtomicUsize);

impl Runs {
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    fn add(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[post("/ok", data = "<_hook>")]
fn ok(_hook: Verified, runs: &State<Runs>) -> Status {
    runs.add();
    Status::NoContent
}

/// Holds `/held` handlers until the test adds permits (none at first).
pub(crate) struct Gate(pub(crate) tokio::sync::Semaphore);

impl Default for Gate {
    fn default() -> Self {
        Self(tokio::sync::Semaphore::new(0))
    }
}

#[post("/held", data = "<_hook>")]
async fn held(_hook: Verified, runs: &State<Runs>, gate: &State<Gate>) -> &'static str {
    runs.add();
    let _permit = gate.0.acquire().await;
    "{}"
}

#[post("/fail", data = "<_hook>")]
fn fail(_hook: Verified, runs: &State<Runs>) -> Status {
    runs.add();
    Status::InternalServerError
}

#[post("/boom", data = "<_hook>")]
fn boom(_hook: Verified, runs: &State<Runs>) -> Status {
    runs.add();
    panic!("handler bug")
}

#[post("/reject", data = "<hook>")]
fn reject(hook: Verified, runs: &State<Runs>) -> Result<Status, WebhookRejection> {
    runs.add();
    let error = VerifyError::new(VerifyErrorKind::MalformedBody).with_message("not for us");
    Err(WebhookRejection::from_error(hook.receiver(), error))
}

#[post("/wrapped", data = "<hook>")]
fn wrapped(hook: Result<Verified, WebhookRejection>, runs: &State<Runs>) -> Status {
    runs.add();
    let _ = hook;
    Status::Ok
}

/// A response of the handler's own with headers a rejection must not carry.
pub(crate) struct Extras;

impl<'r> rocket::response::Responder<'r, 'static> for Extras {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build()
            .status(Status::Ok)
            .raw_header("set-cookie", "session=handler")
            .raw_header("location", "/elsewhere")
            .raw_header("cache-control", "max-age=3600")
            .raw_header("x-handler", "1")
            .sized_body(2, std::io::Cursor::new("{}"))
            .ok()
    }
}

/// Takes the rejection as a value and answers for itself, with a cookie (the jar's too) and
/// headers of its own.
#[post("/answers", data = "<hook>")]
fn answers(
    hook: Result<Webhook<Ping>, WebhookRejection>,
    cookies: &rocket::http::CookieJar<'_>,
    runs: &State<Runs>,
) -> Extras {
    runs.add();
    let _ = hook;
    cookies.add(("jar", "handler"));
    Extras
}

#[post("/echo", data = "<hook>")]
fn echo(hook: Verified, runs: &State<Runs>) -> Vec<u8> {
    runs.add();
    hook.body().to_vec()
}

#[post("/typed", data = "<hook>")]
fn typed(hook: Webhook<Ping>, runs: &State<Runs>) -> Status {
    runs.add();
    let Ping = hook.into_inner();
    Status::NoContent
}

/// A rocket managing `receiver`, with every handler above, quiet.
pub(crate) fn rocket(receiver: Option<Receiver>, fairing: bool) -> Rocket<Build> {
    let config = rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    };
    let mut rocket = rocket::custom(config)
        .manage(Runs::default())
        .manage(Gate::default())
        .mount(
            "/",
            routes![ok, held, fail, boom, reject, wrapped, echo, typed, answers],
        );
    if let Some(receiver) = receiver {
        rocket = rocket.manage(receiver);
    }
    if fairing {
        rocket = rocket.attach(WebhookFairing);
    }
    rocket
}

pub(crate) async fn client(rocket: Rocket<Build>) -> Client {
    Client::tracked(rocket).await.unwrap()
}

pub(crate) fn runs(client: &Client) -> usize {
    client.rocket().state::<Runs>().unwrap().count()
}

/// Status, the JSON body (`Null` when not JSON) and a header of a response.
pub(crate) async fn answer(
    request: LocalRequest<'_>,
    header: &str,
) -> (u16, serde_json::Value, Option<String>) {
    let response = request.dispatch().await;
    let status = response.status().code;
    let value = response.headers().get_one(header).map(str::to_owned);
    let body = response.into_bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        value,
    )
}

#[derive(Debug)]
pub(crate) struct Ping;

impl WebhookEvent for Ping {
    fn event_types() -> &'static [&'static str] {
        &["ping"]
    }
    fn event_type(&self) -> &str {
        "ping"
    }
    fn decode(request: &WebhookRequest<'_>) -> Result<Self, DecodeError> {
        match serde_json::from_slice::<serde_json::Value>(request.body()) {
            Ok(v) if v["type"] == "ping" => Ok(Self),
            Ok(_) => Err(DecodeError::unknown_event_type("type")),
            Err(_) => Err(DecodeError::malformed_body()),
        }
    }
    fn json_schema() -> serde_json::Value {
        serde_json::Value::Bool(true)
    }
}
