//! Lines and words as BuildKit's parser splits them: directives, continuations, the instruction
//! name and its `--flags`, the JSON form, `ENV`/`LABEL` pairs and heredoc words.

use super::*;

/// `# key=value` where key would be a parser directive at the top of a Dockerfile.
pub(super) fn directive_key(comment: &str) -> Option<String> {
    let rest = go_trim_left(comment.strip_prefix('#')?);
    let key: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let after = go_trim_left(&rest[key.len()..]);
    let key = key.to_ascii_lowercase();
    (after.starts_with('=') && matches!(key.as_str(), "syntax" | "escape" | "check")).then_some(key)
}

/// Go's `unicode.IsSpace` is Unicode's White_Space, as Rust's `char::is_whitespace`.
pub(super) fn go_trim_left(s: &str) -> &str {
    s.trim_start_matches(char::is_whitespace)
}

/// BuildKit's `lineContinuationRegex` for the escape character `\`:
/// `([^\\])\\[ \t]*$|^\\[ \t]*$`. A `\` preceded by another `\` does not continue the line.
/// Returns the line without the continuation, and whether the instruction ends here.
pub(super) fn trim_continuation(line: &str) -> (String, bool) {
    let stripped = line.trim_end_matches([' ', '\t']);
    if let Some(before) = stripped.strip_suffix('\\')
        && !before.ends_with('\\')
    {
        return (before.to_string(), false);
    }
    (line.to_string(), true)
}

/// An instruction as BuildKit's line parsers leave it: what decides heredocs and errors.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) command: String,
    pub(super) args: String,
    /// The builder flags (`--from=x`), unquoted as BuildKit's flag parser reads them.
    pub(super) flags: Vec<String>,
    pub(super) json: bool,
    pub(super) child: Option<Box<Node>>,
}

impl Node {
    /// BuildKit's `canContainHeredoc`: RUN, COPY and ADD in shell form, also as ONBUILD's trigger.
    pub(super) fn can_contain_heredoc(&self) -> bool {
        let node = match (&self.child, self.command.eq_ignore_ascii_case("onbuild")) {
            (Some(child), true) => child,
            _ => self,
        };
        ["run", "copy", "add"]
            .iter()
            .any(|c| node.command.eq_ignore_ascii_case(c))
            && !node.json
    }
}

pub(super) enum Failure {
    /// A problem with this instruction; the reading goes on.
    Issue(Issue),
    /// A problem after which the reading is uncertain.
    Stop(Issue),
}

/// BuildKit's `newNodeFromLine`: the instruction name, its flags and its arguments, parsed
/// the way that instruction's line parser does.
pub(super) fn node_from_line(line: &str) -> Result<Node, Failure> {
    let (command, flags, args) = split_command_with_flags(line);
    if !command.is_ascii() {
        // Go lowercases with Unicode case folding (`K`, U+212A, becomes `k`): such a name may
        // be a known instruction to BuildKit, with heredocs of its own.
        return Err(Failure::Stop(Issue::UnknownInstruction(command)));
    }
    let lower = command.to_ascii_lowercase();
    let mut node = Node {
        command,
        args,
        flags,
        json: false,
        child: None,
    };
    match lower.as_str() {
        "run" | "cmd" | "entrypoint" | "shell" => {
            node.json = !node.args.is_empty() && json_form(node.args.as_bytes(), &lower)?;
        }
        "add" | "copy" | "volume" => node.json = json_form(node.args.as_bytes(), &lower)?,
        "env" | "label" => name_values(&node.args, &lower)?,
        "healthcheck" => {
            let b = node.args.as_bytes();
            let sep = b.iter().position(|&c| go_byte_space(c)).unwrap_or(b.len());
            let next = b[sep..]
                .iter()
                .position(|&c| !go_byte_space(c))
                .map_or(b.len(), |p| sep + p);
            if sep > 0 && next < b.len() {
                json_form(&b[next..], &lower)?;
            }
        }
        "onbuild" if !node.args.is_empty() => {
            node.child = Some(Box::new(node_from_line(&node.args.clone())?));
        }
        _ => {}
    }
    Ok(node)
}

/// Go's `unicode.IsSpace(rune(b))` for one byte, as BuildKit applies it byte by byte when it
/// splits flags and `HEALTHCHECK` (so the UTF-8 continuation bytes 0x85 and 0xA0 count).
pub(super) fn go_byte_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// BuildKit's `splitCommand`: the name up to the first run of `[\t\v\f\r ]`, then the
/// arguments after the builder flags (`--mount=...`), trimmed.
#[cfg(test)]
pub(super) fn split_command(line: &str) -> (String, String) {
    let (command, _, args) = split_command_with_flags(line);
    (command, args)
}

