//! A payload's rules run wherever the payload appears, with or without `#[webhook(nested)]`:
//! in struct variants, payload structs and newtype variants, behind `Option`, `Box`, lists
//! and maps; the schema, error paths and the masking of undeclared keys are the same either
//! way.
// Payload fields the tests decode but need not read.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Deserialize;
use serde_json::json;
use webhook::{DecodeErrorKind, WebhookEvent, WebhookPayload, WebhookRequest};

/// Stripe's object, as the usability trial's user wrote it.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct PaymentIntent {
    pub id: String,
    #[webhook(range(min = 1))]
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: HashMap<String, u32>,
}

/// The trial's set: the payload under `data.object`, no `nested`.
#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "id")]
pub enum StripeEvent {
    #[webhook(rename = "payment_intent.succeeded")]
    PaymentIntentSucceeded { object: PaymentIntent },
    #[webhook(other)]
    Unhandled,
}

/// The same set with `nested` written.
#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type", content = "data", id = "id")]
pub enum StripeEventNested {
    #[webhook(rename = "payment_intent.succeeded")]
    PaymentIntentSucceeded {
        #[webhook(nested)]
        object: PaymentIntent,
    },
    #[webhook(other)]
    Unhandled,
}

fn stripe(object: &str) -> String {
    format!(r#"{{"id":"evt_1","type":"payment_intent.succeeded","data":{{"object":{object}}}}}"#)
}

/// Both sets' answer to a body: `Ok(())` or the error's kind and text.
fn both(body: &str) -> [Result<(), (DecodeErrorKind, String)>; 2] {
    let request = WebhookRequest::new(body.as_bytes());
    let answer = |r: Result<(), webhook::DecodeError>| r.map_err(|e| (e.kind(), e.to_string()));
    [
        answer(StripeEvent::decode(&request).map(drop)),
        answer(StripeEventNested::decode(&request).map(drop)),
    ]
}

/// The trial's report: `amount: 0` decoded as `Ok`. It is now refused, with its path.
#[test]
fn a_payload_field_runs_its_rules_without_nested() {
    let body = stripe(r#"{"id":"pi_1","amount":0,"currency":"usd"}"#);
    let err = StripeEvent::decode(&WebhookRequest::new(body.as_bytes())).unwrap_err();
    assert_eq!(err.kind(), DecodeErrorKind::Validation);
    assert_eq!(err.to_string(), "data.object.amount: must be at least 1");
    let ok = stripe(r#"{"id":"pi_1","amount":1,"currency":"usd"}"#);
    assert!(StripeEvent::decode(&WebhookRequest::new(ok.as_bytes())).is_ok());
}

/// With and without `nested`: the same answers (rule failures, shape errors at the payload's
/// declared fields, `*` for a map's key), and the same schema.
#[test]
fn nested_or_not_the_answers_and_schema_are_the_same() {
    for (object, expected) in [
        (r#"{"id":"pi_1","amount":5,"currency":"usd"}"#, Ok(())),
        (
            r#"{"id":"pi_1","amount":0,"currency":"usd"}"#,
            Err((
                DecodeErrorKind::Validation,
                "data.object.amount: must be at least 1",
            )),
        ),
        (
            r#"{"id":"pi_1","amount":"SECRET","currency":"usd"}"#,
            Err((
                DecodeErrorKind::Validation,
                "data.object.amount: invalid type, expected i64",
            )),
        ),
        (
            r#"{"id":"pi_1","amount":5}"#,
            Err((
                DecodeErrorKind::Validation,
                "data.object.currency: is required",
            )),
        ),
        // A payload is an object, not its fields in order.
        (
            r#"["pi_1",5,"usd",{}]"#,
            Err((
                DecodeErrorKind::Validation,
                "data.object: invalid type, expected an object",
            )),
        ),
        (
            r#"{"id":"pi_1","amount":5,"currency":"usd","metadata":{"SECRET":"x"}}"#,
            Err((
                DecodeErrorKind::Validation,
                "data.object.metadata.*: invalid type, expected u32",
            )),
        ),
    ] {
        let expected = expected.map_err(|(kind, text)| (kind, text.to_owned()));
        assert_eq!(
            both(&stripe(object)),
            [expected.clone(), expected],
            "{object}"
        );
    }
    let untitled = |mut schema: serde_json::Value| {
        schema["title"] = json!(null);
        schema
    };
    let schema = untitled(StripeEvent::json_schema());
    assert_eq!(schema, untitled(StripeEventNested::json_schema()));
    // The payload's own schema, declared names and bound included.
    let object = &schema["oneOf"][0]["properties"]["data"]["properties"]["object"];
    assert_eq!(object, &PaymentIntent::json_schema(), "{schema:#}");
    assert_eq!(object["properties"]["amount"]["minimum"], json!(1));
}

#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Item {
    #[webhook(length(min = 1))]
    pub sku: String,
}

/// Every shape `nested` takes, and the lists and maps it now takes too, without `nested`.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Shapes {
    #[serde(default)]
    pub plain: Option<Item>,
    #[serde(default)]
    pub boxed: Option<Box<Item>>,
    #[serde(default)]
    pub list: Vec<Item>,
    #[serde(default)]
    pub nested_list: Option<Vec<Vec<Item>>>,
    #[serde(default)]
    pub deque: VecDeque<Item>,
    #[serde(default)]
    pub pair: Option<[Item; 2]>,
    #[serde(default)]
    pub by_key: HashMap<String, Item>,
    #[serde(default)]
    pub sorted: BTreeMap<String, Vec<Item>>,
    // A `Box` around a list or an option: probed as what it holds.
    #[serde(default)]
    #[allow(clippy::box_collection)] // the shape under test
    pub boxed_list: Box<Vec<Item>>,
    #[serde(default)]
    pub boxed_option: Box<Option<Box<Item>>>,
    #[serde(default)]
    pub boxed_slice: Option<Box<[Item]>>,
}

#[test]
fn payloads_behind_options_boxes_lists_and_maps_run_their_rules() {
    for (body, says) in [
        (
            r#"{"plain":{"sku":""}}"#,
            "plain.sku: length must be at least 1",
        ),
        (
            r#"{"boxed":{"sku":""}}"#,
            "boxed.sku: length must be at least 1",
        ),
        (
            r#"{"list":[{"sku":"a"},{"sku":""}]}"#,
            "list[1].sku: length must be at least 1",
        ),
        (
            r#"{"nested_list":[[],[{"sku":""}]]}"#,
            "nested_list[1][0].sku: length must be at least 1",
        ),
        (
            r#"{"deque":[{"sku":""}]}"#,
            "deque[0].sku: length must be at least 1",
        ),
        (
            r#"{"pair":[{"sku":"a"},{"sku":""}]}"#,
            "pair[1].sku: length must be at least 1",
        ),
        // A map's key is the sender's: `*`, as in a shape error's path.
        (
            r#"{"by_key":{"SECRET":{"sku":""}}}"#,
            "by_key.*.sku: length must be at least 1",
        ),
        (
            r#"{"sorted":{"SECRET":[{"sku":"a"},{"sku":""}]}}"#,
            "sorted.*[1].sku: length must be at least 1",
        ),
        (
            r#"{"boxed_list":[{"sku":""}]}"#,
            "boxed_list[0].sku: length must be at least 1",
        ),
        (
            r#"{"boxed_option":{"sku":""}}"#,
            "boxed_option.sku: length must be at least 1",
        ),
        (
            r#"{"boxed_slice":[{"sku":"a"},{"sku":""}]}"#,
            "boxed_slice[1].sku: length must be at least 1",
        ),
    ] {
        let err = Shapes::from_json(body.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), DecodeErrorKind::Validation, "{body}");
        assert_eq!(err.to_string(), says, "{body}");
    }
    let fine = r#"{"plain":{"sku":"a"},"boxed":null,"list":[{"sku":"a"}],"nested_list":[[{"sku":"b"}]],
        "deque":[],"pair":[{"sku":"a"},{"sku":"b"}],"by_key":{"k":{"sku":"c"}},"sorted":{"k":[]}}"#;
    assert!(Shapes::from_json(fine.as_bytes()).is_ok());
    // The schema describes the payloads too, in each shape.
    let schema = Shapes::json_schema();
    let sku = json!({ "type": "string", "minLength": 1 });
    let props = &schema["properties"];
    assert_eq!(props["plain"]["properties"]["sku"], sku, "{schema:#}");
    assert_eq!(props["boxed"]["properties"]["sku"], sku);
    assert_eq!(props["list"]["items"]["properties"]["sku"], sku);
    assert_eq!(
        props["nested_list"]["items"]["items"]["properties"]["sku"],
        sku
    );
    assert_eq!(props["deque"]["items"]["properties"]["sku"], sku);
    assert_eq!(props["boxed_slice"]["type"], json!(["array", "null"]));
    assert_eq!(props["boxed_slice"]["items"]["properties"]["sku"], sku);
    assert_eq!(props["pair"]["items"]["properties"]["sku"], sku);
    assert_eq!(props["pair"]["minItems"], json!(2));
    assert_eq!(
        props["by_key"]["additionalProperties"]["properties"]["sku"],
        sku
    );
    assert_eq!(
        props["sorted"]["additionalProperties"]["items"]["properties"]["sku"],
        sku
    );
    assert_eq!(props["boxed_list"]["items"]["properties"]["sku"], sku);
}

