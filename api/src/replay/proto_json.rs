//! Decodes proto3 canonical JSON — what `temporal workflow show --output json` prints — into the
//! SDK's `temporal.api.history.v1.History`.
//!
//! The SDK has no proto3-JSON decoder for history. Its proto types are generated with two
//! different serde implementations:
//!
//! - `temporal.api.common`, `.failure` and `.enums` (payloads, failures, search attributes, …)
//!   have pbjson-generated impls, which read proto3 JSON natively (camelCase or snake_case
//!   names, int64 as strings, base64 bytes, enum names, absent fields as defaults);
//! - every other package — `history`, `taskqueue`, `workflow`, `sdk`, `update`, … — derives plain
//!   serde: snake_case field names, enums as their `i32` numbers, oneofs as one field holding an
//!   externally tagged enum (`"attributes": {"WorkflowExecutionStartedEventAttributes": {..}}`),
//!   and every field that is not an `Option` must be present. Timestamps and durations are
//!   prost-wkt types, which read RFC 3339 and `"10s"` strings in both formats.
//!
//! Instead of rewriting the JSON tree against a hand-kept copy of the schema, the decoder is a
//! serde `Deserializer` over the parsed JSON that the generated types drive themselves: each
//! derived struct asks for its fields by Rust name, and the decoder answers from the member with
//! the proto3 JSON name (`workflow_task_timeout` → `workflowTaskTimeout`), with the proto default
//! when the member is absent, with enum numbers for enum names, and with numbers for int64
//! strings. pbjson types get their JSON untouched. So a field the SDK adds is decoded without a
//! change here; only an enum type that is new to histories needs a line in [`ENUMS`].
//!
//! Proto3 JSON flattens a oneof into its parent (`"workflowExecutionStartedEventAttributes": {..}`
//! beside `eventId`), and nothing in a derived struct's field list says which of its fields is a
//! oneof. The decoder learns it: when a struct has JSON members that match none of its fields and
//! one of its `Option` fields is absent, it offers that field a value; a oneof asks for an enum
//! and gets the member whose name is one of its variants, anything else is noted as a plain
//! field, and the history is decoded again. Each pass learns at least one field for good, so
//! this ends after a handful of passes.
//!
//! Members that match nothing (fields of a newer server than this SDK) are ignored, as the SDK's
//! protobuf decoding ignores unknown fields.

