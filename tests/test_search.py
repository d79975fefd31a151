"""The catalog's text filter ``q`` (SPEC §3): what it finds, and the bigram index that serves it kept in step."""

from urllib.parse import quote

from sqlalchemy import select

from booking.extensions import db
from booking.models import Resource, ResourceTerm
from booking.models.enums import OrgKind, Role
from booking.models.search import terms_of
from booking.services.organizations import update_organization


def _searcher(api, factory):
    member = factory.make_user(factory.make_org(kind=OrgKind.sme, name="小微企业"), Role.member)
    client = api.as_(member)

    def found(q: str) -> set[int]:
        response = client.get(f"/resources?q={quote(q)}&per_page=100")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["total"] == len(body["items"])
        return {item["id"] for item in body["items"]}

    return found


def _stored_terms(resource_id: int) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(ResourceTerm.term).where(ResourceTerm.resource_id == resource_id)))


def test_two_character_chinese_queries_find_name_description_and_owner(api, factory):
    provider = factory.make_org(kind=OrgKind.lead_enterprise, name="华测检测中心")
    by_name = factory.make_resource(provider, name="光谱分析仪")
    by_description = factory.make_resource(provider, name="成像设备", description="红外热像测温")
    other = factory.make_resource(name="万能试验机")
    found = _searcher(api, factory)
    assert found("光谱") == {by_name.id}
    assert found("热像") == {by_description.id}
    assert found("华测") == {by_name.id, by_description.id}
    assert other.id not in found("华测") and found("试验") == {other.id}


def test_a_one_character_query_matches_anywhere(api, factory):
    spectrometer = factory.make_resource(name="光谱仪")
    factory.make_resource(name="试验机")
    found = _searcher(api, factory)
    assert found("谱") == {spectrometer.id}


def test_a_query_whose_bigrams_occur_apart_is_not_a_match(api, factory):
    # "光谱仪" holds the bigrams 光谱 and 谱仪; "谱仪光谱" holds both, but not the three characters in a row.
    apart = factory.make_resource(name="谱仪光谱")
    together = factory.make_resource(name="光谱仪")
    found = _searcher(api, factory)
    assert found("光谱仪") == {together.id}
    assert apart.id in found("光谱")


def test_like_wildcards_in_a_query_are_literal(api, factory):
    percent = factory.make_resource(name="湿度 50%RH 标准")
    underscore = factory.make_resource(name="model_a 探头")
    factory.make_resource(name="湿度 50 RH 探头 modelxa")
    found = _searcher(api, factory)
    assert found("50%rh") == {percent.id}
    assert found("l_a") == {underscore.id}
    assert found("%") == {percent.id} and found("_") == {underscore.id}


def test_ascii_queries_ignore_case(api, factory):
    profiler = factory.make_resource(name="Surface Profiler", model="SP-900X")
    found = _searcher(api, factory)
    assert found("SP-900X") == found("sp-900x") == found("Sp-900x") == {profiler.id}
    assert found("SURFACE PROF") == {profiler.id}


def test_a_long_query_uses_a_few_bigrams_and_still_matches_exactly(api, factory):
    text = "高精度三坐标测量机配备接触式与非接触式测头可测复杂曲面"
    machine = factory.make_resource(name="测量机", description=text)
    found = _searcher(api, factory)
    assert found(text) == {machine.id}
    assert found(text + "不在") == set()


def test_a_renamed_resource_is_found_by_its_new_name_only(api, factory):
    provider, admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider, name="旧名光谱仪")
    found = _searcher(api, factory)
    response = api.as_(admin).patch(f"/resources/{resource.id}", json={"name": "新称热像仪"})
    assert response.status_code == 200, response.get_json()
    assert found("旧名") == set() and found("光谱") == set()
    assert found("新称") == {resource.id} and found("热像") == {resource.id}


def test_a_renamed_organization_is_found_by_its_new_name_only(api, factory):
    provider, admin, _operator = factory.make_provider()
    update_organization(admin, provider, {"name": "甲乙计量中心"})
    db.session.commit()
    resources = {factory.make_resource(provider).id, factory.make_resource(provider).id}
    found = _searcher(api, factory)
    assert found("甲乙") == resources
    update_organization(admin, provider, {"name": "丙丁检测院"})
    db.session.commit()
    assert found("甲乙") == set() and found("丙丁") == resources
    assert all(_stored_terms(rid) == terms_of(db.session.get(Resource, rid).search_text) for rid in resources)


