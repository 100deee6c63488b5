//! The rocket data guard awaits a signing certificate's fetch before authentication: the
//! first message fetches, later ones reuse it, and a failed fetch is answered 503 with
//! `Retry-After`.

use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::local::asynchronous::Client;
use rocket::{post, routes};
use webhook::rocket::{Receivers, Verified, WebhookFairing};

use crate::fetching::{
    Answer, PATH, Served, assert_fetched_once, assert_unavailable, body, failing, receiver,
};

#[post("/", data = "<hook>")]
fn accept(hook: Verified) -> Status {
    let _ = hook.body();
    Status::NoContent
}

async fn send(served: &Arc<Served>, bodies: &[String]) -> Vec<Answer> {
    let rocket = rocket::custom(crate::figment())
        .attach(WebhookFairing)
        .manage(Receivers::new().route(PATH, receiver(served)))
        .mount(PATH, routes![accept]);
    let client = Client::tracked(rocket).await.unwrap();
    let mut answers = Vec::new();
    for body in bodies {
        let response = client
            .post(PATH)
            .header(ContentType::Plain)
            .body(body.clone())
            .dispatch()
            .await;
        let status = response.status().code;
        let retry_after = response.headers().get_one("retry-after").map(str::to_owned);
        let reply = response.into_string().await.unwrap_or_default();
        answers.push((status, retry_after, reply));
    }
    answers
}

#[rocket::async_test]
async fn the_guard_fetches_the_certificate_once_and_answers_503_while_it_cannot() {
    let served = Arc::new(Served::default());
    assert_fetched_once(&served, &send(&served, &[body("m-1"), body("m-2")]).await);
    let failing = failing();
    assert_unavailable(&failing, &send(&failing, &[body("m-1")]).await);
}
