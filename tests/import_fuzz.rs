//! Property test of `jcx import`: Dockerfile-ish input (real instructions and broken ones,
//! continuations, heredocs, comments, odd whitespace, CRLF, arbitrary printable lines), with
//! requirements files and workflows, either fails with a clean error or gives a manifest that
//! `jcx compile` accepts and renders. Never a panic.

use std::path::Path;

use jcx::Timings;
use jcx::error::Error;
use proptest::prelude::*;

const LINES: &[&str] = &[
    "FROM quay.io/jupyter/base-notebook:python-3.11",
    "FROM $BASE",
    "ARG BASE=quay.io/jupyter/scipy-notebook:2024-05-27",
    "FROM golang:1.22 AS build",
    "from ubuntu",
    "FROM build",
    "FROM --platform=linux/amd64 quay.io/jupyter/minimal-notebook:latest AS final",
    "RUN apt-get update && apt-get install -y wget curl && rm -rf /var/lib/apt/lists/*",
    "RUN apt-get install -y Bad_Pkg ./x.deb",
    "RUN mamba install -y numpy 'pandas>=2' && mamba clean -afy",
    "RUN mamba install -c pytorch -c nvidia pytorch",
    "RUN pip install torch==2.2.1 torchvision --index-url https://download.pytorch.org/whl/cu118",
    "RUN pip install torch==9.9.9 --index-url https://download.pytorch.org/whl/cu117",
    "RUN pip install --pre 'bad req ===' \"x @ file:///tmp/x\"",
    "COPY requirements.txt noop.txt /tmp/pip-tmp/",
    "RUN pip install -r /tmp/pip-tmp/requirements.txt",
    "RUN if [ -f /tmp/pip-tmp/requirements.txt ]; then pip install -r /tmp/pip-tmp/requirements.txt; fi",
    "RUN echo a \\",
    "  && echo b \\",
    "    # a comment inside",
    "RUN a `",
    "# comment",
    "# syntax=docker/dockerfile:1",
    "# escape=`",
    "# check=skip=all",
    "",
    "   ",
    "\t",
    "USER root",
    "USER ${NB_UID}",
    "USER nobody:nogroup",
    "WORKDIR /opt/work",
    "WORKDIR relative",
    "ENV A=1 B=\"two words\"",
    "ENV X y z",
    "ENV HOME=/x",
    "ENV NB_UID=0",
    "ENV 1BAD=x",
    "LABEL org.example.a=c",
    "LABEL maintainer=me other",
    "LABEL x=\"${{ y }}\"",
    "ARG Y=2",
    "ARG TARGETARCH",
    "ARG BASE_IMAGE=x",
    "COPY --chown=1000:100 file.txt /etc/x",
    "COPY --chown=nobody file.txt /etc/y",
    "COPY file.txt ${HOME}/",
    "COPY missing.txt /etc/z",
    "COPY . /app",
    "COPY ../x /y",
    "COPY *.txt /z/",
    "COPY --from=build /go/bin/x /usr/local/bin/x",
    "COPY --from=ghcr.io/x/y:1 /x /x",
    "COPY <<EOF /usr/local/bin/before-notebook.d/10-x.sh",
    "COPY <<EOF /usr/local/bin/start-notebook.d/bad name",
    "echo hi",
    "EOF",
    "RUN <<EOF",
    "RUN <<-'EOT' bash",
    "\tEOT",
    "ADD https://example.org/y /z",
    "ADD --checksum=sha256:a2c097180dd884a8d50c956ee16a9cec070f30a7947cf4ebf87d5f36213e9ed7 https://example.org/t /usr/local/bin/t",
    "ADD --checksum=sha256:zz http://example.org/t /t",
    "ADD file.txt.tar.gz /opt/",
    "CMD [\"start-notebook.py\"]",
    "EXPOSE 8888",
    "HEALTHCHECK NONE",
    "ONBUILD RUN x",
    "ONBUILD FROM x",
    "STOPSIGNAL SIGTERM",
    "VOLUME /data",
    "MAINTAINER me",
    "SHELL [\"/bin/sh\", \"-c\"]",
    "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]",
    "RUN curl -fsSL https://code-server.dev/install.sh | sh -s -- --version 4.22.1",
    "RUN curl -fOL https://github.com/coder/code-server/releases/download/v4.22.1/code-server_4.22.1_amd64.deb && dpkg -i code-server_4.22.1_amd64.deb",
    "RUN code-server --install-extension ms-python.python",
    "RUN L=\"a.b c.d\" && for e in $L; do code-server --install-extension $e; done",
    "RUN for e in; do :; done",
    "RUNN x",
    "RUN ${{ x }}",
    "RUN echo \"\"\"#",
    "RUN echo '\"\"\"##' && echo \"}\"",
    "RUN echo héllo \u{202e}",
    "RUN echo \u{7} bell",
    "RUN --mount=type=secret,id=x cat /run/secrets/x",
    "RUN --mount=type=bind,source=requirements.txt,target=/r.txt pip install -r /r.txt",
    "RUN --network=none true",
    "RUN [\"a\", 1]",
    "RUN [\"bash\", \"-c\", \"echo json\"]",
    "RUN set -e; cd /tmp; wget https://example.org/x",
    "RUN fix-permissions \"${CONDA_DIR}\" && rm -rf /home/$NB_USER/.cache",
    "RUN export X=1 && echo $X | tee /x",
    "RUN curl -fsSL -o /tmp/t https://example.org/t && echo \"a2c097180dd884a8d50c956ee16a9cec070f30a7947cf4ebf87d5f36213e9ed7  /tmp/t\" | sha256sum -c - && install -m 755 /tmp/t /usr/local/bin/t && rm /tmp/t",
    "RUN wget -O /tmp/a.tgz https://example.org/a.tgz && sha256sum -c <<< \"a2c097180dd884a8d50c956ee16a9cec070f30a7947cf4ebf87d5f36213e9ed7 /tmp/a.tgz\" && mkdir -p /opt/a && tar -xzf /tmp/a.tgz -C /opt/a",
    "RUN curl -o x.deb https://example.org/x.deb && echo \"a2c097180dd884a8d50c956ee16a9cec070f30a7947cf4ebf87d5f36213e9ed7 x.deb\" | sha256sum --check && dpkg -i x.deb && mv x.deb /home/jovyan/x",
    // Build stages, Jupyter, pip/conda and reserved variables (the import round of #12).
    "FROM docker.io/library/debian:bookworm-slim AS tools",
    "FROM tools AS more",
    "FROM alpine:3.20 AS small",
    "COPY --from=tools /out/ /usr/local/bin/",
    "COPY --from=more --chown=${NB_UID}:${NB_GID} /x ${HOME}/x",
    "COPY --from=0 /a /b",
    "COPY --from=ghcr.io/astral-sh/uv:0.5.11 /uv /uvx /bin/",
    "COPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/",
    "COPY --from=tools $X /y",
    "RUN jupyter labextension disable @jupyterlab/extensionmanager-extension",
    "RUN jupyter serverextension enable --py --sys-prefix x.y && jupyter server extension disable z",
    "RUN jupyter kernelspec remove -f python3 && jupyter kernelspec list",
    "RUN echo '{\"ServerApp\":{\"default_url\":\"/lab\",\"x\":[]}}' > /opt/conda/etc/jupyter/jupyter_server_config.d/a.json",
    "RUN echo '{\"a:b\":{\"c\":[1,{\"d\":null}]}}' > /opt/conda/share/jupyter/lab/settings/overrides.json",
    "RUN echo '{\"bad\": ' > /opt/conda/share/jupyter/lab/settings/overrides.json",
    "RUN echo \"c.ServerApp.x = ['a', (1, 2)]\" >> /etc/jupyter/jupyter_server_config.py",
    "RUN printf 'c.A.b = True\\nc.lower.c = r\"x\"\\n' >> /etc/jupyter/jupyter_notebook_config.py",
    "RUN uv pip install --system 'polars==1.9' bad==",
    "RUN mamba env update -n base -f /tmp/environment.yml",
    "COPY environment.yml /tmp/environment.yml",
    "RUN if [ -n \"$Y\" ]; then pip install $Y; else echo none; fi",
    "RUN if [ ! \"$Y\" = 2 ]; then apt-get upgrade -y; fi",
    "ENV NB_USER=grader NB_UID=10001",
    "ENV HOME=/home/${NB_USER}",
    "ARG NB_GID=100",
    "RUN useradd -u ${NB_UID} ${NB_USER}",
    "COPY file.txt /usr/local/bin/before-notebook.d/",
];

