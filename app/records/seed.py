"""Fictional reports for training stores (``kuager training seed``).

The reports are shaped like the ones monitors write (a one-person picket that ends in a
detention, a fine under Administrative Code art. 488, a raid on a newspaper's office, a
blocked website, a summons "as a witness", a tax inspection of an NGO, a journalist's
photos deleted), in Kazakh, Russian, English and mixed, with dates of every precision,
regions, acts, rights, people with consent flags, and small generated attachments: a
photo carrying a GPS position in its EXIF block (so participants see intake remove it) and
the odd plain-text document (kept as it is, flagged as not cleaned).

People are built from first names and surname parts; websites use the reserved
``.example`` domain; newspapers and organisations are invented. No real person is named
(tests/test_training.py checks the names against public figures named in the project's
domain material).

Reports go through ``intake.save``, the path the form takes, so a seeded store looks
exactly like one filled in by hand. Only a training store accepts them.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlcipher3
from PIL import Image, ImageDraw
from werkzeug.datastructures import FileStorage

from app.config import Config
from app.i18n import nfc
from app.messages import gettext as _
from app.records import intake, reports
from app.store import training
from app.store.spool import EncryptedSpool
from app.store.store import StoreError

LANGUAGES = ("kk", "ru", "en", "mixed")
#: Reports a single ``seed`` call may add: a workshop needs dozens, not millions.
MAX_COUNT = 1000


class NotTraining(StoreError):
    """Seeding was asked of a store that holds real reports."""


# -- people ------------------------------------------------------------------------------
# (Cyrillic, Latin). Surnames are (male Cyrillic, female Cyrillic, male Latin, female Latin).

KZ_MALE = (
    ("Ерлан", "Erlan"), ("Дәурен", "Dauren"), ("Асқар", "Askar"), ("Нұрлан", "Nurlan"),
    ("Бауыржан", "Baurzhan"), ("Қайрат", "Kairat"), ("Мирас", "Miras"), ("Санжар", "Sanzhar"),
    ("Әлібек", "Alibek"), ("Темірлан", "Temirlan"), ("Ғалым", "Galym"), ("Серікбол", "Serikbol"),
)
KZ_FEMALE = (
    ("Айгүл", "Aigul"), ("Динара", "Dinara"), ("Гүлнар", "Gulnar"), ("Әсел", "Assel"),
    ("Жанар", "Zhanar"), ("Мөлдір", "Moldir"), ("Салтанат", "Saltanat"), ("Ақерке", "Akerke"),
    ("Назерке", "Nazerke"), ("Томирис", "Tomiris"), ("Күләш", "Kulash"), ("Балжан", "Balzhan"),
)
KZ_SURNAMES = (
    ("Сарыбаев", "Сарыбаева", "Sarybayev", "Sarybayeva"),
    ("Көкжалов", "Көкжалова", "Kokzhalov", "Kokzhalova"),
    ("Тасболов", "Тасболова", "Tasbolov", "Tasbolova"),
    ("Жетпісбаев", "Жетпісбаева", "Zhetpisbayev", "Zhetpisbayeva"),
    ("Бекмұратов", "Бекмұратова", "Bekmuratov", "Bekmuratova"),
    ("Дәулетбаев", "Дәулетбаева", "Dauletbayev", "Dauletbayeva"),
    ("Есенгелдиев", "Есенгелдиева", "Yesengeldiyev", "Yesengeldiyeva"),
    ("Оразбеков", "Оразбекова", "Orazbekov", "Orazbekova"),
    ("Төлегенов", "Төлегенова", "Tolegenov", "Tolegenova"),
    ("Қуандықов", "Қуандықова", "Kuandykov", "Kuandykova"),
)
#: Fathers' names for Kazakh-style surnames (Нұрланұлы, Асқарқызы).
KZ_FATHERS = (
    ("Мұрат", "Murat"), ("Болат", "Bolat"), ("Жандос", "Zhandos"), ("Талғат", "Talgat"),
    ("Ербол", "Yerbol"), ("Арман", "Arman"), ("Ғабит", "Gabit"), ("Сәкен", "Saken"),
)
RU_MALE = (
    ("Андрей", "Andrei"), ("Дмитрий", "Dmitry"), ("Олег", "Oleg"), ("Виктор", "Viktor"),
    ("Павел", "Pavel"), ("Игорь", "Igor"),
)
RU_FEMALE = (
    ("Елена", "Yelena"), ("Ольга", "Olga"), ("Татьяна", "Tatyana"), ("Ирина", "Irina"),
    ("Наталья", "Natalya"), ("Вера", "Vera"),
)
RU_SURNAMES = (
    ("Белозёров", "Белозёрова", "Belozyorov", "Belozyorova"),
    ("Шестаков", "Шестакова", "Shestakov", "Shestakova"),
    ("Ремезов", "Ремезова", "Remezov", "Remezova"),
    ("Гладышев", "Гладышева", "Gladyshev", "Gladysheva"),
    ("Осокин", "Осокина", "Osokin", "Osokina"),
    ("Курочкин", "Курочкина", "Kurochkin", "Kurochkina"),
)


def make_name(rng: random.Random, latin: bool) -> tuple[str, bool]:
    """A fictional person's name, built from a first name and surname parts; and if female."""
    female = rng.random() < 0.5
    script = 1 if latin else 0
    if rng.random() < 0.75:  # Kazakh name
        first = rng.choice(KZ_FEMALE if female else KZ_MALE)[script]
        if rng.random() < 0.3:
            father = rng.choice(KZ_FATHERS)
            suffix = ("kyzy" if female else "uly") if latin else ("қызы" if female else "ұлы")
            return f"{first} {father[script]}{suffix}", female
        surnames = KZ_SURNAMES
    else:
        first = rng.choice(RU_FEMALE if female else RU_MALE)[script]
        surnames = RU_SURNAMES
    forms = rng.choice(surnames)
    return f"{first} {forms[2 * script + (1 if female else 0)]}", female


