"""Turn raw (english, translation) pairs from software catalogs into clean natural-language pairs.

Both sides go through the same steps, in this order; the first rule that rejects a pair names the drop
reason counted by :func:`clean_pairs`.

1. **Markup.** Known HTML/Pango tags (``<b>``, ``</a>``, ``<a href="...">``, ``<br/>``, ...) are removed;
   ``<br>``/``<p>`` become a space. Then entities with a semicolon are unescaped (``&amp;`` -> ``&``,
   ``&#39;`` -> ``'``); an ``&`` without ``;`` is left alone (``AT&T``).
2. **Accelerators** (keyboard mnemonics) are removed: ``_File`` -> ``File``, ``&Open`` -> ``Open``, the
   CJK form ``ファイル(_F)`` / ``(&F)`` -> ``ファイル``. An underscore is a mnemonic only when it is the string's
   only one and it starts a word (``_File``) or sits in a word that the other side lacks (``Op_en``,
   ``öff_nen``); otherwise it is an identifier (``open_sync`` on both sides) and is kept.
3. **Option column.** A help line ``  -v, --verbose     explain what is being done`` keeps only its
   description (the text after the run of spaces that ends a column of option tokens).
4. **Placeholders** -- printf and strftime (``%s``, ``%5.2f``, ``%1$s``, ``%lu``, ``%H``: any ``%`` directly
   followed by a letter), Qt ``%1``, Python (``%(name)s``, ``{0}``, ``{name}``, ``{}``), shell (``$VAR``,
   ``${VAR}``) and ``%{name}``. Removed where the rest is still a sentence: one in parentheses
   (``the encoding (%s) and ...``); one in quotes after a word and before another word or the end, i.e. a
   name in apposition (``Option '%s' is not supported`` -> ``Option is not supported``, ``bad ref '%s'`` ->
   ``bad ref``) -- unless the English word before it is a preposition, article or verb (``after '%s' in``,
   ``cannot open '%s'``), where the placeholder is an object; one at the start or the end separated by a colon (``%s: cannot stat: %s`` ->
   ``cannot stat``). A placeholder anywhere else is part of the grammar (``copied %d of %d files``,
   ``「%s」を開けません``) and drops the pair (``placeholder``). ``%%`` becomes ``%``.
5. **Not prose** drops the pair: a remaining command-line option (``-f``, ``--force``; reason ``option``),
   a URL, e-mail address or file path (``url_or_path``), another angle-bracket token such as a metavariable
   ``<file>`` or an XML tag ``<id/>`` (``markup``), a literal backslash escape (``\\n``, ``\\pset``) or a
   control character (``code``), unbalanced parentheses or brackets: a fragment of a larger message
   (``fragment``).
6. **Whitespace** is collapsed (newlines inside a message are line wraps), a space before a ``,`` or ``.``
   that ends a word goes (left behind by a removed placeholder; French spacing before ``:;!?`` stays), and
   a trailing colon goes.
7. **Filters:** an empty side (``empty``); either side longer than ``max_chars`` characters
   (``too_long``); English with fewer than ``min_words`` words, a word being a token with a letter
   (``too_few_words``); a translation with no letter (``no_letters``); a translation equal to the English
   ignoring case (``untranslated``); for a language written in a non-Latin script (``NON_LATIN_SCRIPT``), a
   translation more than 3/4 of whose words are ASCII-letter words (``wrong_script``: an untranslated
   leftover; each CJK character counts as a word).
8. **Deduplication** (:func:`clean_pairs`): one pair per English sentence, compared by
   :func:`polyglot_distill.data.split.normalize_english` (case, punctuation and spacing ignored); the first
   in input order wins, so the input order (catalog order, see :mod:`polyglot_distill.data.gettext`) decides.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from polyglot_distill.data.languages import NON_LATIN_SCRIPT
from polyglot_distill.data.split import normalize_english

_HTML_TAGS = (
    "a abbr b big blockquote br cite code del div em font h1 h2 h3 h4 h5 h6 hr i img ins kbd li ol p pre q s "
    "small span strike strong sub sup tt u ul"
)
_TAG = re.compile(r"</?(?:%s)\b(?:\s[^<>]*)?/?>" % "|".join(_HTML_TAGS.split()), re.IGNORECASE)
_BREAK_TAG = re.compile(r"<(?:br|p|/p|hr|li|div|/div)\b[^<>]*>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")

_AMP_ACCEL = re.compile(r"(?<![\w&])&(?=[^\W\d_])(?![A-Za-z][A-Za-z0-9]*;)")
_CJK_ACCEL = re.compile(r"\s*[(（]\s*[_&][A-Za-z0-9]\s*[)）]")
_IDENTIFIER = re.compile(r"[A-Za-z0-9]*_[A-Za-z0-9]*")

_OPTION_TOKEN = re.compile(r"^(?:-{1,2}[\w?][\w-]*(?:\[?=\S*)?|[A-Z][A-Z0-9_-]*|<[^<>\s]+>|\[\S*\]|,)$")

_PH = (
    r"%\(\w+\)[-+#0]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # %(name)s
    r"|%\{\w+\}"  # %{name}
    r"|%<\w+>"  # %<PRIu64>
    r"|%(?:\d+\$)?[-+#0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|ll|I64|I32|[hlLqjztEO])?[A-Za-z]"
    r"|%\d+"  # Qt %1
    r"|\{[\w.]*(?:![rsa])?(?::[^{}]*)?\}"  # {0} {name} {} {0:>3}
    r"|\$\{?[A-Za-z_]\w*\}?|\$\d"  # $VAR ${VAR} $1
)
_PLACEHOLDER = re.compile(_PH)
_LEADING_PH = re.compile(rf"^\s*(?:{_PH})\s*[:：]\s*")
_TRAILING_PH = re.compile(rf"\s*[:：]\s*(?:{_PH})\s*[.。]?\s*$")
_OPEN = "'\"`‘“„‚«»‹›「『"
_CLOSE = "'\"`’”“‘«»‹›」』"
# a quoted placeholder after a word, before another word or the end: "file '%s' not found", "bad ref '%s'"
_QUOTED_PH = re.compile(rf"([^\W\d_]+) [{_OPEN}](?:{_PH})[{_CLOSE}](?= [^\W\d_]|[.。!]?\s*$)")
# English words after which a quoted placeholder is an object ("after '%s' in", "cannot open '%s'"), not a name
# in apposition: removing it would leave a broken sentence, so such a pair is dropped instead
_NOT_APPOSITION = frozenset("""
    a about above across after against along among an and around as at before behind below beneath beside
    between beyond by despite during except for from in inside into like near not of off on onto or out outside
    over past per since than the through to toward towards under until upon via with within without
    am are be been being is was were has have had do does did
    access accessing call calling chdir check close closing contain containing contains copy copying create
    creating delete deleting execute executing expected find finding found get got load loading lock locking
    match matches matching mkdir move moving named open opening parse parsing read reading remove removing rename renaming resolve
    rmdir run running see seek set stat unlink use using write writing
