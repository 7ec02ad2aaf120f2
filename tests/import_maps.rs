//! `jcx import` maps what the language can express (issue #12), through the binary in small
//! hand-made repositories written into temporary directories: build stages, Jupyter commands,
//! pip and conda beyond the plain installs, reserved variables, and the import bugs found on
//! real repositories (docs/coverage.md). Every imported manifest must also compile.

mod support;

use std::fs;

use support::{Imported, import};

const BASE: &str = "FROM quay.io/jupyter/base-notebook:2024-12-02\n";

#[test]
fn the_summary_counts_what_the_manifest_holds() {
    // jcx refuses, after the walk counted them, a pip requirement that is a local wheel (it
    // becomes a block) and a block holding `${{` (it becomes a comment): the summary follows
    // both (it used to count them as mapped and as a block).
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir /tmp/local.whl\nRUN echo '${{{{ x }}}}' > /tmp/x\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    // The inline file jcx refuses falls back to a block writing it, refused too: a comment.
    assert!(i.manifest.contains("//     ${{ x }}"), "{}", i.manifest);
    assert!(i.nodes().contains("/tmp/local.whl"), "{}", i.manifest);
    assert_eq!(i.counts("Dockerfile"), (1, 1, 1), "{}", i.stdout);
}

#[test]
fn a_hook_without_a_number_is_named_to_keep_its_place() {
    let df = format!("{BASE}COPY create-ssh-key.sh /usr/local/bin/before-notebook.d/\n");
    let i = import(&[
        ("Dockerfile", &df),
        (
            "create-ssh-key.sh",
            "ssh-keygen -q -N '' -f ~/.ssh/id_ed25519\n",
        ),
    ]);
    assert!(
        i.nodes()
            .contains(r#"hook before-notebook "90-create-ssh-key.sh" file=create-ssh-key.sh"#),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr
            .contains("the hook `create-ssh-key.sh` is named `90-create-ssh-key.sh`"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (2, 0, 0));
}

#[test]
fn a_matrix_build_context_is_resolved() {
    // The workflow builds both images with the repository root as context: their COPY
    // sources are paths of the root, not of the Dockerfiles' directories.
    let wf = r#"name: build
on:
  push:
    branches: [main]
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        image:
          - name: one
            context: .
            file: one/Dockerfile
          - name: two
            context: .
            file: two/Dockerfile
    steps:
      - uses: actions/checkout@v4
      - name: Build (pull requests)
        if: github.event_name == 'pull_request'
        uses: docker/build-push-action@v6
        with:
          context: ${{ matrix.image.context }}
          file: ${{ matrix.image.file }}
          push: false
      - uses: docker/login-action@v3
        with:
          username: ${{ secrets.HUB_USER }}
          password: ${{ secrets.HUB_TOKEN }}
      - uses: docker/build-push-action@v6
        with:
          context: ${{ matrix.image.context }}
          file: ${{ matrix.image.file }}
          push: true
          tags: docker.io/lab/jupyter-${{ matrix.image.name }}:latest
"#;
    let one = format!("{BASE}COPY scripts/setup.sh /usr/local/bin/setup.sh\n");
    let two = format!("{BASE}COPY scripts/setup.sh /opt/setup.sh\n");
    let i = import(&[
        (".github/workflows/build.yml", wf),
        ("one/Dockerfile", &one),
        ("two/Dockerfile", &two),
        ("scripts/setup.sh", "echo set up\n"),
    ]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(r#"file "scripts/setup.sh" to="/usr/local/bin/setup.sh""#),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains(r#"file "scripts/setup.sh" to="/opt/setup.sh""#),
        "{}",
        i.manifest
    );
    assert!(nodes.contains("image-name jupyter-one"), "{}", i.manifest);
    assert!(
        i.stderr.contains("a build of app `two` that does not push"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("one/Dockerfile"), (2, 0, 0));
}

#[test]
fn reserved_variables_are_decided_one_by_one() {
    // A custom user (kept as `env`), the stacks' own HOME (nothing to do), a HOME jcx cannot
    // set (a comment), the user creation that needs the new values before jcx's ENV lines (a
    // comment), and the lines that stand without them (mapped, as before, and the `chmod`
    // after the user creation: `permissions`).
    let df = format!(
        "{BASE}USER root
ENV NB_USER=grader NB_UID=10001
ENV HOME=/home/${{NB_USER}}
RUN useradd --uid ${{NB_UID}} ${{NB_USER}} && \\
    chmod 600 /etc/shadow
ENV CONDA_DIR=/srv/conda
RUN echo \"$CONDA_DIR\" > /etc/conda-dir
RUN apt-get update && apt-get install -y --no-install-recommends git
RUN echo hello > /etc/motd
RUN echo \"${{NB_USER}}\" > /etc/notebook-user
"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    assert!(nodes.contains("NB_USER grader"), "{}", i.manifest);
    assert!(nodes.contains("NB_UID \"10001\""), "{}", i.manifest);
    assert!(!nodes.contains("HOME"), "{}", i.manifest);
    assert!(
        i.manifest.contains("// ENV CONDA_DIR=\"/srv/conda\""),
        "{}",
        i.manifest
    );
    // The `chmod` after the user creation stands without the new values: `permissions`.
    assert!(
        nodes.contains("permissions \"/etc/shadow\" mode=\"0600\""),
        "{}",
        i.manifest
    );
    assert!(
        i.manifest.contains("// RUN echo \"$CONDA_DIR\""),
        "{}",
        i.manifest
    );
    // The line that stands without them is mapped (an inline file); the one that reads
    // NB_USER after the package step would see `jovyan`: a comment.
    assert!(
        nodes.contains("file to=\"/etc/motd\" owner=root content=hello"),
        "{}",
        i.manifest
    );
    assert!(
        i.manifest
            .contains("// RUN echo \"${NB_USER}\" > /etc/notebook-user"),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr
            .contains("jcx refuses `ENV CONDA_DIR=/srv/conda` (jcx::reserved_env)"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (7, 0, 4), "{}", i.stdout);
}

#[test]
fn build_arguments_expand_as_the_shell_does() {
    // An unquoted empty expansion is no word at all; a list is split into words; `WORKDIR
    // $WORKDIR` takes the build argument's value.
    let df = format!(
        "{BASE}ARG EXTRA=\"\"\nARG TOOLS=\"git vim\"\nARG WORKDIR=/srv/work\nUSER root\nRUN apt-get update && apt-get install -y --no-install-recommends $TOOLS\nUSER ${{NB_USER}}\nRUN pip install --no-cache-dir numpy $EXTRA\nWORKDIR $WORKDIR\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    assert!(nodes.contains("apt git vim"), "{}", i.manifest);
    assert!(nodes.contains("- numpy"), "{}", i.manifest);
    assert!(nodes.contains("workdir \"/srv/work\""), "{}", i.manifest);
    assert!(!nodes.contains("dockerfile"), "{}", i.manifest);
}

#[test]
fn build_stages_become_stages_and_copy_from() {
    let df = "ARG DEBIAN=bookworm-slim
FROM docker.io/library/debian:${DEBIAN} AS build
ARG VERSION=1.2
ENV CFLAGS=-O2
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY tools/hello.c ./
RUN mkdir -p /out && \\
    gcc $CFLAGS -DVERSION=\"$VERSION\" -o /out/hello hello.c

FROM build AS docs
RUN mkdir -p /out/doc && echo hello > /out/doc/README

FROM docker.io/library/debian:bookworm-slim AS unused
RUN echo nothing

FROM quay.io/jupyter/base-notebook:2024-12-02
COPY --from=ghcr.io/astral-sh/uv:0.5.11 /uv /uvx /bin/
COPY --from=ghcr.io/astral-sh/ruff:latest /ruff /bin/
COPY --from=build /out/hello /usr/local/bin/hello
COPY --from=docs --chown=${NB_UID}:${NB_GID} /out/doc/ /home/jovyan/doc/
RUN hello > /tmp/hello.txt
";
    let i = import(&[
        ("Dockerfile", df),
        ("tools/hello.c", "int main(void) { return 0; }\n"),
    ]);
    let nodes = i.nodes();
    for want in [
        "stage build {",
        r#"base "docker.io/library/debian:bookworm-slim""#,
        "VERSION \"1.2\"",
        "CFLAGS -O2",
        r#"workdir "/src""#,
        "apt gcc libc6-dev",
        r#"file "tools/hello.c" to="/src/hello.c""#,
        "gcc $CFLAGS",
        "stage docs {",
        "base stage=build",
        "stage uv {",
        r#"base "ghcr.io/astral-sh/uv:0.5.11""#,
        r#"copy-from uv "/uv" to="/bin/" owner=root"#,
        r#"copy-from uv "/uvx" to="/bin/" owner=root"#,
        r#"copy-from build "/out/hello" to="/usr/local/bin/hello" owner=root"#,
        r#"copy-from docs "/out/doc/" to="/home/jovyan/doc/""#,
        // Unpinned: jcx's stages need a pinned image, so the copy stays a block.
        "COPY --from=ghcr.io/astral-sh/ruff:latest /ruff /bin/",
    ] {
        assert!(nodes.contains(want), "no `{want}` in\n{}", i.manifest);
    }
    assert!(!nodes.contains("stage unused"), "{}", i.manifest);
    assert!(i.manifest.contains("// RUN echo nothing"), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("the image `ghcr.io/astral-sh/ruff:latest` is not pinned"),
        "{}",
        i.stderr
    );
    // The block that runs the copied program comes after the copies.
    let generated = fs::read_to_string(
        i.dir
            .path()
            .join(format!("src/{}/Dockerfile", app_name(&i))),
    )
    .unwrap();
    let copy = generated.find("COPY --from=jcx-stage-build").unwrap();
    let run = generated.find("RUN hello > /tmp/hello.txt").unwrap();
    assert!(copy < run, "{generated}");
    assert_eq!(i.counts("Dockerfile"), (15, 2, 2), "{}", i.stdout);
}

/// The app name import gave the temporary directory's top Dockerfile.
fn app_name(i: &Imported) -> String {
    let line = i.manifest.lines().find(|l| l.starts_with("app ")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .trim_matches('"')
        .to_string()
}

#[test]
fn jupyter_commands_and_config_writes_become_jupyter() {
    let df = format!(
        r#"{BASE}RUN jupyter labextension disable @jupyterlab/extensionmanager-extension && \
    jupyter server extension enable --sys-prefix jupyter_server_proxy && \
    jupyter serverextension enable --py --sys-prefix dask_labextension && \
    jupyter labextension list
RUN echo '{{"ServerApp":{{"default_url":"/lab/tree/welcome.ipynb","terminado_settings":{{"shell_command":["/bin/bash"]}}}}}}' > /opt/conda/etc/jupyter/jupyter_server_config.d/welcome.json
RUN LAB=/opt/conda/share/jupyter/lab/settings && mkdir -p "$LAB" && \
    echo '{{"@jupyterlab/apputils-extension:themes":{{"theme":"JupyterLab Dark"}}}}' > "$LAB/overrides.json"
RUN printf '\
c.ContentsManager.allow_hidden = True\n\
c.FileContentsManager.delete_to_trash = False\n' >> /etc/jupyter/jupyter_server_config.py
RUN jupyter kernelspec remove -f python3
RUN echo "c.ServerApp.tornado_settings = {{'headers': os.environ}}" >> /etc/jupyter/jupyter_server_config.py
RUN jupyter nbextension enable --py widgetsnbextension --sys-prefix
"#
    );
    let i = import(&[("Dockerfile", &df)]);
    let want = r#"    jupyter {
        server {
            ServerApp {
                jpserver_extensions {
                    jupyter_server_proxy #true
                    dask_labextension #true
                }
                default_url "/lab/tree/welcome.ipynb"
                terminado_settings {
                    shell_command {
                        - "/bin/bash"
                    }
                }
            }
            ContentsManager {
                allow_hidden #true
            }
            FileContentsManager {
                delete_to_trash #false
            }
        }
        lab-settings "@jupyterlab/apputils-extension:themes" {
            theme "JupyterLab Dark"
        }
        extension "@jupyterlab/extensionmanager-extension" enabled=#false
    }"#;
    assert!(i.manifest.contains(want), "{}", i.manifest);
    let nodes = i.nodes();
    assert!(nodes.contains("remove-kernel python3"), "{}", i.manifest);
    // Not literal, and the classic notebook's nbextension: blocks.
    assert!(
        nodes.contains("tornado_settings = {'headers': os.environ}"),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains("RUN jupyter nbextension enable"),
        "{}",
        i.manifest
    );
    assert!(nodes.contains(r#"mkdir -p "$LAB""#), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("`jupyter serverextension enable` configured the classic notebook server"),
        "{}",
        i.stderr
    );
    // The generated JSON holds what the commands wrote.
    let app = app_name(&i);
    let server = fs::read_to_string(
        i.dir
            .path()
            .join(format!("src/{app}/jupyter_server_config.json")),
    )
    .unwrap();
    assert!(
        server.contains(r#""jupyter_server_proxy": true"#),
        "{server}"
    );
    assert!(
        server.contains(r#""ensure_native_kernel": false"#),
        "{server}"
    );
    assert_eq!(i.counts("Dockerfile"), (11, 3, 0), "{}", i.stdout);
}

#[test]
fn uv_pip_and_environment_files_map_to_pip_and_mamba() {
    let df = format!(
        "{BASE}COPY environment.yml /tmp/environment.yml
RUN mamba env update --name base -f /tmp/environment.yml && mamba clean -afy
COPY other.yml /tmp/other.yml
RUN conda env update -f /tmp/other.yml
RUN uv pip install --system --no-cache \"polars==1.9.0\" rich
RUN conda install -Sy -c bioconda samtools=1.20
"
    );
    let env = "channels:\n  - conda-forge\ndependencies:\n  - numpy=1.26\n  - pip:\n      - rich\n";
    let other = "name: other\ndependencies:\n  - scipy\n";
    let i = import(&[
        ("Dockerfile", &df),
        ("environment.yml", env),
        ("other.yml", other),
    ]);
    let nodes = i.nodes();
    assert!(
        nodes.contains("mamba \"bioconda::samtools=1.20\""),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains("mamba environment=environment.yml"),
        "{}",
        i.manifest
    );
    assert!(nodes.contains("- \"polars==1.9.0\""), "{}", i.manifest);
    assert!(nodes.contains("- rich"), "{}", i.manifest);
    // The file conda would install as its own environment `other`: a block, with its copy.
    assert!(
        nodes.contains("RUN conda env update -f /tmp/other.yml"),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains("file other.yml to=\"/tmp/other.yml\" owner=root"),
        "{}",
        i.manifest
    );
    assert!(!nodes.contains("/tmp/environment.yml"), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("conda updates the environment `name: other`"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (6, 1, 0), "{}", i.stdout);
}

#[test]
fn apt_upgrade_is_dropped_with_a_warning() {
    let df = format!(
        "{BASE}USER root\nRUN apt-get update && apt-get upgrade --yes && apt-get install -y --no-install-recommends git && apt-get clean\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    assert!(i.nodes().contains("apt git"), "{}", i.manifest);
    assert!(!i.nodes().contains("dockerfile"), "{}", i.manifest);
    assert!(
        i.stderr.contains("`apt-get upgrade --yes` is dropped"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (3, 0, 0), "{}", i.stdout);
}

#[test]
fn a_test_of_known_build_arguments_is_decided() {
    let df = format!(
        "{BASE}ARG EXTRA_PIP=\"\"\nARG WITH_GIT=true\nUSER root
RUN if [ \"$WITH_GIT\" = true ]; then apt-get update && apt-get install -y --no-install-recommends git; fi
USER ${{NB_UID}}
RUN pip install --no-cache-dir rich && \\
    if [ -n \"$EXTRA_PIP\" ]; then pip install $EXTRA_PIP; fi && \\
    uv cache clean && npm cache clean --force
RUN if [ -n \"$UNKNOWN\" ]; then echo \"$UNKNOWN\" > /tmp/x; fi
"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    assert!(nodes.contains("apt git"), "{}", i.manifest);
    assert!(nodes.contains("- rich"), "{}", i.manifest);
    // A variable import does not know: kept.
    assert!(
        nodes.contains("RUN if [ -n \"$UNKNOWN\" ]"),
        "{}",
        i.manifest
    );
    assert!(!nodes.contains("EXTRA_PIP"), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("`if [ -n \"$EXTRA_PIP\" ]` is false with the values jcx import read"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (9, 1, 0), "{}", i.stdout);
}

#[test]
fn log_messages_maintainer_and_later_labels() {
    let df = format!(
        "{BASE}MAINTAINER Lab <lab@example.org>\nLABEL org.opencontainers.image.title=base\nUSER root\nRUN echo \"installing git\" && eatmydata apt-get install -y --no-install-recommends git\nLABEL org.opencontainers.image.title=teacher\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    assert!(
        nodes.contains("maintainer \"Lab <lab@example.org>\""),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains("org.opencontainers.image.title teacher"),
        "{}",
        i.manifest
    );
    assert!(!nodes.contains("image.title base"), "{}", i.manifest);
    assert!(nodes.contains("apt git"), "{}", i.manifest);
    assert!(!nodes.contains("dockerfile"), "{}", i.manifest);
    assert_eq!(i.counts("Dockerfile"), (6, 0, 0), "{}", i.stdout);
}

#[test]
fn a_stage_jcx_refuses_is_a_comment_with_its_copies() {
    // The stage copies a file the repository does not have (jcx::missing_file): the stage
    // becomes a comment, its copy too; the image stage stays.
    let df = "FROM docker.io/library/debian:bookworm-slim AS build
COPY missing.c /src/
RUN gcc -o /out/x /src/missing.c

FROM quay.io/jupyter/base-notebook:2024-12-02
COPY --from=build /out/x /usr/local/bin/x
COPY --from=ghcr.io/astral-sh/uv:0.5.11 /uv /bin/uv
";
    let i = import(&[("Dockerfile", df)]);
    let nodes = i.nodes();
    assert!(!nodes.contains("stage build"), "{}", i.manifest);
    assert!(
        i.manifest.contains("// COPY missing.c /src/"),
        "{}",
        i.manifest
    );
    assert!(
        i.manifest.contains("// copy-from build \"/out/x\""),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains("copy-from uv \"/uv\" to=\"/bin/uv\" owner=root"),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr.contains("jcx refuses `stage build`"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (2, 0, 4), "{}", i.stdout);
}

#[test]
fn a_stage_that_runs_nothing_needs_no_shell() {
    // A distroless or Alpine image whose files are copied: a stage with only its base. One
    // that runs commands on Alpine stays a comment (jcx's stages run bash).
    let df = "FROM docker.io/library/alpine:3.20 AS certs
RUN apk add --no-cache ca-certificates

FROM quay.io/jupyter/base-notebook:2024-12-02
COPY --from=docker.io/library/busybox:1.36 /bin/busybox /usr/local/bin/busybox
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/extra.crt
";
    let i = import(&[("Dockerfile", df)]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(r#"base "docker.io/library/busybox:1.36""#),
        "{}",
        i.manifest
    );
    assert!(!nodes.contains("stage certs"), "{}", i.manifest);
    assert!(i.stderr.contains("jcx's stages run bash"), "{}", i.stderr);
}

#[test]
fn sources_edited_to_a_mirror_become_the_apt_mirror() {
    let edit = format!(
        "{BASE}USER root\nRUN sed -i 's|http://archive.ubuntu.com/ubuntu/|https://mirror.example.org/ubuntu/|g' /etc/apt/sources.list.d/ubuntu.sources && \\\n    sed -i 's|http://security.ubuntu.com/ubuntu/|https://mirror.example.org/ubuntu/|g' /etc/apt/sources.list.d/ubuntu.sources\nRUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*\n"
    );
    let plain = format!(
        "{BASE}USER root\nRUN apt-get update && apt-get install -y --no-install-recommends vim\n"
    );
    let i = import(&[("src/a/Dockerfile", &edit), ("src/b/Dockerfile", &plain)]);
    assert!(
        i.nodes()
            .contains("mirrors {\n    apt \"https://mirror.example.org/ubuntu\"\n}"),
        "{}",
        i.manifest
    );
    assert!(!i.nodes().contains("dockerfile"), "{}", i.manifest);
    // Both archives were edited: no word about security; the other app gets the mirror too.
    assert!(!i.stderr.contains("security.ubuntu.com"), "{}", i.stderr);
    assert!(
        i.stderr
            .contains("1 of the 2 Dockerfiles edited their sources to it"),
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("src/a/Dockerfile"), (5, 0, 0), "{}", i.stdout);
    let wf = fs::read_to_string(i.dir.path().join(".github/workflows/build-push-b.yaml")).unwrap();
    assert!(
        wf.contains("APT_MIRROR=https://mirror.example.org/ubuntu"),
        "{wf}"
    );
    // An edit that is not the whole archive's URL stays as it was.
    let other = format!(
        "{BASE}USER root\nRUN sed -i 's|http://archive.ubuntu.com/ubuntu/|mirror.example.org|g' /etc/apt/sources.list\n"
    );
    let i = import(&[("Dockerfile", &other)]);
    assert!(!i.nodes().contains("mirrors"), "{}", i.manifest);
    assert!(i.nodes().contains("dockerfile"), "{}", i.manifest);
}

#[test]
fn downloads_without_a_checksum_are_written_unverified() {
    let df = format!(
        "{BASE}USER root\nRUN mkdir -p /opt/t && \\\n    curl -fsSL https://example.org/t/t-full.jar -o /opt/t/t-full.jar && \\\n    curl -fsSL https://example.org/t/t -o /opt/t/t && \\\n    chmod +x /opt/t/t\nRUN wget -q https://example.org/r/rs-1.0-amd64.deb && gdebi -n rs-1.0-amd64.deb && rm -f rs-1.0-amd64.deb\nADD https://example.org/data.csv /opt/data/\nUSER ${{NB_UID}}\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    for node in [
        r#"download t "https://example.org/t/t-full.jar" unverified=#true to="/opt/t/t-full.jar" mode="0644""#,
        r#"download t-2 "https://example.org/t/t" unverified=#true to="/opt/t/t" mode="0755""#,
        r#"download rs "https://example.org/r/rs-1.0-amd64.deb" unverified=#true as=deb"#,
        r#"download data "https://example.org/data.csv" unverified=#true to="/opt/data/data.csv" mode="0600""#,
    ] {
        assert!(i.nodes().contains(node), "{node}\n{}", i.manifest);
    }
    assert!(!i.nodes().contains("dockerfile"), "{}", i.manifest);
    // jcx's own warning, once per download, when import checks what it wrote.
    assert_eq!(
        i.stderr.matches("jcx::unchecked_download").count(),
        4,
        "{}",
        i.stderr
    );
    assert_eq!(i.counts("Dockerfile"), (9, 0, 0), "{}", i.stdout);
}

#[test]
fn log_messages_stay_only_with_the_command_they_announce() {
    let df = format!(
        "{BASE}USER root\nARG V=1\nRUN echo \"Installing git for $V\" && \\\n    apt-get update && apt-get install -y --no-install-recommends git && \\\n    echo \"Building ${{V}}\" && \\\n    make -C /opt/src install\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    assert!(i.nodes().contains("apt git"), "{}", i.manifest);
    assert!(
        i.nodes()
            .contains("RUN echo \"Building ${V}\" && \\\n            make -C /opt/src install"),
        "{}",
        i.manifest
    );
    assert!(!i.nodes().contains("Installing git"), "{}", i.manifest);
}

#[test]
fn a_fetched_wheel_becomes_a_requirement_with_its_url() {
    let df = format!(
        "{BASE}RUN curl -fL -o /tmp/tm-0.1.0-py3-none-any.whl https://example.org/r/tm-0.1.0-py3-none-any.whl && \\\n    pip install --no-cache-dir /tmp/tm-0.1.0-py3-none-any.whl && \\\n    rm -f /tmp/tm-0.1.0-py3-none-any.whl\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    assert!(
        i.nodes()
            .contains(r#"- "tm @ https://example.org/r/tm-0.1.0-py3-none-any.whl""#),
        "{}",
        i.manifest
    );
    assert_eq!(i.counts("Dockerfile"), (4, 0, 0), "{}", i.stdout);
    let req = fs::read_to_string(
        i.dir
            .path()
            .join("src")
            .join(app_name(&i))
            .join("requirements.txt"),
    )
    .unwrap();
    assert!(
        req.contains("tm @ https://example.org/r/tm-0.1.0-py3-none-any.whl"),
        "{req}"
    );
    // A command that reads the fetched file keeps the whole download in its block.
    let df = format!(
        "{BASE}RUN curl -fL -o /tmp/tm-0.1.0-py3-none-any.whl https://example.org/r/tm-0.1.0-py3-none-any.whl && \\\n    unzip -l /tmp/tm-0.1.0-py3-none-any.whl && \\\n    pip install --no-cache-dir /tmp/tm-0.1.0-py3-none-any.whl\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    assert!(!i.nodes().contains("tm @"), "{}", i.manifest);
    assert!(
        i.nodes().contains("RUN curl -fL -o /tmp/tm-0.1.0"),
        "{}",
        i.manifest
    );
}

#[test]
fn a_copy_that_falls_back_to_a_block_names_its_repository_path() {
    // The build context was the Dockerfile's directory; jcx's is the repository root.
    let df =
        format!("{BASE}USER root\nCOPY config/a.conf /etc/xdg/\nCOPY other/a.conf /etc/xdg/\n");
    let i = import(&[
        ("images/x/Dockerfile", &df),
        ("images/x/config/a.conf", "a\n"),
        ("images/x/other/a.conf", "b\n"),
    ]);
    assert!(
        i.nodes()
            .contains(r#"file "images/x/config/a.conf" to="/etc/xdg/" owner=root"#),
        "{}",
        i.manifest
    );
    assert!(
        i.nodes().contains("COPY images/x/other/a.conf /etc/xdg/"),
        "{}",
        i.manifest
    );
}

#[test]
fn a_generated_default_config_is_dropped_unless_something_edits_it() {
    let df =
        format!("{BASE}RUN jupyter lab --generate-config && pip install --no-cache-dir rich\n");
    let i = import(&[("Dockerfile", &df)]);
    assert!(!i.nodes().contains("generate-config"), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("`jupyter lab --generate-config` is dropped"),
        "{}",
        i.stderr
    );
    let df = format!(
        "{BASE}RUN jupyter server --generate-config\nRUN sed -i 's/^# c.ServerApp.open_browser = False/c.ServerApp.open_browser = False/' ~/.jupyter/jupyter_server_config.py\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    assert!(
        i.nodes().contains("RUN jupyter server --generate-config"),
        "{}",
        i.manifest
    );
}

#[test]
fn updates_logs_and_home_are_read_as_jcx_does_them() {
    let df = format!(
        "{BASE}USER root\nRUN apt-get update && apt-get install -yq --no-install-recommends octave && \\\n    apt-get -qq -y autoremove && apt-get autoclean && \\\n    rm -rf /var/lib/apt/lists/* /var/log/dpkg.log\nUSER $NB_UID\nRUN conda update --yes --all && mamba install --yes cartopy\nWORKDIR $HOME\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    assert!(!i.nodes().contains("dockerfile"), "{}", i.manifest);
    assert!(i.nodes().contains("workdir \"${HOME}\""), "{}", i.manifest);
    assert!(i.nodes().contains("mamba cartopy"), "{}", i.manifest);
    assert!(
        i.stderr.contains("`conda update --yes --all` is dropped"),
        "{}",
        i.stderr
    );
}

#[test]
fn chown_and_chmod_of_existing_paths_become_permissions() {
    // The stacks' variables name the notebook user; a `chown` and the `chmod` after it of the
    // same paths are one node; what `permissions` refuses stays in a block with its reason.
    let df = format!(
        "{BASE}USER root
RUN chown -R ${{NB_UID}}:users /opt/notebook-templates && \\
    chmod -R a+rX /opt/tutorials && \\
    chmod 1777 /var/run/screen && \\
    chmod g-s /usr/bin/screen && \\
    chown -R \"$NB_UID:$NB_GID\" /opt/tools && \\
    chmod -R u+rwX /opt/tools
RUN chown -R ${{NB_UID}}:${{NB_GID}} ${{HOME}}
RUN chown root:${{NB_GID}} /etc/ipython/
RUN chmod -R 644 /opt/data
RUN git clone https://example.org/repo.git /opt/repo && chmod -R a+rX /opt/repo
USER ${{NB_UID}}
"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    for want in [
        r#"permissions "/opt/notebook-templates" owner=notebook recursive=#true"#,
        r#"permissions "/opt/tutorials" mode="a+rX" recursive=#true"#,
        r#"permissions "/var/run/screen" mode="1777""#,
        r#"permissions "/usr/bin/screen" mode="g-s""#,
        r#"permissions "/opt/tools" owner=notebook mode="u+rwX" recursive=#true"#,
    ] {
        assert!(nodes.contains(want), "{want}\n{}", i.manifest);
    }
    for (line, why) in [
        (
            9,
            "changes the whole of `${HOME}`, a directory of the system or of the stacks, which `permissions` refuses",
        ),
        (
            10,
            "jcx has no setting for `chown root:${NB_GID} /etc/ipython/`",
        ),
        (
            11,
            "`chmod -R 644 /opt/data` takes the owner's `x` away from every directory of the tree",
        ),
        (
            12,
            "`chmod -R a+rX /opt/repo` stays with the commands of this `RUN` that use `/opt/repo`",
        ),
    ] {
        assert!(
            i.stderr.lines().any(|l| l.starts_with(&format!(
                "warning: Dockerfile:{line}: into a dockerfile block: "
            )) && l.contains(why)),
            "{line}: {why}\n{}",
            i.stderr
        );
    }
    assert!(
        !i.stderr
            .contains("uses a variable jcx import does not know"),
        "{}",
        i.stderr
    );
    // The generated file-system step: `chown` before `chmod`, `--` before the paths.
    let dockerfile = fs::read_to_string(
        i.dir
            .path()
            .join(format!("src/{}/Dockerfile", app_name(&i))),
    )
    .unwrap();
    assert!(
        dockerfile.contains(
            "chown -R \"${NB_UID}:${NB_GID}\" -- \"/opt/tools\" && \\\n    chmod -R u+rwX -- \"/opt/tools\""
        ),
        "{dockerfile}"
    );
}

#[test]
fn conda_files_become_a_lock_or_specs() {
    let lock = "# platform: linux-64\n@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/noarch/attrs-23.2.0-pyh71513ae_0.conda#5e4c0743c70186509d1412e03c2d8dfa\n";
    let df = format!(
        "{BASE}COPY conda-linux-64.lock /tmp/conda-linux-64.lock\nCOPY conda-reqs.txt /tmp/conda-reqs.txt\nRUN conda update --quiet --file /tmp/conda-linux-64.lock && \\\n    conda clean --all -y -f && \\\n    fix-permissions \"${{CONDA_DIR}}\"\nRUN mamba install --yes --name base -c bioconda --file /tmp/conda-reqs.txt\n"
    );
    let i = import(&[
        ("Dockerfile", &df),
        ("conda-linux-64.lock", lock),
        (
            "conda-reqs.txt",
            "numpy=1.26\n# a comment\nscikit-learn 1.4.2\n",
        ),
    ]);
    assert!(
        i.nodes().contains("mamba lock=conda-linux-64.lock"),
        "{}",
        i.manifest
    );
    assert!(
        i.nodes()
            .contains(r#"mamba "bioconda::numpy=1.26" "bioconda::scikit-learn=1.4.2""#),
        "{}",
        i.manifest
    );
    assert_eq!(i.counts("Dockerfile"), (7, 0, 0), "{}", i.stdout);
    // A lock jcx refuses (no checksums) stays in its block, with the reason.
    let df = format!("{BASE}COPY c.lock /tmp/c.lock\nRUN mamba install --yes --file /tmp/c.lock\n");
    let i = import(&[
        ("Dockerfile", &df),
        (
            "c.lock",
            "@EXPLICIT\nhttps://conda.anaconda.org/conda-forge/noarch/attrs-23.2.0-pyh71513ae_0.conda\n",
        ),
    ]);
    assert!(
        i.nodes()
            .contains("RUN mamba install --yes --file /tmp/c.lock"),
        "{}",
        i.manifest
    );
    assert!(i.stderr.contains("has no checksum"), "{}", i.stderr);
}

#[test]
fn a_copied_file_appended_to_another_becomes_an_append() {
    let df = format!(
        "{BASE}USER root\nCOPY extra.py /tmp/extra.py\nRUN cat /tmp/extra.py >> /etc/jupyter/jupyter_notebook_config.py && rm /tmp/extra.py\nUSER ${{NB_UID}}\n"
    );
    let i = import(&[("Dockerfile", &df), ("extra.py", "c.ServerApp.x = 1\n")]);
    assert!(
        i.nodes()
            .contains(r#"file extra.py to="/etc/jupyter/jupyter_notebook_config.py" append=#true"#),
        "{}",
        i.manifest
    );
    // The copy to /tmp is read by nothing else: gone, with its removal.
    assert!(!i.nodes().contains("/tmp/extra.py"), "{}", i.manifest);
    assert_eq!(i.counts("Dockerfile"), (5, 0, 0), "{}", i.stdout);
}

#[test]
fn a_bind_mount_kept_in_a_block_names_its_repository_path() {
    // The context was the Dockerfile's directory; a block reads from the repository root, and
    // jcx checks the mounted file and lets it into the build.
    let df = format!(
        "{BASE}RUN --mount=type=bind,source=tools/setup.sh,target=/tmp/setup.sh \\\n    bash /tmp/setup.sh --fast\n"
    );
    let i = import(&[
        ("images/x/Dockerfile", &df),
        ("images/x/tools/setup.sh", "echo set up\n"),
    ]);
    assert!(
        i.nodes()
            .contains("RUN --mount=type=bind,source=images/x/tools/setup.sh,target=/tmp/setup.sh"),
        "{}",
        i.manifest
    );
    let app = app_name(&i);
    let allow = fs::read_to_string(
        i.dir
            .path()
            .join(format!("src/{app}/Dockerfile.dockerignore")),
    )
    .unwrap();
    assert!(allow.contains("!images/x/tools/setup.sh"), "{allow}");
}

#[test]
fn a_refused_item_stays_after_the_blocks_before_it() {
    // The pip install of a local wheel is refused and becomes a block: it must come after the
    // block that downloads the wheel, both at the end of the image.
    let df = format!(
        "{BASE}RUN pip install --no-cache-dir numpy\nUSER root\nRUN curl -fL -o /tmp/t-0.1.0-py3-none-any.whl https://example.org/t-0.1.0-py3-none-any.whl && \\\n    unzip -l /tmp/t-0.1.0-py3-none-any.whl\nUSER ${{NB_UID}}\nRUN pip install --no-cache-dir /tmp/t-0.1.0-py3-none-any.whl\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    let fetch = i.nodes().find("RUN curl -fL").expect("the download block");
    let install = i
        .nodes()
        .find("RUN pip install --no-cache-dir /tmp/t-0.1.0")
        .expect("the install block");
    assert!(fetch < install, "{}", i.manifest);
}

#[test]
fn apt_installs_after_a_block_that_adds_a_source_stay_with_it() {
    let df = format!(
        "{BASE}USER root\nRUN apt-get update && apt-get install -y --no-install-recommends git\nRUN curl -fsSL https://example.org/key.asc | gpg --dearmor -o /etc/apt/keyrings/ex.gpg && \\\n    echo \"deb [signed-by=/etc/apt/keyrings/ex.gpg] https://example.org/apt stable main\" > /etc/apt/sources.list.d/ex.list\nRUN apt-get update && apt-get install -y --no-install-recommends ex-client\nUSER ${{NB_UID}}\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    // git comes from the base image's sources: jcx's apt step. ex-client needs the new source.
    assert!(i.nodes().contains("apt git"), "{}", i.manifest);
    assert!(!i.nodes().contains("apt ex-client"), "{}", i.manifest);
    assert!(
        i.nodes()
            .contains("apt-get install -y --no-install-recommends ex-client"),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr
            .contains("may install from the apt sources a block before it adds"),
        "{}",
        i.stderr
    );
}

#[test]
fn a_copied_apt_source_stays_in_a_block_with_its_installs() {
    let df = format!(
        "{BASE}USER root\nCOPY ex.list /etc/apt/sources.list.d/ex.list\nRUN apt-get update && apt-get install -y ex-client\nUSER ${{NB_UID}}\n"
    );
    let i = import(&[
        ("Dockerfile", &df),
        ("ex.list", "deb https://example.org/apt stable main\n"),
    ]);
    assert!(!i.nodes().contains("apt ex-client"), "{}", i.manifest);
    assert!(
        i.nodes()
            .contains("COPY ex.list /etc/apt/sources.list.d/ex.list\n        RUN apt-get update"),
        "{}",
        i.manifest
    );
}
