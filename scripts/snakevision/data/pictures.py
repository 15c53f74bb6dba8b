"""Pictures a user names in config (local paths or http(s) URLs), each named by its file's stem."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import urllib.parse
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import pandas as pd
from PIL import Image, UnidentifiedImageError

from snakevision.data.archives import Expected
from snakevision.data.downloads import download, url_problem
from snakevision.data.images import Picture, what_it_is
from snakevision.data.pets import SPECIES, members
from snakevision.files import read_csv

# A name that is safe as a folder name and as a Snakemake wildcard value.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def is_url(entry: str) -> bool:
    """Whether a config entry is an http(s) URL rather than a local path."""
    return urllib.parse.urlsplit(entry).scheme in ("http", "https")


def file_name(entry: str) -> str:
    """The entry's file name: the last part of a URL's path, or of a local path."""
    if is_url(entry):
        return urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(entry).path).name)
    return Path(entry).name


def name_of(entry: str) -> str:
    """The name of an entry's outputs: its file's stem ('photos/Rex.jpg' -> 'Rex')."""
    return Path(file_name(entry)).stem


def local_path(entry: str, folder: str) -> str:
    """Where a job reads the entry: the fetched copy in folder for a URL, else the path itself."""
    return os.path.join(folder, file_name(entry)) if is_url(entry) else entry


def url_table(lists: Mapping[str, Sequence[str]]) -> dict[str, dict[str, str]]:
    """File name -> {url, key (of config)} of every URL in the lists (config key -> entries):
    each is fetched into a file of that name (the config check refuses two URLs with one name)."""
    return {
        file_name(entry): {"url": entry, "key": key}
        for key, entries in lists.items()
        for entry in entries
        if is_url(entry)
    }


def photos(entries: Sequence[str], folder: str) -> dict[str, dict[str, str | None]]:
    """Output name (the file's stem; the config check refuses names that clash) -> the entry,
    where it is read (a URL is fetched into folder) and the content_hash of a local file."""
    return {
        name_of(entry): {
            "entry": entry,
            "path": local_path(entry, folder),
            "content": content_hash(entry),
        }
        for entry in entries
    }


def content_hash(entry: str) -> str | None:
    """The sha256 of a local entry's file, as a rule's param: new content reruns the rule.

    Snakemake compares a large input by modification time only, so a photo replaced by an
    older-dated copy would rerun nothing. None for a URL (its fetched copy is the input) and a
    missing file (the config check names it). A few MB hash in milliseconds, once per run.
    """
    if is_url(entry):
        return None
    try:
        stat = os.stat(entry)
    except OSError:
        return None
    return _sha256(os.path.abspath(entry), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """The file's sha256, streamed; cached per version of the file (every job asks again)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def problems(entries: list[str], key: str) -> list[str]:
    """What makes entries unusable, one line each, naming the item ('key[0]') and the entry."""
    found = []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}] ({entry!r})"
        if is_url(entry) and (problem := url_problem(entry)):
            found.append(f"{where}: {problem}")
        elif not NAME.fullmatch(name_of(entry)):
            found.append(
                f"{where}: its file name {file_name(entry)!r} cannot name outputs; allowed: "
                "letters, digits, '.', '_' and '-', starting with a letter or digit (rename it)"
            )
        elif not is_url(entry) and not Path(entry).is_file():
            found.append(f"{where}: no such file (a path is relative to the working directory)")
        elif not is_url(entry) and (problem := header_problem(Path(entry))):
            found.append(f"{where}: {problem}; point the entry at an image file (JPEG, PNG...)")
    counts = Counter(name_of(entry) for entry in entries)
    for name in sorted(n for n, count in counts.items() if count > 1):
        same = [i for i, e in enumerate(entries) if name_of(e) == name]
        items = ", ".join(f"{key}[{i}] ({entries[i]!r})" for i in same)
        found.append(f"{items}: they share the name {name!r}; rename one of the files")
    return found


def header_problem(path: Path) -> str | None:
    """Why path is no picture Pillow can open, from its header alone (nothing is decoded).

    The config check's test: milliseconds for a photo of any size. A picture whose data is
    damaged past its header still passes; the job that decodes it names it.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF chatter
            Image.open(path).close()  # identifies the format from the header, decodes nothing
    except Image.DecompressionBombError as exc:  # a damaged header, or a photo of 180+ Mpx
        return f"its header says it is too large to decode ({exc})"
    except UnidentifiedImageError:
        if path.stat().st_size == 0:
            return "it is empty (a download or copy that did not finish?)"
        return f"it is no picture: it holds {what_it_is(path)}"
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    except (SyntaxError, ValueError) as exc:  # a format's plugin refusing a broken header
        return f"its picture header is broken ({exc})"
    return None


def fetch_advice(url: str, target: Path, key: str) -> str:
    """What to do when a picture cannot be fetched: put it there by hand, or name a local copy."""
    return (
        f"download the picture by hand to {target} (`curl -L -o {target} {url}`) and rerun, "
        f"or give a local path to the picture in {key} instead of the URL"
    )


def fetch(url: str, target: Path, key: str, **retry: float) -> None:
    """Download url to target, retried as the archives are; refuse anything but a picture.

    key: the config key that names url, for messages.
    """
    target = Path(target)
    tmp = target.with_name(f".fetching-{target.name}")
    tmp.unlink(missing_ok=True)  # a killed run's file: download() would take it as done
    try:
        download(url, tmp, Expected(), fix=fetch_advice(url, target, key), **retry)
        Picture(name_of(url), tmp, f"{key} entry {url!r}").load()  # refuse anything else
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def from_test_split(index: pd.DataFrame, splits: pd.DataFrame, per_species: int) -> list[Picture]:
    """The first per_species cats and dogs of the classification test split, cats first."""
    rows = members(index, splits, "classification", "test")
    chosen = pd.concat([rows[rows.species == s].head(per_species) for s in SPECIES])
    return [
        Picture(row.stem, Path(row.image), f"test split picture {row.stem}")
        for row in chosen.itertuples()
    ]


def chosen(
    settings: dict, paths: list[str], index: Path | None = None, split: Path | None = None
) -> list[Picture]:
    """The test split's first cats and dogs, then the pictures of each config key.

    settings: test_images (per species; index and split say which) and entries (config key ->
    its entries, read from paths, the fetched copies of URLs, in the same order).
    """
    found = []
    if settings["test_images"]:
        found = from_test_split(read_csv(index), read_csv(split), settings["test_images"])
    listed = [(key, entry) for key, values in settings["entries"].items() for entry in values]
    for (key, entry), path in zip(listed, paths, strict=True):
        found.append(Picture(name_of(entry), Path(path), f"{key} entry {entry!r}"))
    names = Counter(picture.name for picture in found)
    if clashes := [p.origin for p in found if names[p.name] > 1]:
        raise ValueError(f"pictures share a name, and so their outputs: {clashes}; rename one")
    return found
