"""Reading gettext .mo catalogs: locale directory rules, plural/context entries, manifests."""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from polyglot_distill.data.gettext import (
    find_catalogs,
    locale_dirs,
    read_catalog,
    read_gettext_pairs,
)
from polyglot_distill.errors import ConfigError

HEADER = ("Last-Translator: {translator}\nContent-Type: text/plain; charset={charset}\n"
          "Plural-Forms: nplurals=2; plural=(n != 1);\n")


def write_mo(path: Path, entries: dict[str, str], charset: str = "UTF-8", translator: str = "A Translator",
             declared: str | None = None) -> Path:
    """Write a GNU .mo file encoded in ``charset``, whose header declares ``declared`` (default: ``charset``);
    keys may hold "ctxt\\x04msgid" or "singular\\x00plural", values "f0\\x00f1"."""
    entries = {"": HEADER.format(charset=declared or charset, translator=translator), **entries}
    keys = sorted(entries)
    ids = [key.encode(charset) for key in keys]
    strs = [entries[key].encode(charset) for key in keys]
    count = len(keys)
    originals_at = 28
    translations_at = originals_at + 8 * count
    data_at = translations_at + 8 * count
    table_o, table_t, blob = [], [], b""
    for text in ids:
        table_o.append((len(text), data_at + len(blob)))
        blob += text + b"\0"
    for text in strs:
        table_t.append((len(text), data_at + len(blob)))
        blob += text + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    out += b"".join(struct.pack("<2I", *item) for item in table_o)
    out += b"".join(struct.pack("<2I", *item) for item in table_t)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out + blob)
    return path


def test_locale_dirs_take_the_code_and_its_regions_but_not_variants():
    available = ["de", "de_CH", "de_AT", "de@hebrew", "deu", "dev", "de_Latn", "en", "sr@latin"]
    assert locale_dirs("de", available) == ["de", "de_AT", "de_CH"]
    assert locale_dirs("sr", ["sr", "sr@latin", "sr@Latn", "sr_Latn", "sr_RS"]) == ["sr", "sr_RS"]
    assert locale_dirs("pt", ["pt_PT", "pt_BR", "pt"]) == ["pt", "pt_BR", "pt_PT"]
    assert locale_dirs("es", ["es_419"]) == ["es_419"]
    assert locale_dirs("fr", ["de"]) == []


def test_zh_means_simplified_chinese():
    available = ["zh_TW", "zh_HK", "zh_Hant", "zh_Hans", "zh_CN", "zh", "zh_SG"]
    assert locale_dirs("zh", available) == ["zh_CN", "zh_Hans", "zh", "zh_SG"]


def test_read_catalog_handles_header_context_and_plurals(tmp_path):
    mo = write_mo(tmp_path / "x.mo", {
        "Open the file": "Die Datei öffnen",
        "menu\x04Close the window": "Das Fenster schließen",
        "%d file was copied\x00%d files were copied": "%d Datei wurde kopiert\x00%d Dateien wurden kopiert",
        "ctx\x04one hour left\x00%d hours left": "eine Stunde übrig\x00%d Stunden übrig",
    })
    pairs = read_catalog(mo)
    assert ("Open the file", "Die Datei öffnen") in pairs
    assert ("Close the window", "Das Fenster schließen") in pairs  # context stripped
    assert ("%d file was copied", "%d Datei wurde kopiert") in pairs  # singular form only
    assert ("one hour left", "eine Stunde übrig") in pairs
    assert all(en for en, _ in pairs)  # header skipped
    assert len(pairs) == 4
    assert pairs == sorted(pairs)


def test_read_catalog_decodes_the_declared_charset(tmp_path):
    mo = write_mo(tmp_path / "latin.mo", {"Save the changes": "Änderungen speichern"}, charset="ISO-8859-1")
    assert read_catalog(mo) == [("Save the changes", "Änderungen speichern")]


@pytest.mark.parametrize(("charset", "translator", "translation"), [
    ("ISO-8859-1", "Ralf Bächle", "Schnittstelle für Änderungen"),  # as Debian's de/LC_MESSAGES/net-tools.mo
    ("KOI8-R", "Сергей Иванов", "Сохранить изменения"),
    ("EUC-JP", "山田太郎", "変更を保存"),
])
def test_a_header_in_a_non_utf8_charset_is_decoded_with_it_not_skipped(tmp_path, charset, translator, translation):
    """The standard library's GNUTranslations decodes the header as UTF-8 and raises on such a catalog."""
    mo = write_mo(tmp_path / "de" / "LC_MESSAGES" / "net-tools.mo", {"Save the changes": translation},
                  charset=charset, translator=translator)
    assert translator.encode(charset) in mo.read_bytes() and not _is_utf8(translator.encode(charset))
    assert read_catalog(mo) == [("Save the changes", translation)]
    pairs, manifest = read_gettext_pairs("de", [str(tmp_path)], include_django=False)
    assert pairs == [("Save the changes", translation)]
    assert manifest[0]["pairs"] == 1 and "error" not in manifest[0]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize(("declared", "error"), [("UTF-8", "UnicodeDecodeError"), ("NO-SUCH-CODEC", "LookupError")])