def test_the_terms_of_a_resource_are_the_bigrams_of_its_search_text_after_create_and_update(api, factory):
    provider, admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider, name="光谱仪", model="SP-1", description="近红外")
    assert {"光谱", "谱仪", "sp", "-1", "近红", "红外"} <= _stored_terms(resource.id)
    assert _stored_terms(resource.id) == terms_of(db.session.get(Resource, resource.id).search_text)
    # No bigram joins two fields (the name's end to the model's start).
    assert "仪\x1f" not in _stored_terms(resource.id) and all(len(t) == 2 for t in _stored_terms(resource.id))
    response = api.as_(admin).patch(f"/resources/{resource.id}", json={"description": "紫外"})
    assert response.status_code == 200, response.get_json()
    terms = _stored_terms(resource.id)
    assert terms == terms_of(db.session.get(Resource, resource.id).search_text)
    assert "紫外" in terms and "近红" not in terms


def test_an_update_that_leaves_the_text_alone_does_not_rewrite_the_terms(api, factory):
    provider, admin, _operator = factory.make_provider()
    resource = factory.make_resource(provider, name="光谱仪")
    # A row no rewrite would produce: it survives only if the terms are left alone.
    db.session.add(ResourceTerm(term="~~", resource_id=resource.id))
    db.session.commit()
    response = api.as_(admin).patch(f"/resources/{resource.id}", json={"hourly_fee": 120})
    assert response.status_code == 200, response.get_json()
    assert "~~" in _stored_terms(resource.id)
    response = api.as_(admin).patch(f"/resources/{resource.id}", json={"name": "热像仪"})
    assert response.status_code == 200, response.get_json()
    assert "~~" not in _stored_terms(resource.id)


def test_terms_of_skips_the_field_separator():
    assert terms_of("ab\x1fcd") == {"ab", "cd"}
    assert terms_of("a") == set() and terms_of("") == set()
    assert terms_of("光谱光谱") == {"光谱", "谱光"}


def test_free_time_filter_pages_the_resources_with_free_time_in_order(api, factory):
    from datetime import timedelta

    from booking.models.enums import BookingStatus

    from .factories import local, next_weekday

    provider, _admin, _operator = factory.make_provider()
    day = next_weekday(4)
    hours = [(day.weekday(), 540, 660)]
    free = [factory.make_resource(provider, name=f"空闲仪器{n}", opening_hours=hours) for n in range(3)]
    full = factory.make_resource(provider, name="约满的仪器", opening_hours=hours)
    closed = factory.make_resource(
        provider, name="当天不开放的仪器", opening_hours=[((day.weekday() + 1) % 7, 540, 660)]
    )
    faulty = factory.make_resource(provider, name="故障的仪器", opening_hours=hours, status="faulty")
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    factory.make_booking(full, member, local(day, 9), local(day, 11), status=BookingStatus.approved)
    client = api.as_(member)
    window = (
        f"available_from={local(day, 0).isoformat()}&available_to={(local(day, 0) + timedelta(days=1)).isoformat()}"
    )
    window = window.replace("+", "%2B")
    body = client.get(f"/resources?{window}&organization_id={provider.id}").get_json()
    assert body["total"] == 3 and [r["id"] for r in body["items"]] == [r.id for r in free]
    second = client.get(f"/resources?{window}&organization_id={provider.id}&per_page=2&page=2").get_json()
    assert (second["total"], [r["id"] for r in second["items"]]) == (3, [free[2].id])
    named = client.get(f"/resources?{window}&q={quote('仪器1')}").get_json()
    assert [r["id"] for r in named["items"]] == [free[1].id]
    assert {full.id, closed.id, faulty.id}.isdisjoint(r["id"] for r in body["items"])


def test_catalog_pages_carry_the_total_in_order_and_past_the_end(api, factory):
    provider, _admin, _operator = factory.make_provider()
    other, _a, _o = factory.make_provider(city="430100")
    mine = [factory.make_resource(provider, name=f"分页仪器{n}") for n in range(5)]
    factory.make_resource(other, name="分页仪器 其他单位")
    factory.make_resource(provider, name="分页仪器 退役", status="retired")
    client = api.as_(factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member))
    pages = [client.get(f"/resources?organization_id={provider.id}&per_page=2&page={n}").get_json() for n in (1, 2, 3)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [r["id"] for p in pages for r in p["items"]] == [r.id for r in mine]
    past = client.get(f"/resources?organization_id={provider.id}&per_page=2&page=4").get_json()
    assert (past["total"], past["items"]) == (5, [])
    texts = client.get(f"/resources?q={quote('分页仪器')}&per_page=4&page=2").get_json()
    assert texts["total"] == 6 and len(texts["items"]) == 2
    nothing = client.get(f"/resources?q={quote('没有这种仪器')}").get_json()
    assert (nothing["total"], nothing["items"]) == (0, [])
