//! The route table of the example receivers, framework-neutral: route name → `Receiver` from
//! the environment, a test signer for routes whose secret was generated, sample deliveries,
//! and the `{"event_type","id"}` summary of a verified body. The axum, actix-web and rocket
//! receivers include this file with `#[path]`.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;

use webhook::Clock as _;

use webhook::provider::{github, mailgun, sendgrid, shopify, slack, stripe, twilio};
use webhook::{
    Aes256GcmDecryptor, Aes256GcmSealer, BasicAuth, BasicAuthSigner, ConfigError, Envelope,
    JwtBearer, JwtKey, JwtSigner, Key, Outgoing, PrivateKey, Proof, PublicKey, Receiver, Secret,
    Signer, StandardWebhooks, StandardWebhooksSigner, VerifyError, VerifyErrorKind, WebhookRequest,
};

/// Every route the example receivers mount under `/webhooks/`.
pub const ROUTES: [&str; 12] = [
    "standard-webhooks",
    "github",
    "stripe",
    "slack",
    "shopify",
    "twilio",
    "jwt",
    "basic",
    "sendgrid",
    "mailgun",
    "email",
    "sealed-email",
];

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// How a route's handler reads the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any well-formed body of the provider's content type, summarised by [`summarize`].
    Raw,
    /// The typed email event set.
    Email,
}

/// Signs test deliveries for a route.
pub enum TestSigner {
    /// A signer that produces headers.
    Headers(Box<dyn Signer>),
    /// Mailgun signs inside the body.
    Mailgun(Secret),
}

