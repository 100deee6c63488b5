//! The axum side of the parity tests (`tests/rocket/parity.rs`, `tests/actix/parity.rs`):
//! an answer normalised for comparison, and the axum example router's answer to a request.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::cases::TestRequest;

/// The headers compared (the rest differ by framework: `server`, `date`…).
pub const COMPARED: [&str; 3] = ["content-type", "retry-after", "www-authenticate"];

/// Status, compared headers (lower-case names, sorted) and the JSON body.
pub type Answer = (u16, Vec<(String, String)>, serde_json::Value);

/// An answer made comparable: the per-request `id` replaced, only [`COMPARED`] headers kept.
pub fn normalize(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Answer {
    let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
    if let Some(id) = json.get_mut("id")
        && id.is_string()
    {
        *id = "<id>".into();
    }
    let mut headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .filter(|(n, _)| COMPARED.contains(&n.as_str()))
        .collect();
    headers.sort();
    (status, headers, json)
}

/// The axum router's answer to `request`, normalised.
pub async fn via_axum(app: &axum::Router, request: TestRequest) -> Answer {
    let mut builder = axum::http::Request::post(&request.path).header("host", "localhost");
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut http_request = builder.body(axum::body::Body::from(request.body)).unwrap();
    let peer = SocketAddr::new(request.peer.parse().unwrap(), 50_000);
    http_request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(http_request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    normalize(status, headers, &body)
}
