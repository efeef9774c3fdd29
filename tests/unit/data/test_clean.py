"""Cleaning rules, each on real strings from the system's gettext catalogs."""
from __future__ import annotations

import pytest

from polyglot_distill.data.clean import clean_pair, clean_pair_reason, clean_pairs


def reason(en, xx, lang="de", **kwargs):
    return clean_pair_reason(en, xx, lang=lang, **kwargs)[1]


@pytest.mark.parametrize(
    "en, xx, expected",
    [
        # a quoted placeholder after a word is a name in apposition: removed with its quotes
        ("Option '%s' is not supported", "Option »%s« wird nicht unterstützt",
         ("Option is not supported", "Option wird nicht unterstützt")),
        ("Error opening keyring “%s” for writing: ", "Fehler beim Öffnen des Schlüsselbundes »%s« zum Schreiben: ",
         ("Error opening keyring for writing", "Fehler beim Öffnen des Schlüsselbundes zum Schreiben")),
        # colon-separated at the start or the end
        ("%s: cannot remove write-protected file: %s", "%s: kann schreibgeschützte Datei nicht entfernen: %s",
         ("cannot remove write-protected file", "kann schreibgeschützte Datei nicht entfernen")),
        # in parentheses
        ("The encoding you selected (%s) does not match the locale",
         "Die gewählte Kodierung (%s) passt nicht zur Locale",
         ("The encoding you selected does not match the locale", "Die gewählte Kodierung passt nicht zur Locale")),
        ("It is 100%% sure that this works", "Es ist zu 100%% sicher, dass das geht",
         ("It is 100% sure that this works", "Es ist zu 100% sicher, dass das geht")),
    ],
)
def test_removable_placeholders(en, xx, expected):
    assert clean_pair(en, xx, lang="de") == expected


@pytest.mark.parametrize(
    "en, xx",
    [
        ("copied %d of %d files", "%d von %d Dateien kopiert"),
        ("Select all %(total_count)s %(module_name)s", "Alle %(total_count)s %(module_name)s auswählen"),
        ("Ensure this value has at most {limit_value} characters.", "Bitte höchstens {limit_value} Zeichen."),
        ("Please enter {0} more characters here", "Bitte {0} weitere Zeichen eingeben"),
        ("Invalid value for the variable $HOME here", "Ungültiger Wert für die Variable $HOME hier"),
        ("Invalid value for the variable ${HOME} here", "Ungültiger Wert für die Variable ${HOME} hier"),
        ("skipping argument %1$s of the command", "Argument %1$s des Befehls wird übersprungen"),
        ("removing future state file for transaction %u now", "entferne Statusdatei für Transaktion %u jetzt"),
        ("Yesterday at %H:%M", "Gestern um %H:%M"),
        # a quoted placeholder after a preposition or a verb is an object, not a name in apposition
        ('missing "=" after "%s" in connection info string', "fehlendes »=« nach »%s« in der Zeichenkette"),
        ("could not open '%s'", "konnte »%s« nicht öffnen"),
    ],
)
def test_placeholders_inside_the_sentence_drop_the_pair(en, xx):
    assert reason(en, xx) == "placeholder"


def test_a_placeholder_only_in_the_translation_also_drops():
    assert reason("Cannot open the file", "「%s」を開けません", lang="ja") == "placeholder"


