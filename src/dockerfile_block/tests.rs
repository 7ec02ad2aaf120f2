use super::*;

/// The issues of a block, without their lines.
fn issues(text: &str) -> Vec<Issue> {
    read(text).issues.into_iter().map(|f| f.issue).collect()
}

fn lines_of(text: &str) -> Vec<(Issue, usize)> {
    read(text)
        .issues
        .into_iter()
        .map(|f| (f.issue, f.line))
        .collect()
}

/// The heredoc terminators of each instruction.
fn heredocs(text: &str) -> Vec<Vec<String>> {
    read(text)
        .instructions
        .into_iter()
        .map(|i| i.heredocs)
        .collect()
}

#[test]
fn plain_blocks_are_fine() {
    assert_eq!(issues("RUN echo hi"), vec![]);
    assert_eq!(
        issues("RUN a\n\n# note\nUSER root\nENV A=1 B=\"two words\""),
        vec![]
    );
    let py = "RUN python3 - <<'EOF'\nfrom pathlib import Path\nEOF\nRUN echo done";
    assert_eq!(issues(py), vec![]);
    assert_eq!(heredocs(py), vec![vec!["EOF".to_string()], vec![]]);
}

#[test]
fn from_and_onbuild() {
    assert_eq!(lines_of("RUN a\nfrom x\nRUN b"), vec![(Issue::From, 1)]);
    assert_eq!(issues("\tFrOm scratch"), vec![Issue::From]);
    assert_eq!(
        issues("ONBUILD FROM x"),
        vec![Issue::OnbuildTrigger("FROM".into())]
    );
    assert_eq!(
        issues("onbuild onbuild RUN x"),
        vec![Issue::OnbuildTrigger("onbuild".into())]
    );
    assert_eq!(
        issues("ONBUILD"),
        vec![Issue::OnbuildTrigger(String::new())]
    );
    assert_eq!(issues("ONBUILD RUN echo hi"), vec![]);
    // ONBUILD's trigger opens heredocs too.
    assert_eq!(
        issues("ONBUILD RUN <<EOF\nFROM x"),
        vec![Issue::OpenHeredoc("EOF".into())]
    );
    assert_eq!(issues("ONBUILD RUN <<EOF\nFROM x\nEOF"), vec![]);
}

#[test]
fn unknown_instructions() {
    assert_eq!(
        issues("RUNN x"),
        vec![Issue::UnknownInstruction("RUNN".into())]
    );
    // A non-ASCII name may fold into a real one in Go (the Kelvin sign lowercases to `k`):
    // the reading stops there.
    let kelvin = "WOR\u{212a}DIR /x\nFROM y";
    assert_eq!(
        issues(kelvin),
        vec![Issue::UnknownInstruction("WOR\u{212a}DIR".into())]
    );
    // A no-break space does not separate the name from its arguments.
    assert_eq!(
        issues("FROM\u{a0}x"),
        vec![Issue::UnknownInstruction("FROM\u{a0}x".into())]
    );
}

#[test]
fn directives_are_refused() {
    assert_eq!(
        issues("# syntax=docker/dockerfile:1"),
        vec![Issue::Directive("syntax".into())]
    );
    assert_eq!(
        issues("RUN a\n  #  Escape = `"),
        vec![Issue::Directive("escape".into())]
    );
    assert_eq!(
        issues("RUN a \\\n# check=skip=all\n b"),
        vec![Issue::Directive("check".into())]
    );
    assert_eq!(issues("# syntax is nice\nRUN a"), vec![]);
}

#[test]
fn continuations() {
    assert_eq!(issues("CMD echo hi \\"), vec![Issue::OpenContinuation]);
    // Trailing blanks after `\` still continue the line.
    assert_eq!(issues("CMD echo hi \\ \t"), vec![Issue::OpenContinuation]);
    // A continuation runs through comment lines, and reports its last continued line.
    assert_eq!(
        lines_of("RUN echo a \\\n  b \\\n# note"),
        vec![(Issue::OpenContinuation, 1)]
    );
    // A continued line's next line is not an instruction.
    assert_eq!(issues("RUN echo a \\\n    from-here"), vec![]);
    assert_eq!(
        lines_of("RUN a \\\n\nFROM-ish-arg"),
        vec![(Issue::EmptyContinuationLine, 0)]
    );
    // Reported once per continued line.
    assert_eq!(
        lines_of("RUN a \\\n\n  \n b"),
        vec![(Issue::EmptyContinuationLine, 0)]
    );
    // `\\` at the end is an escaped backslash, not a continuation (BuildKit's regex).
    assert_eq!(issues("RUN echo \\\\\nUSER root"), vec![]);
    assert_eq!(issues("RUN echo \\\\\\\nUSER root"), vec![]);
    // A lone `\` line continues.
    assert_eq!(issues("RUN a\n\\"), vec![Issue::OpenContinuation]);
    // A no-break space after `\` is not a blank to BuildKit: no continuation.
    assert_eq!(issues("RUN a \\\u{a0}\nUSER root"), vec![]);
}

