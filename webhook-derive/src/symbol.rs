//! The attribute vocabulary: every name the parser accepts, defined once.

pub(crate) const WEBHOOK: &str = "webhook";
pub(crate) const SERDE: &str = "serde";

// container
pub(crate) const TAG: &str = "tag";
pub(crate) const CONTENT: &str = "content";
pub(crate) const TAG_HEADER: &str = "tag_header";
pub(crate) const ID: &str = "id";
pub(crate) const ID_HEADER: &str = "id_header";
pub(crate) const TIMESTAMP: &str = "timestamp";
pub(crate) const RENAME_ALL: &str = "rename_all";
pub(crate) const CRATE: &str = "crate";
pub(crate) const DENY_UNKNOWN_FIELDS: &str = "deny_unknown_fields";

// variant
pub(crate) const RENAME: &str = "rename";
pub(crate) const ALIAS: &str = "alias";
pub(crate) const OTHER: &str = "other";

// field rules
pub(crate) const EMAIL: &str = "email";
pub(crate) const URL: &str = "url";
pub(crate) const LENGTH: &str = "length";
pub(crate) const RANGE: &str = "range";
pub(crate) const PATTERN: &str = "pattern";
pub(crate) const ONE_OF: &str = "one_of";
pub(crate) const NON_EMPTY: &str = "non_empty";
pub(crate) const NESTED: &str = "nested";
pub(crate) const CUSTOM: &str = "custom";
pub(crate) const MIN: &str = "min";
pub(crate) const MAX: &str = "max";

// serde attributes we read (and leave to serde)
pub(crate) const DEFAULT: &str = "default";
pub(crate) const SKIP: &str = "skip";
pub(crate) const SKIP_DESERIALIZING: &str = "skip_deserializing";
pub(crate) const FLATTEN: &str = "flatten";
pub(crate) const DESERIALIZE: &str = "deserialize";

// serde attributes that only deserialization reads: refused where the derives' decoding
// would not follow them (serde's other attributes there shape a `Serialize` the application
// derives)
pub(crate) const DESERIALIZE_ONLY_CONTAINER: &[&str] = &[
    DENY_UNKNOWN_FIELDS,
    DEFAULT,
    FROM,
    TRY_FROM,
    "expecting",
    "variant_identifier",
    "field_identifier",
];
pub(crate) const DESERIALIZE_ONLY_VARIANT: &[&str] = &[
    ALIAS,
    OTHER,
    SKIP_DESERIALIZING,
    "deserialize_with",
    "with",
    "borrow",
    DENY_UNKNOWN_FIELDS,
    DEFAULT,
];
pub(crate) const DESERIALIZE_ONLY_FIELD: &[&str] = &[
    ALIAS,
    DEFAULT,
    SKIP,
    SKIP_DESERIALIZING,
    FLATTEN,
    "deserialize_with",
    "with",
    "borrow",
];

// serde attributes the derives refuse where they would change what the schema describes
pub(crate) const TRANSPARENT: &str = "transparent";
pub(crate) const FROM: &str = "from";
pub(crate) const TRY_FROM: &str = "try_from";

pub(crate) const CONTAINER_ATTRS: &[&str] = &[
    TAG,
    CONTENT,
    TAG_HEADER,
    ID,
    ID_HEADER,
    TIMESTAMP,
    RENAME_ALL,
    CRATE,
    DENY_UNKNOWN_FIELDS,
];
pub(crate) const VARIANT_ATTRS: &[&str] = &[RENAME, ALIAS, OTHER];
pub(crate) const FIELD_ATTRS: &[&str] = &[
    EMAIL, URL, LENGTH, RANGE, PATTERN, ONE_OF, NON_EMPTY, NESTED, CUSTOM,
];
