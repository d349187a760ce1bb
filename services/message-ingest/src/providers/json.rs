//! JSON helpers for the providers that post JSON: every refusal names the field.

use serde_json::Value;

use crate::error::IngestError;

/// A 400 naming a missing field.
pub fn missing(path: &str) -> IngestError {
    IngestError::BadRequest(format!("missing field `{path}`"))
}

/// The body as a JSON object, or a 400 saying why not.
pub fn object(body: &[u8]) -> Result<Value, IngestError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| IngestError::invalid_json(&e))?;
    if !root.is_object() {
        return Err(IngestError::BadRequest(
            "invalid JSON body: expected an object".to_owned(),
        ));
    }
    Ok(root)
}

/// The members of a JSON object body, or a 400 saying why there are none
/// (for the providers that read JSON members like form parameters).
pub fn members(body: &[u8]) -> Result<serde_json::Map<String, Value>, IngestError> {
    match serde_json::from_slice(body).map_err(|e| IngestError::invalid_json(&e))? {
        Value::Object(map) => Ok(map),
        _ => Err(IngestError::BadRequest(
            "JSON body must be an object".to_owned(),
        )),
    }
}

/// The string at `key` (a member name, or a JSON pointer when it starts with
/// '/'), or a 400 naming `path` when it is absent, null or not a string.
pub fn text<'a>(value: &'a Value, key: &str, path: &str) -> Result<&'a str, IngestError> {
    let found = if key.starts_with('/') {
        value.pointer(key)
    } else {
        value.get(key)
    };
    match found {
        None | Some(Value::Null) => Err(missing(path)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(IngestError::BadRequest(format!(
            "{path}: expected a string"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field() {
        let root = object(br#"{"a":{"b":"x","n":1}}"#).unwrap();
        assert_eq!(text(&root, "/a/b", "a.b").ok(), Some("x"));
        assert!(
            text(&root, "/a/n", "a.n").is_err_and(|e| e.to_string() == "a.n: expected a string")
        );
        assert!(text(&root, "zz", "zz").is_err_and(|e| e.to_string() == "missing field `zz`"));
        assert!(object(b"[]").is_err_and(|e| e.to_string().contains("expected an object")));
        assert!(object(b"{").is_err_and(|e| e.to_string().starts_with("invalid JSON body")));
        assert!(members(br#"{"a":1}"#).is_ok_and(|m| m.len() == 1));
        assert!(members(b"[]").is_err_and(|e| e.to_string() == "JSON body must be an object"));
        assert!(members(b"{").is_err_and(|e| e.to_string().starts_with("invalid JSON body")));
    }
}
