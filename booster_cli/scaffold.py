"""``booster init``: write a ready-to-run booster project into a folder.

The files come from the ``booster_cli.templates`` package (the repository's ``templates/``
folder, shipped inside the wheel), read with importlib.resources so an installed booster can
scaffold without its checkout:

* ``booster.toml`` — every setting at its default value, each with a comment naming its
  ``BOOSTER_*`` environment variable;
* ``Makefile`` — up, deploy, demo, settle, status, down (run from the project folder);
* ``.gitignore`` — the state directory, node_modules, build output;
* ``contracts/`` — BoosterTarget.sol, Booster.sol and the example targets Voting, Counter,
  Token (ERC20) and Pool (constant-product AMM).
"""

from __future__ import annotations

import os
import secrets
from importlib import resources
from pathlib import Path

from .errors import BoosterError, UsageError

TEMPLATES_PACKAGE = "booster_cli.templates"

# (template inside TEMPLATES_PACKAGE, path inside the project) in the order conflicts are reported
PROJECT_FILES: tuple[tuple[str, str], ...] = (
    ("project/booster.toml", "booster.toml"),
    ("project/Makefile", "Makefile"),
    # stored without the dot: a .gitignore inside templates/ would apply to booster's own checkout
    ("project/gitignore", ".gitignore"),
)
CONTRACTS: tuple[str, ...] = ("BoosterTarget.sol", "Booster.sol", "Voting.sol", "Counter.sol", "Token.sol", "Pool.sol")


def project_files() -> list[tuple[str, bytes]]:
    """Every file ``init`` writes: (path relative to the project folder, content)."""
    root = resources.files(TEMPLATES_PACKAGE)
    pairs = list(PROJECT_FILES) + [(name, f"contracts/{name}") for name in CONTRACTS]
    files = []
    for template, target in pairs:
        try:
            data = root.joinpath(template).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise BoosterError(f"booster's template {template} is missing from its installation; reinstall booster") from None
        files.append((target, data))
    return files


def init_project(directory: Path, force: bool = False) -> list[Path]:
    """Write the project files into ``directory`` (created if missing) and return their paths.

    Without ``force`` an existing file at any of the paths is an error (UsageError naming the
    first one) and nothing is written; with ``force`` existing files are overwritten. Files of
    the folder that ``init`` does not write are never touched.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")
    files = [(directory / relative, data) for relative, data in project_files()]

    # check everything before writing anything
    for path, _ in files:
        if path.is_dir():
            raise UsageError(f"{path} is a directory; move it away to initialise a booster project here")
        if not force and (path.exists() or path.is_symlink()):
            raise UsageError(f"{path} already exists; use --force to overwrite it")
        for parent in path.relative_to(directory).parents:
            folder = directory / parent
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"{folder} exists and is not a directory")

    written = []
    for path, data in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, data)
        written.append(path)
    return written


def _write(path: Path, data: bytes) -> None:
    # a temporary file renamed over the target: never a half-written file, and an overwritten
    # symlink is replaced rather than followed; the mode is 0666 less the umask, as for open()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