""".split())
# a parenthesized placeholder anywhere: "the encoding you selected (%s) and ..."
_PAREN_PH = re.compile(rf"\s?[(（]\s*(?:{_PH})\s*[)）]")
_PH_HINT = re.compile(r"[%{$]")

_OPTION = re.compile(r"(?:^|(?<=[\s'\"`(\[«»„“‘‹/|,=]))--?[A-Za-z][\w-]*")
_URL_OR_PATH = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://|\bwww\.|[\w.+-]+@[\w-]+\.[\w.-]+"
    r"|(?:^|(?<=[\s'\"`(\[=«»„“‘‹:]))(?:~|\.{1,2})?/[\w.-]+|\b[A-Za-z]:\\"
)
_ANGLE = re.compile(r"<[^<>\s][^<>]*>")
_CODE = re.compile(r"\\[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.])(?=\s|$)")
_LETTER = re.compile(r"[^\W\d_]")
_PERCENT = "\ufffe"  # stands for a literal "%%" while placeholders are handled


def _markup(text: str) -> str:
    if "<" not in text and "&" not in text:
        return text
    text = _BREAK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _accelerators(text: str, other: str) -> str:
    if "_" not in text and "&" not in text:
        return text
    text = _CJK_ACCEL.sub("", text)
    text = _AMP_ACCEL.sub("", text)
    if text.count("_") == 1:
        at = text.index("_")
        if at + 1 < len(text) and text[at + 1].isalnum():
            mid_word = at > 0 and text[at - 1].isalnum()
            token = _IDENTIFIER.search(text).group(0)
            if not mid_word or token not in other:
                text = text[:at] + text[at + 1:]
    return text


def _option_column(text: str) -> str:
    stripped = text.strip("\n")
    if not stripped.lstrip().startswith("-"):
        return text
    parts = re.split(r"\s{2,}|\t", stripped.strip(), maxsplit=1)
    if len(parts) == 2 and all(_OPTION_TOKEN.match(tok.rstrip(",")) or tok == ","
                               for tok in parts[0].replace(",", " , ").split()):
        return parts[1]
    return text


def _keep_word(match: re.Match) -> str:
    return match.group(1)


def _drop_quoted(match: re.Match) -> str:
    return match.group(0) if match.group(1).casefold() in _NOT_APPOSITION else match.group(1)


def _placeholders(text: str, english: bool) -> str | None:
    """``text`` without its removable placeholders, or None if one is part of the sentence."""
    if not _PH_HINT.search(text):
        return text
    text = text.replace("%%", _PERCENT)
    text = _PAREN_PH.sub("", _QUOTED_PH.sub(_drop_quoted if english else _keep_word, text))
    for _ in range(2):
        text = _LEADING_PH.sub("", text)
        text = _TRAILING_PH.sub("", text)
    if _PLACEHOLDER.search(text):
        return None
    return text.replace(_PERCENT, "%")


def _side(text: str, other: str, english: bool) -> tuple[str | None, str | None]:
    """Clean one side; returns (text, None) or (None, drop reason)."""
    text = unicodedata.normalize("NFC", text)
    text = _markup(text)
    text = _accelerators(text, other)
    text = _option_column(text)
    text = _placeholders(text, english)
    if text is None:
        return None, "placeholder"
    if ("/" in text or "@" in text or ":\\" in text or "www." in text) and _URL_OR_PATH.search(text):
        return None, "url_or_path"
    if "-" in text and _OPTION.search(text):
        return None, "option"
    if "<" in text and _ANGLE.search(text):
        return None, "markup"
    if _CODE.search(text):
        return None, "code"
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        return None, "fragment"
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split())).rstrip(" :：")
    return text, None


def _has_words(text: str, count: int) -> bool:
    """Whether ``text`` has at least ``count`` whitespace-separated tokens that contain a letter."""
    words = text.split()
    if len(words) < count:
        return False
    found = 0
    for word in words:
        if _LETTER.search(word):
            found += 1
            if found >= count:
                return True
    return found >= count


_ASCII_WORD = re.compile(r"[A-Za-z]+")
_NATIVE_RUN = re.compile(r"[^\W\d_A-Za-z]+")
_CJK_LANGS = frozenset({"zh", "ja"})


def _latin_share(text: str, lang: str) -> float:
    """Share of ASCII-letter words among the words of ``text``; a CJK character counts as a word."""
    latin = len(_ASCII_WORD.findall(text))
    runs = _NATIVE_RUN.findall(text)
    native = sum(len(run) for run in runs) if lang in _CJK_LANGS else len(runs)
    return latin / (latin + native) if latin + native else 0.0


def clean_pair_reason(
    en: str, xx: str, *, lang: str | None = None, max_chars: int = 250, min_words: int = 3
) -> tuple[tuple[str, str] | None, str | None]:
    """Clean one pair: ``((english, translation), None)``, or ``(None, reason)`` when it is dropped."""
    if not en or not en.strip() or not xx or not xx.strip():
        return None, "empty"
    if "<" not in en and "&" not in en and not _has_words(en, min_words):
        return None, "too_few_words"  # cleaning never adds a word (only tags and entities could)
    clean_en, reason = _side(en, xx, english=True)
    if reason:
        return None, reason
    clean_xx, reason = _side(xx, en, english=False)
    if reason:
        return None, reason
    if not clean_en or not clean_xx:
        return None, "empty"
    if len(clean_en) > max_chars or len(clean_xx) > max_chars:
        return None, "too_long"
    if not _has_words(clean_en, min_words):
        return None, "too_few_words"
    if not _LETTER.search(clean_xx):
        return None, "no_letters"
    if clean_en.casefold() == clean_xx.casefold():
        return None, "untranslated"
    if lang in NON_LATIN_SCRIPT and _latin_share(clean_xx, lang) > 0.75:
        return None, "wrong_script"
    return (clean_en, clean_xx), None


def clean_pair(
    en: str, xx: str, *, lang: str | None = None, max_chars: int = 250, min_words: int = 3
) -> tuple[str, str] | None:
    """The cleaned pair, or None when a rule of the module docstring drops it."""
    return clean_pair_reason(en, xx, lang=lang, max_chars=max_chars, min_words=min_words)[0]


def clean_pairs(
    pairs: Iterable[tuple[str, str]], max_chars: int = 250, min_words: int = 3, *, lang: str | None = None
) -> tuple[list[tuple[str, str]], Counter]:
    """Clean and deduplicate ``pairs`` (in input order); returns the kept pairs and the drop reasons."""
    kept: list[tuple[str, str]] = []
    drops: Counter = Counter()
    seen: set[str] = set()
    for en, xx in pairs:
        pair, reason = clean_pair_reason(en, xx, lang=lang, max_chars=max_chars, min_words=min_words)
        if pair is None:
            drops[reason] += 1
            continue
        key = normalize_english(pair[0])
        if key in seen:
            drops["duplicate"] += 1
            continue
        seen.add(key)
        kept.append(pair)
    return kept, drops
