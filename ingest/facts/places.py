"""Countries and cities named in English or Russian text, as canonical English names.

A city also gives its country; adjectives and case forms ("Belarusian", "белорусский",
"в Минске") count as the place they name.
"""

from __future__ import annotations

import functools
import re

_COUNTRIES: list[tuple[str, str]] = [
    ("Belarus", r"Belarus|Belarusian|Byelorussia|Беларусь|Беларуси|Белорусси[яи]|[Бб]елорусск\w+"),
    ("Kazakhstan", r"Kazakhstan|Kazakh|Казахстан\w*|[Кк]азах(?:стан)?ск\w+"),
    ("Cuba", r"Cuba|Cuban|Куб(?:а|ы|е|у|ой)|[Кк]убинск\w+"),
    ("Serbia", r"Serbia|Serbian|Серби[яиюей]|[Сс]ербск\w+"),
    ("Vietnam", r"Vietnam|Viet Nam|Vietnamese|Вьетнам\w*|[Вв]ьетнамск\w+"),
    ("China", r"China|Chinese|PRC|Кита(?:й|я|е|ю|ем)|КНР|[Кк]итайск\w+"),
    ("Uzbekistan", r"Uzbekistan|Uzbek|Узбекистан\w*|[Уу]збекск\w+"),
    ("Kyrgyzstan", r"Kyrgyzstan|Kyrgyz|Кыргызстан\w*|Киргизи\w+|[Кк]ыргызск\w+|[Кк]иргизск\w+"),
    ("Tajikistan", r"Tajikistan|Tajik|Таджикистан\w*|[Тт]аджикск\w+"),
    ("Armenia", r"Armenia|Armenian|Армени[яиюей]|[Аа]рмянск\w+"),
    ("Azerbaijan", r"Azerbaijan\w*|Азербайджан\w*"),
    ("Moldova", r"Moldova|Moldovan|Молдов\w+|Молдави\w+|[Мм]олдавск\w+"),
    ("Ukraine", r"Ukraine|Ukrainian|Украин(?:а|ы|е|у|ой)|[Уу]краинск\w+"),
    ("Mongolia", r"Mongolia|Mongolian|Монголи[яиюей]|[Мм]онгольск\w+"),
    ("Germany", r"Germany|German|Германи[яиюей]|[Нн]емецк\w+|ФРГ"),
    ("France", r"France|French|Франци[яиюей]|[Фф]ранцузск\w+"),
    ("Italy", r"Italy|Italian|Итали[яиюей]|[Ии]тальянск\w+"),
    ("Switzerland", r"Switzerland|Swiss|Швейцари[яиюей]|[Шш]вейцарск\w+"),
    ("Austria", r"Austria|Austrian|Австри[яиюей]|[Аа]встрийск\w+"),
    ("Finland", r"Finland|Finnish|Финлянди[яиюей]|[Фф]инск\w+"),
    ("Sweden", r"Sweden|Swedish|Швеци[яиюей]|[Шш]ведск\w+"),
    ("Norway", r"Norway|Norwegian|Норвеги[яиюей]|[Нн]орвежск\w+"),
    ("Poland", r"Poland|Polish|Польш(?:а|и|е|у|ей)|[Пп]ольск\w+"),
    ("Czech Republic", r"Czech Republic|Czechia|Czech|Чехи[яиюей]|[Чч]ешск\w+"),
    ("Hungary", r"Hungary|Hungarian|Венгри[яиюей]|[Вв]енгерск\w+"),
    ("Bulgaria", r"Bulgaria|Bulgarian|Болгари[яиюей]|[Бб]олгарск\w+"),
    ("Estonia", r"Estonia|Estonian|Эстони[яиюей]|[Ээ]стонск\w+"),
    ("Latvia", r"Latvia|Latvian|Латви[яиюей]|[Лл]атвийск\w+"),
    ("Lithuania", r"Lithuania|Lithuanian|Литв(?:а|ы|е|у|ой)|[Лл]итовск\w+"),
    ("Japan", r"Japan|Japanese|Япони[яиюей]|[Яя]понск\w+"),
    ("India", r"India|Indian|Инди[яиюей]|[Ии]ндийск\w+"),
    ("South Korea", r"South Korea|Republic of Korea|Korea|Korean|Коре[яиюей]|[Кк]орейск\w+"),
    ("United States", r"United States(?: of America)?|USA|США|[Аа]мериканск\w+"),
    ("United Kingdom", r"United Kingdom|U\. ?K\.|UK|Great Britain|British|Великобритани\w+"),
    ("Netherlands", r"Netherlands|Dutch|Нидерланд\w*|Голланди\w+"),
    ("Spain", r"Spain|Spanish|Испани[яиюей]|[Ии]спанск\w+"),
    ("Turkey", r"Turkey|Turkish|Türkiye|Турци[яиюей]|[Тт]урецк\w+"),
    ("Iran", r"Iran|Iranian|Иран(?:а|е|ом)?|[Ии]ранск\w+"),
    ("Israel", r"Israel|Israeli|Израил\w+"),
    ("Canada", r"Canada|Canadian|Канад(?:а|ы|е|у|ой)|[Кк]анадск\w+"),
    ("Australia", r"Australia|Australian|Австрали[яиюей]|[Аа]встралийск\w+"),
    ("Georgia", r"Georgia|Грузи[яиюей]|[Гг]рузинск\w+"),
    ("Brazil", r"Brazil|Brazilian|Бразили[яиюей]|[Бб]разильск\w+"),
    ("Egypt", r"Egypt|Egyptian|Египт\w*|[Ее]гипетск\w+"),
    ("Russia", r"Russia|Russian Federation|Росси[яиюей]|Российск\w+\s+Федераци\w+|РФ"),
]
_CITIES: list[tuple[str, str, str]] = [
    ("Moscow", "Russia", r"Moscow|Москв(?:а|ы|е|у|ой)"),
    ("Saint Petersburg", "Russia", r"Saint Petersburg|St\.? ?Petersburg|Санкт-Петербург\w*"),
    ("Sochi", "Russia", r"Sochi|Сочи"),
    ("Kazan", "Russia", r"Kazan|Казан[ьи]"),
    ("Novosibirsk", "Russia", r"Novosibirsk|Новосибирск\w*"),
    ("Yekaterinburg", "Russia", r"Yekaterinburg|Ekaterinburg|Екатеринбург\w*"),
    ("Obninsk", "Russia", r"Obninsk|Обнинск\w*"),
    ("Minsk", "Belarus", r"Minsk|Минск\w*"),
    ("Gomel", "Belarus", r"Gomel|Homel|Гомел[ьеяю]"),
    ("Havana", "Cuba", r"Havana|Гаван(?:а|ы|е|у|ой)"),
    ("Karaganda", "Kazakhstan", r"Karaganda|Qaraghandy|Караганд(?:а|ы|е|у|ой)"),
    ("Almaty", "Kazakhstan", r"Almaty|Алматы|Алма-Ат\w+"),
    ("Astana", "Kazakhstan", r"Astana|Nur-Sultan|Астан(?:а|ы|е|у|ой)|Нур-Султан\w*"),
    ("Tashkent", "Uzbekistan", r"Tashkent|Ташкент\w*"),
    ("Bishkek", "Kyrgyzstan", r"Bishkek|Бишкек\w*"),
    ("Dushanbe", "Tajikistan", r"Dushanbe|Душанбе"),
    ("Yerevan", "Armenia", r"Yerevan|Ереван\w*"),
    ("Baku", "Azerbaijan", r"Baku|Баку"),
    ("Tbilisi", "Georgia", r"Tbilisi|Тбилиси"),
    ("Chisinau", "Moldova", r"Chisinau|Chișinău|Кишин[её]в\w*"),
    ("Kyiv", "Ukraine", r"Kyiv|Kiev|Киев\w*"),
    ("Belgrade", "Serbia", r"Belgrade|Белград\w*"),
    ("Hanoi", "Vietnam", r"Hanoi|Ханой|Ханое"),
    ("Beijing", "China", r"Beijing|Пекин\w*"),
    ("Shanghai", "China", r"Shanghai|Шанха[йея]"),
    ("Geneva", "Switzerland", r"Geneva|Женев(?:а|ы|е|у|ой)"),
    ("Zurich", "Switzerland", r"Zurich|Zürich|Цюрих\w*"),
    ("Vienna", "Austria", r"Vienna|Вен(?:а|е|у|ы)"),
    ("Milan", "Italy", r"Milan|Милан\w*"),
    ("Rome", "Italy", r"Rome|Рим(?:е|а)?"),
    ("Berlin", "Germany", r"Berlin|Берлин\w*"),
    ("Hamburg", "Germany", r"Hamburg|Гамбург\w*"),
    ("Paris", "France", r"Paris|Париж\w*"),
    ("Lyon", "France", r"Lyon|Лион\w*"),
    ("Strasbourg", "France", r"Strasbourg|Страсбург\w*"),
    ("London", "United Kingdom", r"London|Лондон\w*"),
    ("Budapest", "Hungary", r"Budapest|Будапешт\w*"),
    ("Prague", "Czech Republic", r"Prague|Праг[аеиу]"),
    ("Warsaw", "Poland", r"Warsaw|Варшав[аеуы]"),
    ("Helsinki", "Finland", r"Helsinki|Хельсинки"),
    ("Stockholm", "Sweden", r"Stockholm|Стокгольм\w*"),
    ("Oslo", "Norway", r"Oslo|Осло"),
    ("Tokyo", "Japan", r"Tokyo|Токио"),
    ("New York", "United States", r"New York|Нью-Йорк\w*"),
    ("Riga", "Latvia", r"Riga|Риг[аеу]"),
    ("Vilnius", "Lithuania", r"Vilnius|Вильнюс\w*"),
    ("Tallinn", "Estonia", r"Tallinn|Таллин\w*"),
    ("Tartu", "Estonia", r"Tartu|Тарту"),
]
_COUNTRY_RES = [(name, re.compile(rf"(?<!\w)(?:{p})(?!\w)")) for name, p in _COUNTRIES]
_CITY_RES = [(name, country, re.compile(rf"(?<!\w)(?:{p})(?!\w)")) for name, country, p in _CITIES]
_ANY_PLACE = re.compile(
    r"(?<!\w)(?:" + "|".join(p for _, p in _COUNTRIES) + "|" + "|".join(p for *_, p in _CITIES)
    + r")(?!\w)"
)  # fmt: skip


