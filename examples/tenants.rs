//! Many senders on one route, received with axum: each tenant signs its Standard Webhooks
//! deliveries with a secret of its own and posts them to `POST /webhooks/mail/{tenant}`.
//!
//! ```text
//! cargo run --example tenants --features axum
//! ```
//!
//! Configuration (environment):
//! - `TENANT_SECRETS_FILE`: a file of `tenant=whsec_…` lines (blank lines and lines starting
//!   with `#` are skipped). It is read at start-up and again whenever it changes (checked
//!   every 2 s), without a restart: a new line adds a tenant, a changed secret replaces the
//!   tenant's (its old secret is refused from then on), a line taken out removes the tenant.
//!   A file that cannot be read or parsed, or lists no tenant, leaves the tenants as they
//!   were, and says why. Replace the file by renaming a complete one into place: a file
//!   caught half-written in place can be read cut short.
//! - `TENANT_SECRETS_DIR`, instead: a directory with one file per tenant, `<tenant>.secret`
//!   holding its `whsec_…` secret, read the first time a delivery names the tenant (the way
//!   a database would be queried, through `TenantLoader`): a tenant without a file is
//!   unknown for a minute, a file that cannot be read is answered 503 for ten seconds. A
//!   tenant once loaded keeps its secret until the receiver restarts.
//! - `WEBHOOK_ADDR` (default `127.0.0.1:3002`).
//!
//! A setting other than `WEBHOOK_ADDR` that is set but empty, or not UTF-8, stops the
//! start-up, naming it.
//!
//! With neither, the example runs in **demo mode**: two tenants, `acme` and `globex`, with
//! generated secrets, and a `curl` for each that sends a correctly signed delivery (sent
//! again within the 5-minute tolerance, it is answered as a duplicate; sent to the other
//! tenant's URL, it is refused).

#[path = "support/setting.rs"]
mod setting;

use setting::env;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use sha2::{Digest as _, Sha256};
use webhook::axum::{Verified, VerifyWebhookLayer};
use webhook::{
    Outgoing, RateLimit, Receiver, Secret, Signer as _, StandardWebhooks, StandardWebhooksSigner,
    TenantLoader, Tenants, Verifier,
};
use zeroize::Zeroizing;

/// The tenants a file lists: each id with its secret (as written, zeroized when dropped).
type Listed = Vec<(String, Zeroizing<String>)>;

/// The `tenant=whsec_…` lines of `text`.
fn parse(text: &str) -> Result<Listed, String> {
    let mut listed = Listed::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((id, secret)) = line.split_once('=') else {
            return Err(format!("line {}: expected tenant=whsec_…", n + 1));
        };
        let (id, secret) = (id.trim(), secret.trim());
        if !Tenants::is_tenant_id(id) {
            return Err(format!("line {}: not a tenant id", n + 1));
        }
        if listed.iter().any(|(seen, _)| seen == id) {
            return Err(format!("line {}: tenant `{id}` is listed twice", n + 1));
        }
        listed.push((id.to_owned(), Zeroizing::new(secret.to_owned())));
    }
    // A file caught half-written (replaced in place rather than renamed into place) must not
    // remove every tenant.
    if listed.is_empty() {
        return Err("lists no tenant".to_owned());
    }
    Ok(listed)
}

/// Bring `tenants` in line with `listed`; `applied` holds a digest of each tenant's secret as
/// last applied, so an unchanged tenant keeps its verifier. Nothing changes when any line is
/// invalid.
fn apply(
    tenants: &Tenants,
    listed: &Listed,
    applied: &mut HashMap<String, [u8; 32]>,
) -> Result<(), String> {
    let mut verifiers = Vec::new();
    for (id, text) in listed {
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        if applied.get(id) == Some(&digest) {
            continue;
        }
        let secret = Secret::from_whsec(text).map_err(|e| format!("tenant `{id}`: {e}"))?;
        let verifier = StandardWebhooks::new(secret).map_err(|e| format!("tenant `{id}`: {e}"))?;
        verifiers.push((id, verifier, digest));
    }
    for (id, verifier, digest) in verifiers {
        tenants.insert(id, verifier).map_err(|e| e.to_string())?;
        tracing::info!(tenant = %id, "tenant added or its secret replaced");
        applied.insert(id.clone(), digest);
    }
    for id in tenants.ids() {
        if !listed.iter().any(|(listed, _)| *listed == id) {
            tenants.remove(&id);
            applied.remove(&id);
            tracing::info!(tenant = %id, "tenant removed");
        }
    }
    Ok(())
}