const REQUIREMENTS: &[&str] = &[
    "--index-url https://download.pytorch.org/whl/cu118torch==1.12.0+cu116",
    "--index-url https://pypi.org/simple",
    "--index-url http://mirror.example.org/simple",
    "-i https://mirrors.example.cn/pypi/simple",
    "--extra-index-url https://download.pytorch.org/whl/cpu",
    "torch==2.2.1",
    "torchvision==0.17.1",
    "torch>=2",
    "torch==2.2.1+cu121",
    "numpy",
    "git+https://github.com/huggingface/peft",
    "git+https://example.org/",
    "-e .",
    "-e git+https://github.com/x/y#egg=y",
    "x==1 --hash=sha256:00",
    "-r other.txt",
    "-r requirements.txt",
    "--pre",
    "# comment",
    "",
    "bad req ===",
    "${VAR}",
    "pandas \\",
    "  >=2",
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(LINES).prop_map(str::to_string),
        1 => "[ -~\t]{0,40}",
        1 => proptest::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect()),
    ]
}

fn requirements() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::collection::vec(
            prop_oneof![
                5 => proptest::sample::select(REQUIREMENTS).prop_map(str::to_string),
                1 => "[ -~]{0,30}",
            ],
            0..10,
        )
        .prop_map(|l| l.join("\n")),
    )
}

