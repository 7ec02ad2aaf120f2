//! What `jcx import` reads from a hand-made GitHub Actions workflow: the triggers, and for each
//! image build (a `docker/build-push-action` step) its context, Dockerfile, tags, build
//! arguments, platforms, the registry log-in before it, the job's runner and timeout. `${{ }}`
//! expressions are resolved from the workflow's, job's and step's `env` (and variables written
//! to `$GITHUB_ENV` by earlier steps); what cannot be resolved becomes a placeholder:
//! `{sha}`, `{short-sha}`, `{branch}`, `{date}`, `{secret:NAME}`, `{?}`.

use std::collections::BTreeMap;

use super::yaml::{Node, Y};

/// A value and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub v: T,
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Triggers {
    pub push: bool,
    pub branches: Option<Vec<At<String>>>,
    pub branches_ignore: Option<usize>,
    pub paths: Option<Vec<At<String>>>,
    pub paths_ignore: Option<usize>,
    pub tags: Option<usize>,
    pub pull_request: Option<usize>,
    pub dispatch: bool,
    /// Other events: (name, line).
    pub other: Vec<At<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Login {
    pub registry: Option<At<String>>,
    pub username: Option<At<String>>,
    pub password: Option<At<String>>,
}

/// One image build.
#[derive(Debug, Clone, Default)]
pub struct Build {
    pub line: usize,
    pub context: Option<At<String>>,
    pub file: Option<At<String>>,
    /// Full image references with their tag (`reg/ns/name:{sha}`).
    pub tags: Vec<At<String>>,
    pub build_args: Vec<At<(String, String)>>,
    pub platforms: Option<At<Vec<String>>>,
    pub push: Option<At<String>>,
    pub login: Option<Login>,
    pub runs_on: Option<At<Vec<String>>>,
    pub timeout: Option<At<String>>,
    pub free_disk: bool,
    /// Steps of the job jcx's workflow has no counterpart for: (what, line).
    pub unknown_steps: Vec<At<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Workflow {
    pub path: String,
    pub name: Option<String>,
    pub triggers: Triggers,
    pub builds: Vec<Build>,
}

type Env = BTreeMap<String, String>;

/// Reads a workflow document. `None` when it is not a workflow (no `jobs`).
pub fn read(path: &str, doc: &Node) -> Option<Workflow> {
    let jobs = doc.get("jobs")?;
    let mut wf = Workflow {
        path: path.to_string(),
        name: doc.get("name").and_then(Node::str).map(str::to_string),
        triggers: doc.get("on").map(triggers).unwrap_or_default(),
        builds: Vec::new(),
    };
    let mut env = Env::new();
    add_env(&mut env, doc.get("env"));
    for (_, job) in jobs.entries() {
        read_job(job, &env, &mut wf.builds);
    }
    Some(wf)
}

fn add_env(env: &mut Env, node: Option<&Node>) {
    for (k, v) in node.map(Node::entries).unwrap_or_default() {
        let value = v.str().map(|s| resolve(s, env)).unwrap_or_default();
        env.insert(k.clone(), value);
    }
}

fn at_list(node: &Node) -> Vec<At<String>> {
    node.items()
        .iter()
        .filter_map(|n| {
            n.str().map(|s| At {
                v: s.to_string(),
                line: n.line,
            })
        })
        .collect()
}

fn triggers(on: &Node) -> Triggers {
    let mut t = Triggers::default();
    let events: Vec<(String, Option<&Node>, usize)> = match &on.v {
        Y::Str(s) => vec![(s.clone(), None, on.line)],
        Y::Seq(items) => items
            .iter()
            .filter_map(|i| i.str().map(|s| (s.to_string(), None, i.line)))
            .collect(),
        Y::Map(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), Some(v), v.line))
            .collect(),
        Y::Null => Vec::new(),
    };
    for (event, body, line) in events {
        match event.as_str() {
            "push" => {
                t.push = true;
                if let Some(b) = body {
                    t.branches = b.get("branches").map(at_list);
                    t.branches_ignore = b.get("branches-ignore").map(|n| n.line);
                    t.paths = b.get("paths").map(at_list);
                    t.paths_ignore = b.get("paths-ignore").map(|n| n.line);
                    t.tags = b.get("tags").map(|n| n.line);
                }
            }
            "pull_request" | "pull_request_target" => t.pull_request = Some(line),
            "workflow_dispatch" => t.dispatch = true,
            _ => t.other.push(At { v: event, line }),
        }
    }
    t
}