/// `nested` takes the new shapes too, with the same answers.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct ShapesNested {
    #[webhook(nested)]
    #[serde(default)]
    pub by_key: HashMap<String, Item>,
    #[webhook(nested)]
    #[serde(default)]
    pub pair: Option<[Item; 2]>,
    #[webhook(nested)]
    #[serde(default)]
    #[allow(clippy::box_collection)] // the shape under test
    pub boxed_list: Box<Vec<Item>>,
}

#[test]
fn nested_takes_maps_and_arrays() {
    let err = ShapesNested::from_json(br#"{"by_key":{"SECRET":{"sku":""}}}"#).unwrap_err();
    assert_eq!(err.to_string(), "by_key.*.sku: length must be at least 1");
    let err = ShapesNested::from_json(br#"{"pair":[{"sku":""},{"sku":"b"}]}"#).unwrap_err();
    assert_eq!(err.to_string(), "pair[0].sku: length must be at least 1");
    let err = ShapesNested::from_json(br#"{"boxed_list":[{"sku":""}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "boxed_list[0].sku: length must be at least 1"
    );
}

/// A payload inside a payload inside a newtype variant, none marked.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Order {
    #[webhook(length(min = 1))]
    pub items: Vec<Item>,
    pub shipping: Option<Address>,
}

#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Address {
    #[webhook(one_of("US", "CA"))]
    pub country: String,
}