/// One signed test delivery.
#[derive(Debug, Clone)]
pub struct Signed {
    pub path: String,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One route.
pub struct RouteSpec {
    pub name: &'static str,
    pub receiver: Receiver,
    pub kind: Kind,
    /// Set when the secret was generated (the start-up banner prints it with a test command);
    /// also for configured symmetric secrets, so tests can sign.
    pub signer: Option<TestSigner>,
    /// The generated secrets, to print as `export` lines.
    pub generated: Vec<(String, String)>,
    /// Seals test deliveries of a route whose receiver decrypts (`sealed-email`).
    pub sealer: Option<Aes256GcmSealer>,
    /// Some of the route's secrets were generated and others configured (`sealed-email`
    /// with only one of its two set): the banner prints no test command, which would carry
    /// a delivery signed or sealed with a configured secret.
    pub partly_configured: bool,
    base_url: String,
}

/// The envelope of the `sealed-email` route: a JSON object with the base64 of the 12-byte
/// nonce and of `ciphertext ‖ tag`, the Standard Webhooks message id as associated data (so a
/// sealed body cannot be replayed under another delivery's id). The id is read from the
/// `webhook-id` header: a sender using Svix's `svix-id` names would need an envelope reading
/// that header instead.
pub fn sealed_envelope() -> Envelope {
    Envelope::json("/ciphertext", "/nonce").associated_data_header("webhook-id")
}

/// `SEALED_EMAIL_ENCRYPTION_KEY`: the `sealed-email` route's AES-256 key, base64 of 32 bytes.
pub const SEALED_KEY_VAR: &str = "SEALED_EMAIL_ENCRYPTION_KEY";

/// `<ROUTE>_WEBHOOK_SECRET`: the route upper-cased, `-` → `_`.
pub fn secret_var(route: &str) -> String {
    format!(
        "{}_WEBHOOK_SECRET",
        route.to_ascii_uppercase().replace('-', "_")
    )
}

fn random_text() -> String {
    hex::encode(Secret::random(24).expose_secret())
}

/// Build every route from `lookup` (the environment, or a map in tests). `base_url` is the
/// public URL of the server (`PUBLIC_BASE_URL`, else `http://<listen address>`).
pub fn routes(
    lookup: &dyn Fn(&str) -> Option<String>,
    base_url: &str,
) -> Result<Vec<RouteSpec>, ConfigError> {
    routes_with_store(lookup, base_url, None)
}

/// [`routes`], every one with `store` as its replay store when given (a Redis store shared
/// by replicas); otherwise each has its own in-memory store.
#[allow(dead_code)] // used by the example receivers and the Redis conformance runs
pub fn routes_with_store(
    lookup: &dyn Fn(&str) -> Option<String>,
    base_url: &str,
    store: Option<std::sync::Arc<dyn webhook::ReplayStore>>,
) -> Result<Vec<RouteSpec>, ConfigError> {
    let base_url = lookup("PUBLIC_BASE_URL").unwrap_or_else(|| base_url.to_owned());
    ROUTES
        .iter()
        .map(|name| route(name, lookup, &base_url, store.clone()))
        .collect()
}

fn text_secret(
    var: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(Secret, Option<(String, String)>), ConfigError> {
    match lookup(var) {
        Some(value) => Ok((
            Secret::from_text(&value).map_err(|e| ConfigError::custom(format!("`{var}`: {e}")))?,
            None,
        )),
        None => {
            let value = random_text();
            Ok((Secret::from_text(&value)?, Some((var.to_owned(), value))))
        }
    }
}

fn whsec_secret(
    var: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(Secret, Option<(String, String)>), ConfigError> {
    match lookup(var) {
        Some(value) => Ok((
            Secret::from_whsec(&value).map_err(|e| ConfigError::custom(format!("`{var}`: {e}")))?,
            None,
        )),
        None => {
            let secret = Secret::random(24);
            let text = format!("whsec_{}", secret.expose_base64().as_str());
            Ok((secret, Some((var.to_owned(), text))))
        }
    }
}

fn route(
    name: &'static str,
    lookup: &dyn Fn(&str) -> Option<String>,
    base_url: &str,
    store: Option<std::sync::Arc<dyn webhook::ReplayStore>>,
) -> Result<RouteSpec, ConfigError> {
    // Senders that sign no timestamp: a captured delivery verifies forever, and only the
    // store's memory of its key refuses a copy, so keys are kept three days
    // (`WEBHOOK_RETENTION_SECS` overrides).
    let mut builder = Receiver::builder().route(name);
    if ["github", "shopify", "twilio"].contains(&name) {
        builder = builder.retention(std::time::Duration::from_secs(3 * 24 * 3600));
    }
    // Duplicates are answered before anything is decoded: this names their event type.
    let mut builder = builder
        .env_with("WEBHOOK", lookup)
        .event_type_from(|request| summarize(request, &webhook::Proof::new("")).ok()?.0);
    if let Some(store) = store {
        builder = builder.replay_shared(store);
    }
    let var = secret_var(name);
    let (builder, signer, generated, kind) = match name {
        "standard-webhooks" | "email" | "sealed-email" => {
            let (secret, generated) = whsec_secret(&var, lookup)?;
            let builder = builder
                .verifier(StandardWebhooks::new(secret.clone())?)
                .content_type(JSON);
            let (builder, kind) = if name == "standard-webhooks" {
                (builder, Kind::Raw)
            } else {
                // The email event set reads its own type (the envelope's tag, no full parse).
                (builder.events::<crate::email::EmailEvent>(), Kind::Email)
            };
            if name == "sealed-email" {
                let (key, generated_key) = match lookup(SEALED_KEY_VAR) {
                    Some(text) => (
                        Secret::from_base64(text.trim())
                            .map_err(|e| ConfigError::custom(format!("`{SEALED_KEY_VAR}`: {e}")))?,
                        None,
                    ),
                    None => {
                        let key = Secret::random(32);
                        let text = key.expose_base64().as_str().to_owned();
                        (key, Some((SEALED_KEY_VAR.to_owned(), text)))
                    }
                };
                let key = Key::new("default", key);
                let builder =
                    builder.decryptor(Aes256GcmDecryptor::new(key.clone(), sealed_envelope())?);
                return Ok(RouteSpec {
                    name,
                    receiver: builder.build()?,
                    kind,
                    signer: Some(TestSigner::Headers(Box::new(StandardWebhooksSigner::new(
                        secret,
                    )))),
                    partly_configured: generated.is_some() != generated_key.is_some(),
                    generated: generated.into_iter().chain(generated_key).collect(),
                    sealer: Some(Aes256GcmSealer::new(key, sealed_envelope())?),
                    base_url: base_url.to_owned(),
                });
            }
            (
                builder,
                TestSigner::Headers(Box::new(StandardWebhooksSigner::new(secret))),
                generated,
                kind,
            )
        }
        "github" | "stripe" | "slack" | "shopify" => {
            let (secret, generated) = text_secret(&var, lookup)?;
            let (builder, signer): (_, Box<dyn Signer>) = match name {
                "github" => (
                    builder
                        .verifier(github::verifier(secret.clone())?)
                        .content_type(JSON)
                        .content_type(FORM),
                    Box::new(github::signer(secret)),
                ),
                "stripe" => (
                    builder
                        .verifier(stripe::verifier(secret.clone())?)
                        .content_type(JSON),
                    Box::new(stripe::signer(secret)),
                ),
                "slack" => (
                    builder
                        .verifier(slack::verifier(secret.clone())?)
                        .content_type(JSON)
                        .content_type(FORM),
                    Box::new(slack::signer(secret)),
                ),
                _ => (
                    builder
                        .verifier(shopify::verifier(secret.clone())?)
                        .content_type(JSON),
                    Box::new(shopify::signer(secret)),
                ),
            };
            (builder, TestSigner::Headers(signer), generated, Kind::Raw)
        }
        "twilio" => {
            let (secret, generated) = text_secret("TWILIO_AUTH_TOKEN", lookup)?;
            let builder = builder
                .verifier(twilio::verifier(secret.clone())?)
                .content_type(FORM)
                .content_type(JSON)
                .public_base_url(base_url);
            (
                builder,
                TestSigner::Headers(Box::new(twilio::signer(secret))),
                generated,
                Kind::Raw,
            )
        }
        "jwt" => {
            let mut keys = Vec::new();
            let mut signer = None;
            let mut generated = None;
            let hs = lookup("JWT_HS256_SECRET");
            let pem = lookup("JWT_PUBLIC_KEY_FILE");
            let jwks = lookup("JWT_JWKS_FILE");
            if let Some(file) = &pem {
                let bytes = std::fs::read(file).map_err(|e| {
                    ConfigError::custom(format!("`JWT_PUBLIC_KEY_FILE` {file}: {e}"))
                })?;
                // The key's own type decides; each type's refusal is kept for the message.
                let key = JwtKey::rsa_pem(&bytes).or_else(|rsa| {
                    JwtKey::ec_pem(&bytes).or_else(|ec| {
                        JwtKey::ed25519_pem(&bytes).map_err(|ed| {
                            ConfigError::custom(format!(
                                "`JWT_PUBLIC_KEY_FILE` {file}: not a public key this route \
                                 reads (RSA: {rsa}; P-256: {ec}; Ed25519: {ed})"
                            ))
                        })
                    })
                })?;
                keys.push(key);
            }
            if let Some(file) = &jwks {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| ConfigError::custom(format!("`JWT_JWKS_FILE` {file}: {e}")))?;
                keys.extend(
                    JwtKey::from_jwks(&text)
                        .map_err(|e| ConfigError::custom(format!("`JWT_JWKS_FILE` {file}: {e}")))?,
                );
            }
            if hs.is_some() || (pem.is_none() && jwks.is_none()) {
                let (secret, made) = text_secret("JWT_HS256_SECRET", lookup)?;
                keys.push(JwtKey::hmac(secret.clone())?);
                let mut jwt_signer = JwtSigner::hmac(secret)?;
                if let Some(aud) = lookup("JWT_AUDIENCE") {
                    jwt_signer = jwt_signer.audience(aud);
                }
                if let Some(iss) = lookup("JWT_ISSUER") {
                    jwt_signer = jwt_signer.issuer(iss);
                }
                signer = Some(TestSigner::Headers(Box::new(jwt_signer)));
                generated = made;
            }
            let mut verifier = JwtBearer::new(keys)?;
            if let Some(aud) = lookup("JWT_AUDIENCE") {
                verifier = verifier.audience(aud);
            }
            if let Some(iss) = lookup("JWT_ISSUER") {
                verifier = verifier.issuer(iss);
            }
            let builder = builder.verifier(verifier).content_type(JSON);
            return Ok(RouteSpec {
                name,
                receiver: builder.build()?,
                kind: Kind::Raw,
                signer,
                generated: generated.into_iter().collect(),
                sealer: None,
                partly_configured: false,
                base_url: base_url.to_owned(),
            });
        }
        "basic" => {
            let (list, generated) = match lookup("BASIC_AUTH") {
                Some(list) => (list, None),
                None => {
                    let list = format!("webhook:{}", random_text());
                    (list.clone(), Some(("BASIC_AUTH".to_owned(), list)))
                }
            };
            let verifier = BasicAuth::from_list(&list)?;
            let first = list
                .split(',')
                .next()
                .and_then(|e| e.trim().split_once(':'));
            let signer = match first {
                Some((user, password)) => Some(TestSigner::Headers(Box::new(
                    BasicAuthSigner::new(user, Secret::from_text(password)?),
                ))),
                None => None,
            };
            let builder = builder.verifier(verifier).content_type(JSON);
            return Ok(RouteSpec {
                name,
                receiver: builder.build()?,
                kind: Kind::Raw,
                signer,
                generated: generated.into_iter().collect(),
                sealer: None,
                partly_configured: false,
                base_url: base_url.to_owned(),
            });
        }
        "sendgrid" => {
            let (key, signer, generated) = match lookup("SENDGRID_PUBLIC_KEY") {
                Some(text) => (
                    PublicKey::from_spki_base64(text.trim())
                        .map_err(|e| ConfigError::custom(format!("`SENDGRID_PUBLIC_KEY`: {e}")))?,
                    None,
                    None,
                ),
                None => {
                    let private = PrivateKey::generate_p256();
                    let public = private.public_key();
                    let signer = TestSigner::Headers(Box::new(sendgrid::signer(private)?));
                    (
                        public,
                        Some(signer),
                        Some((
                            "SENDGRID_PUBLIC_KEY".to_owned(),
                            "(generated key pair, this run only)".to_owned(),
                        )),
                    )
                }
            };
            let builder = builder
                .verifier(sendgrid::verifier(key)?)
                .content_type(JSON);
            return Ok(RouteSpec {
                name,
                receiver: builder.build()?,
                kind: Kind::Raw,
                signer,
                generated: generated.into_iter().collect(),
                sealer: None,
                partly_configured: false,
                base_url: base_url.to_owned(),
            });
        }
        _ => {
            // mailgun
            let (secret, generated) = text_secret(&var, lookup)?;
            let builder = builder
                .verifier(mailgun::verifier(secret.clone())?)
                .content_type(JSON);
            (builder, TestSigner::Mailgun(secret), generated, Kind::Raw)
        }
    };
    Ok(RouteSpec {
        name,
        receiver: builder.build()?,
        kind,
        signer: Some(signer),
        generated: generated.into_iter().collect(),
        sealer: None,
        partly_configured: false,
        base_url: base_url.to_owned(),
    })
}

fn unix_now() -> i64 {
    webhook::SystemClock.now_ms() / 1000
}

impl RouteSpec {
    /// The path, `/webhooks/<name>`.
    pub fn path(&self) -> String {
        format!("/webhooks/{}", self.name)
    }

    /// A sample body of the provider's shape, unique per `id`.
    pub fn sample_body(&self, id: &str) -> (&'static str, Vec<u8>) {
        let now = unix_now();
        let json = match self.name {
            "standard-webhooks" => format!(
                r#"{{"type":"user.created","timestamp":"2024-05-01T12:00:00Z","data":{{"id":"{id}"}}}}"#
            ),
            "github" => {
                format!(r#"{{"zen":"Keep it logically awesome.","hook_id":1,"delivery":"{id}"}}"#)
            }
            "stripe" => format!(
                r#"{{"id":"{id}","object":"event","type":"payment_intent.succeeded","data":{{"object":{{}}}}}}"#
            ),
            "slack" => format!(
                r#"{{"type":"event_callback","event_id":"{id}","event":{{"type":"app_mention"}}}}"#
            ),
            "shopify" => format!(r#"{{"id":"{id}","email":"buyer@example.com"}}"#),
            "twilio" => {
                return (
                    FORM,
                    format!("MessageSid={id}&MessageStatus=delivered&To=%2B15005550006")
                        .into_bytes(),
                );
            }
            "sendgrid" => format!(
                r#"[{{"email":"a@example.com","event":"delivered","sg_event_id":"{id}","timestamp":{now}}}]"#
            ),
            "mailgun" => format!(r#"{{"event-data":{{"event":"delivered","id":"{id}"}}}}"#),
            "email" | "sealed-email" => format!(
                r#"{{"event_type":"email.delivered","timestamp":"2024-05-01T12:00:00Z","data":{{"message_id":"{id}","recipient":"a@example.com","timestamp":"2024-05-01T12:00:00Z"}}}}"#
            ),
            _ => format!(r#"{{"type":"ping","id":"{id}"}}"#),
        };
        (JSON, json.into_bytes())
    }

    /// Sign `body` as the provider would, with message id `id` and timestamp `at` (Unix
    /// seconds; `None` for now), sealed first on a route that decrypts. `None` when the route
    /// has no test signer.
    pub fn sign(
        &self,
        content_type: &'static str,
        body: &[u8],
        id: &str,
        at: Option<i64>,
    ) -> Option<Signed> {
        match &self.sealer {
            Some(sealer) => {
                let sealed = sealer.seal(body, id.as_bytes()).ok()?;
                self.sign_as_sent(content_type, &sealed, id, at)
            }
            None => self.sign_as_sent(content_type, body, id, at),
        }
    }

    /// [`sign`](Self::sign) without sealing: `body` is sent as it is.
    pub fn sign_as_sent(
        &self,
        content_type: &'static str,
        body: &[u8],
        id: &str,
        at: Option<i64>,
    ) -> Option<Signed> {
        let signer = self.signer.as_ref()?;
        let path = self.path();
        let at = at.unwrap_or_else(unix_now);
        let mut headers = Vec::new();
        let body = match signer {
            TestSigner::Mailgun(secret) => {
                let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
                let object = value.as_object_mut()?;
                object.insert("signature".into(), mailgun::signature_block(secret, at));
                value.to_string().into_bytes()
            }
            TestSigner::Headers(signer) => {
                let url = format!("{}{path}", self.base_url.trim_end_matches('/'));
                let url = if self.name == "twilio" && content_type == JSON {
                    twilio::json_url(&url, body)
                } else {
                    url
                };
                let message = Outgoing::new(body).id(id).timestamp_secs(at).url(&url);
                headers = signer.sign(&message).ok()?.into_vec();
                body.to_vec()
            }
        };
        let path = if self.name == "twilio" && content_type == JSON {
            twilio::json_url(&path, &body)
        } else {
            path
        };
        match self.name {
            "github" => {
                headers.push(("X-GitHub-Event".into(), "ping".into()));
                headers.push(("X-GitHub-Delivery".into(), id.into()));
            }
            "shopify" => {
                headers.push(("X-Shopify-Topic".into(), "orders/create".into()));
                headers.push(("X-Shopify-Webhook-Id".into(), id.into()));
            }
            _ => {}
        }
        Some(Signed {
            path,
            content_type,
            headers,
            body,
        })
    }

    /// A ready-to-paste `curl` sending a freshly signed sample to `base` (e.g.
    /// `http://127.0.0.1:3000`).
    pub fn curl(&self, base: &str) -> Option<String> {
        let id = format!(
            "test_{}",
            random_text().chars().take(12).collect::<String>()
        );
        let (content_type, body) = self.sample_body(&id);
        let signed = self.sign(content_type, &body, &id, None)?;
        let mut line = format!(
            "curl -sS -X POST '{}{}' -H 'content-type: {}'",
            base.trim_end_matches('/'),
            signed.path,
            signed.content_type
        );
        for (name, value) in &signed.headers {
            let _ = write!(line, " -H '{name}: {value}'");
        }
        let body = String::from_utf8_lossy(&signed.body);
        let _ = write!(line, " --data-raw '{}'", body.replace('\'', r"'\''"));
        Some(line)
    }
}

/// `event_type` and `id` of a verified raw delivery, for the `{"event_type","id","duplicate"}`
/// answer. A body that is not well-formed for its content type is a 400.
pub fn summarize(
    request: &WebhookRequest<'_>,
    proof: &Proof,
) -> Result<(Option<String>, Option<String>), VerifyError> {
    let malformed = || {
        VerifyError::new(VerifyErrorKind::MalformedBody)
            .with_message("body is not well-formed for its content type")
    };
    let header = |name: &str| {
        request
            .header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::to_owned)
    };
    let (event_type, id);
    if request
        .content_type()
        .is_some_and(|ct| ct.eq_ignore_ascii_case(FORM))
    {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(request.body())
            .into_owned()
            .collect();
        let get = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        };
        event_type = get(&[
            "EventType",
            "MessageStatus",
            "CallStatus",
            "SmsStatus",
            "command",
            "event",
        ]);
        id = get(&["MessageSid", "CallSid", "Sid", "trigger_id"]);
    } else {
        let value: serde_json::Value =
            serde_json::from_slice(request.body()).map_err(|_| malformed())?;
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let first = value.get(0).unwrap_or(&value);
        event_type = ["type", "event_type", "event"]
            .iter()
            .find_map(|k| first.get(k).and_then(text))
            .or_else(|| value.pointer("/event-data/event").and_then(text));
        id = ["id", "event_id", "sg_event_id"]
            .iter()
            .find_map(|k| first.get(k).and_then(text))
            .or_else(|| value.pointer("/event-data/id").and_then(text));
    }
    let event_type = header("x-github-event")
        .or_else(|| header("x-shopify-topic"))
        .or(event_type);
    let id = proof
        .message_id()
        .map(str::to_owned)
        .or(id)
        .or_else(|| header("x-github-delivery"));
    Ok((event_type, id))
}

/// An environment variable, `None` when unset or blank. Blank settings are refused at
/// start-up ([`refuse_blank_settings`]), so blank means unset only for `WEBHOOK_ADDR` and
/// variables of other programs.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The variables the receivers read besides the routes' secrets and `WEBHOOK_*`.
const SETTINGS: &[&str] = &[
    "PUBLIC_BASE_URL",
    "TWILIO_AUTH_TOKEN",
    "SENDGRID_PUBLIC_KEY",
    "JWT_HS256_SECRET",
    "JWT_PUBLIC_KEY_FILE",
    "JWT_JWKS_FILE",
    "JWT_AUDIENCE",
    "JWT_ISSUER",
    "BASIC_AUTH",
    "REDIS_URL",
    SEALED_KEY_VAR,
];

/// Refuse, naming them, settings that are set but blank (`X="${UNSET}"` in a compose file)
/// or not UTF-8: read as unset they would turn a check off (an allowlist, a JWT audience) or
/// replace a secret with a generated one. `WEBHOOK_ADDR` alone may be blank (the default
/// address).
pub fn refuse_blank_settings() -> Result<(), String> {
    let blank: Vec<String> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, value)| {
            let ours = SETTINGS.contains(&name.as_str())
                || ROUTES.iter().any(|route| secret_var(route) == *name)
                || (name.starts_with("WEBHOOK_") && name != "WEBHOOK_ADDR");
            ours && value.to_str().is_none_or(|v| v.trim().is_empty())
        })
        .map(|(name, _)| name)
        .collect();
    if std::env::var_os("WEBHOOK_PUBLIC_BASE_URL").is_some() {
        // The Twilio route signs URLs under `PUBLIC_BASE_URL`, which would override it.
        return Err(
            "WEBHOOK_PUBLIC_BASE_URL is not read by this example: set PUBLIC_BASE_URL".into(),
        );
    }
    if blank.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "set but empty or not UTF-8: {} (unset them, or give them a value)",
            blank.join(", ")
        ))
    }
}

