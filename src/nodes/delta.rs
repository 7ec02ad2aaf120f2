//! What an app built on another (`base app=NAME`) installs: its whole model minus what the
//! parent image already has. The parent image has what every ancestor installed; for each
//! package, file or variable, the ancestor nearest to the child that names it decides what
//! the image holds. A child's item equal to that is not installed again; a different one (another
//! version, another value) is. The rule per setting is in `docs/manifest.md` ("What the parent
//! image already has").
//!
//! Keep it complete: a field of [`App`] that the image holds and is missing here would be
//! installed again by every child.

use std::collections::HashSet;

use super::packages::conda_name;
use crate::model::{App, AptRepository, FileCopy, Json, Jupyter, Setup};

/// Takes out of `app` (a whole model) what its `ancestors` (whole models, nearest first)
/// already put into the parent image.
pub fn subtract(app: &mut App, ancestors: &[&App]) {
    let nearest = |f: &dyn Fn(&App) -> bool| ancestors.iter().copied().find(|a| f(a));
    // A bare name (no version) is met by the package in any version: apt and mamba would
    // leave an installed package alone.
    app.apt.retain(|p| {
        in_image(ancestors, |a| &a.apt, p, apt_name).is_none_or(|q| q != p && apt_name(p) != p)
    });
    app.mamba.retain(|p| {
        in_image(ancestors, |a| &a.mamba, p, conda_name)
            .is_none_or(|q| q != p && conda_name(p) != p)
    });
    app.pip.retain(|p| !pip_in_image(ancestors, p));
    if let Some(t) = ancestors.iter().find_map(|a| a.torch.as_ref()) {
        app.torch = None;
        if let Some(parent) = &mut app.parent {
            parent.torch = Some(t.cuda.clone());
        }
    }
    if let Some(cs) = &mut app.code_server {
        let installed = nearest(&|a| a.code_server.is_some()).and_then(|a| a.code_server.as_ref());
        cs.install = installed.is_none_or(|i| i.version != cs.version);
        cs.extensions.retain(|e| {
            !ancestors
                .iter()
                .filter_map(|a| a.code_server.as_ref())
                .any(|c| c.extensions.contains(e))
        });
        if !cs.install && cs.extensions.is_empty() {
            app.code_server = None;
        }
    }
    app.env
        .retain(|(k, v)| by_key(ancestors, |a| &a.env, k) != Some(v));
    app.labels
        .retain(|(k, v)| by_key(ancestors, |a| &a.labels, k) != Some(v));
    let workdir = nearest(&|a| a.workdir.is_some()).and_then(|a| a.workdir.clone());
    if app.workdir == workdir {
        app.workdir = None;
    }
    // An inline file is generated per app (`src/<app>/…`): the same text counts as the same
    // file. An append is in the image once any ancestor made it.
    let same = |f: &FileCopy, g: &FileCopy| match (&f.content, &g.content) {
        (Some(_), Some(_)) => {
            FileCopy {
                src: String::new(),
                ..f.clone()
            } == FileCopy {
                src: String::new(),
                ..g.clone()
            }
        }
        _ => f == g,
    };
    app.files.retain(|f| {
        if f.append {
            return !ancestors.iter().any(|a| a.files.iter().any(|g| same(f, g)));
        }
        nearest(&|a| a.files.iter().any(|g| !g.append && g.to == f.to))
            .is_none_or(|a| !a.files.iter().any(|g| same(f, g)))
    });
    app.fs
        .removes
        .retain(|p| !ancestors.iter().any(|a| a.fs.removes.contains(p)));
    app.fs.dirs.retain(|d| {
        nearest(&|a| a.fs.dirs.iter().any(|g| g.path == d.path))
            .is_none_or(|a| !a.fs.dirs.contains(d))
    });
    app.fs
        .permissions
        .retain(|p| !ancestors.iter().any(|a| a.fs.permissions.contains(p)));
    app.fs.symlinks.retain(|l| {
        nearest(&|a| a.fs.symlinks.iter().any(|g| g.link == l.link))
            .is_none_or(|a| !a.fs.symlinks.contains(l))
    });
    app.hooks.retain(|h| {
        nearest(&|a| {
            a.hooks
                .iter()
                .any(|g| g.stage == h.stage && g.name == h.name)
        })
        .is_none_or(|a| !a.hooks.contains(h))
    });
    app.downloads.retain(|d| {
        nearest(&|a| a.downloads.iter().any(|g| g.name == d.name))
            .is_none_or(|a| !a.downloads.contains(d))
    });
    let repos = std::mem::take(&mut app.apt_repositories);
    app.apt_repositories = repos
        .into_iter()
        .filter_map(|r| repository(ancestors, r))
        .collect();
    app.dockerfile
        .retain(|b| !ancestors.iter().any(|a| a.dockerfile.contains(b)));
    // Repository files (read at the same commit): the same file, installed the same way.
    app.pip_files.retain(|f| {
        !ancestors.iter().any(|a| {
            a.pip_files
                .iter()
                .any(|g| g.src == f.src && g.hashed == f.hashed)
        })
    });
    app.pip_packages.retain(|p| {
        !ancestors.iter().any(|a| {
            a.pip_packages
                .iter()
                .any(|g| g.src == p.src && g.extras == p.extras)
        })
    });
    app.conda_environments.retain(|e| {
        !ancestors
            .iter()
            .any(|a| a.conda_environments.iter().any(|g| g.src == e.src))
    });
    app.kernels.retain(|k| {
        nearest(&|a| a.kernels.iter().any(|g| g.name == k.name))
            .is_none_or(|a| !a.kernels.contains(k))
    });
    app.removed_kernels
        .retain(|k| !ancestors.iter().any(|a| a.removed_kernels.contains(k)));
    app.stage_copies.retain(|c| {
        nearest(&|a| a.stage_copies.iter().any(|g| g.to == c.to))
            .is_none_or(|a| !a.stage_copies.contains(c))
    });
    if let Some(j) = app.jupyter.take() {
        app.jupyter = jupyter(ancestors, j);
    }
    setup(app, ancestors);
}

