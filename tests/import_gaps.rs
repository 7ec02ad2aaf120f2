//! `jcx import` on what hand rewrites of real repositories found it missed (issue #12), through
//! the binary in small made-up repositories: an image built FROM another app's image becomes
//! `base app=`, a COPY into a directory an earlier step made copies into it, and a relative
//! `ln -s` becomes a `symlink`. Every imported manifest must also compile.

mod support;

use support::import;

const LAB: &str =
    "FROM quay.io/jupyter/scipy-notebook:python-3.11\nRUN pip install --no-cache-dir pandas\n";
const CHILD: &str = "ARG BASE_TAG=latest\nFROM ghcr.io/lab/lab-base:${BASE_TAG}\nRUN pip install --no-cache-dir polars\n";

/// A workflow building the two apps of `images/` with a matrix, pushing `ghcr.io/lab/NAME`.
fn matrix_workflow(branches: &str) -> String {
    format!(
        r#"name: build
on:
  push:
    branches: [{branches}]
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        image: [lab-base, lab-r]
    steps:
      - uses: actions/checkout@v4
      - uses: docker/build-push-action@v6
        with:
          context: images/${{{{ matrix.image }}}}
          push: true
          tags: ghcr.io/lab/${{{{ matrix.image }}}}:latest
"#
    )
}

