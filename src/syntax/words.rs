//! Bare words as the kdl crate reads them: an identifier, a number (each part within an
//! i128, as the crate parses it), a KDL 1 keyword, or something that starts like a number and
//! is not one.

use super::lex::{Tok, Token};

/// What a bare word is, read as the kdl crate reads it.
#[derive(Debug, PartialEq, Eq)]
pub enum Word {
    Ident,
    Number,
    /// `true`, `false`, `null`, `inf`, `nan` without `#`.
    BareKeyword,
    /// Starts like a number (`1`, `-1`, `.5`) but is not one.
    BadNumber,
}

pub fn classify(w: &str) -> Word {
    let b = w.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let signed = matches!(b[0], b'+' | b'-');
    let body = if signed { 1 } else { 0 };
    if digit(body) {
        return if valid_number(w) {
            Word::Number
        } else {
            Word::BadNumber
        };
    }
    if b.get(body) == Some(&b'.') && digit(body + 1) {
        return Word::BadNumber;
    }
    if !signed && matches!(w, "true" | "false" | "null" | "inf" | "nan") {
        return Word::BareKeyword;
    }
    Word::Ident
}

/// `digits (digit | _)*`, fitting in an i128.
fn digits(s: &str, radix: u32) -> Option<u128> {
    let first = s.chars().next()?;
    if !first.is_digit(radix) || !s.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    u128::from_str_radix(&clean, radix)
        .ok()
        .filter(|v| *v <= i128::MAX as u128)
}

/// A KDL 2 number as the kdl crate accepts it (integers and each part of a float in i128).
fn valid_number(w: &str) -> bool {
    let body = w.strip_prefix(['+', '-']).unwrap_or(w);
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(rest) = body.strip_prefix(prefix) {
            return digits(rest, radix).is_some();
        }
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    digits(int, 10).is_some()
        && frac.is_none_or(|f| digits(f, 10).is_some())
        && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e), 10).is_some())
}

pub fn classify_token(t: Token, text: &str) -> Word {
    if t.tok == Tok::Word {
        classify(text)
    } else {
        Word::Ident
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_the_kdl_crate_reads_them() {
        for ok in [
            "1", "-1", "+1_000", "1.5", "1e5", "1.5E-3", "0x1F", "0o17", "0b1_0", "1_",
        ] {
            assert_eq!(classify(ok), Word::Number, "{ok}");
        }
        for bad in [
            "1.", "1.2.3", "0x", "1a", ".5", "-.5", "1e", "2.3.1", "1__.5x",
        ] {
            assert_eq!(classify(bad), Word::BadNumber, "{bad}");
        }
        for id in ["-", "--x", "-inf", "+.", ".a", "a1", "-x1"] {
            assert_eq!(classify(id), Word::Ident, "{id}");
        }
        assert_eq!(classify("true"), Word::BareKeyword);
        assert_eq!(
            classify("170141183460469231731687303715884105728"),
            Word::BadNumber
        );
    }
}