@pytest.mark.parametrize(
    "en, xx, lang, expected",
    [
        ("Show the _hidden files now", "Versteckte Dateien jetzt _anzeigen", "de",
         ("Show the hidden files now", "Versteckte Dateien jetzt anzeigen")),
        ("_Open the selected document", "選択したドキュメントを開く(_O)", "ja",
         ("Open the selected document", "選択したドキュメントを開く")),
        ("&Save the current document", "現在のドキュメントを保存(&S)", "ja",
         ("Save the current document", "現在のドキュメントを保存")),
        ("&Save the current document", "Aktuelles Dokument &speichern", "de",
         ("Save the current document", "Aktuelles Dokument speichern")),
        ("Op_en the selected document", "Ausgewähltes Dokument öff_nen", "de",
         ("Open the selected document", "Ausgewähltes Dokument öffnen")),
        # identifiers keep their underscore
        ("could not determine server setting for integer_datetimes",
         "Servereinstellung für integer_datetimes konnte nicht bestimmt werden", "de",
         ("could not determine server setting for integer_datetimes",
          "Servereinstellung für integer_datetimes konnte nicht bestimmt werden")),
        ("invalid publication_names syntax here", "无效的publication_names语法", "zh",
         ("invalid publication_names syntax here", "无效的publication_names语法")),
    ],
)
def test_accelerators(en, xx, lang, expected):
    assert clean_pair(en, xx, lang=lang) == expected


def test_entities_and_markup():
    assert clean_pair("Research &amp; Development at AT&T Labs", "Forschung &amp; Entwicklung bei AT&T Labs") == (
        "Research & Development at AT&T Labs", "Forschung & Entwicklung bei AT&T Labs")
    assert clean_pair("<b>Warning:</b> this cannot be undone",
                      "<b>Warnung:</b> dies kann nicht rückgängig gemacht werden") == (
        "Warning: this cannot be undone", "Warnung: dies kann nicht rückgängig gemacht werden")
    assert clean_pair("Server Error <em>(500)</em> occurred here", "サーバーエラー <em>(500)</em> が発生しました",
                      lang="ja") == ("Server Error (500) occurred here", "サーバーエラー (500) が発生しました")
    assert clean_pair("first line<br/>second line here", "erste Zeile<br/>zweite Zeile hier") == (
        "first line second line here", "erste Zeile zweite Zeile hier")
    # a metavariable or an unknown tag is not prose
    assert reason("show progress after <n> objects", "Fortschritt nach <n> Objekten anzeigen") == "markup"
    assert reason("The <id/> tag still contains a type", "Das <id/>-Tag enthält noch einen Typ") == "markup"


def test_option_help_lines_keep_their_description():
    en = "  -v, --verbose     output a diagnostic for every directory processed\n"
    xx = "  -v, --verbose     Diagnose für jedes bearbeitete Verzeichnis ausgeben\n"
    assert clean_pair(en, xx) == ("output a diagnostic for every directory processed",
                                  "Diagnose für jedes bearbeitete Verzeichnis ausgeben")
    en = "  -P, --parallel=NUM   use this many background workers for vacuum,\n                       if available\n"
    xx = "  -P, --parallel=NUM   so viele Background-Worker für Vacuum verwenden,\n    wenn verfügbar\n"
    assert clean_pair(en, xx) == ("use this many background workers for vacuum, if available",
                                  "so viele Background-Worker für Vacuum verwenden, wenn verfügbar")


@pytest.mark.parametrize(
    "en, xx, expected",
    [
        ("Use --force to overwrite the existing notes", "Verwenden Sie --force zum Überschreiben", "option"),
        ("-L is obsolete; it is without effect", "-L ist veraltet; es hat keine Wirkung", "option"),
        ("failed to open /dev/tty for reading", "/dev/tty konnte nicht zum Lesen geöffnet werden", "url_or_path"),
        ("See https://www.gnu.org/software/coreutils/ for more", "Siehe https://www.gnu.org/ für mehr",
         "url_or_path"),
        ("Send bug reports to bug-wget@gnu.org please", "Fehlerberichte bitte an bug-wget@gnu.org senden",
         "url_or_path"),
        ("\\copy: parse error at end of line", "\\copy: Parse-Fehler am Zeilenende", "code"),
        ("bell character \x07 is not allowed", "Klingelzeichen \x07 ist nicht erlaubt", "code"),
    ],
)
def test_code_like_strings_are_dropped(en, xx, expected):
    assert reason(en, xx) == expected