# -- places ------------------------------------------------------------------------------

@dataclass(frozen=True)
class City:
    region: str
    kk: str
    ru: str
    en: str
    lat: float
    lon: float

    def name(self, lang: str) -> str:
        return {"kk": self.kk, "en": self.en}.get(lang, self.ru)


CITIES = (
    City("astana", "Астана", "Астана", "Astana", 51.128, 71.430),
    City("almaty_city", "Алматы", "Алматы", "Almaty", 43.238, 76.889),
    City("shymkent", "Шымкент", "Шымкент", "Shymkent", 42.342, 69.590),
    City("abai", "Семей", "Семей", "Semey", 50.411, 80.227),
    City("akmola", "Көкшетау", "Кокшетау", "Kokshetau", 53.283, 69.397),
    City("aktobe", "Ақтөбе", "Актобе", "Aktobe", 50.283, 57.167),
    City("almaty_region", "Қонаев", "Конаев", "Konaev", 43.867, 77.067),
    City("atyrau", "Атырау", "Атырау", "Atyrau", 47.117, 51.883),
    City("east_kazakhstan", "Өскемен", "Усть-Каменогорск", "Oskemen", 49.948, 82.628),
    City("jambyl", "Тараз", "Тараз", "Taraz", 42.900, 71.367),
    City("jetisu", "Талдықорған", "Талдыкорган", "Taldykorgan", 45.017, 78.383),
    City("karaganda", "Қарағанды", "Караганда", "Karaganda", 49.806, 73.085),
    City("kostanay", "Қостанай", "Костанай", "Kostanay", 53.214, 63.624),
    City("kyzylorda", "Қызылорда", "Кызылорда", "Kyzylorda", 44.853, 65.509),
    City("mangystau", "Ақтау", "Актау", "Aktau", 43.650, 51.160),
    City("north_kazakhstan", "Петропавл", "Петропавловск", "Petropavl", 54.867, 69.150),
    City("pavlodar", "Павлодар", "Павлодар", "Pavlodar", 52.287, 76.967),
    City("turkistan", "Түркістан", "Туркестан", "Turkistan", 43.297, 68.251),
    City("ulytau", "Жезқазған", "Жезказган", "Zhezkazgan", 47.783, 67.767),
    City("west_kazakhstan", "Орал", "Уральск", "Oral", 51.233, 51.367),
)

