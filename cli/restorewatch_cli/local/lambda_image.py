"""A Python 3.13 Lambda base image built on this machine, for ``sam local invoke --invoke-image``.

No container registry is needed: the image is a Debian root filesystem with Python 3.13 and AWS's
runtime interface client (``awslambdaric``) in ``/var/runtime``, whose ``/var/runtime/bootstrap``
starts the handler the way Lambda's Python runtime does. SAM CLI adds its runtime interface emulator
and the function's layers on top, as it does with AWS's own images.

How it is built (root is needed, for debootstrap):

* ``debootstrap --foreign`` downloads the packages for the target architecture; every ``.deb`` is
  then unpacked with ``dpkg-deb -x``: the emulated second stage would run every maintainer script
  under QEMU, which takes minutes and configures nothing a Lambda runtime uses;
* ``awslambdaric`` and its dependencies: wheels for the target platform (``pip --platform``);
* the standard library and the runtime client are byte-compiled with this machine's Python 3.13
  (bytecode does not depend on the architecture): Debian compiles in a maintainer script, and
  compiling under QEMU at every cold start costs tens of seconds;
* ``docker build --platform`` from a two-line Dockerfile (``FROM scratch``, ``ADD rootfs.tar /``):
  ``docker import`` would record this machine's architecture, and SAM builds its layer image for
  the image's recorded one.

The image is cached twice, keyed by what it is built from (this module's source, which holds the
recipe, and the architecture): the Docker tag is the key, and the root filesystem's tarball is kept
under ``~/.cache/restorewatch/lambda-image/`` so that a new Docker engine (or a pruned one) gets it
back in seconds. Debian's archive moves on under a suite name; delete the cache to take it in.

Unlike Lambda's runtime, the image has no boto3 of its own: the layer must bring every package it
imports (layers/restorewatch/requirements.txt pins boto3 on purpose), so a missing one fails here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from restorewatch.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

IMAGE_REPOSITORY = "restorewatch-lambda-python3.13"
PYTHON_VERSION = "3.13"
DEBIAN_SUITE = "trixie"  # Debian 13: Python 3.13, the Lambda runtime's version
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_PACKAGES = ("python3",)
# The runtime interface client and its dependencies, pinned (installed without resolving).
RUNTIME_REQUIREMENTS = ("awslambdaric==4.2.2", "simplejson==4.3.0", "snapshot-restore-py==1.0.0")
# Lambda's order: function code, then layers, then the runtime's own packages
# (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-searchpath).
BOOTSTRAP = f"""#!/bin/sh
# Lambda's Python runtime start: the runtime interface client runs the handler named by _HANDLER.
export PYTHONPATH="/var/task:/opt/python/lib/python{PYTHON_VERSION}/site-packages:/opt/python:/var/runtime"
exec /usr/bin/python{PYTHON_VERSION} -m awslambdaric "$_HANDLER"
"""
DOCKERFILE = """FROM scratch
ADD rootfs.tar /
ENV LANG=C.UTF-8 LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/var/runtime/bootstrap"]
"""
# Documentation, manuals and translations: nothing a function reads.
_PRUNED = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "debootstrap")
_PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
_DEBIAN_ARCHITECTURES = {"arm64": "arm64", "x86_64": "amd64"}
_QEMU_BINFMT = {"arm64": "qemu-aarch64", "x86_64": "qemu-x86_64"}
_MACHINES = {"arm64": ("aarch64", "arm64"), "x86_64": ("x86_64", "amd64")}


@dataclass(frozen=True, slots=True)
class LambdaImage:
    """The image for one Lambda architecture (``arm64`` or ``x86_64``, as in the template)."""

    architecture: str = "arm64"

    def __post_init__(self) -> None:
        if self.architecture not in _PIP_PLATFORMS:
            known = ", ".join(sorted(_PIP_PLATFORMS))
            raise InputError(f"no Lambda image for architecture {self.architecture!r} (known: {known})")

    @property
    def key(self) -> str:
        """What the image is built from: the recipe (this module's source) and the architecture."""
        return recipe_key(Path(__file__).read_bytes(), self.architecture)

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.architecture}-{self.key}"

    @property
    def docker_platform(self) -> str:
        return f"linux/{_DEBIAN_ARCHITECTURES[self.architecture]}"

    def cache_dir(self, cache_root: Path) -> Path:
        return cache_root / f"{self.architecture}-{self.key}"


def recipe_key(recipe: bytes, architecture: str) -> str:
    digest = hashlib.sha256(recipe)
    digest.update(architecture.encode())
    return digest.hexdigest()[:20]


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "restorewatch" / "lambda-image"


def emulation_problem(image: LambdaImage) -> str | None:
    """Why containers of ``image``'s architecture cannot run here, or ``None``."""
    if platform.machine().lower() in _MACHINES[image.architecture]:
        return None
    name = _QEMU_BINFMT[image.architecture]
    entry = Path("/proc/sys/fs/binfmt_misc") / name
    try:
        lines = entry.read_text().splitlines()
    except OSError:
        lines = []
    # F (fix binary): the kernel opens the interpreter now, so it works inside containers too
    flags = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("flags:")), "")
    if "enabled" in lines and "F" in flags:
        return None
    return (
        f"{image.architecture} containers need QEMU user emulation registered with binfmt_misc "
        f"({entry} enabled, flag F): apt-get install qemu-user-static binfmt-support, then "
        f"`mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc` if it is not mounted and "
        f"`update-binfmts --enable {name}`"
    )