fn read_job(job: &Node, wf_env: &Env, builds: &mut Vec<Build>) {
    for combo in matrix(job) {
        let mut env = wf_env.clone();
        env.extend(combo);
        read_job_once(job, env, builds);
    }
}

/// The most combinations of a matrix jcx import reads.
const MAX_COMBINATIONS: usize = 64;

/// The combinations of a job's `strategy.matrix`, each as `matrix.KEY` (and `matrix.KEY.SUB`
/// for an item that is a mapping) -> value; one empty combination without a matrix, or with
/// one jcx import cannot read (`${{ fromJSON(…) }}`). An `include` item with keys of its own
/// only extends every combination; one that names a matrix key is a combination of its own.
fn matrix(job: &Node) -> Vec<Env> {
    let Some(m) = job.get("strategy").and_then(|s| s.get("matrix")) else {
        return vec![Env::new()];
    };
    let mut combos = vec![Env::new()];
    let mut keys = Vec::new();
    for (key, values) in m.entries() {
        if key == "include" || key == "exclude" {
            continue;
        }
        let Y::Seq(items) = &values.v else {
            return vec![Env::new()];
        };
        keys.push(key.clone());
        let mut next = Vec::new();
        for c in &combos {
            for item in items {
                let mut c = c.clone();
                flatten(&format!("matrix.{key}"), item, &mut c);
                next.push(c);
            }
        }
        if next.len() > MAX_COMBINATIONS {
            return vec![Env::new()];
        }
        combos = next;
    }
    if keys.is_empty() {
        combos.clear();
    }
    for inc in m.get("include").map(Node::items).unwrap_or_default() {
        let mut extra = Env::new();
        for (k, v) in inc.entries() {
            flatten(&format!("matrix.{k}"), v, &mut extra);
        }
        if inc.entries().iter().any(|(k, _)| keys.contains(k)) || combos.is_empty() {
            combos.push(extra);
        } else {
            for c in &mut combos {
                c.extend(extra.clone());
            }
        }
    }
    combos.truncate(MAX_COMBINATIONS);
    if combos.is_empty() {
        combos.push(Env::new());
    }
    combos
}