use base64::Engine as _;
use serde::Deserialize as _;
use serde::de::value::{SeqDeserializer, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;
use temporalio_common::protos::temporal::api::history::v1::History;

/// A history that is not valid proto3 JSON of `temporal.api.history.v1.History`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("at {path}: ") })]
pub struct ProtoJsonError {
    /// Where in the document, e.g. `events[3].workflowTaskCompletedEventAttributes`.
    pub path: String,
    pub message: String,
}

/// Decodes a proto3-JSON history (`{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_…", …}]}`).
pub fn history_from_proto_json(json: &Value) -> Result<History, ProtoJsonError> {
    let shapes = Shapes::default();
    // Each pass that asks for another one has learned the shape of at least one more field.
    const MAX_PASSES: usize = 256;
    for _ in 0..MAX_PASSES {
        match History::deserialize(Node::new(json, &shapes)) {
            Ok(history) => return Ok(history),
            Err(Error::Retry) => continue,
            Err(Error::Invalid { path, message }) => {
                return Err(ProtoJsonError {
                    path: render_path(&path),
                    message,
                });
            }
        }
    }
    Err(ProtoJsonError {
        path: String::new(),
        message: format!("the oneof fields could not be placed in {MAX_PASSES} passes"),
    })
}

/// Enum types that appear in history events. Proto3 JSON writes enum values by name
/// (`EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`); the SDK's derived serde wants the number. Value
/// names are unique within the `temporal.api.enums.v1` package, so the first type that knows a
/// name is the right one. A name no type here knows fails the decode with its path.
const ENUMS: &[fn(&str) -> Option<i32>] = {
    use temporalio_common::protos::temporal::api::enums::v1 as e;
    use temporalio_common::protos::temporal::api::workflow::v1::versioning_override as vo;
    macro_rules! lookups {
        ($($t:path),* $(,)?) => { &[$(|name| <$t>::from_str_name(name).map(|v| v as i32)),*] };
    }
    lookups![
        e::EventType,
        e::TaskQueueKind,
        e::TaskQueueType,
        e::TimeoutType,
        e::RetryState,
        e::ParentClosePolicy,
        e::WorkflowIdReusePolicy,
        e::WorkflowIdConflictPolicy,
        e::ContinueAsNewInitiator,
        e::ContinueAsNewVersioningBehavior,
        e::SuggestContinueAsNewReason,
        e::WorkflowTaskFailedCause,
        e::ActivityTaskFailedCause,
        e::StartChildWorkflowExecutionFailedCause,
        e::SignalExternalWorkflowExecutionFailedCause,
        e::CancelExternalWorkflowExecutionFailedCause,
        e::UpdateAdmittedEventOrigin,
        e::UpdateWorkflowExecutionLifecycleStage,
        e::VersioningBehavior,
        e::WorkerVersioningMode,
        e::VersionDrainageStatus,
        e::WorkerDeploymentVersionStatus,
        e::RoutingConfigUpdateState,
        e::TaskReachability,
        e::BuildIdTaskReachability,
        e::WorkflowExecutionStatus,
        e::PendingActivityState,
        e::PendingWorkflowTaskState,
        e::PendingNexusOperationState,
        e::NexusOperationCancellationState,
        e::CallbackState,
        e::ActivityExecutionStatus,
        e::ResetReapplyType,
        e::ResetReapplyExcludeType,
        vo::PinnedOverrideBehavior,
    ]
};

fn enum_number(name: &str) -> Option<i32> {
    ENUMS.iter().find_map(|lookup| lookup(name))
}

/// The proto3 JSON name of a field: `workflow_task_timeout` → `workflowTaskTimeout` (unchanged
/// when it already is one).
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The Rust variant name prost gives a oneof member: `workflowExecutionStartedEventAttributes` →
/// `WorkflowExecutionStartedEventAttributes`.
fn variant_name(json_key: &str) -> String {
    let name = json_name(json_key);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and paths

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug)]
enum Error {
    /// A field's shape was learned; decode again.
    Retry,
    /// `path` is innermost first.
    Invalid { path: Vec<Segment>, message: String },
}

impl Error {
    fn at(self, segment: impl FnOnce() -> Segment) -> Self {
        match self {
            Error::Invalid { mut path, message } => {
                path.push(segment());
                Error::Invalid { path, message }
            }
            Error::Retry => Error::Retry,
        }
    }
}

