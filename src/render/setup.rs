//! The Dockerfile lines of an app's small settings ([`crate::model::Setup`]): the words of the
//! time zone, locale, `conda config`, kernel installer and `pip uninstall` steps and the JSON
//! form of CMD and ENTRYPOINT, each escaped here for the Dockerfile's shell or JSON.

use serde::Serialize;

use crate::model::Setup;

#[derive(Serialize)]
pub(super) struct SetupCtx<'a> {
    pub timezone: Option<&'a str>,
    /// `/etc/locale.gen` lines (`de_DE.UTF-8 UTF-8`) and the names `locale -a` then lists
    /// (`de_DE.utf8`), for the locales to generate (`C.UTF-8` is built into glibc).
    pub locale_lines: Vec<String>,
    pub locale_names: Vec<String>,
    /// LANG, LC_ALL and LANGUAGE.
    pub locale_default: Option<&'a str>,
    /// Whole `conda config --system ...` commands, in the order they run.
    pub conda_config: Vec<String>,
    pub pip_remove: Vec<String>,
    pub pip_remove_again: Vec<String>,
    /// Whole `python -m MODULE … --sys-prefix` commands (`kernel-install`), in order; module
    /// paths need no quoting.
    pub kernel_install: Vec<String>,
    /// JSON arrays.
    pub cmd: Option<String>,
    pub entrypoint: Option<String>,
    pub expose: &'a [String],
}

/// A shell word: as is when it holds only characters no shell treats specially, else single-
/// quoted (validation refused `'` in every value that gets here).
fn word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:@+=,-".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{s}'")
    }
}

/// `de_DE.UTF-8@latin` -> `de_DE.utf8@latin`, as `locale -a` lists it.
fn listed_name(l: &str) -> String {
    l.replacen(".UTF-8", ".utf8", 1)
}

/// `["a", "b"]`: the JSON form of CMD and ENTRYPOINT, as hand-written Dockerfiles space it.
fn json_array(args: &[String]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).expect("strings serialize"))
        .collect();
    format!("[{}]", items.join(", "))
}

pub(super) fn setup_ctx(s: &Setup) -> SetupCtx<'_> {
    let generated: Vec<&String> = s.locales.iter().filter(|l| *l != "C.UTF-8").collect();
    let mut conda = Vec::new();
    for c in &s.conda_config {
        if c.list {
            // `--prepend` puts a value first: the last one goes in first.
            for v in c.values.iter().rev() {
                conda.push(format!(
                    "conda config --system --prepend {} {}",
                    c.key,
                    word(v)
                ));
            }
        } else {
            conda.push(format!(
                "conda config --system --set {} {}",
                c.key,
                word(&c.values[0])
            ));
        }
    }
    SetupCtx {
        timezone: s.timezone.as_deref(),
        locale_lines: generated.iter().map(|l| format!("{l} UTF-8")).collect(),
        locale_names: generated.iter().map(|l| listed_name(l)).collect(),
        locale_default: s.locales.first().map(String::as_str),
        conda_config: conda,
        pip_remove: s.pip_remove.iter().map(|p| word(p)).collect(),
        pip_remove_again: s.pip_remove_again.iter().map(|p| word(p)).collect(),
        kernel_install: s
            .kernel_install
            .iter()
            .map(|m| crate::nodes::kernel_install::command(m))
            .collect(),
        cmd: s.cmd.as_deref().map(json_array),
        entrypoint: s.entrypoint.as_deref().map(json_array),
        expose: &s.expose,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_names() {
        assert_eq!(word("conda-forge"), "conda-forge");
        assert_eq!(
            word("https://conda.example.org/x"),
            "https://conda.example.org/x"
        );
        assert_eq!(word("({default_env}) "), "'({default_env}) '");
        assert_eq!(listed_name("sr_RS.UTF-8@latin"), "sr_RS.utf8@latin");
        assert_eq!(json_array(&["a \"b\"".to_string()]), r#"["a \"b\""]"#);
    }
}