def image_available(image: LambdaImage, cache_root: Path | None = None) -> bool:
    """Docker has the image, or its root filesystem is cached (no root needed to import it)."""
    cached = image.cache_dir(cache_root or default_cache_root()) / "rootfs.tar"
    return cached.is_file() or _docker_has(image.tag)


def ensure_image(
    image: LambdaImage,
    *,
    python: str,
    cache_root: Path | None = None,
    log: Callable[[str], None] = print,
) -> str:
    """The image's tag, built (or re-imported from the cached root filesystem) when Docker lacks it.

    ``python``: a Python 3.13 interpreter of this machine, with pip (it downloads the runtime
    client's wheels and byte-compiles the root filesystem).
    """
    if _docker_has(image.tag):
        log(f"Lambda base image {image.tag} (cached in Docker)")
        return image.tag
    directory = image.cache_dir(cache_root or default_cache_root())
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / ".lock"):
        if _docker_has(image.tag):  # built meanwhile by another run
            return image.tag
        tarball = directory / "rootfs.tar"
        if tarball.is_file():
            log(f"Lambda base image: root filesystem from the cache {tarball}")
        else:
            log(f"Lambda base image: building the {image.architecture} root filesystem ({DEBIAN_SUITE})")
            _build_rootfs_tarball(image, directory, python, log)
        (directory / "Dockerfile").write_text(DOCKERFILE)
        platform_option = f"--platform={image.docker_platform}"
        _run(["docker", "build", "--quiet", platform_option, "-t", image.tag, str(directory)], "docker build")
    _forget_older(image, directory.parent)
    log(f"Lambda base image {image.tag} built")
    return image.tag


def _build_rootfs_tarball(
    image: LambdaImage, directory: Path, python: str, log: Callable[[str], None]
) -> None:
    _require_tools(python)
    work = directory / f"work-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    rootfs = work / "rootfs"
    try:
        _run(
            [
                "debootstrap", "--foreign", "--variant=minbase",
                f"--arch={_DEBIAN_ARCHITECTURES[image.architecture]}",
                f"--include={','.join(DEBIAN_PACKAGES)}",
                DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR,
            ],
            "debootstrap",
        )  # fmt: skip
        archives = sorted((rootfs / "var/cache/apt/archives").glob("*.deb"))
        log(f"  unpacking {len(archives)} Debian packages")
        for package in archives:
            _run(["dpkg-deb", "-x", str(package), str(rootfs)], f"dpkg-deb -x {package.name}")
            package.unlink()
        interpreter = rootfs / f"usr/bin/python{PYTHON_VERSION}"
        if not interpreter.exists():
            raise InputError(f"Debian {DEBIAN_SUITE} gave no python{PYTHON_VERSION} ({interpreter} missing)")
        for pruned in _PRUNED:
            shutil.rmtree(rootfs / pruned, ignore_errors=True)
        runtime = rootfs / "var/runtime"
        _run(
            [
                python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                "--target", str(runtime), "--platform", _PIP_PLATFORMS[image.architecture],
                "--implementation", "cp", "--python-version", PYTHON_VERSION, "--only-binary=:all:",
                *RUNTIME_REQUIREMENTS,
            ],
            "pip install (the runtime interface client)",
        )  # fmt: skip
        bootstrap = runtime / "bootstrap"
        bootstrap.write_text(BOOTSTRAP)
        bootstrap.chmod(0o755)
        for empty in ("var/task", "opt"):
            (rootfs / empty).mkdir(parents=True, exist_ok=True)
        log("  byte-compiling the standard library and the runtime client")
        _run(
            [python, "-m", "compileall", "-q", "-j", "0",
             str(rootfs / f"usr/lib/python{PYTHON_VERSION}"), str(runtime)],
            "compileall",
            allowed_codes=(0, 1),  # 1: a file that does not compile stays source-only (a cache, no more)
        )  # fmt: skip
        partial = directory / "rootfs.tar.partial"
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], "tar")
        partial.rename(directory / "rootfs.tar")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _require_tools(python: str) -> None:
    if os.geteuid() != 0:
        raise InputError("building the Lambda base image needs root (debootstrap): run as root or with sudo")
    missing = [tool for tool in ("debootstrap", "dpkg-deb", "tar") if shutil.which(tool) is None]
    if missing:
        needed = ", ".join(missing)
        raise InputError(f"building the Lambda base image needs {needed} (apt-get install debootstrap)")
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if version != PYTHON_VERSION:
        found = version or "?"
        raise InputError(f"{python} is Python {found}; the Lambda image needs Python {PYTHON_VERSION}")


def _docker_has(tag: str) -> bool:
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return done.returncode == 0


def _forget_older(image: LambdaImage, cache_root: Path) -> None:
    """Drop the images and cached root filesystems of older recipes of the same architecture."""
    for stale in cache_root.glob(f"{image.architecture}-*"):
        if stale != image.cache_dir(cache_root) and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPOSITORY],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    for tag in listed:
        if tag.startswith(f"{IMAGE_REPOSITORY}:{image.architecture}-") and tag != image.tag:
            subprocess.run(["docker", "rmi", tag], capture_output=True, check=False)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: Sequence[str], what: str, *, allowed_codes: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if done.returncode not in allowed_codes:
        output = (done.stderr or done.stdout).strip().splitlines()[-20:]
        raise InputError(f"{what} failed (exit {done.returncode}):\n" + "\n".join(output))