/// A payload flattened into its parent: its keys, and so its errors, are the parent's.
#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Flattened {
    pub id: u32,
    #[serde(flatten)]
    pub address: Address,
}

#[derive(Debug, WebhookEvent)]
#[webhook(tag = "type", content = "data")]
pub enum Shop {
    #[webhook(rename = "order.created")]
    Created(Order),
    #[webhook(rename = "order.shipped")]
    Shipped { order: Box<Order>, to: Flattened },
}

#[test]
fn payloads_within_payloads_and_newtype_variants_run_their_rules() {
    let decode = |body: &str| Shop::decode(&WebhookRequest::new(body.as_bytes()));
    let err = decode(
        r#"{"type":"order.created","data":{"items":[{"sku":""}],"shipping":{"country":"FR"}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.items[0].sku: length must be at least 1; data.shipping.country: must be one of `US`, `CA`"
    );
    let err = decode(
        r#"{"type":"order.shipped","data":{"order":{"items":[],"shipping":null},"to":{"id":1,"country":"FR"}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.order.items: length must be at least 1; data.to.country: must be one of `US`, `CA`"
    );
    assert!(
        decode(r#"{"type":"order.shipped","data":{"order":{"items":[{"sku":"a"}]},"to":{"id":1,"country":"US"}}}"#)
            .is_ok()
    );
    let schema = Shop::json_schema();
    assert_eq!(
        schema["oneOf"][0]["properties"]["data"]["properties"]["shipping"]["properties"]["country"]
            ["enum"],
        json!(["US", "CA"]),
        "{schema:#}"
    );
}

/// A generic wrapper of the application's, with its own `WebhookPayload` impl: the field's
/// type is concrete where the derive expands, so its rules are found too.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
}

impl<T: WebhookPayload> WebhookPayload for Page<T> {
    fn validate_at(&self, path: &webhook::FieldPath<'_>, errors: &mut webhook::ValidationErrors) {
        let data = path.field("data");
        for (i, item) in self.data.iter().enumerate() {
            item.validate_at(&data.index(i), errors);
        }
    }
    fn json_schema() -> serde_json::Value {
        json!({ "type": "object", "properties": { "data": { "type": "array", "items": T::json_schema() } } })
    }
}

#[derive(Debug, Deserialize, WebhookPayload)]
pub struct Listing {
    pub page: Page<Item>,
    /// Never read: its (default) value breaks the rule, and is not checked.
    #[serde(skip)]
    pub cache: Option<Item>,
}

#[test]
fn a_hand_written_generic_payload_is_found_and_skipped_fields_are_not_checked() {
    let err = Listing::from_json(br#"{"page":{"data":[{"sku":"a"},{"sku":""}]}}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "page.data[1].sku: length must be at least 1"
    );
    let listing = Listing {
        page: Page { data: Vec::new() },
        cache: Some(Item { sku: String::new() }),
    };
    assert!(listing.validate().is_ok());
}
