//! `jcx import` maps a conda environment registered as a Jupyter kernel to `kernel` (issue
//! #12), through the binary in small hand-made repositories: the Jupyter Docker Stacks recipe
//! "Add a custom conda environment and Jupyter kernel" and its variants (`mamba run -n`, an
//! environment file, an R kernel), and the cases that must stay blocks. Every imported
//! manifest must also compile.

mod support;

use std::fs;

use support::{Imported, import};

/// The recipe of the Jupyter Docker Stacks documentation, as repositories copy it.
const RECIPE: &str = r#"FROM quay.io/jupyter/minimal-notebook:2024-12-02

ARG env_name=python310
RUN mamba create --yes -p "${CONDA_DIR}/envs/${env_name}" python=3.10 ipython ipykernel && mamba clean --all -f -y
RUN "${CONDA_DIR}/envs/${env_name}/bin/python" -m ipykernel install --user --name="${env_name}" && fix-permissions "${CONDA_DIR}" && fix-permissions "/home/${NB_USER}"
RUN "${CONDA_DIR}/envs/${env_name}/bin/pip" install --no-cache-dir 'flake8'
"#;

#[test]
fn the_stacks_recipe_becomes_a_kernel() {
    let df = format!(
        "{RECIPE}\n# hadolint ignore=DL3059\nRUN /opt/setup-scripts/activate_notebook_custom_env.py \"${{env_name}}\"\n\nUSER ${{NB_UID}}\n"
    );
    let i = import(&[("Dockerfile", &df)]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(
            "    kernel python310 display-name=\"Python 3 (ipykernel)\" {
        python \"3.10\"
        mamba ipython
        pip {
            - flake8
        }
    }"
        ),
        "{}",
        i.manifest
    );
    // Nothing left in a block; the build argument went with the commands that used it.
    assert!(!nodes.contains("dockerfile"), "{}", i.manifest);
    assert!(!nodes.contains("build-args"), "{}", i.manifest);
    assert!(
        i.summary("Dockerfile").contains("0 into dockerfile blocks"),
        "{}",
        i.stdout
    );
    // Warned: the default display name, where the kernel is registered, the activation script.
    assert!(
        i.stderr
            .contains("is shown as `Python 3 (ipykernel)`, the default"),
        "{}",
        i.stderr
    );
    assert!(
        i.stderr
            .contains("was registered in the notebook user's HOME (`--user`)"),
        "{}",
        i.stderr
    );
    assert!(
        i.stderr
            .contains("`activate_notebook_custom_env.py` is jcx's kernel.json"),
        "{}",
        i.stderr
    );
    // The generated kernel.json runs the environment's Python.
    let spec = fs::read_to_string(
        i.dir
            .path()
            .join(format!("src/{}/kernel-python310.json", app_name(&i))),
    )
    .unwrap();
    assert!(
        spec.contains("/opt/conda/envs/python310/bin/python"),
        "{spec}"
    );
}

fn app_name(i: &Imported) -> String {
    i.manifest
        .lines()
        .find_map(|l| l.strip_prefix("app "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string()
}

#[test]
fn mamba_run_an_environment_file_and_requirements() {
    let df = r#"FROM quay.io/jupyter/base-notebook:2024-12-02
RUN mamba create --yes --name fenics && mamba clean -afy
COPY environment.yml /tmp/
RUN mamba env update -n fenics -f /tmp/environment.yml && mamba clean --all -f -y
COPY requirements.txt /tmp/requirements.txt
RUN mamba run -n fenics pip install --no-cache-dir -r /tmp/requirements.txt
RUN mamba run -n fenics python -m ipykernel install --user --name=fenics --display-name "FEniCS" && \
    fix-permissions "${CONDA_DIR}" && fix-permissions "/home/${NB_USER}"
"#;
    let env = "channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - fenics-dolfinx\n";
    let i = import(&[
        ("Dockerfile", df),
        ("environment.yml", env),
        ("requirements.txt", "pygmsh==7.1.17\n"),
    ]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(
            "    kernel fenics display-name=FEniCS environment=environment.yml {
        pip requirements=requirements.txt
    }"
        ),
        "{}",
        i.manifest
    );
    // The copies of the two files went with the kernel that reads them.
    assert!(!nodes.contains("/tmp/"), "{}", i.manifest);
    assert!(
        i.summary("Dockerfile")
            .contains("8 mapped to settings, 0 into dockerfile blocks"),
        "{}",
        i.stdout
    );
}

#[test]
fn an_environment_file_created_from_its_name() {
    let df = r#"FROM quay.io/jupyter/base-notebook:2024-12-02
COPY --chown=${NB_UID}:${NB_GID} environment.yml /tmp/
RUN mamba env create -f /tmp/environment.yml && mamba clean --all -f -y
RUN /opt/conda/envs/geo/bin/python -m ipykernel install --prefix=/opt/conda --name geo --display-name "Python (geo)"
"#;
    let env = "name: geo\ndependencies:\n  - python=3.12\n  - geopandas\n  - ipykernel\n";
    let i = import(&[("Dockerfile", df), ("environment.yml", env)]);
    assert!(
        i.nodes()
            .contains("    kernel geo display-name=\"Python (geo)\" environment=environment.yml\n"),
        "{}",
        i.manifest
    );
    // jcx says the file's `name:` is ignored (the kernel's name decides).
    assert!(i.stderr.contains("`name:` is ignored"), "{}", i.stderr);
}

#[test]
fn an_r_kernel_and_packages_added_later() {
    let df = r#"FROM quay.io/jupyter/base-notebook:2024-12-02
USER root
RUN conda create -y -n rstats -c conda-forge python=3.11 r-base=4.3 r-irkernel && \
    /opt/conda/envs/rstats/bin/R --slave -e 'IRkernel::installspec(name="rstats", displayname="R 4.3")'
USER ${NB_UID}
RUN mamba install -y -n rstats r-ggplot2 && mamba clean -afy
RUN mamba create -y -p /opt/conda/envs/py312 python=3.12 numpy && \
    /opt/conda/envs/py312/bin/python3 -m ipykernel install --sys-prefix --name py312 --display-name "Python 3.12" && \
    /opt/conda/envs/py312/bin/python -m pip install "polars==1.9.0"
"#;
    let i = import(&[("Dockerfile", df)]);
    let nodes = i.nodes();
    assert!(
        nodes.contains(
            "    kernel rstats display-name=\"R 4.3\" language=r {
        python \"3.11\"
        mamba \"r-base=4.3\" r-ggplot2
    }"
        ),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains(
            "    kernel py312 display-name=\"Python 3.12\" {
        python \"3.12\"
        mamba numpy
        pip {
            - \"polars==1.9.0\"
        }
    }"
        ),
        "{}",
        i.manifest
    );
    assert!(!nodes.contains("dockerfile"), "{}", i.manifest);
    // One *changed* warning about where kernels are registered.
    assert_eq!(
        i.stderr.matches("was registered").count(),
        1,
        "{}",
        i.stderr
    );
}