fn flatten(prefix: &str, node: &Node, out: &mut Env) {
    match &node.v {
        Y::Str(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Y::Map(m) => {
            for (k, v) in m {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        _ => {}
    }
}

fn read_job_once(job: &Node, mut env: Env, builds: &mut Vec<Build>) {
    add_env(&mut env, job.get("env"));
    let runs_on = job.get("runs-on").map(|n| At {
        v: n.items()
            .iter()
            .filter_map(|i| i.str().map(|s| resolve(s, &env)))
            .collect(),
        line: n.line,
    });
    let timeout = job.get("timeout-minutes").and_then(|n| {
        n.str().map(|s| At {
            v: s.to_string(),
            line: n.line,
        })
    });
    let mut meta: BTreeMap<String, Vec<At<String>>> = BTreeMap::new();
    let mut login: Option<Login> = None;
    let mut free_disk = false;
    let mut unknown = Vec::new();
    let first = builds.len();
    for step in job.get("steps").map(Node::items).unwrap_or_default() {
        let mut step_env = env.clone();
        add_env(&mut step_env, step.get("env"));
        let with = |key: &str| {
            step.get("with").and_then(|w| w.get(key)).and_then(|n| {
                n.str().map(|s| At {
                    v: resolve(s, &step_env),
                    line: n.line,
                })
            })
        };
        let uses = step.get("uses").and_then(Node::str).unwrap_or_default();
        let action = uses
            .split('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match action.as_str() {
            "docker/build-push-action" => {
                builds.push(build_step(step, &with, &meta, login.clone()))
            }
            "docker/login-action" => {
                login = Some(Login {
                    registry: with("registry"),
                    username: with("username"),
                    password: with("password"),
                })
            }
            "docker/metadata-action" => {
                let id = step
                    .get("id")
                    .and_then(Node::str)
                    .unwrap_or("meta")
                    .to_string();
                meta.insert(id, metadata_tags(&with));
            }
            "actions/checkout"
            | "docker/setup-qemu-action"
            | "docker/setup-buildx-action"
            | "actions/cache" => {}
            a if a.contains("free-disk-space") || a.contains("maximize-build-space") => {
                free_disk = true
            }
            "" => {
                let run = step.get("run").and_then(Node::str).unwrap_or_default();
                if !github_env(run, &mut env) {
                    let name = step
                        .get("name")
                        .and_then(Node::str)
                        .unwrap_or("a `run` step");
                    if run.contains("rm -rf") && (run.contains("dotnet") || run.contains("android"))
                    {
                        free_disk = true;
                    } else {
                        unknown.push(At {
                            v: format!("step `{name}`"),
                            line: step.line,
                        });
                    }
                }
            }
            _ => unknown.push(At {
                v: format!("step `{uses}`"),
                line: step.line,
            }),
        }
    }
    for b in &mut builds[first..] {
        b.runs_on = runs_on.clone();
        b.timeout = timeout.clone();
        b.free_disk = free_disk;
        b.unknown_steps = unknown.clone();
    }
}

fn build_step(
    step: &Node,
    with: &dyn Fn(&str) -> Option<At<String>>,
    meta: &BTreeMap<String, Vec<At<String>>>,
    login: Option<Login>,
) -> Build {
    let mut tags = Vec::new();
    if let Some(t) = with("tags") {
        for (i, line) in t.v.lines().enumerate() {
            let line_no = t.line + i;
            for tag in line.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                tags.push(At {
                    v: tag.to_string(),
                    line: line_no,
                });
            }
        }
    }
    // `${{ steps.meta.outputs.tags }}`: the metadata step's tags.
    let raw_tags = step
        .get("with")
        .and_then(|w| w.get("tags"))
        .and_then(Node::str)
        .unwrap_or_default();
    for (id, meta_tags) in meta {
        if raw_tags.contains(&format!("steps.{id}.outputs.tags")) {
            tags.retain(|t| !t.v.contains("{?}"));
            tags.extend(meta_tags.iter().cloned());
        }
    }
    let build_args = with("build-args")
        .map(|a| {
            a.v.lines()
                .enumerate()
                .filter_map(|(i, l)| {
                    let (k, v) = l.trim().split_once('=')?;
                    Some(At {
                        v: (k.trim().to_string(), v.trim().to_string()),
                        line: a.line + i,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Build {
        line: step.line,
        context: with("context"),
        file: with("file"),
        tags,
        build_args,
        platforms: with("platforms").map(|p| At {
            v: p.v
                .split([',', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            line: p.line,
        }),
        push: with("push"),
        login,
        ..Build::default()
    }
}

/// The tags of a `docker/metadata-action` step, as full references with placeholders.
fn metadata_tags(with: &dyn Fn(&str) -> Option<At<String>>) -> Vec<At<String>> {
    let Some(images) = with("images") else {
        return Vec::new();
    };
    let image = images
        .v
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let Some(tags) = with("tags") else {
        return vec![At {
            v: format!("{image}:{{branch}}"),
            line: images.line,
        }];
    };
    let mut out = Vec::new();
    for (i, spec) in tags.v.lines().enumerate() {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        let attrs: BTreeMap<&str, &str> = spec
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let prefix = attrs.get("prefix").copied().unwrap_or_default();
        let suffix = attrs.get("suffix").copied().unwrap_or_default();
        let body = match (attrs.get("type").copied(), attrs.get("event").copied()) {
            (Some("sha"), _) if attrs.get("format") == Some(&"long") => "{sha}".to_string(),
            (Some("sha"), _) => {
                let p = if attrs.contains_key("prefix") {
                    prefix
                } else {
                    "sha-"
                };
                out.push(At {
                    v: format!("{image}:{p}{{short-sha}}{suffix}"),
                    line: tags.line + i,
                });
                continue;
            }
            (Some("ref"), Some("branch")) => "{branch}".to_string(),
            (Some("raw"), _) => attrs.get("value").copied().unwrap_or_default().to_string(),
            _ => "{?}".to_string(),
        };
        out.push(At {
            v: format!("{image}:{prefix}{body}{suffix}"),
            line: tags.line + i,
        });
    }
    out
}

/// A `run` step that only writes `NAME=value` lines to `$GITHUB_ENV`: adds them to `env`.
fn github_env(run: &str, env: &mut Env) -> bool {
    let mut any = false;
    for line in run.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !line.contains("GITHUB_ENV") {
            return false;
        }
        let Some(start) = line.find(|c: char| c.is_ascii_uppercase()) else {
            return false;
        };
        let Some((name, value)) = line[start..].split_once('=') else {
            return false;
        };
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return false;
        }
        let value = value.split(">>").next().unwrap_or_default();
        let v = if value.contains("--short") || value.contains("::7") || value.contains(":0:7") {
            "{short-sha}"
        } else if value.contains("GITHUB_SHA")
            || value.contains("github.sha")
            || value.contains("rev-parse")
        {
            "{sha}"
        } else if value.contains("date") {
            "{date}"
        } else {
            "{?}"
        };
        env.insert(name.to_string(), v.to_string());
        any = true;
    }
    any
}

/// Resolves the `${{ ... }}` expressions of a value.
pub fn resolve(s: &str, env: &Env) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("${{") {
        out.push_str(&rest[..p]);
        let after = &rest[p + 3..];
        let Some(end) = after.find("}}") else {
            out.push_str("{?}");
            return out;
        };
        out.push_str(&expression(after[..end].trim(), env));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn expression(e: &str, env: &Env) -> String {
    if e.starts_with("matrix.") {
        return env.get(e).cloned().unwrap_or_else(|| "{?}".into());
    }
    if let Some(name) = e.strip_prefix("env.") {
        return env.get(name).cloned().unwrap_or_else(|| "{?}".into());
    }
    if let Some(name) = e.strip_prefix("secrets.") {
        return format!("{{secret:{name}}}");
    }
    match e {
        "github.sha" => "{sha}".into(),
        "github.ref_name" | "github.head_ref" => "{branch}".into(),
        "github.actor" | "github.repository_owner" => format!("{{{e}}}"),
        _ => "{?}".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_hand_made_workflow() {
        let text = r#"name: 'Build x'
on:
  push:
    branches:
    - main
    - 'feat/**'
    paths:
    - 'src/x/**'
  workflow_dispatch:
env:
  REG: registry.example.org
  NS: lab
  BASE_IMAGE: scipy-notebook
  BASE_TAG: python-3.11
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: version
        run: echo "APP_VERSION=$(git rev-parse --short HEAD)" >> $GITHUB_ENV
      - uses: docker/login-action@v3
        with:
          registry: ${{ env.REG }}
          username: ${{ secrets.USER }}
          password: ${{ secrets.PASS }}
      - name: notify
        run: curl https://example.org
      - uses: docker/build-push-action@v5
        with:
          context: ./src/x
          push: true
          build-args: |
            BASE=quay.io/jupyter/${{ env.BASE_IMAGE }}:${{ env.BASE_TAG }}
          tags: |
            ${{ env.REG }}/${{ env.NS }}/${{ env.BASE_IMAGE }}-qlora:${{ env.BASE_TAG }}-${{ env.APP_VERSION }}
"#;
        let doc = super::super::yaml::parse(text).unwrap();
        let wf = read(".github/workflows/x.yaml", &doc).unwrap();
        let branches: Vec<&str> = wf
            .triggers
            .branches
            .as_ref()
            .unwrap()
            .iter()
            .map(|b| b.v.as_str())
            .collect();
        assert_eq!(branches, vec!["main", "feat/**"]);
        assert!(wf.triggers.dispatch && wf.triggers.pull_request.is_none());
        let b = &wf.builds[0];
        assert_eq!(
            b.tags[0].v,
            "registry.example.org/lab/scipy-notebook-qlora:python-3.11-{short-sha}"
        );
        assert_eq!(b.tags[0].line, 36);
        assert_eq!(
            b.build_args[0].v.1,
            "quay.io/jupyter/scipy-notebook:python-3.11"
        );
        assert_eq!(b.build_args[0].line, 34);
        let login = b.login.as_ref().unwrap();
        assert_eq!(login.username.as_ref().unwrap().v, "{secret:USER}");
        assert_eq!(b.unknown_steps[0].v, "step `notify`");
        assert_eq!(b.context.as_ref().unwrap().v, "./src/x");
    }

    #[test]
    fn expands_a_matrix() {
        let text = r#"jobs:
  b:
    strategy:
      matrix:
        py: ["3.11", "3.12"]
        image:
          - {name: a, context: ./a}
          - {name: b, context: ./b}
        include:
          - {extra: x}
    steps:
      - uses: docker/build-push-action@v6
        with:
          context: ${{ matrix.image.context }}
          build-args: PY=${{ matrix.py }}-${{ matrix.extra }}
"#;
        let doc = crate::import::yaml::parse(text).unwrap();
        let wf = read("w.yml", &doc).unwrap();
        let got: Vec<(String, String)> = wf
            .builds
            .iter()
            .map(|b| {
                (
                    b.context.as_ref().unwrap().v.clone(),
                    b.build_args[0].v.1.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("./a", "3.11-x"),
                ("./b", "3.11-x"),
                ("./a", "3.12-x"),
                ("./b", "3.12-x")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }
}
