//! What a successful call answers: structured JSON for the caller, and pictures that travel
//! beside it as MCP image content, never inside the JSON.
//!
//! A tool's function returns a typed value; [`IntoOutput`] turns it into a [`ToolOutput`]
//! once, at the tool boundary (as `crate::error::ToolError` is the one failure model).
//! Serializable values become JSON; [`WithImages`] adds pictures; a type with a cheaper
//! conversion of its own (an SQL result's rows are JSON already) implements the trait
//! itself instead of `Serialize`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::Value;

/// A successful call's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The structured content (and, serialized, the text content).
    pub json: Value,
    /// Pictures, sent as image content after the text.
    pub images: Vec<Image>,
}

impl ToolOutput {
    pub fn json(json: Value) -> Self {
        Self {
            json,
            images: Vec::new(),
        }
    }
}

/// A picture: base64 data and its MIME type.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub data: String,
    pub mime_type: String,
}

/// A tool function's result, turned into its answer once.
pub trait IntoOutput {
    fn into_output(self) -> Result<ToolOutput, serde_json::Error>;
}

impl<T: Serialize> IntoOutput for T {
    fn into_output(self) -> Result<ToolOutput, serde_json::Error> {
        serde_json::to_value(self).map(ToolOutput::json)
    }
}

/// A result with pictures: `result` is the structured content, `images` go beside it.
/// Its schema is `T`'s: the pictures are not part of the JSON.
#[derive(Debug)]
pub struct WithImages<T> {
    pub result: T,
    pub images: Vec<Image>,
}

impl<T: Serialize> IntoOutput for WithImages<T> {
    fn into_output(self) -> Result<ToolOutput, serde_json::Error> {
        Ok(ToolOutput {
            json: serde_json::to_value(self.result)?,
            images: self.images,
        })
    }
}

impl<T: JsonSchema> JsonSchema for WithImages<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, JsonSchema)]
    struct Shot {
        title: String,
    }

    #[test]
    fn pictures_stay_out_of_the_json_and_the_schema() {
        let out = WithImages {
            result: Shot { title: "t".into() },
            images: vec![Image {
                data: "AAAA".into(),
                mime_type: "image/png".into(),
            }],
        }
        .into_output()
        .expect("output");
        assert_eq!(out.json, serde_json::json!({"title": "t"}));
        assert_eq!(out.images.len(), 1);
        assert_eq!(
            schemars::schema_for!(WithImages<Shot>),
            schemars::schema_for!(Shot)
        );
    }
}