#: Invented outlets and organisations (never a real one).
OUTLETS = (
    ("«Дала тынысы»", "«Дыхание степи»", "Steppe Breath"),
    ("«Жаңа өріс»", "«Новый горизонт»", "New Horizon"),
    ("«Өзен жағасы»", "«Берег реки»", "Riverbank Weekly"),
)
NGOS = (
    ("«Сенім көпірі» орталығы", "центр «Мост доверия»", "the Bridge of Trust Centre"),
    ("«Құқық көмегі» қоры", "фонд «Правовая помощь»", "the Legal Aid Fund"),
)
SITES = ("dala-news.example", "zhana-oris.example", "ozen-info.example")


# -- the incidents -----------------------------------------------------------------------
# Each text has the placeholders {name}, {city}, {outlet}, {ngo}, {site}, {days}, {amount},
# and for Russian {ru_a}, {ru_one}, {ru_him}, {ru_his} (agreement with the person's gender).

@dataclass(frozen=True)
class Scenario:
    key: str
    acts: tuple[str, ...]
    rights: tuple[str, ...]
    perpetrators: tuple[str, ...]
    legal: tuple[tuple[str, str], ...]
    role: str
    sources: tuple[str, ...]
    title: dict[str, str]
    text: dict[str, str]
    place: dict[str, str]
    sensitivity: str = "normal"
    photo: str = ""
    document: tuple[str, str] | None = None
    lasts_days: bool = False
    extra: dict[str, str] = field(default_factory=dict)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "picket", ("detention_administrative", "arrest"), ("assembly", "expression", "liberty"),
        ("police", "court"), (("administrative", "488"),), "activist", ("witness",),
        {"kk": "{city}: жеке пикеттен кейін белсенді ұсталды",
         "ru": "{city}: активиста задержали после одиночного пикета",
         "en": "{city}: activist detained after a one-person picket"},
        {"kk": "{name} әкімдік ғимаратының алдында «Сайлау әділ болсын» деген плакатпен жалғыз "
               "тұрды. Он минуттан кейін полиция қызметкерлері оны көлікке отырғызып, бөлімшеге "
               "алып кетті. Ертеңіне сот әкімшілік құқық бұзушылық туралы кодекстің 488-бабы "
               "бойынша {days} тәулік әкімшілік қамаққа алды. Адвокатты сот отырысына "
               "кіргізбеді.",
         "ru": "{name} стоял{ru_a} {ru_one} у здания акимата с плакатом «За честные выборы». "
               "Через десять минут сотрудники полиции посадили {ru_him} в машину и доставили в "
               "отдел. На следующий день суд назначил {days} суток административного ареста по "
               "статье 488 КоАП. Адвоката на заседание не пустили.",
         "en": "{name} stood alone outside the akimat with a placard reading \"For fair "
               "elections\". Ten minutes later police officers put them in a car and took them "
               "to the station. The next day a court gave {days} days of administrative arrest "
               "under article 488 of the Code of Administrative Offences. The lawyer was not "
               "let into the hearing."},
        {"kk": "{city}, әкімдік алдындағы алаң", "ru": "{city}, площадь у акимата",
         "en": "{city}, square outside the akimat"},
        photo="picket", lasts_days=True,
    ),
    Scenario(
        "fine488", ("fine", "assembly_dispersed"), ("assembly",), ("police", "court"),
        (("administrative", "488 ч. 6"),), "relative", ("victim_account",),
        {"kk": "{city}: аналар жиынға қатысқаны үшін айыппұл салынды",
         "ru": "{city}: матерей оштрафовали за участие в собрании",
         "en": "{city}: mothers fined for a gathering"},
        {"kk": "Әскерде қаза тапқан сарбаздардың аналары прокуратура алдына тергеу талап етіп "
               "жиналды. Полиция жиынды таратып, алты әйелді бірнеше сағат ұстады. Сот әкімшілік "
               "құқық бұзушылық туралы кодекстің 488-бабы бойынша әрқайсысына {amount} теңге "
               "айыппұл салды. Олардың бірі — {name}.",
         "ru": "Матери погибших в армии срочников собрались у прокуратуры и потребовали "
               "расследования. Полиция разогнала собрание и несколько часов удерживала шесть "
               "женщин. Суд оштрафовал каждую на {amount} тенге по статье 488 КоАП. Одна из них "
               "— {name}.",
         "en": "Mothers of conscripts who died in the army gathered outside the prosecutor's "
               "office to demand an investigation. Police dispersed them and held six women for "
               "several hours. A court fined each of them {amount} tenge under article 488. One "
               "of them is {name}."},
        {"kk": "{city}, облыстық прокуратура алдында", "ru": "{city}, у областной прокуратуры",
         "en": "{city}, outside the regional prosecutor's office"},
        photo="gathering",
    ),
    Scenario(
        "raid", ("search_raid", "confiscation", "house_arrest", "criminal_charge"),
        ("expression", "privacy", "liberty"), ("police", "knb"), (("criminal", "274"),),
        "journalist", ("witness", "documents"),
        {"kk": "{outlet} газетінің редакциясында тінту жүргізілді",
         "ru": "Обыск в редакции газеты {outlet}",
         "en": "Police raid the office of the {outlet} newspaper"},
        {"kk": "Таңертең редакцияға қару асынған он шақты адам кірді. Қызметкерлерді алты сағат "
               "бойы шығармады, компьютерлер мен телефондарды алып кетті. Бас редактор {name} "
               "«көрінеу жалған ақпарат таратты» деген айыппен үйқамаққа алынды.",
         "ru": "Утром в редакцию вошли около десяти вооружённых людей. Сотрудников шесть часов не "
               "выпускали, изъяли компьютеры и телефоны. Главного редактора {name} поместили под "
               "домашний арест по статье 274 УК («распространение заведомо ложной информации»).",
         "en": "In the morning about ten armed men entered the newsroom. Staff were kept inside "
               "for six hours; computers and phones were taken. The editor, {name}, was put "
               "under house arrest on a charge of \"knowingly spreading false information\"."},
        {"kk": "{city}, редакция кеңсесі", "ru": "{city}, офис редакции",
         "en": "{city}, the newspaper's office"},
        sensitivity="high", photo="office",
    ),
    Scenario(
        "blocked", ("blocking",), ("expression",), ("ministry",), (("other", "Закон о СМИ"),),
        "journalist", ("media",),
        {"kk": "{site} сайты бүкіл елде бұғатталды",
         "ru": "Сайт {site} заблокирован по всей стране",
         "en": "Website {site} blocked nationwide"},
        {"kk": "Сайт жергілікті билік туралы мақаладан кейін ескертусіз ашылмай қалды. Бас "
               "редактор {name} министрліктен жазбаша түсініктеме сұрады, жауап әлі жоқ. Сайттың "
               "әлеуметтік желідегі парақшасы да уақытша тоқтатылды.",
         "ru": "После статьи о местных властях сайт перестал открываться без предупреждения. "
               "Главный редактор {name} запросил{ru_a} письменное объяснение в министерстве, "
               "ответа нет. Страница издания в соцсети тоже временно заблокирована.",
         "en": "After an article on the local authorities the site stopped opening, without "
               "any notice. The editor, {name}, asked the ministry for a written explanation and "
               "has had no answer. The outlet's social-media page was suspended as well."},
        {"kk": "{city}", "ru": "{city}", "en": "{city}"},
    ),
    Scenario(
        "summons", ("summons", "threat"), ("expression", "fair_trial"), ("police", "prosecutor"),
        (("criminal", "174"),), "blogger", ("victim",),
        {"kk": "Блогер «куә ретінде» жауапқа шақырылды",
         "ru": "Блогера вызвали на допрос «в качестве свидетеля»",
         "en": "Blogger summoned \"as a witness\""},
        {"kk": "{name} полициядан шақыру қағазын алды: «әлеуметтік алауыздықты қоздыру» туралы "
               "іс бойынша куә ретінде. Жауап алу үш сағатқа созылды, сұрақтардың бәрі оның "
               "жазбалары туралы болды. Тергеуші «келесі жолы күдікті боласың» деді.",
         "ru": "{name} получил{ru_a} повестку в полицию: свидетелем по делу о «возбуждении розни» "
               "(ст. 174 УК). Допрос длился три часа, все вопросы касались {ru_his} постов. "
               "Следователь сказал: «в следующий раз будешь подозреваемым».",
         "en": "{name} received a summons to the police: as a witness in a case of \"inciting "
               "discord\" (Criminal Code art. 174). The questioning lasted three hours and was "
               "all about their posts. The investigator said \"next time you will be a "
               "suspect\"."},
        {"kk": "{city}, қалалық полиция басқармасы", "ru": "{city}, городское управление полиции",
         "en": "{city}, city police department"},
        document=("повестка.txt", "summons"),
    ),
    Scenario(
        "tax", ("inspection",), ("association",), ("tax",), (("other", "Налоговый кодекс"),),
        "hrd", ("documents",),
        {"kk": "Жоспардан тыс салық тексерісі: {ngo}",
         "ru": "Внеплановая налоговая проверка: {ngo}",
         "en": "Unscheduled tax inspection of {ngo}"},
        {"kk": "Шетелден грант алған ұйымға жоспардан тыс салық тексерісі келді. Тексерушілер "
               "бес жылдың құжаттарын, серіктестер мен семинар қатысушыларының тізімін талап етті. "
               "Директор {name} бұл қысым деп санайды.",
         "ru": "В организацию, получающую иностранные гранты, пришла внеплановая налоговая "
               "проверка. Инспекторы потребовали документы за пять лет, списки партнёров и "
               "участников семинаров. Директор {name} считает это давлением.",
         "en": "An unscheduled tax inspection arrived at the organisation, which receives "
               "foreign grants. Inspectors demanded five years of records and lists of partners "
               "and workshop participants. The director, {name}, sees it as pressure."},
        {"kk": "{city}, ұйымның кеңсесі", "ru": "{city}, офис организации",
         "en": "{city}, the organisation's office"},
        document=("акт_проверки.txt", "inspection"),
    ),
    Scenario(
        "photos", ("detention_administrative", "confiscation"), ("expression", "liberty"),
        ("police",), (("administrative", "488"),), "journalist", ("victim_account", "media"),
        {"kk": "{city}: тілшінің фотолары өшірілді",
         "ru": "{city}: у журналиста удалили фото и видео",
         "en": "{city}: journalist's photos and videos deleted"},
        {"kk": "Тілші {name} наразылық акциясын түсіріп жүрген. Полиция оны ұстап, бөлімшеде "
               "телефонындағы барлық фото мен видеоны өшіртті. Төрт сағаттан кейін хаттамасыз "
               "босатты.",
         "ru": "Журналист {name} снимал{ru_a} акцию протеста. Полиция задержала {ru_him} и в "
               "отделе заставила удалить все фото и видео с телефона. Через четыре часа "
               "отпустили без протокола.",
         "en": "Journalist {name} was filming a protest. Police detained them and at the station "
               "made them delete every photo and video on their phone. They were released four "
               "hours later without any record of the detention."},
        {"kk": "{city}, орталық алаң", "ru": "{city}, центральная площадь",
         "en": "{city}, central square"},
        sensitivity="high", photo="street",
    ),
    Scenario(
        "accreditation", ("accreditation_denied",), ("expression",), ("akimat",),
        (("other", "Закон о СМИ, ст. 30"),), "journalist", ("victim",),
        {"kk": "Тілшіге аккредитация берілмеді",
         "ru": "Журналисту отказали в аккредитации",
         "en": "Journalist refused accreditation"},
        {"kk": "{name} әкімдіктің ашық отырысына аккредитация сұрады. Баспасөз қызметі себебін "
               "айтпай бас тартты, ал басқа басылымдардың тілшілері кірді.",
         "ru": "{name} запросил{ru_a} аккредитацию на открытое заседание акимата. Пресс-служба "
               "отказала без объяснения причин, хотя журналистов других изданий пустили.",
         "en": "{name} asked for accreditation to an open session of the akimat. The press "
               "office refused without giving a reason, while reporters of other outlets got "
               "in."},
        {"kk": "{city}, әкімдік", "ru": "{city}, акимат", "en": "{city}, akimat"},
    ),
)

