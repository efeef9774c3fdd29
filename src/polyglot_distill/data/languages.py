"""ISO 639-1 language codes and the check that a configured language is one of them.

The table is hard-coded (from the ISO 639-2 registry: every language that has a two-letter code) so that
the check works on any machine. Each row is ``(alpha-2, alpha-3 terminology, alpha-3 bibliographic, name)``;
the three-letter codes and the names are only used to suggest the right two-letter code in error messages.
"""
from __future__ import annotations

import difflib
import re

from polyglot_distill.errors import ConfigError

_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ('aa', 'aar', '', 'Afar'),
    ('ab', 'abk', '', 'Abkhazian'),
    ('ae', 'ave', '', 'Avestan'),
    ('af', 'afr', '', 'Afrikaans'),
    ('ak', 'aka', '', 'Akan'),
    ('am', 'amh', '', 'Amharic'),
    ('an', 'arg', '', 'Aragonese'),
    ('ar', 'ara', '', 'Arabic'),
    ('as', 'asm', '', 'Assamese'),
    ('av', 'ava', '', 'Avaric'),
    ('ay', 'aym', '', 'Aymara'),
    ('az', 'aze', '', 'Azerbaijani'),
    ('ba', 'bak', '', 'Bashkir'),
    ('be', 'bel', '', 'Belarusian'),
    ('bg', 'bul', '', 'Bulgarian'),
    ('bh', 'bih', '', 'Bihari languages'),
    ('bi', 'bis', '', 'Bislama'),
    ('bm', 'bam', '', 'Bambara'),
    ('bn', 'ben', '', 'Bengali'),
    ('bo', 'bod', 'tib', 'Tibetan'),
    ('br', 'bre', '', 'Breton'),
    ('bs', 'bos', '', 'Bosnian'),
    ('ca', 'cat', '', 'Catalan; Valencian'),
    ('ce', 'che', '', 'Chechen'),
    ('ch', 'cha', '', 'Chamorro'),
    ('co', 'cos', '', 'Corsican'),
    ('cr', 'cre', '', 'Cree'),
    ('cs', 'ces', 'cze', 'Czech'),
    ('cu', 'chu', '', 'Church Slavic; Old Slavonic; Church Slavonic; Old Bulgarian; Old Church Slavonic'),
    ('cv', 'chv', '', 'Chuvash'),
    ('cy', 'cym', 'wel', 'Welsh'),
    ('da', 'dan', '', 'Danish'),
    ('de', 'deu', 'ger', 'German'),
    ('dv', 'div', '', 'Divehi; Dhivehi; Maldivian'),
    ('dz', 'dzo', '', 'Dzongkha'),
    ('ee', 'ewe', '', 'Ewe'),
    ('el', 'ell', 'gre', 'Greek, Modern (1453-)'),
    ('en', 'eng', '', 'English'),
    ('eo', 'epo', '', 'Esperanto'),
    ('es', 'spa', '', 'Spanish; Castilian'),
    ('et', 'est', '', 'Estonian'),
    ('eu', 'eus', 'baq', 'Basque'),
    ('fa', 'fas', 'per', 'Persian'),
    ('ff', 'ful', '', 'Fulah'),
    ('fi', 'fin', '', 'Finnish'),
    ('fj', 'fij', '', 'Fijian'),
    ('fo', 'fao', '', 'Faroese'),
    ('fr', 'fra', 'fre', 'French'),
    ('fy', 'fry', '', 'Western Frisian'),
    ('ga', 'gle', '', 'Irish'),
    ('gd', 'gla', '', 'Gaelic; Scottish Gaelic'),
    ('gl', 'glg', '', 'Galician'),
    ('gn', 'grn', '', 'Guarani'),
    ('gu', 'guj', '', 'Gujarati'),
    ('gv', 'glv', '', 'Manx'),
    ('ha', 'hau', '', 'Hausa'),
    ('he', 'heb', '', 'Hebrew'),
    ('hi', 'hin', '', 'Hindi'),
    ('ho', 'hmo', '', 'Hiri Motu'),
    ('hr', 'hrv', '', 'Croatian'),
    ('ht', 'hat', '', 'Haitian; Haitian Creole'),
    ('hu', 'hun', '', 'Hungarian'),
    ('hy', 'hye', 'arm', 'Armenian'),
    ('hz', 'her', '', 'Herero'),
    ('ia', 'ina', '', 'Interlingua (International Auxiliary Language Association)'),
    ('id', 'ind', '', 'Indonesian'),
    ('ie', 'ile', '', 'Interlingue; Occidental'),
    ('ig', 'ibo', '', 'Igbo'),
    ('ii', 'iii', '', 'Sichuan Yi; Nuosu'),
    ('ik', 'ipk', '', 'Inupiaq'),
    ('io', 'ido', '', 'Ido'),
    ('is', 'isl', 'ice', 'Icelandic'),
    ('it', 'ita', '', 'Italian'),
    ('iu', 'iku', '', 'Inuktitut'),
    ('ja', 'jpn', '', 'Japanese'),
    ('jv', 'jav', '', 'Javanese'),
    ('ka', 'kat', 'geo', 'Georgian'),
    ('kg', 'kon', '', 'Kongo'),
    ('ki', 'kik', '', 'Kikuyu; Gikuyu'),
    ('kj', 'kua', '', 'Kuanyama; Kwanyama'),
    ('kk', 'kaz', '', 'Kazakh'),
    ('kl', 'kal', '', 'Kalaallisut; Greenlandic'),
    ('km', 'khm', '', 'Central Khmer'),
    ('kn', 'kan', '', 'Kannada'),
    ('ko', 'kor', '', 'Korean'),
    ('kr', 'kau', '', 'Kanuri'),
    ('ks', 'kas', '', 'Kashmiri'),
    ('ku', 'kur', '', 'Kurdish'),
    ('kv', 'kom', '', 'Komi'),
    ('kw', 'cor', '', 'Cornish'),
    ('ky', 'kir', '', 'Kirghiz; Kyrgyz'),
    ('la', 'lat', '', 'Latin'),
    ('lb', 'ltz', '', 'Luxembourgish; Letzeburgesch'),
    ('lg', 'lug', '', 'Ganda'),
    ('li', 'lim', '', 'Limburgan; Limburger; Limburgish'),
    ('ln', 'lin', '', 'Lingala'),
    ('lo', 'lao', '', 'Lao'),
    ('lt', 'lit', '', 'Lithuanian'),
    ('lu', 'lub', '', 'Luba-Katanga'),
    ('lv', 'lav', '', 'Latvian'),
    ('mg', 'mlg', '', 'Malagasy'),
    ('mh', 'mah', '', 'Marshallese'),
    ('mi', 'mri', 'mao', 'Maori'),
    ('mk', 'mkd', 'mac', 'Macedonian'),
    ('ml', 'mal', '', 'Malayalam'),
    ('mn', 'mon', '', 'Mongolian'),
    ('mr', 'mar', '', 'Marathi'),
    ('ms', 'msa', 'may', 'Malay'),
    ('mt', 'mlt', '', 'Maltese'),
    ('my', 'mya', 'bur', 'Burmese'),
    ('na', 'nau', '', 'Nauru'),
    ('nb', 'nob', '', 'Bokmål, Norwegian; Norwegian Bokmål'),
    ('nd', 'nde', '', 'Ndebele, North; North Ndebele'),
    ('ne', 'nep', '', 'Nepali'),
    ('ng', 'ndo', '', 'Ndonga'),
    ('nl', 'nld', 'dut', 'Dutch; Flemish'),
    ('nn', 'nno', '', 'Norwegian Nynorsk; Nynorsk, Norwegian'),
    ('no', 'nor', '', 'Norwegian'),
    ('nr', 'nbl', '', 'Ndebele, South; South Ndebele'),
    ('nv', 'nav', '', 'Navajo; Navaho'),
    ('ny', 'nya', '', 'Chichewa; Chewa; Nyanja'),
    ('oc', 'oci', '', 'Occitan (post 1500); Provençal'),
    ('oj', 'oji', '', 'Ojibwa'),
    ('om', 'orm', '', 'Oromo'),
    ('or', 'ori', '', 'Oriya'),
    ('os', 'oss', '', 'Ossetian; Ossetic'),
    ('pa', 'pan', '', 'Panjabi; Punjabi'),
    ('pi', 'pli', '', 'Pali'),
    ('pl', 'pol', '', 'Polish'),
    ('ps', 'pus', '', 'Pushto; Pashto'),
    ('pt', 'por', '', 'Portuguese'),
    ('qu', 'que', '', 'Quechua'),
    ('rm', 'roh', '', 'Romansh'),
    ('rn', 'run', '', 'Rundi'),
    ('ro', 'ron', 'rum', 'Romanian; Moldavian; Moldovan'),
    ('ru', 'rus', '', 'Russian'),
    ('rw', 'kin', '', 'Kinyarwanda'),
    ('sa', 'san', '', 'Sanskrit'),
    ('sc', 'srd', '', 'Sardinian'),
    ('sd', 'snd', '', 'Sindhi'),
    ('se', 'sme', '', 'Northern Sami'),
    ('sg', 'sag', '', 'Sango'),
    ('si', 'sin', '', 'Sinhala; Sinhalese'),
    ('sk', 'slk', 'slo', 'Slovak'),
    ('sl', 'slv', '', 'Slovenian'),
    ('sm', 'smo', '', 'Samoan'),
    ('sn', 'sna', '', 'Shona'),
    ('so', 'som', '', 'Somali'),
    ('sq', 'sqi', 'alb', 'Albanian'),
    ('sr', 'srp', '', 'Serbian'),
    ('ss', 'ssw', '', 'Swati'),
    ('st', 'sot', '', 'Sotho, Southern'),
    ('su', 'sun', '', 'Sundanese'),
    ('sv', 'swe', '', 'Swedish'),
    ('sw', 'swa', '', 'Swahili'),
    ('ta', 'tam', '', 'Tamil'),
    ('te', 'tel', '', 'Telugu'),
    ('tg', 'tgk', '', 'Tajik'),
    ('th', 'tha', '', 'Thai'),
    ('ti', 'tir', '', 'Tigrinya'),
    ('tk', 'tuk', '', 'Turkmen'),
    ('tl', 'tgl', '', 'Tagalog'),
    ('tn', 'tsn', '', 'Tswana'),
    ('to', 'ton', '', 'Tonga (Tonga Islands)'),
    ('tr', 'tur', '', 'Turkish'),
    ('ts', 'tso', '', 'Tsonga'),
    ('tt', 'tat', '', 'Tatar'),
    ('tw', 'twi', '', 'Twi'),
    ('ty', 'tah', '', 'Tahitian'),
    ('ug', 'uig', '', 'Uighur; Uyghur'),
    ('uk', 'ukr', '', 'Ukrainian'),
    ('ur', 'urd', '', 'Urdu'),
    ('uz', 'uzb', '', 'Uzbek'),
    ('ve', 'ven', '', 'Venda'),
    ('vi', 'vie', '', 'Vietnamese'),
    ('vo', 'vol', '', 'Volapük'),
    ('wa', 'wln', '', 'Walloon'),
    ('wo', 'wol', '', 'Wolof'),
    ('xh', 'xho', '', 'Xhosa'),
    ('yi', 'yid', '', 'Yiddish'),
    ('yo', 'yor', '', 'Yoruba'),
    ('za', 'zha', '', 'Zhuang; Chuang'),
    ('zh', 'zho', 'chi', 'Chinese'),
    ('zu', 'zul', '', 'Zulu'),
)