fn render_path(innermost_first: &[Segment]) -> String {
    let mut out = String::new();
    for segment in innermost_first.iter().rev() {
        match segment {
            Segment::Key(k) if out.is_empty() => out.push_str(k),
            Segment::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Retry => f.write_str("decode again"),
            Error::Invalid { path, message } => write!(f, "{}: {message}", render_path(path)),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Invalid {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// What the decoder has learned about the fields of derived structs

/// A field of a derived struct: the struct's name, its field list (which tells apart structs of
/// the same name in different packages) and the field.
type FieldKey = (&'static str, &'static [&'static str], &'static str);

#[derive(Clone, Copy)]
enum Shape {
    /// A message or scalar field: absent means `None`.
    Plain,
    /// A oneof whose members are these variants.
    Oneof(&'static [&'static str]),
}

#[derive(Default)]
struct Shapes(RefCell<BTreeMap<FieldKey, Shape>>);

impl Shapes {
    fn get(&self, key: &FieldKey) -> Option<Shape> {
        self.0.borrow().get(key).copied()
    }

    fn learn(&self, key: FieldKey, shape: Shape) {
        self.0.borrow_mut().insert(key, shape);
    }
}

// ---------------------------------------------------------------------------------------------
// A JSON value, as the generated types ask for it

#[derive(Clone, Copy)]
struct Node<'de> {
    value: &'de Value,
    shapes: &'de Shapes,
}

impl<'de> Node<'de> {
    fn new(value: &'de Value, shapes: &'de Shapes) -> Self {
        Self { value, shapes }
    }

    fn unexpected(&self, expected: &str) -> Error {
        let found = match self.value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => format!("boolean {b}"),
            Value::Number(n) => format!("number {n}"),
            Value::String(s) => format!("string {s:?}"),
            Value::Array(_) => "an array".to_owned(),
            Value::Object(_) => "an object".to_owned(),
        };
        de::Error::custom(format!("expected {expected}, found {found}"))
    }

    /// int64/uint64 come as strings in proto3 JSON (and as numbers in the SDK's JSON).
    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::String(s) => {
                if let Ok(n) = s.parse::<i64>() {
                    visitor.visit_i64(n)
                } else if let Ok(n) = s.parse::<u64>() {
                    visitor.visit_u64(n)
                } else {
                    Err(self.unexpected("an integer"))
                }
            }
            Value::Number(_) => self.deserialize_any(visitor),
            _ => Err(self.unexpected("an integer")),
        }
    }

    fn float<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::String(s) => match s.as_str() {
                "NaN" => visitor.visit_f64(f64::NAN),
                "Infinity" => visitor.visit_f64(f64::INFINITY),
                "-Infinity" => visitor.visit_f64(f64::NEG_INFINITY),
                other => match other.parse::<f64>() {
                    Ok(f) => visitor.visit_f64(f),
                    Err(_) => Err(self.unexpected("a number")),
                },
            },
            Value::Number(n) => match n.as_f64() {
                Some(f) => visitor.visit_f64(f),
                None => Err(self.unexpected("a number")),
            },
            _ => Err(self.unexpected("a number")),
        }
    }

    fn base64(&self, s: &str) -> Result<Vec<u8>> {
        use base64::engine::DecodePaddingMode;
        use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
        // Proto3 JSON writers use the standard alphabet; readers must also take URL-safe, with
        // or without padding.
        let config =
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
        let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
        let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
        standard
            .decode(s)
            .or_else(|_| url_safe.decode(s))
            .map_err(|_| self.unexpected("base64 bytes"))
    }
}

