//! `application/x-www-form-urlencoded` (WHATWG URL standard, via `form_urlencoded`): what
//! Twilio, Slack commands and many older providers send as the body, and what query strings
//! are.

use alloc::string::String;
use alloc::vec::Vec;

/// Decodes `input` into its `(name, value)` pairs, in order: `+` is a space, `%XX` escapes are
/// decoded, invalid UTF-8 is replaced by U+FFFD. A name without `=` has an empty value.
pub fn parse(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Encodes `pairs` (the inverse of [`parse`]; spaces as `+`).
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_round_trips() {
        let pairs = parse(b"To=%2B15551234567&Body=hello+world&Empty=&Flag");
        assert_eq!(
            pairs,
            [
                ("To".into(), "+15551234567".into()),
                ("Body".into(), "hello world".into()),
                ("Empty".into(), String::new()),
                ("Flag".into(), String::new()),
            ]
        );
        assert_eq!(
            encode(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            "To=%2B15551234567&Body=hello+world&Empty=&Flag="
        );
    }
}