#: ISO 639-1 code -> English name (184 codes).
LANGUAGES: dict[str, str] = {row[0]: row[3] for row in _ROWS}

#: Languages normally written in a non-Latin script. A "translation" in one of these that is mostly ASCII
#: letters is an untranslated leftover (see :mod:`polyglot_distill.data.clean`).
NON_LATIN_SCRIPT: frozenset[str] = frozenset(
    "am ar as ba be bg bn bo ce cv dv dz el fa gu he hi hy ii iu ja ka kk km kn ko ky lo mk ml mn mr my ne "
    "or os pa ps ru sa sd si sr ta te tg th ti tt ug uk ur yi zh".split()
)

_ALIASES: dict[str, str] = {}
for _code, _t, _b, _name in _ROWS:
    _ALIASES[_t] = _code
    if _b:
        _ALIASES[_b] = _code
    for _part in _name.split(";"):
        _ALIASES[_part.strip().casefold()] = _code
    # "Greek, Modern (1453-)" -> also "greek"; "Ndebele, North" -> "ndebele"
    _ALIASES.setdefault(re.split(r"[,(]", _name)[0].strip().casefold(), _code)


def language_name(code: str) -> str:
    """English name of an ISO 639-1 code (the first name when the registry lists several)."""
    return LANGUAGES[code].split(";")[0]


