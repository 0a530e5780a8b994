"""WTForms' own validation messages come from Kuager's catalogs, in kk and ru too
(issue 14: "This field is required." and "Not a valid choice" appeared in English)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.conftest import PASSPHRASE, csrf_token, report_form

WTFORMS_ENGLISH = ("This field is required", "Not a valid", "is not a valid choice",
                   "Field cannot be longer", "Number must be", "Invalid Choice")

EXPECTED = {
    "required": {"kk": "Бұл өрісті толтыру міндетті.", "ru": "Заполните это поле."},
    "choice": {"kk": "Ұсынылған тізімнен таңдаңыз.",
               "ru": "Выберите один из предложенных вариантов."},
    "choices": {"kk": "Жарамсыз таңдау: &#39;nonsense&#39;.",
                "ru": "Недопустимый вариант: &#39;nonsense&#39;."},
    "too_long": {"kk": "300 таңбадан аспауы керек.",
                 "ru": "Допустимо не больше символов: 300."},
    "integer": {"kk": "Бүтін сан енгізіңіз.", "ru": "Введите целое число."},
    "range": {"kk": "Сан кемінде 1, ең көбі 1000 болуы керек.",
              "ru": "Число должно быть от 1 до 1000."},
}


def _errors(page: str) -> list[str]:
    return re.findall(r'<p class="error" id="[^"]+">([^<]*)</p>', page)


def _no_wtforms_english(page: str) -> None:
    for english in WTFORMS_ENGLISH:
        assert english not in page, english


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_required_on_the_unlock_page(client: FlaskClient, lang: str) -> None:
    client.post("/lock", data={"csrf_token": csrf_token(client, "/reports")})
    token = csrf_token(client, f"/unlock?lang={lang}")
    page = client.post("/unlock", data={"csrf_token": token, "passphrase": ""}).text
    assert EXPECTED["required"][lang] in _errors(page)
    _no_wtforms_english(page)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_report_form_choice_and_length_messages(client: FlaskClient, lang: str) -> None:
    data = report_form(title="Т" * 301, region="nowhere", acts=["nonsense"])
    data["victims-0-role"] = "not_a_role"
    data["csrf_token"] = csrf_token(client, f"/reports/new?lang={lang}")
    data["save"] = "1"
    response = client.post("/reports/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    errors = _errors(response.text)
    assert EXPECTED["too_long"][lang] in errors
    assert errors.count(EXPECTED["choice"][lang]) == 2  # the region, and the person's role
    assert EXPECTED["choices"][lang] in response.text
    _no_wtforms_english(response.text)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_number_messages_on_the_settings_page(client: FlaskClient, lang: str) -> None:
    token = csrf_token(client, f"/settings/?lang={lang}")
    for value, expected in (("abc", "integer"), ("0", "range")):
        page = client.post("/settings/lockout", data={
            "csrf_token": token, "current": PASSPHRASE, "wipe_after": value}).text
        assert EXPECTED[expected][lang] in _errors(page), _errors(page)
        _no_wtforms_english(page)


def test_english_pages_keep_wtforms_english(client: FlaskClient) -> None:
    client.post("/lock", data={"csrf_token": csrf_token(client, "/reports")})
    token = csrf_token(client, "/unlock?lang=en")
    page = client.post("/unlock", data={"csrf_token": token, "passphrase": ""}).text
    assert "This field is required." in _errors(page)