fn workflow() -> impl Strategy<Value = Option<String>> {
    let tag = "[a-z0-9{}$:/._-]{0,30}";
    proptest::option::of((tag, 0..3usize).prop_map(|(tag, shape)| match shape {
        0 => format!(
            "on:\n  push:\n    branches: [main]\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v5\n        with:\n          context: src/app\n          tags: {tag}\n"
        ),
        1 => format!(
            "on: push\njobs:\n  b:\n    steps:\n      - uses: docker/login-action@v3\n        with:\n          registry: {tag}\n          username: ${{{{ secrets.U }}}}\n      - uses: docker/build-push-action@v5\n        with:\n          file: src/app/Dockerfile\n          platforms: linux/arm64,linux/s390x\n          tags: ghcr.io/lab/{tag}:x\n"
        ),
        _ => format!("on: [push\njobs: {tag}\n"),
    }))
}

fn check(dir: &Path) {
    match jcx::import::import(dir) {
        Ok(imported) => {
            let source = jcx::source::Source {
                path: dir.join("apps.kdl"),
                name: "apps.kdl".into(),
                text: imported.text.clone(),
            };
            let loaded =
                jcx::load_source(source, dir, &mut Timings::default()).unwrap_or_else(|e| {
                    panic!(
                        "import wrote a manifest jcx refuses:\n{}\n{e:?}",
                        imported.text
                    )
                });
            jcx::render_all(&loaded, &mut Timings::default()).unwrap_or_else(|e| {
                panic!(
                    "import wrote a manifest that does not render:\n{}\n{e:?}",
                    imported.text
                )
            });
            assert_eq!(
                jcx::edit::format_text(&imported.text),
                imported.text,
                "not formatted"
            );
        }
        Err(Error::Usage { message, .. }) => {
            assert!(!message.contains("bug in jcx import"), "{message}");
        }
        Err(e) => panic!("import failed with an unexpected error: {e:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn import_errs_cleanly_or_writes_a_manifest_that_compiles(
        lines in proptest::collection::vec(line(), 0..30),
        crlf in any::<bool>(),
        reqs in requirements(),
        wf in workflow(),
        second in proptest::option::of(proptest::collection::vec(line(), 0..10)),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("src/app");
        std::fs::create_dir_all(&app).unwrap();
        let sep = if crlf { "\r\n" } else { "\n" };
        std::fs::write(app.join("Dockerfile"), lines.join(sep)).unwrap();
        std::fs::write(app.join("file.txt"), "x").unwrap();
        std::fs::write(app.join("noop.txt"), "").unwrap();
        std::fs::write(
            app.join("environment.yml"),
            "channels: [conda-forge]\ndependencies:\n  - numpy\n",
        )
        .unwrap();
        if let Some(r) = reqs {
            std::fs::write(app.join("requirements.txt"), r).unwrap();
        }
        if let Some(w) = wf {
            std::fs::create_dir_all(tmp.path().join(".github/workflows")).unwrap();
            std::fs::write(tmp.path().join(".github/workflows/app.yaml"), w).unwrap();
        }
        if let Some(s) = second {
            let other = tmp.path().join("src/other");
            std::fs::create_dir_all(&other).unwrap();
            let mut text = lines.join(sep);
            text.push_str(sep);
            text.push_str(&s.join(sep));
            std::fs::write(other.join("Dockerfile"), text).unwrap();
        }
        check(tmp.path());
    }
}

/// The Dockerfiles of the import fixtures, each with the directory of its repository.
fn fixture_dockerfiles() -> Vec<(std::path::PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import");
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "Dockerfile") {
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The fixtures' Dockerfiles with lines deleted, duplicated, swapped or cut in two.
    #[test]
    fn mutated_fixture_dockerfiles_import_or_err_cleanly(
        pick in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec((0..4u8, any::<proptest::sample::Index>(), any::<proptest::sample::Index>()), 1..8),
    ) {
        let all = fixture_dockerfiles();
        let (path, text) = &all[pick.index(all.len())];
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (op, a, b) in edits {
            if lines.is_empty() {
                break;
            }
            let (i, j) = (a.index(lines.len()), b.index(lines.len()));
            match op {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(j, l); }
                2 => lines.swap(i, j),
                _ => { let l = lines[i].clone(); let cut = l.char_indices().nth(j % (l.chars().count() + 1)).map_or(l.len(), |c| c.0); lines[i] = l[..cut].to_string(); }
            }
        }
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("src/app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("Dockerfile"), lines.join("\n")).unwrap();
        if let Some(dir) = path.parent() {
            for f in ["requirements.txt", "noop.txt"] {
                if dir.join(f).exists() {
                    std::fs::copy(dir.join(f), app.join(f)).unwrap();
                }
            }
        }
        check(tmp.path());
    }
}