/// [`split_command`] with the builder flags.
pub(super) fn split_command_with_flags(line: &str) -> (String, Vec<String>, String) {
    let t = line.trim_matches(char::is_whitespace);
    let is_sep = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
    let Some(at) = t.find(is_sep) else {
        return (t.to_string(), Vec::new(), String::new());
    };
    let command = t[..at].to_string();
    let rest = t[at..].trim_start_matches(is_sep);
    let (flags, args) = extract_builder_flags(rest.as_bytes());
    // The arguments may start inside a UTF-8 sequence (see `go_byte_space`): Go keeps the
    // bytes, which can then neither be blank nor `[`; the replacement character keeps that.
    let args = String::from_utf8_lossy(args);
    (
        command,
        flags,
        args.trim_matches(char::is_whitespace).to_string(),
    )
}

/// BuildKit's `extractBuilderFlags`, byte for byte: skips the leading `--flag` words (quotes
/// and `\` escapes inside them) and returns them (without quotes and escapes, as BuildKit's flag
/// parser gets them) and the rest of the line.
pub(super) fn extract_builder_flags(line: &[u8]) -> (Vec<String>, &[u8]) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(u8),
    }
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut flags: Vec<String> = Vec::new();
    let mut pos = 0;
    while pos < line.len() {
        let mut ch = line[pos];
        match phase {
            Phase::Spaces => {
                if go_byte_space(ch) {
                    pos += 1;
                    continue;
                }
                if ch != b'-' || pos + 1 == line.len() || line[pos + 1] != b'-' {
                    return (flags, &line[pos..]);
                }
                phase = Phase::Word;
                continue; // the same byte, now in a word
            }
            Phase::Word => {
                if go_byte_space(ch) {
                    if word == b"--" {
                        return (flags, &line[pos..]);
                    }
                    flags.push(String::from_utf8_lossy(&word).into_owned());
                    word.clear();
                    phase = Phase::Spaces;
                } else if ch == b'\'' || ch == b'"' {
                    phase = Phase::Quote(ch);
                } else if ch == b'\\' && pos + 1 == line.len() {
                    // a `\` at the end is skipped
                } else {
                    if ch == b'\\' {
                        pos += 1;
                        ch = line[pos];
                    }
                    word.push(ch);
                }
            }
            Phase::Quote(q) => {
                // The closing quote, or a `\` at the end (skipped), ends the quote.
                if ch == q || (ch == b'\\' && pos + 1 == line.len()) {
                    phase = Phase::Word;
                } else {
                    if ch == b'\\' {
                        pos += 1;
                        ch = line[pos];
                    }
                    word.push(ch);
                }
            }
        }
        pos += 1;
    }
    if !word.is_empty() && word != b"--" {
        flags.push(String::from_utf8_lossy(&word).into_owned());
    }
    (flags, &[])
}

/// BuildKit's `parseMaybeJSON`/`parseMaybeJSONToList`: whether the arguments are the JSON
/// form. BuildKit before dockerfile 1.9 decoded the first JSON value and ignored what follows;
/// later releases need the whole text to be JSON: when they disagree, the line is refused.
pub(super) fn json_form(args: &[u8], instruction: &str) -> Result<bool, Failure> {
    let t = go_trim_left_bytes(args);
    if t.first() != Some(&b'[') {
        return Ok(false);
    }
    let Some((end, all_strings)) = json::value_prefix(t) else {
        return Ok(false);
    };
    if !t[end..].iter().all(|b| json::is_space(*b)) {
        let issue = Issue::Ambiguous(Ambiguity::JsonPrefix);
        // The heredocs of RUN/COPY/ADD depend on it: nothing after this line is certain.
        return Err(if matches!(instruction, "run" | "copy" | "add") {
            Failure::Stop(issue)
        } else {
            Failure::Issue(issue)
        });
    }
    if !all_strings {
        return Err(Failure::Issue(Issue::Rejected(Rejection::JsonNotStrings)));
    }
    Ok(true)
}

