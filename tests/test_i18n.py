"""Chinese first (SPEC §8): the zh_CN catalog translates every message, pages and API errors speak Chinese by
default and English on request."""

import re
from collections import Counter
from functools import cache
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from booking.models.enums import OrgKind, Role

from .factories import local, next_weekday
from .pages import sign_in

TRANSLATIONS = Path(__file__).resolve().parent.parent / "booking" / "translations"
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrs%])")
CJK = re.compile(r"[\u4e00-\u9fff]")


@cache
def catalog(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


@cache
def template():
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        return read_po(f)


def messages(cat):
    return [m for m in cat if m.id]


def placeholders(text: str) -> Counter:
    return Counter(match.group(0) for match in PLACEHOLDER.finditer(text) if match.group(0) != "%%")


def as_key(value):
    """Plural ids and strings are tuples in a .po catalog and lists in a .mo one."""
    return tuple(value) if isinstance(value, list | tuple) else value


def zh(msgid: str) -> str:
    return catalog("zh_CN")[msgid].string


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    entries = messages(catalog("zh_CN"))
    assert entries
    problems = []
    for m in entries:
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy:
            problems.append((m.id, "fuzzy"))
        if not all(s and s.strip() for s in strings):
            problems.append((m.id, "untranslated"))
            continue
        for s in strings:
            # Chinese has one plural form; it is written from the plural msgid.
            if placeholders(s) != placeholders(ids[-1]):
                problems.append((m.id, f"placeholders differ: {s!r}"))
            if "<" in s and "<" not in ids[-1]:
                problems.append((m.id, "markup in the translation"))
    assert not problems, problems
    assert not catalog("zh_CN").fuzzy


def test_catalogs_follow_the_extracted_template():
    """``make messages`` was run after the last change to a user-facing string, and both catalogs are valid."""
    expected = {m.id for m in messages(template())}
    for locale in ("zh_CN", "en"):
        found = {m.id for m in messages(catalog(locale))}
        assert found == expected, (locale, sorted(map(str, expected - found)), sorted(map(str, found - expected)))
        assert not [m.id for m in messages(catalog(locale)) if m.fuzzy], locale


def test_the_compiled_chinese_catalog_is_current():
    path = TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.mo"
    assert path.exists(), "compile the catalogs: make translations"
    with open(path, "rb") as f:
        compiled = {as_key(m.id): as_key(m.string) for m in read_mo(f) if m.id}
    stale = [m.id for m in messages(catalog("zh_CN")) if compiled.get(as_key(m.id)) != as_key(m.string)]
    assert not stale, f"compile the catalogs (make translations); stale: {stale[:5]}"


def test_home_and_login_are_chinese_by_default_and_english_after_the_switch(client):
    home = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in home
    assert zh("shared resources") in home and "shared resources" not in home
    assert zh("SME Metrology Partner Program") in home
    login = client.get("/login").get_data(as_text=True)
    assert zh("Password") in login and ">Password<" not in login

    assert client.get("/lang/en?next=/").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in home
    assert "shared resources" in home and zh("shared resources") not in home
    login = client.get("/login").get_data(as_text=True)
    assert ">Password<" in login and zh("Password") not in login


def test_catalog_page_is_chinese_by_default_and_english_after_the_switch(app, factory):
    provider, _admin, _ = factory.make_provider()
    factory.make_resource(provider, name="三坐标测量机", metrology_field="geometry")
    client = sign_in(app, factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member))

    page = client.get("/resources").get_data(as_text=True)
    assert "三坐标测量机" in page
    for msgid in ("Find a resource", "Geometry", "All cities", "Sign out"):
        assert zh(msgid) in page, msgid
    assert "Find a resource" not in page

    client.get("/lang/en?next=/resources")
    page = client.get("/resources").get_data(as_text=True)
    for msgid in ("Find a resource", "Geometry", "All cities", "Sign out"):
        assert msgid in page, msgid
    assert zh("Find a resource") not in page


def test_not_found_page_is_chinese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert zh("The page or item you asked for does not exist.") in response.get_data(as_text=True)


def test_api_errors_are_chinese_by_default_and_english_on_request(api, factory):
    response = api.client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"] == {"code": "unauthenticated", "message": zh("Sign in first."), "fields": {}}
    response = api.client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert response.get_json()["error"]["message"] == "Sign in first."

    resource = factory.make_resource()
    member = api.as_(factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member))
    day = next_weekday(3)
    body = {"resource_id": resource.id, "start": local(day, 10).isoformat(), "end": local(day, 9).isoformat()}

    error = member.post("/bookings", json=body).get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == zh("The end must be after the start.") and CJK.search(error["message"])
    assert error["fields"] == {"end": zh("must be after start")}

    error = member.post("/bookings", json=body, headers={"Accept-Language": "en"}).get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "The end must be after the start."
    assert error["fields"] == {"end": "must be after start"}

    error = member.get("/bookings/2147483647").get_json()["error"]
    assert (error["code"], error["message"]) == ("not_found", zh("booking not found"))
    error = member.get("/bookings/2147483647", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_json()["error"]
    assert (error["code"], error["message"]) == ("not_found", "booking not found")
