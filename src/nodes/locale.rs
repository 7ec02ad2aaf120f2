//! `timezone "Area/City"` and `locale "ll_CC.UTF-8"…`: the image's time zone (`/etc/localtime`,
//! `/etc/timezone`, `TZ`, with apt's `tzdata`) and its locales (generated with `locale-gen`,
//! with apt's `locales`; the first is the default: `LANG`, `LC_ALL`, `LANGUAGE`). Both override
//! through `defaults` and `extends`.

use super::check::Checker;
use super::raw::{RawSettings, Sp, Value};
use super::setting::{Explain, Inherit, Setting, Shape};
use crate::error::{Code, Problem};
use crate::explain::{Ctx, Origin};

pub static TIMEZONE: Setting = Setting {
    name: "timezone",
    shape: Shape::Text {
        what: "a time zone such as \"Europe/Berlin\"",
    },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("timezone \"Europe/Berlin\""),
    check: check_timezone,
    explain: Explain::Rows,
};

pub static LOCALE: Setting = Setting {
    name: "locale",
    shape: Shape::Words { what: "locale" },
    inherit: Inherit::Override,
    once: true,
    app_only: false,
    example: Some("locale \"de_DE.UTF-8\""),
    check: check_locale,
    explain: Explain::Rows,
};

/// A tz database name: one to three components of letters, digits, `_`, `+`, `-`, each
/// starting with an uppercase letter (`Europe/Berlin`, `America/Argentina/Buenos_Aires`,
/// `Etc/GMT-2`, `UTC`).
pub fn timezone_ok(z: &str) -> bool {
    let parts: Vec<&str> = z.split('/').collect();
    parts.len() <= 3
        && parts.iter().all(|p| {
            p.len() <= 40
                && p.starts_with(|c: char| c.is_ascii_uppercase())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
        })
}

/// `europe/berlin` -> `Europe/Berlin`, `america/new_york` -> `America/New_York`.
fn capitalised(z: &str) -> String {
    let mut out = String::with_capacity(z.len());
    let mut start = true;
    for c in z.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = matches!(c, '/' | '_' | '-');
    }
    out
}

fn check_timezone(cx: &mut Checker<'_>, v: &Value) {
    let Some(z) = v.text() else { return };
    if !cx.safe(z, "the time zone", false) || timezone_ok(&z.v) {
        return;
    }
    let fixed = capitalised(&z.v);
    let help = if z.v.starts_with(['+', '-']) || z.v.contains(':') || z.v.starts_with("UTC+") {
        "an offset is not a zone: name a city (`Europe/Berlin`), or `Etc/GMT-2` for a fixed UTC+2 (the sign of `Etc/GMT` zones is inverted)".to_string()
    } else if timezone_ok(&fixed) {
        format!("zone names are case-sensitive: `{fixed}`")
    } else {
        "a name of the tz database: `Area/City` such as `Europe/Berlin`, `America/New_York`, or `UTC`".to_string()
    };
    cx.push(
        Problem::error(
            Code::InvalidTimezone,
            z.span,
            format!("`{}` is not a time zone name", z.v.escape_debug()),
        )
        .label("time zone")
        .help(help),
    );
}

/// `C.UTF-8`, or `ll[_CC].UTF-8[@modifier]`: the UTF-8 locales of glibc's list.
pub fn locale_ok(l: &str) -> bool {
    if l == "C.UTF-8" {
        return true;
    }
    let (name, modifier) = l.split_once('@').unwrap_or((l, ""));
    let Some(lang_territory) = name.strip_suffix(".UTF-8") else {
        return false;
    };
    let (lang, territory) = lang_territory
        .split_once('_')
        .unwrap_or((lang_territory, ""));
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|b| b.is_ascii_lowercase())
        && (territory.is_empty()
            || (territory.len() == 2 && territory.bytes().all(|b| b.is_ascii_uppercase())))
        && (l.find('@').is_none()
            || (!modifier.is_empty() && modifier.bytes().all(|b| b.is_ascii_lowercase())))
}

/// `de_de.utf8` -> `de_DE.UTF-8`, `de_DE` -> `de_DE.UTF-8`: the locale jcx accepts, if one is meant.
fn locale_fix(l: &str) -> Option<String> {
    let (name, modifier) = match l.split_once('@') {
        Some((n, m)) => (n, format!("@{m}")),
        None => (l, String::new()),
    };
    let (lt, charset) = name.split_once('.').unwrap_or((name, "UTF-8"));
    if !matches!(charset.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
        return None;
    }
    let fixed = match lt.split_once('_') {
        Some((lang, t)) => format!(
            "{}_{}.UTF-8{modifier}",
            lang.to_ascii_lowercase(),
            t.to_ascii_uppercase()
        ),
        None if lt.eq_ignore_ascii_case("c") => "C.UTF-8".to_string(),
        None => format!("{}.UTF-8{modifier}", lt.to_ascii_lowercase()),
    };
    locale_ok(&fixed).then_some(fixed)
}

