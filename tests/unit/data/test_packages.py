"""Catalogs read from pinned package wheels (data/packages.py): parsing, choice of files, pins and hashes."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from polyglot_distill.data import packages
from polyglot_distill.data.gettext import django_locale_roots
from polyglot_distill.errors import ConfigError

PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset={charset}\\n"

#. Default: "The title of this page"
msgid "label_title"
msgstr "{title}"

#, fuzzy
msgid "A fuzzy guess is not a translation"
msgstr "Eine unsichere Vermutung"

msgctxt "button"
msgid "Save the whole document now"
msgstr "Das ganze Dokument jetzt speichern"

msgid "One file was deleted"
msgid_plural "%d files were deleted"
msgstr[0] "Eine Datei wurde gelöscht"
msgstr[1] "%d Dateien wurden gelöscht"

msgid "Nobody translated this one"
msgstr ""

#~ msgid "An obsolete entry stays out"
#~ msgstr "Ein veralteter Eintrag"
"""


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_po_entries_default_comments_context_plurals_and_charset():
    latin1 = PO.format(charset="ISO-8859-1", title="Der Titel dieser Seite").encode("latin-1")
    assert packages.parse_po(latin1) == [
        ("The title of this page", "Der Titel dieser Seite"),  # Plone's id -> its Default English
        ("Save the whole document now", "Das ganze Dokument jetzt speichern"),  # msgctxt dropped
        ("One file was deleted", "Eine Datei wurde gelöscht"),  # the singular, decoded as Latin-1
    ]


def test_a_wheel_gives_the_languages_catalogs_po_over_mo_json_joined_and_vendored_trees_skipped(tmp_path):
    django_mo = next(root / "de" / "LC_MESSAGES" / "django.mo" for root in django_locale_roots()).read_bytes()
    po = PO.format(charset="UTF-8", title="Der Titel dieser Seite").encode()
    wheel = _wheel(tmp_path / "demo-1.0-py3-none-any.whl", {
        "demo/locale/de/LC_MESSAGES/demo.po": po,
        "demo/locale/de/LC_MESSAGES/demo.mo": b"not read: the .po twin is",
        "demo/locale/de_AT/LC_MESSAGES/other.mo": django_mo,
        "demo/locale/fr/LC_MESSAGES/demo.po": po,  # another language
        "demo/dist/django/conf/locale/de/LC_MESSAGES/django.po": po,  # vendored copy
        "demo/locale/en/LC_MESSAGES/app-messages.json": json.dumps({"k1": "Open the first lesson now",
                                                                    "k2": "Same"}).encode(),
        "demo/locale/de/LC_MESSAGES/app-messages.json": json.dumps({"k1": "Die erste Lektion jetzt öffnen",
                                                                    "k2": "Same", "k3": "no English"}).encode(),
    })
    pairs, manifest = packages.read_package_pairs("de", [wheel])
    files = [entry["file"].split("!")[1] for entry in manifest]
    assert files == ["demo/locale/de/LC_MESSAGES/app-messages.json", "demo/locale/de/LC_MESSAGES/demo.po",
                     "demo/locale/de_AT/LC_MESSAGES/other.mo"]  # the plain locale first, then its regions
    assert ("Open the first lesson now", "Die erste Lektion jetzt öffnen") in pairs
    assert ("The title of this page", "Der Titel dieser Seite") in pairs
    assert manifest[2]["pairs"] > 100 and all(len(entry["sha256"]) == 64 for entry in manifest)
    assert len(pairs) == sum(entry["pairs"] for entry in manifest)


def test_unknown_catalog_packages_are_refused_with_the_choices():
    with pytest.raises(ConfigError, match=r"data.catalog_packages: 'plone' is not a pinned catalog package.*"
                                          r"plone.app.locales"):
        packages.expand(["plone"])
    packs = packages.expand([packages.JUPYTERLAB_PACKS])
    assert len(packs) == 29 and all(n.startswith("jupyterlab-language-pack-") for n in packs)


def test_a_cached_wheel_with_another_hash_is_deleted_and_refused(tmp_path):
    version, _ = packages.pins()["horizon"]
    (tmp_path / "catalog-wheels").mkdir()
    fake = _wheel(tmp_path / "catalog-wheels" / f"horizon-{version}-py3-none-any.whl", {"x": b"y"})
    with pytest.raises(ConfigError, match="does not have the pinned sha256"):
        packages.fetch(["horizon"], tmp_path)
    assert not fake.exists()