/// The receivers' `sign <route>` command: print a fresh signed test command for a running
/// receiver configured with the same environment. `Ok(true)` when the arguments asked for it.
pub fn sign_command(addr: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, route] = args.as_slice() else {
        return Ok(false);
    };
    if command != "sign" {
        return Ok(false);
    }
    let base = env("PUBLIC_BASE_URL").unwrap_or_else(|| format!("http://{addr}"));
    let routes = routes(&env, &base)?;
    let spec = routes
        .iter()
        .find(|r| r.name == route)
        .ok_or("unknown route")?;
    if !spec.generated.is_empty() {
        // A secret made up in this process: the running receiver made up its own.
        return Err(format!(
            "route `{route}` has no configured secret: use the signed command the running \
             receiver printed at start-up, or set {} for both",
            spec.generated
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    if matches!(route.as_str(), "basic" | "jwt") {
        // Their command would carry the configured credential itself (a password, a token
        // made with the configured HS256 secret), readable in the shell's history.
        return Err(format!(
            "route `{route}`: the signed command would print the configured credential; send \
             it with your own client"
        )
        .into());
    }
    match spec.curl(&base) {
        Some(line) => println!("{line}"),
        None => eprintln!("route `{route}` has no signing key in this environment"),
    }
    Ok(true)
}

/// The start-up banner: every route, and for each route whose secret was generated for this
/// run, the variable to export and a ready-to-paste signed `curl`.
pub fn print_banner(base: &str, routes: &[RouteSpec]) {
    print!("{}", banner(base, routes));
}

/// The text of [`print_banner`].
pub fn banner(base: &str, routes: &[RouteSpec]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("webhook receiver listening on {base}\n");
    for route in routes {
        let _ = writeln!(out, "  POST {base}{}", route.path());
    }
    for route in routes {
        if route.generated.is_empty() {
            continue;
        }
        let vars: Vec<&str> = route.generated.iter().map(|(v, _)| v.as_str()).collect();
        let _ = writeln!(
            out,
            "\n# {}: {} {} unset; generated for this run:",
            route.name,
            vars.join(" and "),
            if vars.len() == 1 { "is" } else { "are" }
        );
        for (var, value) in &route.generated {
            if route.name != "sendgrid" {
                let _ = writeln!(out, "export {var}='{value}'");
            }
        }
        if route.partly_configured {
            // Its command would carry a delivery made with the configured secret.
            let _ = writeln!(
                out,
                "# no test command: the route's other secret is configured (set both, or neither)"
            );
        } else if let Some(line) = route.curl(base) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The Redis store named by `REDIS_URL`, when set (the example receivers share it).
#[cfg(feature = "redis")]
#[allow(dead_code)] // used by the example receivers
pub async fn replay_store() -> Result<Option<std::sync::Arc<dyn webhook::ReplayStore>>, ConfigError>
{
    let store = webhook::RedisStore::from_env("REDIS_URL").await?;
    if store.is_some() {
        println!("replay store: Redis (REDIS_URL), shared by every replica");
    }
    Ok(store.map(|s| std::sync::Arc::new(s) as std::sync::Arc<dyn webhook::ReplayStore>))
}

/// Without the `redis` feature, a set `REDIS_URL` is an error rather than silently ignored:
/// replicas would not share their claims.
#[cfg(not(feature = "redis"))]
#[allow(dead_code)] // used by the example receivers
pub async fn replay_store() -> Result<Option<std::sync::Arc<dyn webhook::ReplayStore>>, ConfigError>
{
    if std::env::var_os("REDIS_URL").is_some() {
        return Err(ConfigError::custom(
            "`REDIS_URL` is set, but this build has no Redis store: build with the `redis` feature",
        ));
    }
    Ok(None)
}