/// The file's content, held only while read (it holds every tenant's secret).
async fn read_secrets(path: &str) -> std::io::Result<Zeroizing<Vec<u8>>> {
    tokio::fs::read(path).await.map(Zeroizing::new)
}

/// Re-read `path` every 2 s and apply it when its content changed from `last`, the digest of
/// the content applied at start-up (the secrets themselves are not kept).
async fn watch(
    path: String,
    tenants: Tenants,
    mut applied: HashMap<String, [u8; 32]>,
    mut last: [u8; 32],
) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut unreadable = false;
    loop {
        tick.tick().await;
        let content = match read_secrets(&path).await {
            Ok(content) => content,
            Err(e) => {
                // Said once, not every 2 s while the file is missing.
                if !std::mem::replace(&mut unreadable, true) {
                    tracing::error!("TENANT_SECRETS_FILE {path}: {e}; tenants unchanged");
                }
                continue;
            }
        };
        unreadable = false;
        let digest: [u8; 32] = Sha256::digest(content.as_slice()).into();
        if digest == last {
            continue;
        }
        let result = std::str::from_utf8(&content)
            .map_err(|_| "not UTF-8".to_owned())
            .and_then(parse)
            .and_then(|listed| apply(&tenants, &listed, &mut applied));
        match result {
            Ok(()) => tracing::info!("TENANT_SECRETS_FILE {path}: {} tenants", tenants.len()),
            Err(e) => tracing::error!("TENANT_SECRETS_FILE {path}: {e}; tenants unchanged"),
        }
        last = digest;
    }
}

/// The longest secret file read: a `whsec_` secret is a few dozen bytes.
const MAX_SECRET_FILE: u64 = 4096;

/// A secret file's text: a regular file (not a device, a FIFO, or a link to one) of at most
/// [`MAX_SECRET_FILE`] bytes, held in memory that is zeroized when dropped.
async fn read_secret_file(path: &std::path::Path) -> std::io::Result<Zeroizing<String>> {
    use tokio::io::AsyncReadExt as _;
    let file = tokio::fs::File::open(path).await?;
    if !file.metadata().await?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_SECRET_FILE + 1)
        .read_to_string(&mut text)
        .await?;
    if text.len() as u64 > MAX_SECRET_FILE {
        return Err(std::io::Error::other(format!(
            "longer than {MAX_SECRET_FILE} bytes"
        )));
    }
    Ok(text)
}

