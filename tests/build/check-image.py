"""Checks run inside a built image by scripts/build-test (with the image's own python).

    python3 check-image.py EXPECT APP      as the image's user: everything in EXPECT for APP
    python3 check-image.py --group-writable as another user of group NB_GID: HOME and
                                            CONDA_DIR writable (the fix-permissions contract)

Prints one line per check ("ok ..." / "FAIL ...") and exits 1 if any failed.
"""

import os
import stat
import subprocess
import sys
import tempfile

failures = 0


def result(ok, what, detail=""):
    global failures
    if not ok:
        failures += 1
    print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}", flush=True)


def run(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, (p.stdout + p.stderr).strip()


def expectations(path, app, seen=()):
    if app in seen:
        sys.exit(f"extends cycle at {app}")
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        name, kind, value = line.split(" ", 2)
        if name != app:
            continue
        if kind == "extends":
            out += expectations(path, value, seen + (app,))
        else:
            out.append((kind, value))
    if not out:
        sys.exit(f"no expectations for {app} in {path}")
    return out


def writable_dir(d):
    """Create and remove a file in d, as the current user."""
    try:
        fd, p = tempfile.mkstemp(dir=d, prefix=".jcx-bt-")
        os.close(fd)
        os.unlink(p)
        return True, ""
    except OSError as e:
        return False, str(e)


def group_writable():
    uid, gid = os.getuid(), os.getgid()
    nb_gid = int(os.environ["NB_GID"])
    result(gid == nb_gid and uid != int(os.environ["NB_UID"]), f"running as another user of group NB_GID (uid {uid}, gid {gid})")
    for var in ("HOME", "CONDA_DIR"):
        top = os.environ[var]
        bad, nosgid, n = [], [], 0
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                p = os.path.join(root, name)
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    continue
                n += 1
                want = os.W_OK | (os.X_OK if stat.S_ISDIR(st.st_mode) else 0)
                if not os.access(p, want):
                    bad.append(p)
                if stat.S_ISDIR(st.st_mode) and not st.st_mode & stat.S_ISGID:
                    nosgid.append(p)
        result(not bad, f"{var} ({top}): every entry writable by group {nb_gid}",
               f"{len(bad)} of {n} not, e.g. {', '.join(bad[:3])}" if bad else f"{n} checked")
        result(not nosgid, f"{var}: every directory setgid", f"{len(nosgid)} not, e.g. {', '.join(nosgid[:3])}" if nosgid else "")
        ok, err = writable_dir(top)
        result(ok, f"{var}: a new file can be created there", err)


def server_kernelspecs():
    """The kernelspecs as the Jupyter server lists them: a KernelSpecManager configured from the
    server's config files (jupyter_server_config.d/*.json in CONDA_DIR, in name order)."""
    import json
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets.config import Config

    cfg = Config()
    d = os.path.join(os.environ["CONDA_DIR"], "etc/jupyter/jupyter_server_config.d")
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.endswith(".json"):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                cfg.merge(Config(json.load(f)))
    ksm = KernelSpecManager(config=cfg)
    return ksm, ksm.get_all_specs()


def kernel_output(ksm, name, code):
    """Starts kernel `name` as the server would and runs `code`; returns what it printed."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=name, kernel_spec_manager=ksm)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    out = []
    try:
        kc.wait_for_ready(timeout=120)
        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))
        kc.execute_interactive(code, output_hook=hook, timeout=120)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return "".join(out).strip()


def image(expect, app):
    env = os.environ
    result(str(os.getuid()) == env.get("NB_UID"), f"runs as NB_UID ({env.get('NB_UID')})", f"uid {os.getuid()}")
    for var in ("HOME", "CONDA_DIR"):
        ok, err = writable_dir(env[var])
        result(ok, f"{var} writable by {env.get('NB_USER')}", err)
    rc, out = run(sys.executable, "-m", "pip", "check")
    result(rc == 0, "pip check", out.splitlines()[-1] if out else "")

    from importlib import metadata

    arch = run("dpkg", "--print-architecture")[1]
    for kind, value in expectations(expect, app):
        if kind == "apt":
            rc, out = run("dpkg-query", "-W", "-f=${Status}", value)
            result(out == "install ok installed", f"apt {value}", out)
        elif kind == "no-apt":
            rc, out = run("dpkg-query", "-W", "-f=${Status}", value)
            result(out != "install ok installed", f"apt {value} is not installed", out)
        elif kind == "dist":
            name, _, version = value.partition("==")
            try:
                got = metadata.version(name)
                result(not version or got == version, f"python package {value}", f"found {got}")
            except metadata.PackageNotFoundError:
                result(False, f"python package {value}", "not installed")
        elif kind == "nodist":
            try:
                got = metadata.version(value)
                result(False, f"python package {value} is not installed", f"found {got}")
            except metadata.PackageNotFoundError:
                result(True, f"python package {value} is not installed")
        elif kind == "code-server":
            rc, out = run("code-server", "--version")
            result(rc == 0 and out.split()[:1] == [value], f"code-server --version is {value}", out)
            rc, out = run("dpkg-query", "-W", "-f=${Architecture}", "code-server")
            result(out == arch, f"code-server package is for the image's architecture ({arch})", out)
        elif kind == "extension":
            rc, out = run("code-server", "--list-extensions")
            result(rc == 0 and value in out.split(), f"code-server extension {value}", out.replace("\n", " "))
        elif kind == "env":
            name, _, want = value.partition("=")
            result(env.get(name) == want, f"env {name}={want!r}", f"found {env.get(name)!r}")
        elif kind == "file":
            path, _, want = value.partition("=")
            try:
                got = open(path, encoding="utf-8").read().strip()
            except OSError as e:
                got = str(e)
            result(got == want, f"file {path} says {want!r}", f"found {got!r}")
        elif kind in ("copied", "downloaded"):
            path, _, want = value.partition("=")
            try:
                import pwd
                st = os.stat(path)
                got = f"{pwd.getpwuid(st.st_uid).pw_name} {stat.S_IMODE(st.st_mode):o}"
            except (OSError, KeyError) as e:
                got = str(e)
            result(got == want, f"copied {path} is owned by and has mode {want}", f"found {got}")
        elif kind == "absent":
            there = os.path.lexists(value)
            result(not there, f"{value} does not exist", "it exists" if there else "nothing there")
        elif kind == "runs":
            cmd, _, want = value.partition("=")
            rc, out = run(*cmd.split(" "))
            result(rc == 0 and out == want, f"{cmd} prints {want!r}", f"exit {rc}, {out!r}")
        elif kind == "json":
            path, _, rest = value.partition(" ")
            keys, _, want = rest.partition("=")
            try:
                import json
                import pwd
                got = json.load(open(path, encoding="utf-8"))
                for k in keys.split("."):
                    got = got[k]
                owner = pwd.getpwuid(os.stat(path).st_uid).pw_name
                ok = got == json.loads(want) and owner == env.get("NB_USER")
                found = f"{json.dumps(got)}, owned by {owner}"
            except (OSError, ValueError, KeyError, TypeError) as e:
                ok, found = False, str(e)
            result(ok, f"JSON {path}: {keys} is {want}, owned by NB_USER", f"found {found}")
        elif kind == "kernel":
            name, _, want = value.partition("=")
            try:
                ksm, specs = server_kernelspecs()
                spec = specs.get(name)
                got = spec["spec"]["display_name"] if spec else f"not listed (listed: {sorted(specs)})"
                logos = sorted(f for f in os.listdir(spec["resource_dir"]) if f.startswith("logo-")) if spec else []
            except Exception as e:  # noqa: BLE001 - any failure is a failed check
                got, logos = f"{type(e).__name__}: {e}", []
            result(got == want, f"the server lists kernel {name} as {want!r}", f"found {got!r}")
            result(bool(logos), f"kernel {name} has the logos of its kernel package", ", ".join(logos))
        elif kind == "kernelspec":
            name, _, want = value.partition("=")
            want = os.path.expandvars(want)
            try:
                import json
                listed = json.loads(subprocess.run(["jupyter", "kernelspec", "list", "--json"], check=True, capture_output=True, text=True).stdout)
                got = listed["kernelspecs"][name]["resource_dir"]
                spec = json.load(open(os.path.join(got, "kernel.json"), encoding="utf-8"))
                ok = got == want and isinstance(spec.get("argv"), list) and bool(spec.get("display_name"))
                found = f"{got}, kernel.json argv {spec.get('argv')}"
            except Exception as e:  # noqa: BLE001 - any failure is a failed check
                ok, found = False, f"{type(e).__name__}: {e}"
            result(ok, f"`jupyter kernelspec list` shows kernel {name} in {want}, its kernel.json parses", found)
        elif kind == "kernel-runs":
            rest, _, want = value.rpartition("=")
            name, _, code = rest.partition(" ")
            try:
                ksm, _ = server_kernelspecs()
                got = kernel_output(ksm, name, code)
            except Exception as e:  # noqa: BLE001 - any failure is a failed check
                got = f"{type(e).__name__}: {e}"
            result(got == want, f"kernel {name} runs {code!r} and prints {want!r}", f"found {got!r}")
        elif kind == "no-kernel":
            try:
                _, specs = server_kernelspecs()
                from jupyter_client.kernelspec import KernelSpecManager
                default = sorted(KernelSpecManager().get_all_specs())
                got = sorted(specs)
            except Exception as e:  # noqa: BLE001 - any failure is a failed check
                got, default = f"{type(e).__name__}: {e}", []
            result(value not in got, f"the server does not list kernel {value}", f"listed: {got}")
            # Why the server setting matters: without it, jupyter_client lists ipykernel's own.
            if value == "python3":
                result(value in default, "without the server's config, jupyter_client would list python3 again", f"listed: {default}")
        elif kind == "content":
            path, _, want = value.partition("=")
            want = want.replace("\\n", "\n")
            try:
                got = open(path, encoding="utf-8").read()
            except OSError as e:
                got = str(e)
            result(got == want, f"file {path} holds exactly {want!r}", f"found {got!r}")
        elif kind == "appended":
            path, _, line = value.partition("=")
            try:
                lines = open(path, encoding="utf-8").read().split("\n")
                ok = lines[-1] == "" and lines[-2] == line and lines.count(line) == 1 and len(lines) > 2
                found = f"{len(lines) - 1} lines, last {lines[-2]!r}, {lines.count(line)} time(s)"
            except (OSError, IndexError) as e:
                ok, found = False, str(e)
            result(ok, f"{path} ends with {line!r} once, after its own content", found)
        elif kind == "dir":
            path, _, want = value.partition("=")
            try:
                import pwd
                st = os.lstat(path)
                kind_ok = stat.S_ISDIR(st.st_mode)
                got = f"{pwd.getpwuid(st.st_uid).pw_name} {stat.S_IMODE(st.st_mode):o}"
            except (OSError, KeyError) as e:
                kind_ok, got = False, str(e)
            result(kind_ok and got == want, f"directory {path} is owned by and has mode {want}", f"found {got}")
        elif kind == "symlink":
            path, _, want = value.partition("=")
            try:
                got = os.readlink(path)
            except OSError as e:
                got = str(e)
            result(got == want, f"{path} links to {want}", f"found {got!r}")
        elif kind == "absent":
            result(not os.path.lexists(value), f"{value} does not exist")
        elif kind == "timezone":
            zone, _, abbrs = value.partition("=")
            link = os.path.realpath("/etc/localtime")
            result(link == f"/usr/share/zoneinfo/{zone}", f"/etc/localtime is the zone file of {zone}", link)
            try:
                named = open("/etc/timezone", encoding="utf-8").read().strip()
            except OSError as e:
                named = str(e)
            result(named == zone, f"/etc/timezone names {zone}", named)
            result(env.get("TZ") == zone, f"TZ is {zone}", f"found {env.get('TZ')!r}")
            # Without TZ too: what programs that read only /etc/localtime see.
            for with_tz in (True, False):
                e = dict(env) if with_tz else {k: v for k, v in env.items() if k != "TZ"}
                p = subprocess.run(["date", "+%Z"], capture_output=True, text=True, env=e)
                got = p.stdout.strip()
                result(got in abbrs.split(), f"date +%Z {'with' if with_tz else 'without'} TZ is one of {abbrs}", got or p.stderr.strip())
        elif kind == "locale":
            rc, out = run("locale", "-a")
            result(value in out.split(), f"locale -a lists {value}", out.replace("\n", " "))
        elif kind == "default-locale":
            name, _, weekday = value.partition("=")
            for var in ("LANG", "LC_ALL", "LANGUAGE"):
                result(env.get(var) == name, f"{var} is {name}", f"found {env.get(var)!r}")
            # The default locale is usable: a program's messages and dates use it.
            rc, out = run("date", "-d", "2024-01-01", "+%A")
            result(rc == 0 and out == weekday, f"date in the default locale says {weekday!r}", out)
            import locale
            try:
                got = locale.setlocale(locale.LC_ALL, "")
            except locale.Error as e:
                got = str(e)
            result(got == name, f"Python's setlocale(LC_ALL, '') gives {name}", got)
        elif kind == "conda-config":
            key, _, want = value.partition("=")
            rc, out = run("conda", "config", "--show", key)
            lines = out.splitlines()
            if lines and lines[0] == f"{key}:":
                got = " ".join(l.strip()[2:] for l in lines[1:] if l.strip().startswith("- "))
            else:
                got = lines[0].partition(": ")[2] if lines else out
            result(rc == 0 and got == want, f"conda config --show {key} is {want!r}", f"found {got!r}")
        elif kind == "image-config":
            import json
            key, _, want = value.partition("=")
            config = json.load(open("/tmp/jcx-bt/image.json", encoding="utf-8"))["Docker"]["config"]
            got = config.get(key)
            if isinstance(got, dict):
                got = sorted(got)
            result(got == json.loads(want), f"the image's {key} is {want}", f"found {json.dumps(got)}")
        elif kind == "torch":
            rc, out = run(sys.executable, "-c", "import torch, torch.version; print(torch.__version__, torch.version.cuda)")
            result(rc == 0 and out.split()[:1] == [value], f"import torch: __version__ is {value}", out)
        else:
            sys.exit(f"unknown expectation kind {kind}")


if __name__ == "__main__":
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ behind in the trees checked
    sys.dont_write_bytecode = True
    if sys.argv[1:] == ["--group-writable"]:
        group_writable()
    elif len(sys.argv) == 3:
        image(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
    sys.exit(1 if failures else 0)
