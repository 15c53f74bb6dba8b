"""Where a config value came from: the workflow's config.yaml, a --configfile, or --config;
and the profile's settings file, kept under a --configfile given on the command line.

Snakemake merges them key by key: the workflow's own config file first, then each --configfile
(a profile's `configfiles` among them) in order, then the --config values. A config error is
fixed where its value was set, so its message names that place.

A --configfile on the command line replaces a profile's `configfiles` list, and a --config its
`config` list. A profile therefore names itself in both: its settings file sets `profile: <name>`
and its `config` list passes `profile=<name>`; the Snakefile merges the settings file of the
profile config names back in where the --configfile list lacks it (with_profile).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

COMMAND_LINE = "--config"
# config.yaml's profile: its own settings, the book's experiments, with no settings file.
FULL = "full"
# A profile's settings file, relative to the workflow's folder.
PROFILE_SETTINGS = "profiles/{name}/{name}.yaml"
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_-]+")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where built: 10x faster
# Config keys in a problem's text, dotted, list items by index: 'segmentation.train.book.seeds[1]'.
_KEY = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|\[\d+\])"
_NAMED = re.compile(rf"\b{_KEY}+")
# The key a problem starts with, a top-level one included: 'keras_backend: ...', 'sedd: ...'.
_LEADING = re.compile(rf"^{_KEY}*(?=[:( ]|$)")


def _has(tree: Any, path: Sequence[str]) -> bool:
    for key in path:
        if not isinstance(tree, Mapping) or key not in tree:
            return False
        tree = tree[key]
    return True


def sources_of(
    path: Sequence[str], files: Sequence[tuple[str, Mapping[str, Any]]], given: Mapping[str, Any]
) -> list[str]:
    """Every source that sets path, in the order Snakemake applies them (the last one wins).

    files: (label, parsed content) of each config file, in the order Snakemake reads them;
    given: the --config values, labelled COMMAND_LINE.
    """
    found = [label for label, content in files if _has(content, path)]
    return found + [COMMAND_LINE] if _has(given, path) else found


def source_of(
    path: Sequence[str], files: Sequence[tuple[str, Mapping[str, Any]]], given: Mapping[str, Any]
) -> str | None:
    """The source that set path last, whose value the run uses; None if none sets it."""
    found = sources_of(path, files, given)
    return found[-1] if found else None


def config_files(
    workflow_file: str,
    cli_files: Sequence[str | Path],
    root: str | Path = ".",
    profile: tuple[str, str | Path] | None = None,
) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, content) of the workflow's config file and each --configfile, in Snakemake's order.

    Labels name the file as the user wrote it: 'config.yaml', '--configfile profiles/demo/x.yaml'
    (relative to root, the working directory). profile: (name, settings file) of a profile whose
    file the Snakefile merged under the --configfile files (with_profile), labelled so. A file
    that cannot be read counts as empty.
    """
    found = []
    named = [(workflow_file, Path(root) / workflow_file)]
    if profile is not None:
        name, path = profile
        named.append((f"{os.path.relpath(path, root)} (profile {name})", Path(path)))
    named += [(f"--configfile {os.path.relpath(path, root)}", Path(path)) for path in cli_files]
    for label, path in named:
        try:
            content = yaml.load(path.read_text(), Loader=LOADER)
        except (OSError, yaml.YAMLError):
            content = None
        found.append((label, content if isinstance(content, Mapping) else {}))
    return found


def _path(key: str) -> list[str]:
    """A named key's path up to its first list index: one source sets a list as a whole."""
    return key.split("[")[0].split(".")


def where_to_fix(
    problems: Sequence[str],
    files: Sequence[tuple[str, Mapping[str, Any]]],
    given: Mapping[str, Any],
) -> str:
    """One line saying where to fix each config key the problems name: the source that set it.

    Keys are named dotted, list items by index ('segmentation.train.book.seeds[1]'); a problem
    may start with a top-level key ('keras_backend: ...'). A key that a problem starts with,
    followed by a colon, and that no source sets (a required key, missing) is named as such.
    """
    places: dict[str, list[str]] = {}  # source -> keys, in the order first named
    unset: list[str] = []
    for problem in problems:
        leading = _LEADING.match(problem)
        # 'key: ...' names a key, even one no source sets; a key followed by words may be prose.
        first = leading.group() if leading and problem[leading.end() :][:1] == ":" else None
        keys = [match.group() for match in _NAMED.finditer(problem)]
        if leading and leading.group():
            keys.insert(0, leading.group())
        for key in dict.fromkeys(keys):
            source = source_of(_path(key), files, given)
            if source and key not in places.setdefault(source, []):
                places[source].append(key)
            elif not source and key == first and key not in unset:
                unset.append(key)
    where = [f"{', '.join(keys)} in {source}" for source, keys in places.items() if keys]
    labels = [label for label, _ in files] + [COMMAND_LINE]
    if unset:
        where.append(f"{', '.join(unset)} set nowhere ({', '.join(labels)}): add it")
    if not where:
        return f"Fix the values in {', '.join(labels[:-1])} or {labels[-1]}."
    return f"Where to fix: {'; '.join(where)}."


def profile_settings(name: Any, root: str | Path) -> Path | None:
    """The settings file of the named profile under root (the workflow's folder), or None.

    None for full (config.yaml alone), for a name no profile can have, and where there is no
    such file (the config check names those).
    """
    if not isinstance(name, str) or name == FULL or not _PROFILE_NAME.fullmatch(name):
        return None
    path = Path(root) / PROFILE_SETTINGS.format(name=name)
    return path if path.is_file() else None


def known_profiles(root: str | Path) -> list[str]:
    """The names `profile` may take: full, then each profile under root with a settings file."""
    found = sorted(
        p.name for p in (Path(root) / "profiles").glob("*") if profile_settings(p.name, root)
    )
    return [FULL, *found]


def missing_profile(name: Any, root: str | Path, cli_files: Sequence[str | Path]) -> Path | None:
    """The named profile's settings file where the --configfile list lacks it, else None."""
    path = profile_settings(name, root)
    if path is None or any(Path(f).resolve() == path.resolve() for f in cli_files):
        return None
    return path


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge override into base in place, key by key, as Snakemake merges config (lists whole)."""
    for key, value in override.items():
        if isinstance(value, Mapping):
            below = base.get(key)
            base[key] = merge(below if isinstance(below, dict) else {}, value)
        else:
            base[key] = value
    return base


def with_profile(
    workflow_file: str | Path | None, profile_file: str | Path, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The config with a profile's settings file under the user's: workflow file < profile file
    < each --configfile < --config.

    overrides: the --configfile files and --config values as Snakemake merged them (its
    `overwrite_config`); workflow_file: None where --replace-workflow-config drops it.
    """
    config: dict[str, Any] = {}
    for path in (workflow_file, profile_file):
        if path is not None:
            merge(config, yaml.load(Path(path).read_text(), Loader=LOADER) or {})
    return merge(config, copy.deepcopy(dict(overrides)))