def test_a_charset_header_that_lies_or_names_no_codec_skips_the_catalog_with_its_error(tmp_path, declared, error):
    write_mo(tmp_path / "de" / "LC_MESSAGES" / "liar.mo", {"Save the changes": "Änderungen speichern"},
             charset="ISO-8859-1", declared=declared)
    pairs, manifest = read_gettext_pairs("de", [str(tmp_path)], include_django=False)
    assert pairs == [] and manifest[0]["pairs"] == 0 and manifest[0]["error"].startswith(error)


def test_a_big_endian_catalog_reads_like_a_little_endian_one(tmp_path):
    little = write_mo(tmp_path / "le.mo", {"Open the file": "Die Datei öffnen", "a\x00b": "c\x00d"})
    data = little.read_bytes()
    words = struct.unpack_from("<7I", data)
    count = words[2]
    tables = struct.unpack_from(f"<{4 * count}I", data, 28)
    big = tmp_path / "be.mo"
    big.write_bytes(struct.pack(">7I", *words) + struct.pack(f">{4 * count}I", *tables) + data[28 + 16 * count:])
    assert read_catalog(big) == read_catalog(little) == [("Open the file", "Die Datei öffnen"), ("a", "c")]


def _two_roots(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_mo(first / "de_CH" / "LC_MESSAGES" / "zz.mo", {"Swiss sentence here": "Schweizer Satz hier"})
    write_mo(first / "de" / "LC_MESSAGES" / "b.mo", {"Second file sentence": "Satz aus zweiter Datei"})
    write_mo(first / "de" / "LC_MESSAGES" / "a.mo", {"First file sentence": "Satz aus erster Datei"})
    write_mo(second / "de" / "LC_MESSAGES" / "c.mo", {"Other root sentence": "Satz aus anderer Wurzel"})
    write_mo(first / "de@hebrew" / "LC_MESSAGES" / "h.mo", {"Never read this": "nie gelesen"})
    write_mo(first / "fr" / "LC_MESSAGES" / "f.mo", {"French only here": "Seulement en français"})
    return first, second


def test_find_catalogs_order_is_locale_preference_then_root_then_path(tmp_path):
    first, second = _two_roots(tmp_path)
    found = find_catalogs("de", [str(first), str(second)], include_django=False)
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "a/de/LC_MESSAGES/a.mo",
        "a/de/LC_MESSAGES/b.mo",
        "b/de/LC_MESSAGES/c.mo",
        "a/de_CH/LC_MESSAGES/zz.mo",
    ]
    assert find_catalogs("ii", [str(first)], include_django=False) == []


def test_read_gettext_pairs_manifest_and_unreadable_files(tmp_path):
    first, _ = _two_roots(tmp_path)
    broken = first / "de" / "LC_MESSAGES" / "broken.mo"
    broken.write_bytes(b"this is not a mo file at all")
    pairs, manifest = read_gettext_pairs("de", [str(first)], include_django=False)
    assert pairs[0] == ("First file sentence", "Satz aus erster Datei")
    assert ("Swiss sentence here", "Schweizer Satz hier") == pairs[-1]
    by_name = {Path(entry["file"]).name: entry for entry in manifest}
    assert by_name["a.mo"]["pairs"] == 1
    assert by_name["a.mo"]["sha256"] == hashlib.sha256(Path(by_name["a.mo"]["file"]).read_bytes()).hexdigest()
    assert by_name["broken.mo"]["pairs"] == 0 and "error" in by_name["broken.mo"]
    assert len(pairs) == 3


def test_a_root_that_is_not_a_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.gettext_roots: .*nowhere.* is not a directory"):
        find_catalogs("de", [str(tmp_path / "nowhere")], include_django=False)


def test_django_catalogs_are_found_when_included(tmp_path):
    pytest.importorskip("django")
    found = find_catalogs("de", [], include_django=True)
    assert any(path.parts[-5:-3] == ("conf", "locale") for path in found)
    assert any("contrib" in path.parts for path in found)
    assert all(path.suffix == ".mo" for path in found)
    assert find_catalogs("de", [], include_django=False) == []


@pytest.mark.skipif(not Path("/usr/share/locale/de/LC_MESSAGES").is_dir(), reason="no German system catalogs")
def test_system_catalogs_for_german():
    pairs, manifest = read_gettext_pairs("de", ["/usr/share/locale"], include_django=False)
    assert len(manifest) > 5 and len(pairs) > 1000