def test_fragments_with_unbalanced_brackets_are_dropped():
    assert reason("  (  signature created at ", "  (    Signatur erzeugt am ") == "fragment"
    assert reason("list of values] for the option", "Liste von Werten] für die Option") == "fragment"


def test_hyphenated_words_are_not_options():
    assert clean_pair("use a non-zero value for two-phase commit", "einen Wert ungleich null verwenden") is not None


def test_whitespace_is_collapsed():
    assert clean_pair("Password changed.\nPlease log in again now.\n",
                      "Passwort geändert.\nBitte melden Sie sich jetzt erneut an.\n") == (
        "Password changed. Please log in again now.", "Passwort geändert. Bitte melden Sie sich jetzt erneut an.")
    assert clean_pair("The files are identical , indeed .", "Die Dateien sind identisch , tatsächlich .") == (
        "The files are identical, indeed.", "Die Dateien sind identisch, tatsächlich.")
    # French typography keeps its space before a colon
    assert clean_pair("Error: the file is missing", "Erreur : le fichier est absent", lang="fr") == (
        "Error: the file is missing", "Erreur : le fichier est absent")


def test_filters():
    assert reason("Sierra Negra Nahuatl", "Sierra Negra Nahuatl") == "untranslated"
    assert reason("Logitech iTouch Internet Navigator", "logitech itouch internet navigator") == "untranslated"
    assert reason("Zoogocho Zapotec", "Zoogocho Zapotekisch") == "too_few_words"
    assert reason("Zoogocho Zapotec", "Zoogocho Zapotekisch", min_words=2) is None
    assert reason("the number is 1 2 3", "1 2 3") == "no_letters"
    assert reason("a very long sentence " * 20, "ein sehr langer Satz") == "too_long"
    assert reason("Cancel the download", "ein sehr langer Satz " * 20) == "too_long"
    assert reason("Cancel the download", "   ") == "empty"
    assert reason("", "Abbrechen") == "empty"
    # "1 2 3 files" has one word with a letter
    assert reason("1 2 3 files", "1 2 3 Dateien") == "too_few_words"


def test_untranslated_leftovers_in_non_latin_scripts():
    assert reason("Office Open XML Visio drawing", "Office Open XML Visio drawing!", lang="ru") == "wrong_script"
    assert reason("Office Open XML Visio drawing", "Рисунок Visio формата Office Open XML", lang="ru") is None
    assert reason("Unable to open the file", "Unable to open the file.", lang="ar") == "wrong_script"
    # Latin identifiers inside a Chinese sentence are fine: each character counts as a word
    assert reason("command line options to pass to postgres (PostgreSQL server executable) or initdb",
                  "传递给postgres的命令行选项 (PostgreSQL 服务器执行文件)或initdb", lang="zh") is None
    # Latin-script targets are never checked for script
    assert reason("Office Open XML Visio drawing", "Office-Open-XML-Visio-Zeichnung", lang="de") is None


def test_clean_pairs_deduplicates_by_normalized_english_and_counts_reasons():
    pairs = [
        ("Open the file now", "Datei jetzt öffnen"),
        ("open the file now...", "Datei jetzt öffnen ..."),
        ("Open the  File now", "Öffne die Datei jetzt"),
        ("Quit", "Beenden"),
        ("copied %d of %d files", "%d von %d Dateien kopiert"),
        ("Close all windows now", "Alle Fenster jetzt schließen"),
    ]
    kept, drops = clean_pairs(pairs, 250, 3, lang="de")
    assert kept == [("Open the file now", "Datei jetzt öffnen"), ("Close all windows now", "Alle Fenster jetzt schließen")]
    assert drops == {"duplicate": 2, "too_few_words": 1, "placeholder": 1}
    assert clean_pairs(pairs, 250, 3, lang="de") == (kept, drops)
