//! Checks JSON values against the schemas of the API's OpenAPI document:
//! the subset of JSON Schema that utoipa writes (`$ref`, `type` as a name or
//! a list, `properties`, `required`, `additionalProperties`, `items`,
//! `enum`, `oneOf`, `anyOf`, `allOf`, `minimum`, `maximum`).

use serde_json::Value;

pub struct Document(pub Value);

impl Document {
    /// The documented JSON schema of the response to `method` on the path
    /// template `path` with `status`, if any.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        self.0
            .get("paths")?
            .get(path)?
            .get(method.to_ascii_lowercase())?
            .get("responses")?
            .get(status.to_string())?
            .get("content")?
            .get("application/json")?
            .get("schema")
    }

    /// Every `(METHOD, path template)` the document lists.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut operations = Vec::new();
        if let Some(Value::Object(paths)) = self.0.get("paths") {
            for (path, item) in paths {
                for method in ["get", "put", "post", "delete", "patch"] {
                    if item.get(method).is_some() {
                        operations.push((method.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
        }
        operations
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> Result<&'a Value, String> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .ok_or_else(|| format!("unsupported $ref {reference}"))?;
                self.0
                    .pointer(&format!("/components/schemas/{name}"))
                    .ok_or_else(|| format!("$ref {reference} is not in the document"))
            }
            None => Ok(schema),
        }
    }

    /// Checks `value` against `schema`; the error names the JSON path.
    pub fn validate(&self, schema: &Value, value: &Value) -> Result<(), String> {
        self.check(schema, value, "$")
    }

    fn check(&self, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
        let schema = self.resolve(schema)?;
        if let Some(Value::Array(all)) = schema.get("allOf") {
            for part in all {
                self.check(part, value, path)?;
            }
        }
        if let Some(Value::Array(any)) = schema.get("anyOf")
            && !any.iter().any(|part| self.check(part, value, path).is_ok())
        {
            return Err(format!("{path}: {value} matches none of anyOf"));
        }
        if let Some(Value::Array(one)) = schema.get("oneOf") {
            let matches = one.iter().filter(|part| self.check(part, value, path).is_ok()).count();
            if matches != 1 {
                let reasons: Vec<String> =
                    one.iter().filter_map(|part| self.check(part, value, path).err()).collect();
                return Err(format!(
                    "{path}: {value} matches {matches} of oneOf, not exactly one ({})",
                    reasons.join("; ")
                ));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            return Err(format!("{path}: {value} is not one of {allowed:?}"));
        }
        if let Some(types) = schema.get("type") {
            let names: Vec<&str> = match types {
                Value::String(name) => vec![name.as_str()],
                Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !names.iter().any(|name| has_type(value, name)) {
                return Err(format!("{path}: {value} is not of type {names:?}"));
            }
        }
        if let Some(number) = value.as_f64() {
            if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
                && number < minimum
            {
                return Err(format!("{path}: {number} is below the minimum {minimum}"));
            }
            if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
                && number > maximum
            {
                return Err(format!("{path}: {number} is above the maximum {maximum}"));
            }
        }
        if let Value::Object(object) = value {
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    return Err(format!("{path}: required property {name:?} is missing"));
                }
            }
            for (name, field) in object {
                let field_path = format!("{path}.{name}");
                match properties.and_then(|properties| properties.get(name)) {
                    Some(property) => self.check(property, field, &field_path)?,
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            return Err(format!("{field_path}: property is not in the schema"));
                        }
                        Some(extra @ Value::Object(_)) => self.check(extra, field, &field_path)?,
                        // Objects described only by allOf or oneOf parts
                        // were checked by those parts.
                        _ if properties.is_some() => {
                            return Err(format!("{field_path}: property is not in the schema"));
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
            for (index, item) in items.iter().enumerate() {
                self.check(item_schema, item, &format!("{path}[{index}]"))?;
            }
        }
        Ok(())
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}