#[test]
fn a_kernel_a_block_still_names_stays_in_blocks() {
    let df = r#"FROM quay.io/jupyter/base-notebook:2024-12-02
ARG env_name=py39
RUN mamba create --yes -p "${CONDA_DIR}/envs/${env_name}" python=3.9 ipykernel && mamba clean --all -f -y
RUN "${CONDA_DIR}/envs/${env_name}/bin/python" -m ipykernel install --user --name="${env_name}" --display-name "Python 3.9"
RUN sed -i 's/python/python -X frozen_modules=off/' "/home/${NB_USER}/.local/share/jupyter/kernels/${env_name}/kernel.json"
"#;
    let i = import(&[("Dockerfile", df)]);
    let nodes = i.nodes();
    assert!(!nodes.contains("\n    kernel "), "{}", i.manifest);
    assert!(
        nodes.contains("RUN mamba create --yes -p"),
        "{}",
        i.manifest
    );
    assert!(
        nodes.contains("-m ipykernel install --user"),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr.contains("the conda environment `py39` and its kernel stay in blocks: a line left in a block (Dockerfile:5) names its directory"),
        "{}",
        i.stderr
    );
    assert!(
        i.summary("Dockerfile")
            .contains("2 mapped to settings, 3 into dockerfile blocks"),
        "{}",
        i.stdout
    );
}

#[test]
fn what_a_kernel_cannot_hold_stays_in_blocks() {
    let df = r#"FROM quay.io/jupyter/base-notebook:2024-12-02
RUN mamba create -y -n other python=3.11 ipykernel && /opt/conda/envs/other/bin/python -m ipykernel install --user --name other-kernel
RUN mamba create -y -n python3 python=3.11 ipykernel && /opt/conda/envs/python3/bin/python -m ipykernel install --user --name python3
RUN mamba create -y -n dev python=3.11 ipykernel && /opt/conda/envs/dev/bin/python -m ipykernel install --user --name dev && /opt/conda/envs/dev/bin/pip install -e .
RUN mamba create -y -n act python=3.11 ipykernel && /opt/conda/envs/act/bin/python -m ipykernel install --user --name act
ENV PATH=/opt/conda/envs/act/bin:${PATH}
RUN mamba create -y -n torch python=3.11 && /opt/conda/envs/torch/bin/python -m ipykernel install --user --name torch --display-name Torch && /opt/conda/envs/torch/bin/pip install torch==2.2.1
RUN mamba create -y -n tool python=3.11
"#;
    let i = import(&[("Dockerfile", df)]);
    let nodes = i.nodes();
    assert!(!nodes.contains("\n    kernel "), "{}", i.manifest);
    for why in [
        "`other` and its kernel stay in blocks: it is registered as the kernel `other-kernel`",
        "`python3` and its kernel stay in blocks: `python3` is the base image's own kernel",
        "`dev` and its kernel stay in blocks: `pip install -e`",
        "`act` and its kernel stay in blocks: another instruction (Dockerfile:6) names its directory",
        "`torch` and its kernel stay in blocks: jcx refuses its `kernel` (jcx::invalid_kernel",
    ] {
        assert!(i.stderr.contains(why), "{why}\n{}", i.stderr);
    }
    // An environment no kernel runs is no kernel: as before, with no word about kernels.
    assert!(!i.stderr.contains("`tool` and its kernel"), "{}", i.stderr);
}

#[test]
fn a_kernel_removed_again_or_registered_as_root_is_said_so() {
    let df = r#"FROM quay.io/jupyter/base-notebook:2024-12-02
RUN mamba create -y -n gone python=3.11 && /opt/conda/envs/gone/bin/python -m ipykernel install --user --name gone --display-name Gone
RUN jupyter kernelspec remove -y gone
USER root
RUN mamba create -y -n rooted python=3.11 && /opt/conda/envs/rooted/bin/python -m ipykernel install --user --name rooted --display-name Rooted
"#;
    let i = import(&[("Dockerfile", df)]);
    let nodes = i.nodes();
    assert!(!nodes.contains("\n    kernel gone"), "{}", i.manifest);
    assert!(
        i.stderr
            .contains("the conda environment `gone` and its kernel stay in blocks"),
        "{}",
        i.stderr
    );
    assert!(
        nodes.contains("kernel rooted display-name=Rooted"),
        "{}",
        i.manifest
    );
    assert!(
        i.stderr.contains(
            "in root's HOME (`--user` as root), where the notebook user's server does not look"
        ),
        "{}",
        i.stderr
    );
}
