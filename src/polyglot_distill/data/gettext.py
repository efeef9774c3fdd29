"""English -> xx sentence pairs from the human translations in gettext catalogs (``.mo`` files).

Where the catalogs are
    ``<root>/<locale dir>/LC_MESSAGES/*.mo`` for every root in ``data.gettext_roots`` (default
    ``/usr/share/locale``: coreutils, git, dpkg, gnupg, libc, iso-codes, ...), plus, when
    ``data.include_django`` is true and Django is installed, the ``.mo`` files Django ships next to its
    ``.po`` files: ``django/conf/locale/<dir>/LC_MESSAGES/*.mo`` and
    ``django/contrib/*/locale/<dir>/LC_MESSAGES/*.mo``.

Which locale directories a language code reads (:func:`locale_dirs`)
    * ``xx`` itself and ``xx_RR`` where ``RR`` is a region (two letters or three digits): ``de`` reads
      ``de`` and ``de_CH``; ``pt`` reads ``pt``, ``pt_BR`` and ``pt_PT``; ``es`` reads ``es``, ``es_AR``, ...
    * never a variant with ``@`` (``sr@latin``, ``en@quot``, ``ca@valencia``) nor a script subtag
      (``sr_Latn``, ``uz_Cyrl``): they are another script or an artificial locale;
    * ``zh`` is Simplified Chinese: ``zh_CN``, ``zh_Hans``, ``zh``, ``zh_SG``; the Traditional locales
      ``zh_TW``, ``zh_HK``, ``zh_Hant`` are not read.

    Directories are preferred in that order (the plain code first, then regions alphabetically), over all
    roots, so when the same English sentence has several translations, deduplication keeps the one from the
    main locale.

How a catalog becomes pairs (:func:`read_catalog`)
    The ``.mo`` tables are read here (not with :class:`gettext.GNUTranslations`, which decodes the header
    itself as UTF-8 and so rejects a catalog whose header is in its declared charset, e.g. Debian's
    ``de/LC_MESSAGES/net-tools.mo``: ``Last-Translator: Ralf B\\xe4chle`` in ISO-8859-1). Every string is
    decoded with the header's ``charset=`` (UTF-8 when none is declared): the header (msgid ``""``) is
    skipped; a context entry ``"ctxt\\x04msgid"`` gives ``(msgid, translation)``; of a plural entry only
    form 0 (the singular, paired with the singular msgid) is kept. ``.mo`` files carry no fuzzy or
    untranslated entries. A catalog that cannot be parsed (wrong magic, a charset header that lies or names
    no known codec) is skipped and listed in the manifest with its error.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from polyglot_distill.errors import ConfigError

log = logging.getLogger(__name__)

#: Simplified Chinese locale directories, most preferred first.
_ZH_SIMPLIFIED = ("zh_CN", "zh_Hans", "zh", "zh_SG")
_REGION = re.compile(r"^(?:[A-Z]{2}|[0-9]{3})$")
_READ_ERRORS = (OSError, ValueError, UnicodeError, LookupError, struct.error)


def locale_dirs(lang: str, available: Iterable[str]) -> list[str]:
    """The directory names among ``available`` that hold ``lang``, most preferred first (see module doc)."""
    names = set(available)
    if lang == "zh":
        return [name for name in _ZH_SIMPLIFIED if name in names]
    regional = sorted(
        name for name in names
        if name.startswith(lang + "_") and _REGION.match(name[len(lang) + 1:])
    )
    return ([lang] if lang in names else []) + regional


def django_locale_roots() -> list[Path]:
    """Django's locale roots (``conf/locale`` and each ``contrib/*/locale``), or [] if Django is absent.

    Django is located with :func:`importlib.util.find_spec`, so it is not imported.
    """
    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        return []
    base = Path(next(iter(spec.submodule_search_locations)))
    roots = [base / "conf" / "locale"]
    roots += sorted(path for path in (base / "contrib").glob("*/locale") if path.is_dir())
    return [root for root in roots if root.is_dir()]


def _as_list(roots: str | Sequence[str] | None) -> list[str]:
    if roots is None:
        return []
    if isinstance(roots, (str, Path)):
        return [str(roots)]
    return [str(root) for root in roots]


def find_catalogs(lang: str, roots: str | Sequence[str] | None, include_django: bool) -> list[Path]:
    """Every ``.mo`` catalog for ``lang``, in a deterministic order.

    The order is (locale-directory preference, root order, path), independent of the order in which the
    file system lists directories. A root that is not a directory is a :class:`ConfigError` naming
    ``data.gettext_roots``. A Django that is not installed is skipped with a warning.
    """
    all_roots: list[Path] = []
    for root in _as_list(roots):
        path = Path(root).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"data.gettext_roots: {root!r} is not a directory. List directories that contain "
                "<lang>/LC_MESSAGES/*.mo catalogs (default: /usr/share/locale), or use data=tsv."
            )
        all_roots.append(path)
    if include_django:
        django_roots = django_locale_roots()
        if not django_roots:
            log.warning("data.include_django is true but Django is not installed; reading no Django catalogs")
        all_roots += django_roots

    found: list[tuple[int, int, str, Path]] = []
    for root_index, root in enumerate(all_roots):
        try:
            entries = [entry.name for entry in root.iterdir() if entry.is_dir()]
        except OSError as exc:
            log.warning("cannot list %s: %s", root, exc)
            continue
        for rank, name in enumerate(locale_dirs(lang, entries)):
            for mo in (root / name / "LC_MESSAGES").glob("*.mo"):
                if mo.is_file():
                    found.append((rank, root_index, str(mo), mo))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found]


_MAGIC = {0x950412DE: "<", 0xDE120495: ">"}  # the magic number as read little-endian: the file's byte order
_CHARSET = re.compile(rb"charset=([-\w.:]+)", re.IGNORECASE)


def header_charset(header: bytes) -> str:
    """The charset a catalog header (``Content-Type: text/plain; charset=...``) declares; UTF-8 when it declares
    none or the template's placeholder ``CHARSET``. For ``.mo`` and ``.po`` files alike."""
    found = _CHARSET.search(header)
    return found.group(1).decode("ascii") if found and found.group(1).upper() != b"CHARSET" else "utf-8"