fn check_locale(cx: &mut Checker<'_>, v: &Value) {
    let mut seen: Vec<&Sp<String>> = Vec::new();
    for l in v.words() {
        if !cx.safe(l, "the locale", false) {
            continue;
        }
        if !locale_ok(&l.v) {
            let help = match locale_fix(&l.v) {
                Some(f) => format!("write `{f}`"),
                None if matches!(l.v.as_str(), "C" | "POSIX") => {
                    "`C.UTF-8` is the stacks' default (built into glibc)".to_string()
                }
                None => "a UTF-8 locale of glibc: `language_TERRITORY.UTF-8` such as `de_DE.UTF-8` (jcx generates UTF-8 locales only)".to_string(),
            };
            cx.push(
                Problem::error(
                    Code::InvalidLocale,
                    l.span,
                    format!("`{}` is not a locale jcx can generate", l.v.escape_debug()),
                )
                .label("locale")
                .help(help),
            );
            continue;
        }
        if let Some(first) = seen.iter().find(|s| s.v == l.v) {
            cx.push(
                Problem::warning(
                    Code::DuplicatePackage,
                    l.span,
                    format!("locale `{}` is listed twice", l.v),
                )
                .label("listed again")
                .also(first.span, "first listed here")
                .help("remove one of them (the first locale is the default)"),
            );
        }
        seen.push(l);
    }
}

pub fn timezone(s: &RawSettings) -> Option<String> {
    s.text(&TIMEZONE).map(|z| z.v.clone())
}

pub fn locales(s: &RawSettings) -> Vec<String> {
    super::check::dedup(s.words(&LOCALE).iter().map(|l| l.v.clone()))
}

/// The apt packages these settings need: `tzdata` for the zone files (the stacks'
/// docker-stacks-foundation and base-notebook have none), `locales` for `locale-gen`.
pub fn apt_needs(s: &RawSettings) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if s.has(&TIMEZONE) {
        out.push(("tzdata", "`timezone` needs the zone files"));
    }
    if s.words(&LOCALE).iter().any(|l| l.v != "C.UTF-8") {
        out.push(("locales", "`locale` generates locales with locale-gen"));
    }
    out
}

/// Adds the packages of [`apt_needs`] an app's apt list lacks.
pub fn add_apt(s: &RawSettings, apt: &mut Vec<String>) {
    for (p, _) in apt_needs(s) {
        if !apt.iter().any(|a| a.split('=').next() == Some(p)) {
            apt.push(p.to_string());
        }
    }
}

/// `explain` rows of the apt packages these settings add.
pub fn explain_apt(cx: &mut Ctx<'_>, s: &RawSettings) {
    for (p, why) in apt_needs(s) {
        if !s
            .words(&super::packages::APT)
            .iter()
            .any(|a| a.v.split('=').next() == Some(p))
        {
            cx.push(
                "apt",
                p,
                Origin::Derived {
                    note: format!("added by jcx: {why}"),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        for z in [
            "Europe/Berlin",
            "UTC",
            "Etc/GMT-2",
            "America/Argentina/Buenos_Aires",
            "America/Port-au-Prince",
            "EST5EDT",
        ] {
            assert!(timezone_ok(z), "{z}");
        }
        for z in [
            "europe/berlin",
            "+02:00",
            "Europe/../etc",
            "Europe/Ber lin",
            "",
            "a/b/c/d",
        ] {
            assert!(!timezone_ok(z), "{z}");
        }
        assert_eq!(capitalised("america/new_york"), "America/New_York");
    }

    #[test]
    fn locales() {
        for l in [
            "de_DE.UTF-8",
            "C.UTF-8",
            "sr_RS.UTF-8@latin",
            "eo.UTF-8",
            "ast_ES.UTF-8",
        ] {
            assert!(locale_ok(l), "{l}");
        }
        for l in [
            "de_DE",
            "de_DE.utf8",
            "de_de.UTF-8",
            "C",
            "de_DE.ISO-8859-1",
            "de_DE.UTF-8@",
        ] {
            assert!(!locale_ok(l), "{l}");
        }
        assert_eq!(locale_fix("de_de.utf8").as_deref(), Some("de_DE.UTF-8"));
        assert_eq!(locale_fix("en_US").as_deref(), Some("en_US.UTF-8"));
        assert_eq!(locale_fix("de_DE.ISO-8859-1"), None);
    }
}