impl<'de> Deserializer<'de> for Node<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items::new(items, self.shapes)),
            Value::Object(members) => visitor.visit_map(Entries::new(members, self.shapes)),
        }
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // prost enums are `i32` fields: proto3 JSON names the value.
        if let Value::String(s) = self.value
            && s.parse::<i64>().is_err()
        {
            return match enum_number(s) {
                Some(n) => visitor.visit_i32(n),
                None => Err(de::Error::custom(format!(
                    "unknown enum value {s:?} (add its enum type to ENUMS in api/src/replay/proto_json.rs)"
                ))),
            };
        }
        self.integer(visitor)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.integer(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.float(visitor)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.float(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::String(s) => visitor.visit_byte_buf(self.base64(s)?),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            // A derived `bytes` field is a `Vec<u8>`, which serde reads as a sequence.
            Value::String(s) => match self.base64(s) {
                Ok(bytes) => visitor.visit_seq(SeqDeserializer::<_, Error>::new(bytes.into_iter())),
                Err(_) => Err(self.unexpected("an array")),
            },
            Value::Array(items) => visitor.visit_seq(Items::new(items, self.shapes)),
            _ => Err(self.unexpected("an array")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let Value::Object(members) = self.value else {
            return Err(self.unexpected("an object"));
        };
        if name.contains('.') {
            // pbjson names its structs by full proto name and reads proto3 JSON itself.
            return self
                .value
                .deserialize_struct(name, fields, visitor)
                .map_err(de::Error::custom);
        }
        visitor.visit_map(Fields::new(members, name, fields, self.shapes))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        // The SDK's shape of a oneof: `{"Variant": value}`.
        match self.value {
            Value::Object(members) if members.len() == 1 => {
                let (variant, value) = members.iter().next().expect("one member");
                visitor.visit_enum(Member {
                    variant,
                    key: variant,
                    node: Node::new(value, self.shapes),
                })
            }
            _ => Err(self.unexpected("an object with one member")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool char str string unit unit_struct tuple tuple_struct map identifier
    }
}

/// An array's items.
struct Items<'de> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    len: usize,
    shapes: &'de Shapes,
}

impl<'de> Items<'de> {
    fn new(items: &'de [Value], shapes: &'de Shapes) -> Self {
        Self {
            items: items.iter().enumerate(),
            len: items.len(),
            shapes,
        }
    }
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        match self.items.next() {
            Some((i, value)) => seed
                .deserialize(Node::new(value, self.shapes))
                .map(Some)
                .map_err(|e| e.at(|| Segment::Index(i))),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len)
    }
}

/// An object's members as they are: a proto map field (`map<string, Payloads>`), or an object the
/// caller reads without a field list.
struct Entries<'de> {
    members: serde_json::map::Iter<'de>,
    value: Option<(&'de str, &'de Value)>,
    shapes: &'de Shapes,
}

impl<'de> Entries<'de> {
    fn new(members: &'de Map<String, Value>, shapes: &'de Shapes) -> Self {
        Self {
            members: members.iter(),
            value: None,
            shapes,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        match self.members.next() {
            Some((key, value)) => {
                self.value = Some((key, value));
                seed.deserialize(MapKey(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value asked for before its key"))?;
        seed.deserialize(Node::new(value, self.shapes))
            .map_err(|e| e.at(|| Segment::Key(key.to_owned())))
    }
}

/// A map key: always a string in JSON, also for `map<int64, …>`.
struct MapKey<'de>(&'de str);

impl<'de> Deserializer<'de> for MapKey<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.parse() {
            Ok(n) => visitor.visit_i64(n),
            Err(_) => self.deserialize_any(visitor),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.parse() {
            Ok(n) => visitor.visit_u64(n),
            Err(_) => self.deserialize_any(visitor),
        }
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 u8 u16 f32 f64 char str string bytes byte_buf option unit unit_struct
        newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

// ---------------------------------------------------------------------------------------------
// Derived structs

/// A derived struct's fields, looked up by their proto3 JSON names.
struct Fields<'de> {
    members: &'de Map<String, Value>,
    name: &'static str,
    fields: &'static [&'static str],
    next: usize,
    /// Members that are none of the fields: oneof members, or fields this SDK does not know.
    others: Rc<[(&'de str, &'de Value)]>,
    shapes: &'de Shapes,
    pending: Option<&'static str>,
}

impl<'de> Fields<'de> {
    fn new(
        members: &'de Map<String, Value>,
        name: &'static str,
        fields: &'static [&'static str],
        shapes: &'de Shapes,
    ) -> Self {
        let known: BTreeSet<String> = fields.iter().map(|f| json_name(f)).collect();
        let others = members
            .iter()
            .filter(|(key, value)| !value.is_null() && !known.contains(&json_name(key)))
            .map(|(key, value)| (key.as_str(), value))
            .collect();
        Self {
            members,
            name,
            fields,
            next: 0,
            others,
            shapes,
            pending: None,
        }
    }

    fn member(&self, field: &str) -> Option<(&'de str, &'de Value)> {
        let found = match self.members.get_key_value(field) {
            Some(found) => Some(found),
            None => self.members.get_key_value(&json_name(field)),
        };
        found
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| (key.as_str(), value))
    }
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>> {
        let Some(&field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        self.pending = Some(field);
        let key: StrDeserializer<'_, Error> = field.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value> {
        let field = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("value asked for before its key"))?;
        match self.member(field) {
            Some((key, value)) => seed
                .deserialize(Node::new(value, self.shapes))
                .map_err(|e| e.at(|| Segment::Key(key.to_owned()))),
            // No path segment: a oneof member names itself.
            None => seed.deserialize(Absent {
                key: (self.name, self.fields, field),
                others: Rc::clone(&self.others),
                shapes: self.shapes,
            }),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len() - self.next)
    }
}

/// A field the JSON leaves out: the proto3 default, or — for a oneof — a member of the parent.
struct Absent<'de> {
    key: FieldKey,
    others: Rc<[(&'de str, &'de Value)]>,
    shapes: &'de Shapes,
}

