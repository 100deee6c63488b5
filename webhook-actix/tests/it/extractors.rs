//! actix-web's own body extractors behind the middleware accept what the receiver accepted.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, error, test, web};
use webhook_actix::VerifyWebhook;
use webhook_core::{
    Outgoing, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FORM: &str = "application/x-www-form-urlencoded";

fn receiver(limit: usize) -> Receiver {
    Receiver::builder()
        .verifier(StandardWebhooks::new(Secret::from_whsec(SECRET).unwrap()).unwrap())
        .max_body_bytes(limit)
        .build()
        .unwrap()
}

/// A delivery of `body` to `path`, signed with message id `id` (with its `Content-Length`).
fn signed(path: &str, id: &str, content_type: &str, body: Vec<u8>) -> test::TestRequest {
    let signer = StandardWebhooksSigner::new(Secret::from_whsec(SECRET).unwrap());
    let headers = signer.sign(&Outgoing::new(&body).id(id)).unwrap();
    let mut request = test::TestRequest::post()
        .uri(path)
        .insert_header(("content-type", content_type));
    for (name, value) in headers.iter() {
        request = request.append_header((name, value));
    }
    request.set_payload(body)
}

/// A form of one field holding `len` bytes in all.
fn form(len: usize) -> Vec<u8> {
    let mut body = b"pad=".to_vec();
    body.resize(len, b'x');
    body
}

async fn bytes(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().body(body.len().to_string())
}

async fn string(body: String) -> HttpResponse {
    HttpResponse::Ok().body(body.len().to_string())
}

async fn form_fields(form: web::Form<HashMap<String, String>>) -> HttpResponse {
    HttpResponse::Ok().body(form.get("pad").map_or(0, String::len).to_string())
}

async fn json(value: web::Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().body(value.as_str().map_or(0, str::len).to_string())
}

/// The routes, each behind the middleware.
fn routes(config: &mut web::ServiceConfig, receiver: &Receiver) {
    for (path, route) in [
        ("/bytes", web::post().to(bytes)),
        ("/string", web::post().to(string)),
        ("/form", web::post().to(form_fields)),
        ("/json", web::post().to(json)),
    ] {
        config.service(
            web::resource(path)
                .wrap(VerifyWebhook::new(receiver.clone()))
                .route(route),
        );
    }
}

/// The status and text of `app`'s answer to `request`. (A macro: the test service's request
/// type, actix-http's, is not named by actix-web.)
macro_rules! call {
    ($app:expr, $request:expr) => {{
        let response = test::call_service(&$app, $request.to_request()).await;
        let status = response.status();
        let body = test::read_body(response).await;
        (status, String::from_utf8(body.to_vec()).unwrap())
    }};
}

/// Verified deliveries larger than actix-web's own defaults (16 KiB for a form, 256 KiB for
/// bytes and text, 2 MiB for JSON) reach handlers taking its extractors, whose own
/// `Content-Length` check and limit used to answer 413 in plain text.
#[actix_web::test]
async fn actix_extractors_accept_what_the_receiver_accepted() {
    let receiver = receiver(3 * 1024 * 1024);
    let app = test::init_service(App::new().configure(|c| routes(c, &receiver))).await;

    let body = vec![b'x'; 300 * 1024];
    let request = signed(
        "/bytes",
        "msg_bytes",
        "application/octet-stream",
        body.clone(),
    );
    assert_eq!(call!(app, request), (StatusCode::OK, "307200".to_owned()));
    let request = signed("/string", "msg_string", "text/plain", body);
    assert_eq!(call!(app, request), (StatusCode::OK, "307200".to_owned()));

    let request = signed("/form", "msg_form", FORM, form(20 * 1024));
    assert_eq!(
        call!(app, request),
        (StatusCode::OK, (20 * 1024 - 4).to_string())
    );

    let mut body = b"\"".to_vec();
    body.resize(2_500_000, b'x');
    body.push(b'"');
    let request = signed("/json", "msg_json", "application/json", body);
    assert_eq!(call!(app, request), (StatusCode::OK, "2499999".to_owned()));

    // Unsigned, the same body is the receiver's to refuse, never actix-web's.
    let unsigned = test::TestRequest::post()
        .uri("/form")
        .insert_header(("content-type", FORM))
        .set_payload(form(20 * 1024));
    let (status, text) = call!(app, unsigned);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text.contains(r#""error":"missing_header""#), "{text}");
}

/// The app's own configs keep their other settings behind the middleware (a form error
/// handler here), with the receiver's limit in place of theirs.
#[actix_web::test]
async fn the_apps_own_configs_keep_their_settings_with_the_receivers_limit() {
    let receiver = receiver(1024 * 1024);
    let app = test::init_service(
        App::new()
            .app_data(web::PayloadConfig::new(1024))
            .app_data(web::Data::new(
                web::FormConfig::default()
                    .limit(1024)
                    .error_handler(|err, _| {
                        error::InternalError::new(err, StatusCode::IM_A_TEAPOT).into()
                    }),
            ))
            .configure(|c| routes(c, &receiver)),
    )
    .await;

    let request = signed(
        "/bytes",
        "msg_bytes",
        "application/octet-stream",
        vec![b'x'; 300 * 1024],
    );
    assert_eq!(call!(app, request), (StatusCode::OK, "307200".to_owned()));
    let request = signed("/form", "msg_form", FORM, form(20 * 1024));
    assert_eq!(
        call!(app, request),
        (StatusCode::OK, (20 * 1024 - 4).to_string())
    );
    // The app's error handler still answers a form it refuses (not a form at all here).
    let request = signed("/form", "msg_not_form", "text/plain", form(2 * 1024));
    assert_eq!(call!(app, request).0, StatusCode::IM_A_TEAPOT);
}