/// The parent image's time zone, locales, conda settings, removals and image configuration.
fn setup(app: &mut App, ancestors: &[&App]) {
    let nearest = |f: &dyn Fn(&Setup) -> bool| {
        ancestors
            .iter()
            .map(|a| &a.setup)
            .find(|s| f(s))
            .cloned()
            .unwrap_or_default()
    };
    let installs_pip = app.installs_requirements_txt()
        || !app.pip_files.is_empty()
        || !app.pip_packages.is_empty();
    let s = &mut app.setup;
    if s.timezone == nearest(&|a| a.timezone.is_some()).timezone {
        s.timezone = None;
    }
    if s.locales == nearest(&|a| !a.locales.is_empty()).locales {
        s.locales.clear();
    }
    s.conda_config.retain(|c| {
        nearest(&|a| a.conda_config.iter().any(|d| d.key == c.key))
            .conda_config
            .iter()
            .all(|d| d != c)
    });
    // A package some ancestor removed (and none installed again since) is gone from the parent
    // image; this image's own pip step could bring it back as a dependency, so it is removed
    // again then, without failing when it is absent.
    let mut again = Vec::new();
    s.pip_remove.retain(|p| {
        let name = super::pip::normalize_pkg(p);
        let removed = ancestors
            .iter()
            .find(|a| {
                a.setup
                    .pip_remove
                    .iter()
                    .any(|q| super::pip::normalize_pkg(q) == name)
                    || a.pip
                        .iter()
                        .any(|q| super::pip::requirement_name(q).as_deref() == Some(&name))
            })
            .is_some_and(|a| {
                a.setup
                    .pip_remove
                    .iter()
                    .any(|q| super::pip::normalize_pkg(q) == name)
            });
        if removed && installs_pip {
            again.push(p.clone());
        }
        !removed
    });
    s.pip_remove_again = again;
    // The parent image has the kernelspecs its installers wrote.
    s.kernel_install
        .retain(|m| !ancestors.iter().any(|a| a.setup.kernel_install.contains(m)));
    let entrypoint = nearest(&|a| a.entrypoint.is_some()).entrypoint;
    let new_entrypoint = s.entrypoint.is_some() && s.entrypoint != entrypoint;
    if !new_entrypoint {
        s.entrypoint = None;
    }
    // A new ENTRYPOINT resets the inherited CMD: the image writes its CMD again then.
    if !new_entrypoint && s.cmd == nearest(&|a| a.cmd.is_some()).cmd {
        s.cmd = None;
    }
    s.expose
        .retain(|p| !ancestors.iter().any(|a| a.setup.expose.contains(p)));
}

/// The spec of package `p`'s name that the nearest ancestor naming it installed.
fn in_image<'a>(
    ancestors: &[&'a App],
    list: impl Fn(&'a App) -> &'a Vec<String>,
    p: &str,
    name: fn(&str) -> &str,
) -> Option<&'a String> {
    ancestors
        .iter()
        .find_map(|a| list(a).iter().find(|q| name(q) == name(p)))
}

/// `vim=2:9.1-1` -> `vim`.
fn apt_name(p: &str) -> &str {
    p.split('=').next().unwrap_or(p)
}

