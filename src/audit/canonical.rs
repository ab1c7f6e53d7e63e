//! Canonical JSON after RFC 8785 (JCS) for the values audit events hold:
//! object keys sorted, no insignificant whitespace, strings escaped minimally.
//! Floats are refused (events carry money as decimal strings); integers are
//! written in full, and the encoder refuses any beyond ±2^53 so every JCS
//! implementation reads them the same.

use serde_json::Value;

const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    #[error("floating-point numbers are not allowed in audit events")]
    Float,
    #[error("integer {0} is outside ±2^53; encode it as a string")]
    TooLarge(String),
}

pub fn to_canonical_json(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > MAX_SAFE_INTEGER {
                    return Err(CanonicalError::TooLarge(n.to_string()));
                }
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                if u > MAX_SAFE_INTEGER {
                    return Err(CanonicalError::TooLarge(n.to_string()));
                }
                out.push_str(&u.to_string());
            } else {
                return Err(CanonicalError::Float);
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            // JCS orders keys by their UTF-16 code units.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// `s` as a JSON string with the minimal escapes. Runs of bytes that need
/// none (everything from 0x20 up but `"` and `\`, multi-byte UTF-8 included)
/// are copied whole: the verifier rebuilds every event through here.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Every byte below 0x80 is a whole character, so these are char boundaries.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        let value = json!({"b": 1, "a": [true, null, "x"], "c": {"z": 0, "y": -5}});
        assert_eq!(to_canonical_json(&value).unwrap(), r#"{"a":[true,null,"x"],"b":1,"c":{"y":-5,"z":0}}"#);
    }

    #[test]
    fn strings_are_escaped_minimally() {
        let value = json!("line\nbreak \"quoted\" \u{1} 投诉 €");
        assert_eq!(to_canonical_json(&value).unwrap(), "\"line\\nbreak \\\"quoted\\\" \\u0001 投诉 €\"");
    }

    /// The byte-run escaper writes what escaping each character in turn writes.
    #[test]
    fn strings_escape_as_character_by_character() {
        fn reference(s: &str) -> String {
            let mut out = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        let every: String = (0u32..0x800).chain([0xfffd, 0x1f600]).filter_map(char::from_u32).collect();
        for s in [String::new(), every.clone(), every.chars().rev().collect(), "\"\\\u{1f}投诉€\n".repeat(3), "plain".into()] {
            let mut out = String::new();
            write_string(&mut out, &s);
            assert_eq!(out, reference(&s));
        }
    }

    #[test]
    fn floats_and_huge_integers_are_refused() {
        assert!(to_canonical_json(&json!(1.5)).is_err());
        assert!(to_canonical_json(&json!(9_007_199_254_740_993u64)).is_err());
        assert!(to_canonical_json(&json!(9_007_199_254_740_991u64)).is_ok());
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+E000 sorts before U+1F600 in UTF-8 byte order but after it in UTF-16.
        let value = json!({"\u{1F600}": 1, "\u{E000}": 2});
        assert_eq!(to_canonical_json(&value).unwrap(), "{\"\u{1F600}\":1,\"\u{E000}\":2}");
    }
}