/// `strings.TrimLeftFunc(s, unicode.IsSpace)` on bytes that may start inside a UTF-8 sequence.
pub(super) fn go_trim_left_bytes(b: &[u8]) -> &[u8] {
    let mut rest = b;
    while let Some(chunk) = rest.utf8_chunks().next() {
        match chunk.valid().chars().next() {
            Some(c) if c.is_whitespace() => rest = &rest[c.len_utf8()..],
            _ => break,
        }
    }
    rest
}

/// BuildKit's `parseNameVal` (ENV, LABEL): only its errors matter here.
pub(super) fn name_values(args: &str, instruction: &str) -> Result<(), Failure> {
    let words = parse_words(args);
    let Some(first) = words.first() else {
        return Ok(());
    };
    if !first.contains('=') {
        let is_sep = |c: char| matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ');
        if !args.contains(is_sep) {
            return Err(Failure::Issue(Issue::Rejected(
                Rejection::NameValueMissing(instruction.to_ascii_uppercase()),
            )));
        }
        return Ok(());
    }
    match words.iter().find(|w| !w.contains('=')) {
        Some(w) => Err(Failure::Issue(Issue::Rejected(
            Rejection::NameValueNoEquals(w.clone()),
        ))),
        None => Ok(()),
    }
}

/// BuildKit's `parseWords`: words separated by blanks, quotes and escapes kept.
pub(super) fn parse_words(rest: &str) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut i = 0;
    while i < chars.len() {
        let mut ch = chars[i];
        let last = i + 1 == chars.len();
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            if ch == '\\' && q != '\'' {
                if last {
                    quote = None;
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
                ch = chars[i];
            }
            word.push(ch);
        } else if !in_word && ch.is_whitespace() {
        } else if ch.is_whitespace() {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            in_word = false;
            blank_ok = false;
        } else {
            in_word = true;
            if ch == '\'' || ch == '"' {
                quote = Some(ch);
                blank_ok = true;
            }
            if ch == '\\' {
                if last {
                    i += 1;
                    continue;
                }
                word.push(ch);
                i += 1;
                ch = chars[i];
            }
            word.push(ch);
        }
        i += 1;
    }
    if (in_word || quote.is_some()) && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// One heredoc of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Heredoc {
    pub(super) name: String,
    pub(super) chomp: bool,
}

/// BuildKit's `heredocsFromLine`, as the releases before and since dockerfile 1.16 read it;
/// a line they read differently is refused.
pub(super) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, Issue> {
    let now = heredocs_of(line, false)?;
    let before = heredocs_of(line, true)?;
    if now != before {
        return Err(Issue::Ambiguous(Ambiguity::HeredocBlank));
    }
    Ok(now)
}

pub(super) fn heredocs_of(line: &str, legacy: bool) -> Result<Vec<Heredoc>, Issue> {
    let mode = lex::Mode {
        raw_quotes: true,
        raw_escapes: true,
        legacy,
    };
    let words = match lex::words(line, mode) {
        Ok(words) => words,
        // BuildKit ignores the error: a line it cannot split has no heredocs.
        Err(lex::Error::Syntax(_)) => return Ok(Vec::new()),
        Err(lex::Error::Diverges(a)) => return Err(Issue::Ambiguous(a)),
    };
    let mut docs = Vec::new();
    for word in words {
        if let Some(doc) = heredoc_word(&word, legacy)? {
            docs.push(doc);
        }
    }
    Ok(docs)
}

/// BuildKit's `ParseHeredoc`: the regular expression `^(\d*)<<(-?)\s*([^<]*)$` (without `\s*`
/// before dockerfile 1.16), then the word after it lexed as one shell word.
pub(super) fn heredoc_word(word: &str, legacy: bool) -> Result<Option<Heredoc>, Issue> {
    let Some(rest) = word
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .strip_prefix("<<")
    else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = if legacy {
        rest
    } else {
        rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' '])
    };
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let lexed = |raw_quotes| {
        let mode = lex::Mode {
            raw_quotes,
            raw_escapes: false,
            legacy,
        };
        lex::words(rest, mode).map_err(|e| match e {
            lex::Error::Syntax(m) => Issue::Rejected(Rejection::HeredocWord(m)),
            lex::Error::Diverges(a) => Issue::Ambiguous(a),
        })
    };
    let words = lexed(false)?;
    if words.len() != 1 {
        return Ok(None);
    }
    if lexed(true)?.len() != 1 {
        return Err(Issue::Rejected(Rejection::HeredocWord(
            "internal lexing of heredoc produced inconsistent results".into(),
        )));
    }
    Ok(Some(Heredoc {
        name: words[0].clone(),
        chomp,
    }))
}