#: A mixed report: a Kazakh title over a description that switches between the languages,
#: as people write when they quote what was said.
MIXED_TAIL = {
    "kk": " Куәгер былай деді: «Всех, кто снимал, забрали в отдел».",
    "ru": " Свидетель добавил: «Бізге ешкім ештеңе түсіндірмеді».",
}


# -- attachments -------------------------------------------------------------------------

def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return (float(degrees), float(minutes), seconds)


def photo_with_gps(rng: random.Random, city: City, kind: str, when: date) -> bytes:
    """A small JPEG that says TRAINING, with the camera, the time and a GPS position in EXIF."""
    colours = {"picket": (120, 150, 190), "gathering": (150, 170, 130), "office": (170, 160, 140),
               "street": (130, 130, 150)}
    image = Image.new("RGB", (480, 320), colours.get(kind, (140, 140, 140)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 220, 480, 320), fill=(90, 90, 90))
    for _i in range(rng.randint(1, 6)):
        x = rng.randint(30, 430)
        draw.ellipse((x, 120, x + 30, 150), fill=(60, 50, 40))
        draw.rectangle((x - 5, 150, x + 35, 240), fill=(40, 40, 70))
    draw.rectangle((150, 40, 330, 110), fill=(250, 250, 240), outline=(20, 20, 20), width=3)
    draw.text((190, 60), "TRAINING", fill=(180, 0, 0))
    draw.text((190, 80), "fictional", fill=(60, 60, 60))
    exif = Image.Exif()
    exif[0x010F] = "Training Phone Co."  # Make
    exif[0x0110] = "Model T-1"  # Model
    exif[0x0132] = f"{when:%Y:%m:%d} 1{rng.randint(0, 9)}:{rng.randint(10, 59)}:00"
    gps = exif.get_ifd(0x8825)
    lat = city.lat + rng.uniform(-0.01, 0.01)
    lon = city.lon + rng.uniform(-0.01, 0.01)
    gps.update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, exif=exif)
    return out.getvalue()


