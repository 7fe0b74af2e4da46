"""Word lists the corpus generator draws from: places, institutions, fields, events, people
and phrasings, in English and Russian."""

from __future__ import annotations

import calendar

MONTHS_EN = [m for m in calendar.month_name if m]


def words(text: str) -> list[str]:
    return text.split()


MONTHS_RU_GEN = words(
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря"
)
NUMBERS_EN = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 10: "ten"}
YEARS_RU = {2: "2 года", 3: "3 года", 4: "4 года", 5: "5 лет", 6: "6 лет", 10: "10 лет"}

# (country EN, country RU, [(city EN, city RU), ...])
PLACES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Cuba", "Куба", [("Havana", "Гавана"), ("Santiago de Cuba", "Сантьяго-де-Куба")]),
    ("Kazakhstan", "Казахстан",
     [("Almaty", "Алматы"), ("Astana", "Астана"), ("Karaganda", "Караганда")]),
    ("Belarus", "Беларусь", [("Minsk", "Минск"), ("Gomel", "Гомель"), ("Vitebsk", "Витебск")]),
    ("Serbia", "Сербия", [("Belgrade", "Белград"), ("Novi Sad", "Нови-Сад"), ("Nis", "Ниш")]),
    ("Vietnam", "Вьетнам", [("Hanoi", "Ханой"), ("Da Nang", "Дананг"), ("Hue", "Хюэ")]),
    ("China", "Китай", [("Beijing", "Пекин"), ("Changsha", "Чанша"), ("Harbin", "Харбин")]),
    ("Armenia", "Армения", [("Yerevan", "Ереван"), ("Gyumri", "Гюмри")]),
    ("Uzbekistan", "Узбекистан", [("Tashkent", "Ташкент"), ("Samarkand", "Самарканд")]),
    ("India", "Индия", [("New Delhi", "Нью-Дели"), ("Pune", "Пуна"), ("Chennai", "Ченнаи")]),
    ("Brazil", "Бразилия", [("Sao Paulo", "Сан-Паулу"), ("Recife", "Ресифи")]),
    ("Egypt", "Египет", [("Cairo", "Каир"), ("Alexandria", "Александрия")]),
    ("Mongolia", "Монголия", [("Ulaanbaatar", "Улан-Батор"), ("Darkhan", "Дархан")]),
    ("Kyrgyzstan", "Киргизия", [("Bishkek", "Бишкек"), ("Osh", "Ош")]),
    ("Azerbaijan", "Азербайджан", [("Baku", "Баку"), ("Ganja", "Гянджа")]),
    ("Turkey", "Турция", [("Ankara", "Анкара"), ("Izmir", "Измир")]),
    ("Italy", "Италия", [("Milan", "Милан"), ("Bologna", "Болонья"), ("Padua", "Падуя")]),
    ("Finland", "Финляндия", [("Helsinki", "Хельсинки"), ("Tampere", "Тампере")]),
    ("Germany", "Германия", [("Leipzig", "Лейпциг"), ("Dresden", "Дрезден")]),
    ("Iran", "Иран", [("Tehran", "Тегеран"), ("Tabriz", "Тебриз")]),
    ("South Africa", "ЮАР", [("Johannesburg", "Йоханнесбург"), ("Durban", "Дурбан")]),
]  # fmt: skip
PREFIX_EN = words(
    "National Regional Republican State Northern Southern Eastern Western Central Federal "
    "Metropolitan Provincial Baltic Pacific Continental Technical"
)
HEAD_EN = ["Institute", "University", "Centre", "Academy", "Research Centre", "Foundation"]
# (adjective nominative, adjective instrumental)
PREFIX_RU = [
    ("Национальный", "Национальным"), ("Региональный", "Региональным"),
    ("Республиканский", "Республиканским"), ("Государственный", "Государственным"),
    ("Северный", "Северным"), ("Южный", "Южным"), ("Восточный", "Восточным"),
    ("Западный", "Западным"), ("Центральный", "Центральным"), ("Федеральный", "Федеральным"),
    ("Столичный", "Столичным"), ("Технический", "Техническим"),
]  # fmt: skip
# (noun nominative, noun instrumental) — all masculine, so the adjectives agree
HEAD_RU = [
    ("институт", "институтом"), ("университет", "университетом"), ("центр", "центром"),
    ("научный центр", "научным центром"), ("фонд", "фондом"),
    ("научно-исследовательский институт", "научно-исследовательским институтом"),
]  # fmt: skip
# (field EN, field RU in the genitive, field RU in the prepositional after "в области")
FIELDS: list[tuple[str, str]] = [
    ("Occupational Health", "гигиены труда"), ("Radiation Medicine", "радиационной медицины"),
    ("Applied Ecology", "прикладной экологии"), ("Marine Research", "морских исследований"),
    ("Digital Medicine", "цифровой медицины"), ("Industrial Safety", "промышленной безопасности"),
    ("Oncology", "онкологии"), ("Epidemiology", "эпидемиологии"), ("Toxicology", "токсикологии"),
    ("Aviation Medicine", "авиационной медицины"), ("Public Health", "общественного здоровья"),
    ("Materials Science", "материаловедения"), ("Water Resources", "водных ресурсов"),
    ("Agricultural Economics", "аграрной экономики"), ("Climate Studies", "изучения климата"),
    ("Nuclear Physics", "ядерной физики"), ("Biotechnology", "биотехнологий"),
    ("Labour Protection", "охраны труда"), ("Rehabilitation Medicine", "реабилитационной медицины"),
    ("Hygiene and Sanitation", "гигиены и санитарии"), ("Geosciences", "наук о Земле"),
    ("Computational Linguistics", "компьютерной лингвистики"),
    ("Energy Systems", "энергетических систем"), ("Transport Logistics", "транспортной логистики"),
    ("Food Safety", "безопасности пищевых продуктов"),
]  # fmt: skip
EVENTS_EN = ["International Conference", "Joint Seminar", "Summer School", "Scientific Forum",
              "Expert Workshop", "International Symposium", "Bilateral Congress"]  # fmt: skip