/// Whether the nearest ancestor that requires `p`'s package required exactly `p` (any
/// requirement of the package, when `p` is its bare name: pip leaves it alone then).
fn pip_in_image(ancestors: &[&App], p: &str) -> bool {
    let Some(req) = super::pip::parse_text(p) else {
        return false;
    };
    ancestors
        .iter()
        .find_map(|a| {
            let same_name: Vec<_> = a
                .pip
                .iter()
                .filter_map(|q| super::pip::parse_text(q))
                .filter(|q| q.name == req.name)
                .collect();
            (!same_name.is_empty()).then_some(same_name)
        })
        .is_some_and(|qs| {
            let bare = !req.has_url_or_marker
                && !req.text.contains(['<', '>', '=', '!', '~', '@', '[', ';']);
            bare || qs.iter().any(|q| q.canonical == req.canonical)
        })
}

/// The value of `key` that the nearest ancestor setting it gave.
fn by_key<'a>(
    ancestors: &[&'a App],
    list: impl Fn(&'a App) -> &'a Vec<(String, String)>,
    key: &str,
) -> Option<&'a String> {
    ancestors
        .iter()
        .find_map(|a| list(a).iter().find(|(k, _)| k == key).map(|(_, v)| v))
}

/// A repository the parent image has as is keeps only the packages it lacks; one that differs
/// (another URL, key, suite...) is set up again.
fn repository(ancestors: &[&App], mut r: AptRepository) -> Option<AptRepository> {
    fn same<'a>(a: &'a App, r: &AptRepository) -> Option<&'a AptRepository> {
        a.apt_repositories.iter().find(|q| {
            q.name == r.name
                && AptRepository {
                    packages: r.packages.clone(),
                    ..(*q).clone()
                } == *r
        })
    }
    let nearest = ancestors
        .iter()
        .find(|a| a.apt_repositories.iter().any(|q| q.name == r.name));
    let Some(nearest) = nearest else {
        return Some(r);
    };
    if same(nearest, &r).is_none() {
        return Some(r);
    }
    let installed: HashSet<String> = ancestors
        .iter()
        .filter_map(|a| same(a, &r))
        .flat_map(|q| q.packages.iter().cloned())
        .collect();
    r.packages.retain(|p| !installed.contains(p));
    (!r.packages.is_empty()).then_some(r)
}

/// Jupyter's files replace the parent's (they have one path each): a child writes a file only
/// when it sets a key the parent image's file lacks or has another value for, and then writes
/// it whole, the parent's keys merged under its own.
fn jupyter(ancestors: &[&App], j: Jupyter) -> Option<Jupyter> {
    let field = |get: fn(&Jupyter) -> &Option<Json>, mine: Option<Json>| {
        let mine = mine?;
        let mut image: Option<Json> = None;
        for a in ancestors.iter().rev() {
            if let Some(v) = a.jupyter.as_ref().and_then(|j| get(j).as_ref()) {
                image = Some(match image {
                    Some(base) => merged(base, v),
                    None => v.clone(),
                });
            }
        }
        match image {
            None => Some(mine),
            Some(image) => {
                let whole = merged(image.clone(), &mine);
                (whole != image).then_some(whole)
            }
        }
    };
    let out = Jupyter {
        server: field(|j| &j.server, j.server),
        lab_overrides: field(|j| &j.lab_overrides, j.lab_overrides),
        page_config: field(|j| &j.page_config, j.page_config),
    };
    (out.server.is_some() || out.lab_overrides.is_some() || out.page_config.is_some())
        .then_some(out)
}