/// A tenant's verifier from its secret file, `<tenant>.secret` in `dir`; `None` when there is
/// no file of exactly that name. The name is matched in the directory's listing, not opened
/// directly: on a file system that ignores case, `ACME.secret` would otherwise open
/// `acme.secret`, giving two tenant ids one key (and on Windows, `CON.secret` a device).
async fn load_from(dir: PathBuf, tenant: String) -> Result<Option<Box<dyn Verifier>>, BoxError> {
    let name = format!("{tenant}.secret");
    let read = async {
        let mut entries = tokio::fs::read_dir(&dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_name().to_str() == Some(name.as_str()) {
                return read_secret_file(&entry.path()).await.map(Some);
            }
        }
        Ok(None)
    };
    // A loader bounds its own time: a slow disk, or a network file system, cannot hold
    // deliveries.
    let text = match tokio::time::timeout(Duration::from_secs(5), read).await {
        Ok(Ok(Some(text))) => text,
        Ok(Ok(None)) => return Ok(None),
        Ok(Err(e)) => return Err(format!("{}/{name}: {e}", dir.display()).into()),
        Err(_) => return Err(format!("{}/{name}: not read within 5 s", dir.display()).into()),
    };
    let secret = Secret::from_whsec(&text).map_err(|e| format!("{}/{name}: {e}", dir.display()))?;
    Ok(Some(Box::new(StandardWebhooks::new(secret)?)))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The accepted delivery's tenant and message id.
async fn mail(hook: Verified) -> axum::Json<serde_json::Value> {
    let proof = hook.proof();
    axum::Json(serde_json::json!({
        "tenant": proof.tenant(),
        "id": proof.message_id(),
        "duplicate": false,
    }))
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A `curl` sending a delivery signed with `secret` to `tenant`'s URL.
fn curl(base: &str, tenant: &str, secret: &Secret) -> Result<String, Box<dyn std::error::Error>> {
    let id = webhook::random_message_id();
    let body = format!(r#"{{"type":"email.delivered","data":{{"message_id":"{id}"}}}}"#);
    let headers =
        StandardWebhooksSigner::new(secret.clone()).sign(&Outgoing::new(body.as_bytes()).id(id))?;
    let mut command = format!(
        "curl -s -X POST {} -H 'content-type: application/json'",
        shell_quote(&format!("{base}/webhooks/mail/{tenant}"))
    );
    for (name, value) in headers.iter() {
        command.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    command.push_str(&format!(" -d {}", shell_quote(&body)));
    Ok(command)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    let addr = setting::listen_addr("127.0.0.1:3002");
    // The address bound (a port of 0 is chosen here), for the URLs printed below.
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);

    let mut tenants = Tenants::by_last_path_segment();
    let mut demo = Vec::new();
    match (env("TENANT_SECRETS_FILE")?, env("TENANT_SECRETS_DIR")?) {
        (Some(_), Some(_)) => {
            return Err("set TENANT_SECRETS_FILE or TENANT_SECRETS_DIR, not both".into());
        }
        (None, Some(dir)) => {
            println!("tenants are read from {dir}/<tenant>.secret when first named");
            let dir = PathBuf::from(dir);
            tenants = tenants.loader(TenantLoader::new(move |tenant: &str| {
                Box::pin(load_from(dir.clone(), tenant.to_owned()))
            }))?;
        }
        (Some(path), None) => {
            let content = read_secrets(&path)
                .await
                .map_err(|e| format!("TENANT_SECRETS_FILE {path}: {e}"))?;
            let text = std::str::from_utf8(&content)
                .map_err(|_| format!("TENANT_SECRETS_FILE {path}: not UTF-8"))?;
            let listed = parse(text).map_err(|e| format!("TENANT_SECRETS_FILE {path}: {e}"))?;
            let mut applied = HashMap::new();
            apply(&tenants, &listed, &mut applied)
                .map_err(|e| format!("TENANT_SECRETS_FILE {path}: {e}"))?;
            println!("{} tenants from {path}, watched for changes", tenants.len());
            let digest = Sha256::digest(content.as_slice()).into();
            tokio::spawn(watch(path, tenants.clone(), applied, digest));
        }
        (None, None) => {
            for id in ["acme", "globex"] {
                let secret = Secret::random(24);
                tenants.insert(id, StandardWebhooks::new(secret.clone())?)?;
                demo.push((id, secret));
            }
        }
    }

    // A rate limit per source: made-up tenant ids in a flood would otherwise spend the
    // loader's budget (600 lookups a minute), delaying real tenants' first deliveries.
    let receiver = Receiver::builder()
        .route("mail")
        .verifier(tenants)
        .content_type("application/json")
        .public_base_url(base.clone())
        .rate_limit(RateLimit::per_second(20))
        .build()?;
    let app = Router::new()
        .route("/webhooks/mail/{tenant}", post(mail))
        .route_layer(VerifyWebhookLayer::new(receiver.clone()))
        .with_state(receiver);

    println!("listening on {base}: POST /webhooks/mail/{{tenant}}");
    for (id, secret) in &demo {
        println!(
            "\n# demo tenant `{id}`, secret whsec_{}:",
            secret.expose_base64().as_str()
        );
        println!("{}", curl(&base, id, secret)?);
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
