//! Secret values that never end up in logs, and phone-number masking for logs.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

/// A secret string (token, HMAC key, password). `Debug` and `Display` print `[redacted]`;
/// call [`Secret::expose`] where the real value is needed.
///
/// Deserializes from a string. An integer is accepted too and kept as its decimal text, because
/// configuration loaders (figment's environment provider) turn an all-digit value into a number;
/// quote such a value if it has leading zeros.
#[derive(Clone, Default)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl de::Visitor<'_> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a secret string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (an empty secret must never authenticate anything).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Masks a phone number for logs: keeps a leading `+` and the last two digits, every other digit
/// becomes `*`, formatting characters (spaces, dashes, brackets) are dropped.
///
/// `+14155551234` → `+*********34`. Numbers with four digits or fewer are masked entirely, and a
/// value without any digit (a SIP URI, `anonymous`) becomes `***`, so nothing identifying leaks.
pub fn mask_phone(s: &str) -> String {
    let trimmed = s.trim();
    let plus = trimmed.starts_with('+');
    let digits: Vec<char> = trimmed.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 1);
    if plus {
        out.push('+');
    }
    if digits.is_empty() {
        if !trimmed.is_empty() && trimmed != "+" {
            out.push_str("***");
        }
        return out;
    }
    let keep = if digits.len() > 4 { 2 } else { 0 };
    let hidden = digits.len() - keep;
    out.extend(std::iter::repeat_n('*', hidden));
    out.extend(&digits[hidden..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
        assert!(!s.is_empty());
        assert!(Secret::default().is_empty());
        #[derive(Debug)]
        struct Holder {
            #[expect(dead_code, reason = "only read through Debug")]
            token: Secret,
        }
        let dbg = format!("{:?}", Holder { token: s });
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }

    #[test]
    fn secret_deserializes_transparently() {
        let s: Secret = serde_json::from_str("\"abc\"").expect("string");
        assert_eq!(s.expose(), "abc");
        assert_eq!(Secret::from("x").expose(), "x");
        assert_eq!(Secret::from(String::from("y")).clone().expose(), "y");
        let digits: Secret = serde_json::from_str("123456").expect("all-digit env value");
        assert_eq!(digits.expose(), "123456");
        let err = serde_json::from_str::<Secret>("[\"x\"]").expect_err("not a string");
        assert!(err.to_string().contains("a secret string"), "{err}");
    }

    #[test]
    fn mask_phone_keeps_plus_and_last_two_digits() {
        assert_eq!(mask_phone("+14155551234"), "+*********34");
        assert_eq!(mask_phone("+4915112345678"), "+***********78");
        assert_eq!(mask_phone("030 1234-5678"), "*********78");
        assert_eq!(mask_phone("+49 (30) 123 45"), "+*******45");
        assert_eq!(mask_phone("  +14155551234 "), "+*********34");
    }

    #[test]
    fn mask_phone_short_or_odd_values_leak_nothing() {
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("+"), "+");
        assert_eq!(mask_phone("1234"), "****");
        assert_eq!(mask_phone("+112"), "+***");
        assert_eq!(mask_phone("anonymous"), "***");
        assert_eq!(mask_phone("sip:alice@example.com"), "***");
        let sip = mask_phone("sip:+4915112345678@pbx.example.com");
        assert_eq!(sip, "***********78");
    }
}