impl<'de> Absent<'de> {
    /// The parent's member that is one of the oneof's `variants`.
    fn member(&self, variants: &'static [&'static str]) -> Option<Member<'de>> {
        self.others.iter().find_map(|&(key, value)| {
            let name = variant_name(key);
            variants
                .iter()
                .find(|v| **v == name)
                .map(|&variant| Member {
                    variant,
                    key,
                    node: Node::new(value, self.shapes),
                })
        })
    }

    fn no_default(&self, what: &str) -> Error {
        de::Error::custom(format!("missing {what} for {}.{}", self.key.0, self.key.2))
    }
}

impl<'de> Deserializer<'de> for Absent<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self.no_default("value"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.others.is_empty() {
            return visitor.visit_none();
        }
        match self.shapes.get(&self.key) {
            Some(Shape::Plain) => visitor.visit_none(),
            Some(Shape::Oneof(variants)) => match self.member(variants) {
                Some(member) => visitor.visit_some(OneofValue(member)),
                None => visitor.visit_none(),
            },
            None => visitor.visit_some(Probe {
                key: self.key,
                absent: self,
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(0)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(0)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(0.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(0.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str("")
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_bytes(&[])
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_bytes(&[])
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(SeqDeserializer::<_, Error>::new(std::iter::empty::<u8>()))
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(serde::de::value::MapDeserializer::<_, Error>::new(
            std::iter::empty::<(&str, u8)>(),
        ))
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        char unit_struct tuple tuple_struct struct enum identifier
    }
}

/// Offered to an absent `Option` field of unknown shape whose struct has unplaced members: a
/// oneof takes its member, anything else is noted as a plain field and the decode starts over.
struct Probe<'de> {
    key: FieldKey,
    absent: Absent<'de>,
}

impl<'de> Deserializer<'de> for Probe<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        self.absent.shapes.learn(self.key, Shape::Plain);
        Err(Error::Retry)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.absent.shapes.learn(self.key, Shape::Oneof(variants));
        match self.absent.member(variants) {
            Some(member) => visitor.visit_enum(member),
            // An unset oneof beside unknown members: it must be `None`, which only a new pass
            // (that now knows the shape) can give.
            None => Err(Error::Retry),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// A oneof member: the variant it stands for and its JSON value.
struct Member<'de> {
    variant: &'de str,
    key: &'de str,
    node: Node<'de>,
}

/// A oneof's value when it is known to be one (`Some(member)`).
struct OneofValue<'de>(Member<'de>);

impl<'de> Deserializer<'de> for OneofValue<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(de::Error::custom("a oneof is read as an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de> EnumAccess<'de> for Member<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let variant: StrDeserializer<'_, Error> = self.variant.into_deserializer();
        let value = seed.deserialize(variant)?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for Member<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value> {
        let key = self.key;
        seed.deserialize(self.node)
            .map_err(|e| e.at(|| Segment::Key(key.to_owned())))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.node.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.node.deserialize_struct("", fields, visitor)
    }
}
