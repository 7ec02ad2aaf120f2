#!/usr/bin/env python3
"""Local stand-ins for jcx's build test (scripts/build-test, docs/testing.md).

    stand-ins.py wheels DIR      write the stand-in PyTorch wheels into DIR (JCX_BT_TORCH_PAD_MB=N
                                 pads the CUDA torch wheel with N MiB of random bytes, so that
                                 it weighs what a real one does: scripts/bench-chain)
    stand-ins.py aptrepo DIR     write a signed apt repository (one package) into DIR
    stand-ins.py serve ROOT [PORT]
                                 serve ROOT on 127.0.0.1:PORT (or any free port if PORT is
                                 taken); the port is written to ROOT/port

Served paths:
  /code-server/...          files under ROOT/code-server (the stand-in release packages)
  /downloads/...            files under ROOT/downloads (what the manifest's `download` nodes fetch)
  /whl/cu118/<name>/        PEP 503 index of the CUDA 11.8 stand-in wheels (2.2.1+cu118, ...)
  /pypi/simple/<name>/      a stand-in for the default index: torch, torchvision and torchaudio
                            are small stand-ins of the *PyPI* builds (2.2.1, without +cu118);
                            every other project is the real index's page, passed through
                            (its links point at the real file host, pip downloads from there)
  /files/<wheel>            the stand-in wheels
  /apt/...                  files under ROOT/apt: a signed apt repository (suite `jcx-test`,
                            component `main`) holding `jcx-bt-apt-hello`, and its public key
                            `key.asc`, signed with tests/build/apt-repo/test-signing-key.asc

The stand-in wheels are pure Python (py3-none-any): `import torch` gives a module whose
__version__ says which build it is, which is all the test checks. Real torch wheels weigh
hundreds of megabytes (gigabytes with the CUDA libraries on PyPI).
"""

import base64
import hashlib
import html
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path



def upstream_index():
    """The index pip itself would use on this host: JCX_BT_UPSTREAM_INDEX, PIP_INDEX_URL,
    pip's configured global.index-url, or pip's built-in default."""
    for var in ("JCX_BT_UPSTREAM_INDEX", "PIP_INDEX_URL"):
        if os.environ.get(var):
            return os.environ[var].rstrip("/")
    p = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True)
    if p.returncode == 0 and p.stdout.strip():
        return p.stdout.strip().rstrip("/")
    from pip._internal.models.index import PyPI

    return PyPI.simple_url.rstrip("/")


UPSTREAM = ""  # set by serve()

