"""Code lists: the categories Kazakhstani monitors need, shown in the reader's alphabet."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.i18n import sort_key
from app.records import codes


def _labels(app: Flask, lang: str, code_list: codes.CodeList) -> dict[str, str]:
    with app.test_request_context(f"/?lang={lang}"):
        return {code: str(text) for code, text in code_list}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_administrative_arrest_is_its_own_act(app: Flask, lang: str) -> None:
    acts = _labels(app, lang, codes.ACTS)
    three = {acts["administrative_arrest"], acts["detention_administrative"], acts["arrest"]}
    assert len(three) == 3
    if lang != "en":  # translated, not the English fallback
        assert acts["administrative_arrest"] in ("Әкімшілік қамаққа алу", "Административный арест")


@pytest.mark.parametrize(
    ("code_list", "code", "ru"),
    [
        (codes.PERPETRATORS, "national_guard", "Национальная гвардия или Вооружённые силы"),
        (codes.PERPETRATORS, "penitentiary", "Уголовно-исполнительная система (УИС)"),
        (codes.PERPETRATORS, "anti_corruption", "Агентство по противодействию коррупции"),
        (codes.PERPETRATORS, "ministry_information", "Министерство культуры и информации"),
        (codes.PERPETRATORS, "tax", "Орган государственных доходов (налоговый)"),
        (codes.LEGAL_CODES, "criminal_procedure", "Уголовно-процессуальный кодекс"),
    ],
)
def test_new_categories_are_translated(
    app: Flask, code_list: codes.CodeList, code: str, ru: str
) -> None:
    assert _labels(app, "ru", code_list)[code] == ru
    kk = _labels(app, "kk", code_list)[code]
    assert kk != _labels(app, "en", code_list)[code]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_regions_sorted_with_cities_first_and_catch_alls_last(app: Flask, lang: str) -> None:
    with app.test_request_context(f"/?lang={lang}"):
        order = codes.reading_order(codes.REGIONS)
        keys = [sort_key(re.sub(r"^(область|город)\s+", "", text)) for _c, text in order[3:-2]]
    assert [c for c, _t in order[:3]] == ["astana", "almaty_city", "shymkent"]
    assert [c for c, _t in order[-2:]] == ["abroad", "unknown"]
    assert keys == sorted(keys)
    assert len(order) == len(codes.REGIONS)


def test_russian_regions_follow_the_alphabet(app: Flask) -> None:
    """The review's example: Западно-Казахстанская came last, after область Ұлытау."""
    with app.test_request_context("/?lang=ru"):
        names = [text for _c, text in codes.reading_order(codes.REGIONS)]
    assert names.index("Западно-Казахстанская область") < names.index("Карагандинская область")
    assert names.index("Восточно-Казахстанская область") < names.index("Жамбылская область")
    assert names.index("область Абай") < names.index("Акмолинская область")


def test_kazakh_order_puts_kazakh_letters_in_place(app: Flask) -> None:
    with app.test_request_context("/?lang=kk"):
        names = [text for _c, text in codes.reading_order(codes.REGIONS)]
    # Kazakh order: … к қ л … т у ұ ү ф … ш: Ақ- before Ат-, Қа- before Қы-, Ұ before Ш.
    assert names.index("Ақмола облысы") < names.index("Атырау облысы")
    assert names.index("Қарағанды облысы") < names.index("Қызылорда облысы")
    assert names.index("Ұлытау облысы") < names.index("Шығыс Қазақстан облысы")


@pytest.mark.parametrize("code_list", [codes.DATE_PRECISION, codes.SENSITIVITY, codes.STATUSES])
def test_scales_keep_their_order(app: Flask, code_list: codes.CodeList) -> None:
    with app.test_request_context("/?lang=kk"):
        assert [c for c, _t in codes.reading_order(code_list)] == [c for c, _t in code_list]


def _options(html: str, name: str, kind: str = "select") -> list[str]:
    if kind == "select":
        block = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
        assert block, name
        return re.findall(r'<option[^>]*value="([^"]*)"', block.group(1))
    return re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_form_and_filters_render_the_reading_order(client: FlaskClient, app: Flask,
                                                   lang: str) -> None:
    form = client.get(f"/reports/new?lang={lang}").get_data(as_text=True)
    with app.test_request_context(f"/?lang={lang}"):
        regions = [c for c, _t in codes.reading_order(codes.REGIONS)]
        acts = [c for c, _t in codes.reading_order(codes.ACTS)]
        perpetrators = [c for c, _t in codes.reading_order(codes.PERPETRATORS)]
    assert _options(form, "region") == ["", *regions]
    assert _options(form, "acts", "checkbox") == acts
    assert _options(form, "perpetrators-0-kind") == ["", *perpetrators]
    listing = client.get(f"/reports?lang={lang}").get_data(as_text=True)
    # The list's filters are multiple choices (any of these values): no "All" entry.
    assert _options(listing, "region") == regions
    assert _options(listing, "act") == acts


def test_the_kept_reading_order_is_each_languages_own(app: Flask) -> None:
    """The order a request keeps (codes._ORDERED) is the one made afresh, for each
    language, whichever language asked first and however often they alternate."""
    codes._ORDERED.clear()
    seen = {}
    for lang in ("kk", "ru", "en", "kk", "en", "ru"):
        with app.test_request_context(f"/?lang={lang}"):
            kept = codes.reading_order(codes.REGIONS)
            assert kept == codes._reading_order(codes.REGIONS, None)
            assert codes.reading_order(codes.REGIONS) is not kept  # a copy each time
        seen.setdefault(lang, kept)
        assert seen[lang] == kept
    assert len({tuple(order) for order in seen.values()}) == 3