def _entries(data: bytes, name: str) -> list[tuple[bytes, bytes]]:
    """The raw ``(msgid, msgstr)`` byte strings of a GNU ``.mo`` file."""
    if len(data) < 20:
        raise ValueError(f"{name}: {len(data)} bytes is too short for a .mo file")
    order = _MAGIC.get(struct.unpack("<I", data[:4])[0])
    if order is None:
        raise ValueError(f"{name}: bad magic number (not a GNU .mo file)")
    version, count, originals_at, translations_at = struct.unpack(order + "4I", data[4:20])
    if version >> 16 > 1:
        raise ValueError(f"{name}: unsupported .mo major version {version >> 16}")
    entries = []
    for k in range(count):
        id_len, id_at = struct.unpack_from(order + "2I", data, originals_at + 8 * k)
        str_len, str_at = struct.unpack_from(order + "2I", data, translations_at + 8 * k)
        if id_at + id_len > len(data) or str_at + str_len > len(data):
            raise ValueError(f"{name}: entry {k} points past the end of the file")
        entries.append((data[id_at:id_at + id_len], data[str_at:str_at + str_len]))
    return entries


def parse_catalog(data: bytes, name: str) -> list[tuple[str, str]]:
    """``(english, translation)`` pairs of a ``.mo`` file's bytes, decoded with its declared charset, sorted."""
    entries = _entries(data, name)
    header = next((msgstr for msgid, msgstr in entries if msgid == b""), b"")
    charset = header_charset(header)
    pairs = []
    for raw_id, raw_str in entries:
        if not raw_id:  # the header
            continue
        msgid = raw_id.split(b"\0", 1)[0].decode(charset)  # a plural entry: "singular\0plural"
        translation = raw_str.split(b"\0", 1)[0].decode(charset)  # its form 0
        if "\x04" in msgid:  # "msgctxt\x04msgid"
            msgid = msgid.split("\x04", 1)[1]
        if msgid and translation:  # an empty translation is untranslated
            pairs.append((msgid, translation))
    pairs.sort()
    return pairs


def read_catalog(path: str | Path) -> list[tuple[str, str]]:
    """``(english, translation)`` pairs of one ``.mo`` file, sorted; raises what the parser raises."""
    path = Path(path)
    return parse_catalog(path.read_bytes(), str(path))


def read_gettext_pairs(
    lang: str, roots: str | Sequence[str] | None, include_django: bool
) -> tuple[list[tuple[str, str]], list[dict]]:
    """All raw pairs for ``lang`` in catalog order, and a manifest entry per catalog.

    Each manifest entry is ``{"file", "sha256", "pairs"}``, plus ``"error"`` for a catalog that could not
    be parsed (it contributes no pairs).
    """
    pairs: list[tuple[str, str]] = []
    manifest: list[dict] = []
    for path in find_catalogs(lang, roots, include_django):
        entry: dict = {"file": str(path)}
        try:
            data = path.read_bytes()
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            file_pairs = parse_catalog(data, str(path))
        except _READ_ERRORS as exc:
            log.warning("skipping unreadable catalog %s: %s", path, exc)
            entry.setdefault("sha256", None)
            entry.update(pairs=0, error=f"{type(exc).__name__}: {exc}")
        else:
            entry["pairs"] = len(file_pairs)
            pairs.extend(file_pairs)
        manifest.append(entry)
    return pairs, manifest