/// `over` merged into `base`: objects key by key (recursively), anything else replaced.
fn merged(base: Json, over: &Json) -> Json {
    match (base, over) {
        (Json::Object(mut b), Json::Object(o)) => {
            for (k, v) in o {
                match b.iter().position(|(bk, _)| bk == k) {
                    Some(i) => {
                        let old = std::mem::replace(&mut b[i].1, Json::Null);
                        b[i].1 = merged(old, v);
                    }
                    None => b.push((k.clone(), v.clone())),
                }
            }
            Json::Object(b)
        }
        (_, o) => o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(apt_name("vim=2:9.1-1"), "vim");
        assert_eq!(conda_name("conda-forge::numpy>=1.26"), "numpy");
        assert_eq!(conda_name("tomli=2.0.1"), "tomli");
    }

    fn models(text: &str) -> Vec<App> {
        let source = crate::source::Source {
            path: "apps.kdl".into(),
            name: "apps.kdl".into(),
            text: text.to_string(),
        };
        let loaded = crate::load_source(
            source,
            std::path::Path::new("."),
            &mut crate::Timings::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        loaded.manifest.apps
    }

    #[test]
    fn the_child_installs_what_the_parent_image_lacks() {
        let apps = models(
            r#"manifest-version 1
registry "ghcr.io" namespace=lab
defaults { base "quay.io/jupyter/scipy-notebook:python-3.11"; }
app a {
    apt vim "curl=7.88.1-10"
    mamba "numpy>=1.26"
    pip { - "transformers==4.28.1"; - accelerate; - "cpm-kernels==1.0.11"; }
    code-server "4.22.1" { extensions ms-python.python; }
    env { A "1"; B "2"; }
    workdir "/home/jovyan/work"
    jupyter { default-url "/lab"; }
}
app b extends=a {
    base app=a
    image-suffix b
    apt tmux "curl=7.88.1-11"
    pip { - "transformers==4.30.0"; - peft; }
    env { B "3"; }
    jupyter { server { ServerApp { open_browser #false; }; }; }
}
app c {
    base app=b
    image-suffix c
    apt tmux htop
    mamba "numpy>=1.26"
    code-server "4.23.0"
    pip { - accelerate; - "transformers==4.28.1"; - cpm_kernels; }
    workdir "/home/jovyan/work"
}
"#,
        );
        let (b, c) = (&apps[1], &apps[2]);
        // Another version of a package the parent has is installed again.
        assert_eq!(b.apt, ["tmux", "curl=7.88.1-11"]);
        assert_eq!(b.pip, ["transformers==4.30.0", "peft"]);
        assert!(b.mamba.is_empty() && b.code_server.is_none() && b.workdir.is_none());
        assert_eq!(b.env, [("B".to_string(), "3".to_string())]);
        // The parent image's Jupyter file is replaced: the child's is whole.
        let server = b.jupyter.as_ref().and_then(|j| j.server.as_ref()).unwrap();
        assert_eq!(
            server.compact(),
            r#"{"ServerApp": {"default_url": "/lab", "open_browser": false}}"#
        );
        // The nearest ancestor that names a package decides what the image holds: `b`
        // replaced transformers 4.28.1 with 4.30.0, so `c`'s 4.28.1 is installed again.
        assert_eq!(c.apt, ["htop"]);
        assert_eq!(c.pip, ["transformers==4.28.1"]);
        assert!(c.mamba.is_empty() && c.workdir.is_none());
        let cs = c.code_server.as_ref().unwrap();
        assert!(cs.install && cs.extensions.is_empty());
        assert_eq!(c.parent.as_ref().unwrap().app, "b");
        assert_eq!(c.chain_root, "a");
        assert_eq!(c.image, "ghcr.io/lab/scipy-notebook-c");
    }

    #[test]
    fn the_child_keeps_the_parent_images_small_settings() {
        let apps = models(
            r#"manifest-version 1
registry "ghcr.io" namespace=lab
defaults { base "quay.io/jupyter/scipy-notebook:python-3.11"; }
app a {
    timezone "Europe/Berlin"
    locale "de_DE.UTF-8"
    conda-config { channel_priority strict; channels conda-forge; }
    pip-remove nbclassic
    entrypoint "tini" "-g" "--" "start.sh"
    cmd "start-notebook.py"
    expose 8888
}
app b extends=a {
    base app=a
    image-suffix b
    conda-config { channels conda-forge bioconda; }
    expose 9000
}
app c extends=a {
    base app=a
    image-suffix c
    entrypoint "tini" "-g" "--" "start.sh" "/usr/local/bin/wrap"
    pip { - "idna==3.7"; }
}
"#,
        );
        let (b, c) = (&apps[1].setup, &apps[2].setup);
        // Everything the parent image has is left out; a changed list is written whole.
        assert!(b.timezone.is_none() && b.locales.is_empty() && b.pip_remove.is_empty());
        assert!(b.cmd.is_none() && b.entrypoint.is_none());
        assert_eq!(b.expose, ["9000"]);
        assert_eq!(b.conda_config.len(), 1);
        assert_eq!(b.conda_config[0].values, ["conda-forge", "bioconda"]);
        assert!(b.pip_remove_again.is_empty());
        // A new ENTRYPOINT resets the inherited CMD: the same CMD is written again. A pip step
        // of its own could bring a removed package back: it is removed again.
        assert_eq!(
            c.cmd.as_deref(),
            Some(&["start-notebook.py".to_string()][..])
        );
        assert!(c.entrypoint.is_some());
        assert_eq!(c.pip_remove_again, ["nbclassic"]);
        assert!(c.pip_remove.is_empty());
    }

    #[test]
    fn json_merge() {
        let obj = |pairs: &[(&str, Json)]| {
            Json::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        };
        let base = obj(&[("A", obj(&[("x", Json::Int(1)), ("y", Json::Int(2))]))]);
        let over = obj(&[("A", obj(&[("y", Json::Int(3))])), ("B", Json::Bool(true))]);
        assert_eq!(
            merged(base, &over),
            obj(&[
                ("A", obj(&[("x", Json::Int(1)), ("y", Json::Int(3))])),
                ("B", Json::Bool(true))
            ])
        );
    }
}