# (event, past verb agreeing with it)
EVENTS_RU = [
    ("Международная конференция", "прошла"), ("Совместный семинар", "прошёл"),
    ("Летняя школа", "прошла"), ("Научный форум", "прошёл"),
    ("Экспертное совещание", "прошло"), ("Международный симпозиум", "прошёл"),
]  # fmt: skip
FIRST_EN = words(
    "Maria Anna Elena Lucia Sofia Jan Pavel Ahmed Chen Nguyen Carlos Ivan Leila Omar Tamara"
)
LAST_EN = words(
    "Lopez Novak Petrovic Tran Wang Kumar Silva Hassan Rossi Virtanen Weber Karimov Aliyev Batbayar"
)
PEOPLE_RU = [
    "Иванова А. П.", "Петров С. В.", "Сидорова Е. Н.", "Кузнецов Д. А.", "Смирнова О. И.",
    "Попов М. Ю.", "Васильева Т. Г.", "Морозов И. К.", "Новикова Л. Р.", "Фёдоров А. Е.",
]  # fmt: skip
ROLES_EN = ["head of the international office", "coordinator of the programme",
             "deputy director for research", "international relations officer"]  # fmt: skip
ROLES_RU = ["руководитель отдела международного сотрудничества", "координатор программы",
             "заместитель директора по научной работе", "ведущий специалист по связям"]  # fmt: skip
HISTORY_EN = [
    "Cooperation with {p} began in {y} with an exchange of visits and a joint review of research "
    "priorities in {f}. Since then the partners have prepared joint publications, shared "
    "laboratory protocols and hosted each other's postgraduate students for internships.",
    "Our ties with {p} go back to {y}, when the first joint project in {f} was launched. The "
    "partnership has since grown to cover staff mobility, co-supervised doctoral theses and "
    "regular methodological seminars for young researchers from both institutions.",
    "The partnership with {p} was established in {y}. It focuses on {f}: comparative studies, "
    "harmonised data collection and the preparation of common guidelines that are later "
    "discussed with national authorities and professional associations.",
]  # fmt: skip
HISTORY_RU = [
    "Сотрудничество с партнёром — {p} — началось в {y} году с обмена визитами и совместного "
    "обсуждения приоритетов исследований в области {f}. С тех пор подготовлены совместные "
    "публикации, согласованы методики и организованы стажировки аспирантов.",
    "Связи с партнёром — {p} — установлены в {y} году, когда был запущен первый совместный проект "
    "в области {f}. Партнёрство включает академическую мобильность, совместное руководство "
    "диссертациями и регулярные методические семинары для молодых учёных.",
]  # fmt: skip
PROGRAMME_EN = (
    "Within the partnership, a joint programme on {f} runs each academic year: {n} researchers "
    "and students take part in short-term mobility, and the partners co-organise an online "
    "course, a shared data repository and an annual report on the results achieved. Particular "
    "attention is paid to {topic}, where the teams compare methods and prepare recommendations."
)
PROGRAMME_RU = (
    "В рамках партнёрства ежегодно реализуется совместная программа в области {f}: {n} "
    "исследователей и студентов участвуют в краткосрочной мобильности, партнёры ведут "
    "дистанционный курс, общий репозиторий данных и готовят ежегодный отчёт о результатах. "
    "Особое внимание уделяется теме «{topic}», по которой команды сравнивают методы."
)
TOPICS_EN = ["risk assessment", "early diagnostics", "exposure monitoring", "training of staff",
              "open data standards", "field surveys", "clinical guidelines"]  # fmt: skip
TOPICS_RU = ["оценка рисков", "ранняя диагностика", "мониторинг воздействия",
              "подготовка кадров", "стандарты открытых данных", "полевые исследования"]  # fmt: skip
