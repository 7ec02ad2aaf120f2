//! Characters: KDL 2's classes (as the kdl crate reads them), the invisible and look-alike
//! characters jcx names in its messages, and the escaping every diagnostic goes through before
//! it reaches a terminal, a JSON consumer or a GitHub annotation.

/// KDL `unicode-space`.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// A KDL newline character (CRLF is a newline of two characters, both of which count here).
pub fn is_newline(c: char) -> bool {
    matches!(
        c,
        '\r' | '\n' | '\u{85}' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}'
    )
}

/// The length in bytes of the newline at the start of `s`, if it starts with one.
pub fn newline_len(s: &str) -> Option<usize> {
    if s.starts_with("\r\n") {
        return Some(2);
    }
    s.chars()
        .next()
        .filter(|c| is_newline(*c))
        .map(char::len_utf8)
}

/// Code points the kdl crate refuses anywhere except in comments (and U+FEFF as the very first
/// character).
pub fn is_disallowed(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}'
        | '\u{E}'..='\u{1F}'
        | '\u{200E}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
    )
}

/// Code points the KDL 2 specification forbids anywhere in a document, comments included. The
/// kdl crate lets them through in comments (and DEL everywhere); jcx does not, because a
/// direction override in a comment can make the text display as something it is not.
pub fn is_forbidden(c: char) -> bool {
    is_disallowed(c) || c == '\u{7F}'
}

/// Characters that cannot appear in a KDL bare word (besides spaces, newlines and disallowed
/// code points).
pub const NON_IDENT: &str = "\\/(){}[];\"#=";

/// A character of a KDL identifier string.
pub fn is_ident(c: char) -> bool {
    !is_space(c) && !is_newline(c) && !is_disallowed(c) && !NON_IDENT.contains(c)
}

/// Invisible or format characters: never printed as they are, and named when they are part of
/// a mistake.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}' | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
        )
}

/// Spaces other than the ASCII space and tab: they look like a space but are other characters.
fn is_odd_space(c: char) -> bool {
    is_space(c) && c != ' ' && c != '\t'
}

/// Characters that look like a piece of KDL syntax or a plain ASCII character but are not.
pub fn is_lookalike(c: char) -> bool {
    matches!(
        c,
        '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{FE63}'
            | '\u{FF0D}'
            | '\u{2018}'..='\u{201F}'
            | '\u{2032}'..='\u{2037}'
            | '\u{FF02}'
            | '\u{FF1D}'
            | '\u{FF5B}'
            | '\u{FF5D}'
    ) || is_odd_space(c)
}

/// Whether diagnostics show `c` as an escape (`\u{200b}`) instead of the character itself.
pub fn shown_escaped(c: char) -> bool {
    is_invisible(c) || is_odd_space(c) || matches!(c, '\u{2010}' | '\u{2011}')
}

/// `U+200B ZERO WIDTH SPACE`: the code point, and its name when jcx knows it.
pub fn describe(c: char) -> String {
    let code = format!("U+{:04X}", c as u32);
    match name(c) {
        Some(n) => format!("{code} {n}"),
        None => code,
    }
}

fn name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{0}' => "NULL",
        '\u{7}' => "BELL",
        '\u{8}' => "BACKSPACE",
        '\u{9}' => "CHARACTER TABULATION",
        '\u{B}' => "LINE TABULATION",
        '\u{C}' => "FORM FEED",
        '\u{D}' => "CARRIAGE RETURN",
        '\u{1B}' => "ESCAPE",
        '\u{7F}' => "DELETE",
        '\u{85}' => "NEXT LINE",
        '\u{9B}' => "CONTROL SEQUENCE INTRODUCER",
        '\u{A0}' => "NO-BREAK SPACE",
        '\u{AD}' => "SOFT HYPHEN",
        '\u{61C}' => "ARABIC LETTER MARK",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2010}' => "HYPHEN",
        '\u{2011}' => "NON-BREAKING HYPHEN",
        '\u{2012}' => "FIGURE DASH",
        '\u{2013}' => "EN DASH",
        '\u{2014}' => "EM DASH",
        '\u{2018}' => "LEFT SINGLE QUOTATION MARK",
        '\u{2019}' => "RIGHT SINGLE QUOTATION MARK",
        '\u{201C}' => "LEFT DOUBLE QUOTATION MARK",
        '\u{201D}' => "RIGHT DOUBLE QUOTATION MARK",
        '\u{201E}' => "DOUBLE LOW-9 QUOTATION MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{2212}' => "MINUS SIGN",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{FF02}' => "FULLWIDTH QUOTATION MARK",
        '\u{FF0D}' => "FULLWIDTH HYPHEN-MINUS",
        '\u{FF1D}' => "FULLWIDTH EQUALS SIGN",
        '\u{2000}'..='\u{200A}' => "SPACE (a typographic space)",
        _ => return None,
    })
}