#[test]
fn heredocs_are_found_like_buildkit() {
    assert_eq!(
        lines_of("RUN a\nRUN <<EOF\necho hi"),
        vec![(Issue::OpenHeredoc("EOF".into()), 1)]
    );
    assert_eq!(issues("RUN cat <<<'x'"), vec![]);
    assert_eq!(issues("RUN <<-END\n\tbody\n\t\tEND"), vec![]);
    // Without `-`, tabs before the terminator do not end the heredoc.
    assert_eq!(
        issues("RUN <<END\n\tEND"),
        vec![Issue::OpenHeredoc("END".into())]
    );
    // A terminator with a trailing blank is not the terminator.
    assert_eq!(
        issues("RUN <<END\nEND "),
        vec![Issue::OpenHeredoc("END".into())]
    );
    assert_eq!(issues(r#"RUN python3 -c "print(1<<2)""#), vec![]);
    assert_eq!(issues(r#"LABEL note="use <<here""#), vec![]);
    assert_eq!(issues("RUN cat <<END-MARK\nx\nEND-MARK"), vec![]);
    assert_eq!(issues("COPY <<EOF.txt /a\nx\nEOF.txt"), vec![]);
    // Quotes and escapes in the word are removed from the terminator.
    assert_eq!(
        heredocs("RUN <<\"E'F\"\nE'F"),
        vec![vec!["E'F".to_string()]]
    );
    assert_eq!(
        heredocs("RUN <<E\\\"F\nE\"F"),
        vec![vec!["E\"F".to_string()]]
    );
    assert_eq!(heredocs("RUN 3<<'A B'\nA B"), vec![vec!["A B".to_string()]]);
    // Several heredocs on one line, in order; a continued line's heredocs start after it.
    let two = "RUN cat <<A <<-B \\\n && true\na\nA\n\tB\nUSER root";
    assert_eq!(issues(two), vec![]);
    assert_eq!(
        heredocs(two),
        vec![vec!["A".to_string(), "B".to_string()], vec![]]
    );
    // Not heredocs: not a whole word, an empty word, two words.
    assert_eq!(heredocs("RUN a<<EOF"), vec![Vec::<String>::new()]);
    assert_eq!(heredocs("RUN cat <<\"\""), vec![Vec::<String>::new()]);
}

/// BuildKit's own heredoc test (`parser_heredoc_test.go`), without its `FROM` and with its
/// last two cases (`<<  EOF`, a heredoc only since dockerfile 1.16) apart.
#[test]
fn buildkits_heredoc_test() {
    let text = "ENV NAME=me\n\nRUN ls\n\nUSER <<INVALID\nINVALID\n\nRUN <<EMPTY\nEMPTY\n\n\
        RUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\nRUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\n\
        RUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\n\nRUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\n\
        RUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\nRUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\n\
        RUN <<COPY\necho hello world\necho foo bar\nCOPY\n\n\
        RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT\n\n\
        RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\n\
        COPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\ncontent 2\nFILE2\n\n\
        COPY <<EOF /quotes\n\"foo\"\n'bar'\nEOF\n\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n\n\
        RUN <<COMPLEX python3\nprint('hello world')\nCOMPLEX\n\nCOPY <<file.txt /dest\nhello world\nfile.txt\n\n\
        RUN <<eo'f'\necho foo\neof\n\nRUN <<eo\\'f\necho foo\neo'f\n\nRUN <<'e'o\\'f\necho foo\neo'f\n\n\
        RUN <<'one two'\necho bar\none two\n\nRUN <<$EOF\n$EOF\n";
    let expected: Vec<Vec<&str>> = vec![
        vec![],
        vec![],
        vec![],
        vec![],
        vec!["EMPTY"],
        vec!["EMPTY2"],
        vec![],
        vec!["INDENT"],
        vec!["UNINDENT"],
        vec!["UNINDENT2"],
        vec!["EXPAND"],
        vec!["NOEXPAND"],
        vec!["COPY"],
        vec!["COMMENT"],
        vec!["MOUNT"],
        vec!["FILE1", "FILE2"],
        vec!["EOF"],
        vec!["X", "Y"],
        vec!["COMPLEX"],
        vec!["file.txt"],
        vec!["eof"],
        vec!["eo'f"],
        vec!["eo'f"],
        vec!["one two"],
        vec!["$EOF"],
    ];
    assert_eq!(heredocs(text), expected);
    assert_eq!(
        issues(text),
        vec![Issue::UnknownInstruction("INVALID".into())]
    );
    for text in ["RUN <<  EOF\nEOF", "RUN <<  EOF  > foo\nEOF"] {
        assert_eq!(
            issues(text),
            vec![Issue::Ambiguous(Ambiguity::HeredocBlank)]
        );
    }
}

#[test]
fn escaped_quotes_are_read_like_buildkit() {
    // Issue 16, class 1: `\'` is an escaped quote, so the heredoc is open.
    let text = r#"RUN echo \' <<"USER ${NB_UID}""#;
    assert_eq!(
        issues(text),
        vec![Issue::OpenHeredoc("USER ${NB_UID}".into())]
    );
    // A line BuildKit's lexer cannot split (an unclosed quote) has no heredocs at all.
    assert_eq!(heredocs("RUN echo ' <<EOF"), vec![Vec::<String>::new()]);
    assert_eq!(issues("RUN echo ' <<EOF\nFROM x"), vec![Issue::From]);
    // `$'` and `${x}` are kept; `${x` with a bad modifier is a lexer error.
    assert_eq!(heredocs("RUN a ${x} <<E\nE"), vec![vec!["E".to_string()]]);
    // (`E` is then an instruction of its own.)
    assert_eq!(
        heredocs("RUN a ${x!} <<E\nE"),
        vec![Vec::<String>::new(), vec![]]
    );
}

#[test]
fn json_form_has_no_heredocs() {
    // Issue 16, class 2: a JSON-form RUN opens no heredoc, so the FROM after it counts.
    let text =
        "RUN [\"echo\", \"a\\\" <<'USER root' \\\"\"]\nFROM docker.io/attacker/notebook:latest";
    assert_eq!(lines_of(text), vec![(Issue::From, 1)]);
    assert_eq!(issues("COPY [\"<<EOF\", \"/x\"]\nUSER root"), vec![]);
    // Not valid JSON: the shell form, with its heredoc.
    assert_eq!(issues("RUN [\"a\",] <<EOF\nEOF"), vec![]);
    assert_eq!(
        heredocs("RUN [\"a\",] <<EOF\nEOF"),
        vec![vec!["EOF".to_string()]]
    );
    assert_eq!(
        issues("RUN [\"a\", 1]"),
        vec![Issue::Rejected(Rejection::JsonNotStrings)]
    );
    assert_eq!(
        issues("HEALTHCHECK CMD [\"a\", null]"),
        vec![Issue::Rejected(Rejection::JsonNotStrings)]
    );
    assert_eq!(
        issues("RUN [\"a\"] <<EOF\nEOF"),
        vec![Issue::Ambiguous(Ambiguity::JsonPrefix)]
    );
    assert_eq!(
        issues("CMD [\"a\"] b"),
        vec![Issue::Ambiguous(Ambiguity::JsonPrefix)]
    );
    // Flags come before the JSON array.
    assert_eq!(issues("RUN --network=none [\"a\", \"<<EOF\"]"), vec![]);
}

#[test]
fn releases_that_disagree_are_refused() {
    assert_eq!(
        issues("RUN cat << EOF\nEOF"),
        vec![Issue::Ambiguous(Ambiguity::HeredocBlank)]
    );
    assert_eq!(
        issues("RUN echo $((1 << 2))"),
        vec![Issue::Ambiguous(Ambiguity::HeredocBlank)]
    );
    // `<<` and a blank that make no heredoc either way are fine.
    assert_eq!(issues("RUN echo a<< b"), vec![]);
    assert_eq!(
        issues("RUN cat <<EOF > ${HOME:-/tmp}/x\nEOF"),
        vec![Issue::Ambiguous(Ambiguity::Expansion("${HOME:".into()))]
    );
    assert_eq!(
        issues("RUN cat <<EOF \"${x%y}\"\nEOF"),
        vec![Issue::Ambiguous(Ambiguity::Expansion("${x%".into()))]
    );
    assert_eq!(
        issues("RUN cat <<EOF ${\u{e9}}\nEOF"),
        vec![Issue::Ambiguous(Ambiguity::ExpansionName)]
    );
    // Without `<<` the expansion does not matter.
    assert_eq!(issues("RUN echo ${HOME:-/tmp}"), vec![]);
}

#[test]
fn parser_errors() {
    assert_eq!(
        issues("ENV A"),
        vec![Issue::Rejected(Rejection::NameValueMissing("ENV".into()))]
    );
    assert_eq!(issues("ENV A b c"), vec![]);
    assert_eq!(
        issues("LABEL a=1 b"),
        vec![Issue::Rejected(Rejection::NameValueNoEquals("b".into()))]
    );
    assert_eq!(issues("ENV A=\"x y\" B='z'"), vec![]);
}

#[test]
fn characters_and_lengths() {
    assert_eq!(issues("RUN a\r\nRUN b"), vec![Issue::Character('\r')]);
    assert_eq!(
        issues("RUN \u{feff}<<EOF"),
        vec![Issue::Character('\u{feff}')]
    );
    assert_eq!(issues("RUN\ta\t<<EOF\nb\nEOF"), vec![]);
    let long = format!("RUN echo {}", "x".repeat(MAX_LINE_BYTES));
    assert_eq!(issues(&long), vec![Issue::LineTooLong(MAX_LINE_BYTES + 9)]);
}

#[test]
fn rendered_lines_are_the_block_without_outer_blank_lines() {
    let r = read("\n  \nRUN a  \n\n  RUN b\t\n \n");
    assert_eq!(r.lines, vec!["RUN a  ", "", "  RUN b\t"]);
    assert_eq!(r.instructions[1].line, 4);
}

#[test]
fn flags_are_split_byte_by_byte() {
    assert_eq!(
        split_command("RUN --mount=type=cache,target=/x  echo"),
        ("RUN".into(), "echo".into())
    );
    assert_eq!(split_command("RUN -- --x"), ("RUN".into(), "--x".into()));
    assert_eq!(
        split_command("RUN --a=\"b c\" d"),
        ("RUN".into(), "d".into())
    );
    // U+00E0 is C3 A0: Go's byte-wise IsSpace ends the flag at A0.
    assert_eq!(split_command("RUN --x\u{e0}[\"a\"]").1, "[\"a\"]");
    assert_eq!(
        split_command_with_flags("COPY --from=\"build\" --chmod=0755 a /b/"),
        (
            "COPY".into(),
            vec!["--from=build".into(), "--chmod=0755".into()],
            "a /b/".into()
        )
    );
    assert_eq!(split_command_with_flags("COPY --link").1, vec!["--link"]);
    let r = read("COPY --chown=1000:100 [\"a b\", \"/c/\"]");
    assert_eq!(r.instructions[0].flags, vec!["--chown=1000:100"]);
    assert!(r.instructions[0].json);
}

#[test]
fn json_grammar() {
    let ok = |s: &str| json::value_prefix(s.as_bytes()).map(|(e, _)| e);
    assert_eq!(ok("[]"), Some(2));
    assert_eq!(ok("[ \"a\" , \"\\u00e9\\n\" ] x"), Some(20));
    assert_eq!(ok("[1.5e+3, -0, {\"a\": [true, null]}]"), Some(33));
    assert_eq!(ok("[01]"), None);
    assert_eq!(ok("[\"a\",]"), None);
    assert_eq!(ok("['a']"), None);
    assert_eq!(ok("[\"\\x\"]"), None);
    assert_eq!(ok("[\"a\tb\"]"), None);
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(ok(&deep(10_000)).is_some());
    assert!(ok(&deep(10_001)).is_none());
    assert_eq!(json::value_prefix(b"[\"a\", \"b\"]"), Some((10, true)));
    assert_eq!(json::value_prefix(b"[\"a\", [\"b\"]]"), Some((12, false)));
}

#[test]
fn whole_dockerfiles() {
    let text = "# syntax=docker/dockerfile:1\nFROM x\nRUN a \\\n  b\nUSER ${NB_UID}\n";
    let r = read_dockerfile(text);
    assert_eq!(r.issues, vec![]);
    let names: Vec<&str> = r.instructions.iter().map(|i| i.command.as_str()).collect();
    assert_eq!(names, ["FROM", "RUN", "USER"]);
    assert_eq!(r.instructions[2].args, "${NB_UID}");
}