_DOCUMENTS = {
    "summons": "ПОВЕСТКА (учебный документ, вымышленный)\n\nГражданин(ка) {name} вызывается в "
               "качестве свидетеля к следователю, каб. 214, {day} в 10:00.\nПри неявке без "
               "уважительной причины может быть подвергнут(а) приводу.\n",
    "inspection": "АКТ ВНЕПЛАНОВОЙ ПРОВЕРКИ (учебный документ, вымышленный)\n\nОрганизация: "
                  "{ngo}\nДата: {day}\nЗапрошены: бухгалтерские документы за 5 лет, списки "
                  "партнёров и участников мероприятий.\n",
}


# -- reports -----------------------------------------------------------------------------

@dataclass
class Fictional:
    """One generated report: a body as the form would give it, and its files."""

    language: str
    body: dict[str, Any]
    files: list[tuple[str, str, bytes]]  # (name, media type, bytes)
    names: list[str]


def _when(rng: random.Random, today: date) -> tuple[date, str, str]:
    start = date(2022, 1, 1)
    day = start + timedelta(days=rng.randint(0, (today - start).days - 1))
    precision = rng.choices(("day", "month", "year", "unknown"), (60, 20, 10, 10))[0]
    text = {"day": day.isoformat(), "month": f"{day:%Y-%m}", "year": f"{day:%Y}",
            "unknown": ""}[precision]
    return day, precision, text