/// The ASCII character a look-alike stands for, if any.
pub fn ascii_for(c: char) -> Option<char> {
    Some(match c {
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => '-',
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2035}' => '\'',
        '\u{201C}'..='\u{201F}' | '\u{2033}' | '\u{2036}' | '\u{FF02}' => '"',
        '\u{FF1D}' => '=',
        '\u{FF5B}' => '{',
        '\u{FF5D}' => '}',
        c if is_odd_space(c) => ' ',
        _ => return None,
    })
}

/// `\u{XXXX}`: the way `nodes::decode::shown` writes a character in a name, and valid KDL.
fn push_escape(out: &mut String, c: char) {
    out.push_str(&format!("\\u{{{:04X}}}", c as u32));
}

/// Text from the manifest or the command line as a diagnostic message shows it: one line, no
/// character that a terminal or a log viewer would act on, nothing invisible.
pub fn escape_text(s: &str) -> String {
    if !s.chars().any(shown_escaped) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if shown_escaped(c) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// The manifest as a source snippet shows it: line breaks and tabs kept (a lone CR becomes a
/// line feed, which is how snippets count lines), every other character of [`shown_escaped`]
/// written as an escape. Returns `None` when nothing needs escaping. Otherwise also returns,
/// for each escaped character, its byte offset in `text` and how many bytes longer its escape
/// is, so that spans can be moved onto the escaped text.
pub fn escape_source(text: &str) -> Option<(String, Vec<(usize, usize)>)> {
    let needs = |c: char| !matches!(c, '\n' | '\t' | '\r') && shown_escaped(c);
    let bytes = text.as_bytes();
    let lone_cr = bytes
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
    if !lone_cr && !text.chars().any(needs) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut shifts = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => out.push('\r'),
            '\r' => out.push('\n'),
            c if needs(c) => {
                let before = out.len();
                push_escape(&mut out, c);
                shifts.push((i, out.len() - before - c.len_utf8()));
            }
            c => out.push(c),
        }
    }
    Some((out, shifts))
}

/// Moves a byte offset of the original text onto the text [`escape_source`] made of it.
pub fn shift_offset(shifts: &[(usize, usize)], offset: usize) -> usize {
    let before = shifts.partition_point(|(at, _)| *at < offset);
    offset
        + shifts[..before]
            .iter()
            .map(|(_, extra)| extra)
            .sum::<usize>()
}

/// The invisible and look-alike characters of `text`, each once, described, in order of first
/// appearance.
pub fn suspicious(text: &str) -> Vec<char> {
    let mut found: Vec<char> = Vec::new();
    for c in text.chars() {
        let odd = (shown_escaped(c) && !matches!(c, '\n' | '\t' | '\r')) || is_lookalike(c);
        if odd && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape_text("a\u{1b}]0;X\u{7}b"), "a\\u{001B}]0;X\\u{0007}b");
        assert_eq!(escape_text("x\ny\u{9b}"), "x\\ny\\u{009B}");
        assert_eq!(escape_text("plain 中文 — text"), "plain 中文 — text");
        assert_eq!(escape_text("a\u{202e}b\u{200b}"), "a\\u{202E}b\\u{200B}");
    }

    #[test]
    fn source_escapes_keep_lines_and_move_spans() {
        let (shown, shifts) = escape_source("a\u{1b}b\r\nc\rd\te").unwrap();
        assert_eq!(shown, "a\\u{001B}b\r\nc\nd\te");
        assert_eq!(shift_offset(&shifts, 1), 1);
        assert_eq!(shift_offset(&shifts, 2), 2 + 7);
        assert!(escape_source("plain\ttext\r\n").is_none());
    }

    #[test]
    fn names() {
        assert_eq!(describe('\u{200b}'), "U+200B ZERO WIDTH SPACE");
        assert_eq!(describe('\u{e0041}'), "U+E0041");
        assert_eq!(ascii_for('\u{2010}'), Some('-'));
        assert_eq!(ascii_for('\u{201c}'), Some('"'));
    }
}