_ANY_PLACE_ANY_CASE = re.compile(_ANY_PLACE.pattern, re.IGNORECASE)


_CITY_ANY_CASE = [
    (country, re.compile(pattern.pattern, re.IGNORECASE)) for _city, country, pattern in _CITY_RES
]
_COUNTRY_ANY_CASE = [
    (name, re.compile(pattern.pattern, re.IGNORECASE)) for name, pattern in _COUNTRY_RES
]


@functools.lru_cache(maxsize=8192)
def find_country(text: str) -> str | None:
    """The country of the first place named in `text`, whatever its letter case (for
    questions typed in lower case: "partners in belarus")."""
    match = _ANY_PLACE_ANY_CASE.search(text)
    if match is None:
        return None
    word = match[0]
    for country, pattern in _CITY_ANY_CASE:
        if pattern.fullmatch(word):
            return country
    for name, pattern in _COUNTRY_ANY_CASE:
        if pattern.fullmatch(word):
            return name
    return None


_ANY_COUNTRY_ANY_CASE = re.compile(
    "|".join(f"(?:{pattern.pattern})" for _, pattern in _COUNTRY_RES), re.IGNORECASE
)


def is_country_name(word: str) -> bool:
    """Whether `word` itself names a country (not a city), in any case form."""
    return _ANY_COUNTRY_ANY_CASE.fullmatch(word) is not None


def places_in(text: str, start: int, end: int) -> list[tuple[int, str, str | None]]:
    """(offset, country, city) for every country or city named in text[start:end], in order."""
    found: list[tuple[int, str, str | None]] = []
    for m in _ANY_PLACE.finditer(text, start, end):
        word = m[0]
        city = next((c for c in _CITY_RES if c[2].fullmatch(word)), None)
        if city:
            found.append((m.start(), city[1], city[0]))
            continue
        country = next((c[0] for c in _COUNTRY_RES if c[1].fullmatch(word)), None)
        if country:
            found.append((m.start(), country, None))
    return found