# (project, version, requirements): the CUDA builds and the builds PyPI serves.
TORCH = [("torch", "2.2.1", []), ("torchvision", "0.17.1", ["torch==2.2.1"]), ("torchaudio", "2.2.1", ["torch==2.2.1"])]
INDEXES = {"cu118": "+cu118", "pypi": ""}


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel(out_dir, project, version, requires, build):
    """Write a minimal valid wheel; return its file name."""
    dist = f"{project}-{version}"
    files = {
        f"{project}/__init__.py": (
            f'"""jcx build-test stand-in for {project} ({build} build)."""\n'
            f'__version__ = "{version}"\n'
            f'JCX_STAND_IN_BUILD = "{build}"\n'
        ),
        f"{dist}.dist-info/METADATA": "".join(
            [
                "Metadata-Version: 2.1\n",
                f"Name: {project}\n",
                f"Version: {version}\n",
                f"Summary: jcx build-test stand-in ({build} build)\n",
                "Requires-Python: >=3.8\n",
            ]
            + [f"Requires-Dist: {r}\n" for r in requires]
        ),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: jcx-stand-ins\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}.dist-info/top_level.txt": f"{project}\n",
    }
    if project == "torch":
        # The PyPI build of torch 2.2.1 is the CUDA 12.1 one.
        cuda = {"cu118": "11.8", "pypi": "12.1"}[build]
        files["torch/version.py"] = f'__version__ = "{version}"\ncuda = "{cuda}"\n'
    record = []
    name = f"{dist}-py3-none-any.whl"
    pad_mb = int(os.environ.get("JCX_BT_TORCH_PAD_MB", "0")) if (project, build) == ("torch", "cu118") else 0
    with zipfile.ZipFile(out_dir / name, "w", zipfile.ZIP_DEFLATED) as z:
        for fname, text in sorted(files.items()):
            data = text.encode()
            z.writestr(zipfile.ZipInfo(fname, (2024, 1, 1, 0, 0, 0)), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{fname},sha256={digest},{len(data)}\n")
        if pad_mb:
            # Random bytes do not compress: the wheel, the installed files and the image layer
            # all weigh about pad_mb, as the CUDA libraries of a real torch wheel would.
            fname = f"{project}/lib/libjcx_stand_in_pad.so"
            h = hashlib.sha256()
            info = zipfile.ZipInfo(fname, (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with z.open(info, "w", force_zip64=True) as f:
                for _ in range(pad_mb):
                    chunk = os.urandom(1 << 20)
                    h.update(chunk)
                    f.write(chunk)
            digest = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
            record.append(f"{fname},sha256={digest},{pad_mb << 20}\n")
        record.append(f"{dist}.dist-info/RECORD,,\n")
        z.writestr(zipfile.ZipInfo(f"{dist}.dist-info/RECORD", (2024, 1, 1, 0, 0, 0)), "".join(record))
    return name


def make_wheels(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, local in INDEXES.items():
        for project, version, requires in TORCH:
            print(wheel(out_dir, project, version + local, requires, index))


DIGESTS = {}


def sha256_of(path):
    """The file's sha256, computed once per run (a padded wheel weighs gigabytes)."""
    if path not in DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        DIGESTS[path] = h.hexdigest()
    return DIGESTS[path]


def simple_page(project, files):
    links = "".join(
        f'<a href="/files/{html.escape(f.replace("+", "%2B"))}#sha256={h}">{html.escape(f)}</a><br>\n' for f, h in files
    )
    return f"<!DOCTYPE html>\n<html><body><h1>Links for {project}</h1>\n{links}</body></html>\n".encode()


class Handler(SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("stand-ins: " + (fmt % args) + "\n")

    def send_bytes(self, data, ctype="text/html; charset=utf-8", code=200):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def local_index(self, index, project):
        local = INDEXES[index]
        wheels = Path(self.server.root, "wheels")
        files = []
        for p, version, _ in TORCH:
            if p == project:
                f = f"{p}-{version}{local}-py3-none-any.whl"
                files.append((f, sha256_of(wheels / f)))
        if not files:
            return self.send_bytes(b"not found\n", "text/plain", 404)
        self.send_bytes(simple_page(project, files))

    def upstream(self, project):
        req = urllib.request.Request(f"{UPSTREAM}/{project}/", headers={"Accept": "text/html"})
        try:
            with urllib.request.urlopen(req, timeout=60, context=self.server.ssl) as r:
                data = r.read()
                ctype = r.headers.get("Content-Type", "text/html")
        except urllib.error.HTTPError as e:
            return self.send_bytes(f"upstream: {e.code}\n".encode(), "text/plain", e.code)
        # Links relative to the page (a mirror may use them) would resolve against us.
        page = f"{UPSTREAM}/{project}/"
        data = re.sub(
            rb'href="([^"]+)"',
            lambda m: b'href="' + urllib.parse.urljoin(page, m[1].decode()).encode() + b'"',
            data,
        )
        self.send_bytes(data, ctype)

    def route(self):
        path = urllib.parse.unquote(self.path.split("?")[0])
        m = re.fullmatch(r"/whl/(cu118)/([^/]+)/?", path)
        if m:
            return self.local_index(m[1], norm(m[2]))
        m = re.fullmatch(r"/pypi/simple/([^/]+)/?", path)
        if m:
            project = norm(m[1])
            if project in {p for p, _, _ in TORCH}:
                return self.local_index("pypi", project)
            return self.upstream(project)
        m = re.fullmatch(r"/files/([^/]+\.whl)", path)
        if m:
            f = Path(self.server.root, "wheels", m[1])
            if f.is_file():
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(f.stat().st_size))
                self.end_headers()
                if self.command != "HEAD":
                    with open(f, "rb") as src:
                        shutil.copyfileobj(src, self.wfile, 1 << 20)
                return None
        if path.startswith(("/code-server/", "/downloads/", "/apt/")):
            return super().do_GET() if self.command == "GET" else super().do_HEAD()
        self.send_bytes(b"not found\n", "text/plain", 404)

    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()


APT_SUITE = "jcx-test"
APT_PACKAGE = ("jcx-bt-apt-hello", "1.0")


def make_apt_repo(out):
    """A signed apt repository as apt reads it (dists/SUITE/InRelease, Packages, pool/), with
    one `Architecture: all` package whose /usr/bin/jcx-bt-apt-hello prints a line, and the
    public key at key.asc. Signed with the committed test-only key, so its fingerprint can be
    written in tests/build/apps.kdl."""
    import email.utils
    import gzip
    import tempfile
    import time

    name, version = APT_PACKAGE
    out = Path(out)
    pool = out / "pool/main/j"
    pool.mkdir(parents=True, exist_ok=True)
    deb = pool / f"{name}_{version}_all.deb"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "root")
        (root / "DEBIAN").mkdir(parents=True)
        (root / "DEBIAN/control").write_text(
            f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
            "Maintainer: jcx build test <apt-test@jcx.invalid>\n"
            "Description: stand-in package of jcx's build test apt repository\n"
        )
        (root / "usr/bin").mkdir(parents=True)
        tool = root / "usr/bin" / name
        tool.write_text("#!/bin/sh\necho 'installed from the signed stand-in apt repository'\n")
        tool.chmod(0o755)
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], check=True, capture_output=True)
    data = deb.read_bytes()
    control = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
    entry = (
        control.rstrip("\n")
        + f"\nFilename: {deb.relative_to(out)}\nSize: {len(data)}\nSHA256: {hashlib.sha256(data).hexdigest()}\n\n"
    ).encode()
    dists = out / "dists" / APT_SUITE
    indexes = []
    for arch in ("amd64", "arm64"):
        d = dists / "main" / f"binary-{arch}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "Packages").write_bytes(entry)
        (d / "Packages.gz").write_bytes(gzip.compress(entry, mtime=0))
        indexes += [d / "Packages", d / "Packages.gz"]
    lines = [
        f"Suite: {APT_SUITE}",
        f"Codename: {APT_SUITE}",
        "Components: main",
        "Architectures: amd64 arm64",
        # An hour ago: apt refuses a Release file dated in the future.
        "Date: " + email.utils.formatdate(time.time() - 3600, usegmt=True),
        "SHA256:",
    ]
    for f in indexes:
        b = f.read_bytes()
        lines.append(f" {hashlib.sha256(b).hexdigest()} {len(b)} {f.relative_to(dists)}")
    (dists / "Release").write_text("\n".join(lines) + "\n")
    home = tempfile.mkdtemp()
    try:
        gpg = ["gpg", "--batch", "--quiet", "--homedir", home]
        key = Path(__file__).parent / "apt-repo/test-signing-key.asc"
        subprocess.run(gpg + ["--import", str(key)], check=True, capture_output=True)
        subprocess.run(gpg + ["--yes", "--clearsign", "-o", str(dists / "InRelease"), str(dists / "Release")], check=True)
        public = subprocess.run(gpg + ["--armor", "--export"], check=True, capture_output=True).stdout
        (out / "key.asc").write_bytes(public)
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def serve(root, port=0):
    global UPSTREAM
    UPSTREAM = upstream_index()
    root = Path(root).resolve()
    handler = lambda *a: Handler(*a, directory=str(root))  # noqa: E731
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as e:
        print(f"stand-ins: port {port}: {e}; using any free port", file=sys.stderr)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.root = root
    cafile = "/etc/ssl/certs/ca-certificates.crt"
    server.ssl = ssl.create_default_context(cafile=cafile if os.path.exists(cafile) else None)
    (root / "port").write_text(f"{server.server_address[1]}\n")
    print(f"stand-ins: serving {root} on 127.0.0.1:{server.server_address[1]}, default index {UPSTREAM}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "wheels":
        make_wheels(Path(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "aptrepo":
        make_apt_repo(sys.argv[2])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 0)
    else:
        sys.exit(__doc__)