def suggest_language(value: str) -> str | None:
    """The ISO 639-1 code the user probably meant by ``value``, or None.

    Handles case (``DE``), locale forms (``de_DE``, ``pt-BR``, ``zh_Hans``), three-letter codes (``deu``,
    ``ger``), English names (``German``) and near misses of names or codes (``germn``).
    """
    text = str(value).strip()
    low = text.casefold()
    if low in LANGUAGES:
        return low
    head = re.split(r"[_\-@.]", low)[0]
    if head in LANGUAGES:
        return head
    if low in _ALIASES:
        return _ALIASES[low]
    if head in _ALIASES:
        return _ALIASES[head]
    close = difflib.get_close_matches(low, list(_ALIASES), n=1, cutoff=0.75)
    return _ALIASES[close[0]] if close else None


def check_language(code: object, field: str) -> str:
    """Return ``code`` if it is an ISO 639-1 code, else raise :class:`ConfigError` naming ``field``.

    Only lower-case two-letter codes are accepted (``de``, not ``DE``, ``de_DE`` or ``deu``): the code is
    used verbatim in file names and in the gettext locale lookup (see
    :func:`polyglot_distill.data.gettext.locale_dirs`).
    """
    if isinstance(code, str) and code in LANGUAGES:
        return code
    message = (
        f"{field}: {code!r} is not an ISO 639-1 language code. "
        "Use a two-letter code such as de, fr, zh (see docs/languages.md)."
    )
    suggestion = suggest_language(code) if isinstance(code, str) and code.strip() else None
    if suggestion is not None:
        message += f" Did you mean {suggestion!r} ({language_name(suggestion)})?"
    raise ConfigError(message)