#[test]
fn an_image_another_app_pushes_becomes_base_app() {
    let wf = matrix_workflow("main");
    let i = import(&[
        (".github/workflows/build.yml", &wf),
        ("images/lab-base/Dockerfile", LAB),
        ("images/lab-r/Dockerfile", CHILD),
    ]);
    let nodes = i.nodes();
    assert!(nodes.contains("base app=lab-base"), "{}", i.manifest);
    assert!(
        nodes.contains(r#"base "quay.io/jupyter/scipy-notebook:python-3.11""#),
        "{}",
        i.manifest
    );
    // The child keeps the name its workflow pushed.
    assert!(nodes.contains("image-name lab-r"), "{}", i.manifest);
    assert!(
        i.stderr.contains("images/lab-r/Dockerfile:2: changed:")
            && i.stderr.contains("the image app `lab-base` builds")
            && i.stderr.contains("same workflow run"),
        "{}",
        i.stderr
    );
}

#[test]
fn an_image_named_as_another_apps_directory_becomes_base_app() {
    // No workflow: the image's name is the directory of another app, under a namespace that
    // is not the upstream images'.
    let i = import(&[
        ("images/lab-base/Dockerfile", LAB),
        ("images/lab-r/Dockerfile", CHILD),
    ]);
    assert!(i.nodes().contains("base app=lab-base"), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("named as the directory of app `lab-base`"),
        "{}",
        i.stderr
    );
}

#[test]
fn an_upstream_image_named_as_an_app_stays_an_image() {
    // `minimal-notebook` is an app of the repository, but `quay.io/jupyter/minimal-notebook`
    // is the upstream image, not the one this repository builds.
    let other = "FROM quay.io/jupyter/minimal-notebook:python-3.11\nRUN pip install --no-cache-dir polars\n";
    let i = import(&[
        ("images/minimal-notebook/Dockerfile", LAB),
        ("images/other/Dockerfile", other),
    ]);
    assert!(!i.nodes().contains("base app="), "{}", i.manifest);
    assert!(
        i.nodes()
            .contains(r#"base "quay.io/jupyter/minimal-notebook:python-3.11""#),
        "{}",
        i.manifest
    );
}

#[test]
fn a_child_jcx_refuses_to_build_on_its_parent_keeps_the_image() {
    // Two workflows, on other branches: jcx builds a child in its parent's workflow, on its
    // triggers, so it refuses `base app=` here; import writes the image as before, and says so.
    let wf = |app: &str, branch: &str| {
        format!(
            "on:\n  push:\n    branches: [{branch}]\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          context: images/{app}\n          push: true\n          tags: ghcr.io/lab/{app}:latest\n"
        )
    };
    let i = import(&[
        (".github/workflows/base.yml", &wf("lab-base", "main")),
        (".github/workflows/r.yml", &wf("lab-r", "dev")),
        ("images/lab-base/Dockerfile", LAB),
        ("images/lab-r/Dockerfile", CHILD),
    ]);
    assert!(!i.nodes().contains("base app="), "{}", i.manifest);
    assert!(
        i.nodes().contains(r#"base "ghcr.io/lab/lab-base:latest""#),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr.contains("jcx refuses `base app=lab-base`"),
        "{}",
        i.stderr
    );
}

const BASE: &str = "FROM quay.io/jupyter/base-notebook:2024-12-02\n";

#[test]
fn a_copy_into_a_directory_an_earlier_step_made_copies_into_it() {
    // BuildKit copies into an existing directory whether or not the destination ends with `/`:
    // a `mkdir`, a `WORKDIR` or a copied directory made these.
    let df = format!(
        "{BASE}USER root\nRUN mkdir -p /opt/lab_tests/more && apt-get update\nCOPY test/a.R /opt/lab_tests\nCOPY test/b.R /opt/lab_tests/more\nWORKDIR /srv/lab\nCOPY run.sh /srv/lab\nCOPY conf /etc/lab\nCOPY extra.txt /etc/lab\nCOPY solo.txt /opt/solo\n"
    );
    let i = import(&[
        ("Dockerfile", &df),
        ("test/a.R", "1\n"),
        ("test/b.R", "2\n"),
        ("run.sh", "echo run\n"),
        ("conf/lab.conf", "x = 1\n"),
        ("extra.txt", "extra\n"),
        ("solo.txt", "solo\n"),
    ]);
    let nodes = i.nodes();
    for want in [
        r#"file "test/a.R" to="/opt/lab_tests/""#,
        r#"file "test/b.R" to="/opt/lab_tests/more/""#,
        r#"file run.sh to="/srv/lab/""#,
        r#"file extra.txt to="/etc/lab/""#,
        // Nothing made `/opt/solo`: the copy is that file.
        r#"file solo.txt to="/opt/solo""#,
    ] {
        assert!(nodes.contains(want), "{want}:\n{}", i.manifest);
    }
    assert!(!i.stderr.contains("file_collision"), "{}", i.stderr);
}

#[test]
fn a_copy_the_dockerfile_later_names_inside_its_destination_copies_into_it() {
    // An archive unpacked into `/opt/tool` made `/opt/tool/bin`, which import cannot see; the
    // later `chmod` of `/opt/tool/bin/launch.sh` says the copy went into that directory. The
    // unpacked directory itself is known.
    let df = format!(
        "{BASE}USER root\nRUN curl -fsSL -o /tmp/tool.tar.gz https://example.org/tool.tar.gz && tar -xzf /tmp/tool.tar.gz -C /opt/tool --strip-components=1 && rm /tmp/tool.tar.gz\nCOPY launch.sh /opt/tool/bin\nCOPY tool.ini /opt/tool\nRUN chmod +x /opt/tool/bin/launch.sh\n"
    );
    let i = import(&[
        ("Dockerfile", &df),
        ("launch.sh", "echo launch\n"),
        ("tool.ini", "[tool]\n"),
    ]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(r#"file launch.sh to="/opt/tool/bin/""#),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains(r#"file tool.ini to="/opt/tool/""#),
        "{}",
        i.manifest
    );
}

#[test]
fn a_relative_symbolic_link_is_resolved_against_its_directory() {
    let df = format!(
        "{BASE}USER root\nRUN ln -s libtoy.so.6 /usr/lib/x86_64-linux-gnu/libtoy.so.5\nRUN ln -sf ./bin/toy /opt/toy\nRUN ln -s ../lib/toy /usr/local/bin/toy\nWORKDIR /opt/links\nRUN ln -s /srv/data /opt/links\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(
            r#"symlink "/usr/lib/x86_64-linux-gnu/libtoy.so.5" to="/usr/lib/x86_64-linux-gnu/libtoy.so.6""#
        ),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains(r#"symlink "/opt/toy" to="/opt/bin/toy""#),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr
            .contains("Dockerfile:3: changed: the relative link target `libtoy.so.6`"),
        "{}",
        i.stderr
    );
    // `..` goes up from where the link really is, which a path through another link (a
    // merged `/usr`) makes something else than the path written: it stays a block.
    assert!(
        nodes.contains("RUN ln -s ../lib/toy /usr/local/bin/toy"),
        "{}",
        i.manifest
    );
    // `ln` puts a link at a directory inside it; `symlink` would replace the directory.
    assert!(
        nodes.contains("RUN ln -s /srv/data /opt/links"),
        "{}",
        i.manifest
    );
}