def generate(count: int, seed: int | None = None, today: date | None = None) -> list[Fictional]:
    """``count`` fictional reports; the languages take turns (kk, ru, en, mixed)."""
    rng = random.Random(seed)  # noqa: S311 - fictional content, not a secret
    today = today or date.today()
    made = []
    for index in range(count):
        language = LANGUAGES[index % len(LANGUAGES)]
        made.append(_one(rng, language, today))
    return made


def _one(rng: random.Random, language: str, today: date) -> Fictional:
    scenario = rng.choice(SCENARIOS)
    city = rng.choice(CITIES)
    text_lang = "kk" if language == "mixed" else language
    latin = language == "en"
    people = [make_name(rng, latin) for _i in range(rng.choice((1, 1, 2)))]
    names = [name for name, _female in people]
    female = people[0][1]
    outlet = rng.choice(OUTLETS)
    ngo = rng.choice(NGOS)
    pick = {"kk": 0, "ru": 1, "en": 2}
    values = {
        "name": names[0],
        # Russian past tense and pronouns agree with the first person's gender.
        "ru_a": "а" if female else "",
        "ru_one": "одна" if female else "один",
        "ru_him": "её" if female else "его",
        "ru_his": "её" if female else "его",
        "city": city.name(text_lang),
        "outlet": outlet[pick[text_lang]],
        "ngo": ngo[pick[text_lang]],
        "site": rng.choice(SITES),
        "days": rng.choice((5, 10, 15)),
        "amount": f"{rng.choice((196_600, 245_750, 368_625)):,}".replace(",", "\u00a0"),
    }
    title = scenario.title[text_lang].format(**values)
    description = scenario.text[text_lang].format(**values)
    if language == "mixed":
        # Kazakh title, Russian account with a Kazakh quotation (or the reverse).
        values_ru = {**values, "city": city.ru, "outlet": outlet[1], "ngo": ngo[1]}
        description = scenario.text["ru"].format(**values_ru) + MIXED_TAIL["ru"]
        if rng.random() < 0.5:
            description = scenario.text["kk"].format(**values) + MIXED_TAIL["kk"]
            title = scenario.title["ru"].format(**values_ru)
    day, precision, occurred_on = _when(rng, today)
    ended_on = ""
    if scenario.lasts_days and precision == "day":
        end = day + timedelta(days=int(values["days"]))
        ended_on = end.isoformat() if end < today else ""
    abroad = rng.random() < 0.04
    victims = [
        {"name": name, "role": scenario.role if i == 0 else rng.choice(("relative", "activist")),
         "consent": rng.random() < 0.85, "may_name": rng.random() < 0.25}
        for i, name in enumerate(names)
    ]
    data = {
        "title": title,
        "description": description,
        "occurred_on": occurred_on,
        "occurred_precision": precision,
        "ended_on": ended_on,
        "region": "abroad" if abroad else city.region,
        "place": "" if abroad else scenario.place[text_lang].format(**values),
        "abroad_country": ("Кыргызстан" if text_lang != "en" else "Kyrgyzstan") if abroad else "",
        "rights": list(scenario.rights),
        "acts": list(scenario.acts[: rng.randint(1, len(scenario.acts))]),
        "victims": victims,
        "perpetrators": [{"kind": kind, "name": ""} for kind in scenario.perpetrators],
        "legal": [{"code": code, "article": article} for code, article in scenario.legal],
        "sources": list(scenario.sources),
        "links": f"https://{values['site']}/news/{rng.randint(1000, 9999)}"
        if rng.random() < 0.5 else "",
        "sensitivity": scenario.sensitivity,
        "may_publish": rng.random() < 0.4,
        "withhold_names": rng.random() < 0.8,
        "contact": "",
    }
    data = {k: nfc(v) if isinstance(v, str) else v for k, v in data.items()}
    files: list[tuple[str, str, bytes]] = []
    if scenario.photo and rng.random() < 0.7:
        name = rng.choice(("IMG_{n}.jpg", "фото_{n}.jpg", "сурет_{n}.jpg")).format(
            n=rng.randint(1000, 9999))
        files.append((name, "image/jpeg", photo_with_gps(rng, city, scenario.photo, day)))
    if scenario.document is not None:
        doc_name, kind = scenario.document
        content = _DOCUMENTS[kind].format(name=names[0], ngo=ngo[1], day=day.isoformat())
        files.append((doc_name, "text/plain", content.encode("utf-8")))
    return Fictional(language, reports.body_from_form(data), files, names)


def _upload(cfg: Config, name: str, media_type: str, data: bytes) -> FileStorage:
    """A file as the form parser hands it over: in an encrypted spool."""
    spool = EncryptedSpool(cfg.spool_dir)
    spool.write(data)
    spool.seal()
    return FileStorage(stream=spool, filename=name, content_type=media_type)  # type: ignore[arg-type]


def populate(conn: sqlcipher3.Connection, cfg: Config, count: int,
             seed: int | None = None) -> list[str]:
    """Add ``count`` fictional reports to a training store; all of them, or none."""
    if training.mode(conn) != training.TRAINING:
        raise NotTraining(_("this store holds real reports: fictional reports go only into a "
                            "training store (kuager init --training)"))
    if not 1 <= count <= MAX_COUNT:
        raise StoreError(_("the count must be between 1 and %(max)d", max=MAX_COUNT))
    training.write_marker(conn)
    added: list[str] = []
    try:
        for item in generate(count, seed):
            uploads = [_upload(cfg, *spec) for spec in item.files]
            try:
                added.append(intake.save(conn, cfg, item.body, uploads))
            finally:
                for upload in uploads:
                    upload.stream.close()
    except BaseException:
        reports.delete(conn, cfg, added)
        raise
    return added
