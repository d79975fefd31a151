"""The authorization matrix (SPEC §1, §3): every /api/v1 route × every role × own and foreign objects.

One world per test; each row of the table is a request (method, path, body) and the status each role must get:
allowed (2xx, on a dedicated object when the call changes state), ``403 forbidden``, ``404 not_found`` where
existence is private (bookings, partnerships and notifications outside one's scope), ``401`` without a token.
A refused answer never carries the object's private data, and lists show private data only to those in scope.
A refused write is refused whatever its body: no body, malformed JSON or invalid fields get the same 403/404 (only
a caller with the right learns what the body lacks); where the right depends on a field of the body (``scope``),
that field is kept and every other one made invalid. Every mismatch is collected, so one run reports them all. A
new route without a row fails the test."""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from werkzeug.exceptions import NotFound as RouteNotFound

from booking.extensions import db
from booking.models import Blackout, Booking, CityReport, Notification, Partnership, Resource
from booking.models.enums import BookingStatus, NotificationKind, OrgKind, PartnershipStatus, ReportStatus, Role

from .booking_checks import at
from .factories import PASSWORD, ApiClient, credit_code, local, next_weekday

HOME, FAR = "430200", "430100"
PUBLIC_ROUTES = {("POST", "/api/v1/auth/tokens"), ("GET", "/api/v1/openapi.json")}

ROLES = (
    "anon",
    "admin",
    "province",
    "city",
    "p_admin",
    "p_operator",
    "p_member",
    "partner_admin",
    "partner_member",
    "far_admin",
    "far_member",
    "far_city",
)
SIGNED_IN = frozenset(ROLES) - {"anon"}
P_STAFF = frozenset({"p_admin", "p_operator"})
P_ALL = P_STAFF | {"p_member"}
S_ALL = frozenset({"partner_admin", "partner_member"})
F_ALL = frozenset({"far_admin", "far_member"})
HOME_REG = frozenset({"admin", "province", "city"})
FAR_REG = frozenset({"admin", "province", "far_city"})
# Who sees the contacts of the provider P and its partner SME S (both in 430200) and their partnership; the same
# for the SME F in 430100 and its partnership with the provider Q there.
HOME_SIDE = HOME_REG | P_ALL | S_ALL
FAR_SIDE = FAR_REG | F_ALL

_addresses = itertools.count(1)


def expect(status: int, allowed, hidden=frozenset()) -> dict[str, int]:
    """``status`` for ``allowed``, 404 for ``hidden``, 403 for every other signed-in role, 401 without a token."""
    table = {"anon": 401}
    for role in SIGNED_IN:
        table[role] = status if role in allowed else 404 if role in hidden else 403
    return table


def everyone(status: int) -> dict[str, int]:
    return expect(status, SIGNED_IN)


@dataclass
class Row:
    method: str
    path: str  # formatted with the world's ids, e.g. "/bookings/{b1}/approve"
    expect: dict[str, int]
    body: dict | Callable | None = None  # or body(world, role) -> dict
    # (label, make(world) -> check(text, json) -> bool, roles whose 2xx answer must show it; no other answer may)
    shows: tuple = ()
    # fresh(world, role) -> {id name: id}: a dedicated object for an allowed actor of a state-changing call
    fresh: Callable | None = None
    optional: bool = False  # a route that may not exist yet (the /stats/* ones)
    scope: tuple = ()  # the fields of the body on which the right depends (kept in the invalid bodies)


def invalid_bodies(row: Row, body) -> list[tuple[str, dict]]:
    """The request options of bodies a refused caller sends instead of ``body``, each with its name."""
    if isinstance(body, dict):
        broken = {key: value if key in row.scope else {"not": "valid"} for key, value in body.items()}
    else:
        broken = {"not": "a list"}
    variants = [("invalid fields", {"json": broken})]
    if not row.scope:
        variants += [("no body", {}), ("malformed JSON", {"data": '{"', "content_type": "application/json"})]
    return variants


def refused_whatever_the_body(row: Row, role: str, client, path: str, body, refusal) -> list[str]:
    """The refusal of a write with ``body`` is the same with each invalid body instead."""
    mismatches = []
    for name, options in invalid_bodies(row, body):
        response = getattr(client, row.method.lower())(path, **options)
        if response.status_code != refusal.status_code:
            code = ((response.get_json(silent=True) or {}).get("error") or {}).get("code", "")
            mismatches.append(
                f"{row.method} {path} as {role} with {name}: "
                f"{response.status_code} {code}, with a valid body {refusal.status_code}"
            )
    return mismatches


def contains(secret: str) -> Callable[[str, object], bool]:
    return lambda text, data: secret in text


class World:
    def __init__(self, app, factory):
        self.app, self.factory = app, factory
        self.day = next_weekday(3)
        self._slots = itertools.count()
        f = factory
        self.P, self.p_admin, self.p_operator = f.make_provider(city=HOME)
        self.p_member = f.make_user(self.P, Role.member)
        self.Q, self.q_admin, _q_operator = f.make_provider(city=FAR)
        self.S = f.make_org(kind=OrgKind.sme, city=HOME)
        self.partner_admin, self.partner_member = f.make_user(self.S, Role.org_admin), f.make_user(self.S)
        self.F = f.make_org(kind=OrgKind.sme, city=FAR)
        self.far_admin, self.far_member = f.make_user(self.F, Role.org_admin), f.make_user(self.F)
        self.city = f.make_user(f.make_org(kind=OrgKind.regulator, city=HOME), Role.city_regulator)
        self.far_city = f.make_user(f.make_org(kind=OrgKind.regulator, city=FAR), Role.city_regulator)
        self.province = f.make_user(role=Role.province_reviewer)
        self.admin = f.make_user(role=Role.platform_admin)
        self.phones = {}
        for key, org in (("P", self.P), ("S", self.S), ("F", self.F)):
            org.contact_phone = self.phones[key] = f"0731-55501{len(self.phones)}7"
        db.session.commit()

        self.R = f.make_resource(self.P, name="株洲主力三坐标测量机")
        self.R2 = f.make_resource(self.Q, name="长沙远端光谱仪")
        self.PS = f.make_partnership(self.P, self.S)
        self.PS2 = f.make_partnership(self.Q, self.F)
        self.secrets = {
            "b1": "机密用途一：齿轮箱样件",
            "b2": "机密用途二：光伏组件样件",
            "b3": "机密用途三：跨市委托测量",
            "bl": "机密停机说明一",
            "bl2": "机密停机说明二",
            "n1": "机密通知一",
            "n2": "机密通知二",
            "rep": "机密成效：株洲年度报告草稿",
            "rep2": "机密成效：长沙年度报告草稿",
            **{f"phone_{k}": v for k, v in self.phones.items()},
        }
        self.B1 = self.booking(self.R, self.partner_member, BookingStatus.pending, purpose=self.secrets["b1"])
        self.B2 = self.booking(self.R2, self.far_member, BookingStatus.pending, purpose=self.secrets["b2"])
        self.B3 = self.booking(self.R, self.far_member, BookingStatus.approved, purpose=self.secrets["b3"])
        self.BL = self.blackout(self.R, self.secrets["bl"])
        self.BL2 = self.blackout(self.R2, self.secrets["bl2"])
        self.N1 = self.notification(self.p_operator, self.secrets["n1"], self.B1)
        self.N2 = self.notification(self.partner_member, self.secrets["n2"], self.B1)
        self.year = self.day.year
        for city, key in ((HOME, "rep"), (FAR, "rep2")):
            db.session.add(CityReport(city=city, year=self.year, achievements=self.secrets[key]))
        db.session.commit()
        self.ids = {
            "P": self.P.id,
            "Q": self.Q.id,
            "S": self.S.id,
            "F": self.F.id,
            "r": self.R.id,
            "r2": self.R2.id,
            "ps": self.PS.id,
            "ps2": self.PS2.id,
            "b1": self.B1.id,
            "b2": self.B2.id,
            "b3": self.B3.id,
            "bl": self.BL.id,
            "bl2": self.BL2.id,
            "n1": self.N1.id,
            "n2": self.N2.id,
            "day": self.day.isoformat(),
            "day_after": (self.day + timedelta(days=1)).isoformat(),
            "year": self.year,
            "home": HOME,
            "far": FAR,
        }

    # Objects ---------------------------------------------------------------------------------------------------

    def booking(self, resource, user, status, when=None, **fields) -> Booking:
        """A booking written directly, each in a slot of its own (days ahead) unless ``when`` is given."""
        if when is None:
            n = next(self._slots)
            start = local(self.day + timedelta(days=2 + n // 10), 8 + n % 10)
            when = (start, start + timedelta(hours=1))
        return self.factory.make_booking(resource, user, when[0], when[1], status=status, **fields)

    def blackout(self, resource, note) -> Blackout:
        start = local(self.day, 18)
        blackout = Blackout(
            resource_id=resource.id, start=start, end=start + timedelta(hours=1), reason="maintenance", note=note
        )
        db.session.add(blackout)
        db.session.commit()
        return blackout

    def notification(self, user, title, booking) -> Notification:
        n = Notification(
            user_id=user.id,
            kind=NotificationKind.request_received,
            booking_id=booking.id,
            resource_id=booking.resource_id,
            title=title,
            body=title,
            dedup_key=f"matrix:{user.id}:{title}",
        )
        db.session.add(n)
        db.session.commit()
        return n

    def fresh_resource(self, owner) -> Resource:
        return self.factory.make_resource(owner)

    def clients(self, api) -> dict[str, ApiClient]:
        """One token per user, each signed in from an address of its own (the sign-in limit is per address)."""
        clients = {"anon": ApiClient(self.app, self.factory)}
        for role in SIGNED_IN:
            user = getattr(self, role)
            n = next(_addresses)
            response = api.client.post(
                "/api/v1/auth/tokens",
                json={"email": user.email, "password": PASSWORD},
                environ_base={"REMOTE_ADDR": f"10.77.{n // 250}.{n % 250 + 1}"},
            )
            assert response.status_code == 201, (role, response.get_json())
            clients[role] = ApiClient(self.app, self.factory, user, response.get_json()["token"])
        return clients


# Fresh objects for the allowed actors of state-changing calls -------------------------------------------------


def owner_of(resource_key: str):
    return (lambda w: w.P) if resource_key == "r" else (lambda w: w.Q)


def fresh_booking(booking_key: str, status: BookingStatus):
    """A booking like the shared one (same owner and requester), on a resource of its own, in ``status``."""

    def make(w: World, role: str) -> dict:
        shared = getattr(w, booking_key.upper())
        owner = w.P if shared.resource_id == w.R.id else w.Q
        requester = w.partner_member if shared.organization_id == w.S.id else w.far_member
        resource = w.fresh_resource(owner)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        when = None
        if status in (BookingStatus.approved, BookingStatus.in_use):
            when = (now - timedelta(minutes=30), now + timedelta(minutes=30))
        elif status == BookingStatus.completed:
            when = (now - timedelta(hours=3), now - timedelta(hours=2))
        booking = w.booking(resource, requester, status, when=when, purpose="新的预约")
        return {booking_key: booking.id}

    return make


def fresh_resource_of(resource_key: str):
    def make(w: World, role: str) -> dict:
        return {resource_key: w.fresh_resource(owner_of(resource_key)(w)).id}

    return make


def fresh_blackout_of(resource_key: str, blackout_key: str):
    def make(w: World, role: str) -> dict:
        resource = w.fresh_resource(owner_of(resource_key)(w))
        return {resource_key: resource.id, blackout_key: w.blackout(resource, "新的停机").id}

    return make


def booking_body(w: World, role: str) -> dict:
    """A valid request on a fresh resource of P (allowed actors); refused actors ask for R."""
    return {
        "resource_id": w.fresh_resource(w.P).id if role in REQUESTERS else w.R.id,
        "start": at(w.day + timedelta(days=1), 10),
        "end": at(w.day + timedelta(days=1), 11),
        "purpose": "矩阵测试",
    }


def user_body(org_key: str, role_name: str):
    def make(w: World, role: str) -> dict:
        return {
            "email": f"new.{org_key}.{role}@example.test",
            "name": "新用户",
            "password": PASSWORD,
            "organization_id": w.ids[org_key],
            "role": role_name,
        }

    return make


def partnership_body(provider_key: str, allowed):
    """Allowed actors link the provider to a fresh SME (so that no contact visibility of the world changes);
    refused actors ask for the provider ↔ F (or S, for Q)."""

    def make(w: World, role: str) -> dict:
        if role in allowed:
            sme = w.factory.make_org(kind=OrgKind.sme, city=HOME)
        else:
            sme = w.F if provider_key == "P" else w.S
        provider = w.ids[provider_key]
        return {
            "provider_id": provider,
            "sme_id": sme.id,
            "started_on": w.ids["day"],
            "cooperation": ["tech_assistance"],
        }

    return make


def resource_body(org_key: str | None):
    def make(w: World, role: str) -> dict:
        body = {"name": f"新仪器-{role}", "kind": "instrument", "hourly_fee": 80}
        if org_key is not None:
            body["organization_id"] = w.ids[org_key]
        return body

    return make


def blackout_body(w: World, role: str) -> dict:
    day = w.day + timedelta(days=1)
    return {"start": at(day, 14), "end": at(day, 16), "reason": "calibration", "note": "定期校准"}


def org_body(w: World, role: str) -> dict:
    return {"name": "新的计量测试中心", "kind": "testing_center", "city": HOME, "industry": "instruments"} | {
        "credit_code": credit_code(99999)
    }


def listed(key: str) -> Callable:
    """The shared object ``key`` is among the listed items."""

    def check(w: World):
        wanted = w.ids[key]
        return lambda text, data: wanted in {item["id"] for item in (data or {}).get("items", [])}

    return check


def secret(key: str) -> Callable:
    return lambda w: lambda text, data: w.secrets[key] in text


REQUESTERS = P_ALL | S_ALL | F_ALL
ALL_HOURS = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]
USAGE = "/stats/usage?from={day}&to={day_after}"
REPORT_TEXT = {"achievements": "矩阵成效", "problems": "矩阵问题", "next_steps": "矩阵打算"}


def booking_rows(key: str, owner_staff, requesters, viewers) -> list[Row]:
    """The transitions of SPEC §2.1 on the shared booking ``key`` (refusals) and on fresh ones (allowed)."""
    hidden = SIGNED_IN - viewers
    deciders = owner_staff | {"admin"}
    rows = [
        Row("GET", f"/bookings/{{{key}}}", expect(200, viewers, hidden), shows=(("purpose", secret(key), viewers),)),
    ]
    for action, status in (
        ("approve", BookingStatus.pending),
        ("reject", BookingStatus.pending),
        ("check-in", BookingStatus.approved),
        ("check-out", BookingStatus.in_use),
    ):
        rows.append(
            Row(
                "POST",
                f"/bookings/{{{key}}}/{action}",
                expect(200, deciders, hidden),
                {"note": "矩阵"},
                fresh=fresh_booking(key, status),
            )
        )
    rows.append(
        Row(
            "POST",
            f"/bookings/{{{key}}}/cancel",
            expect(200, deciders | requesters, hidden),
            {"note": "矩阵"},
            fresh=fresh_booking(key, BookingStatus.pending),
        )
    )
    rows.append(
        Row(
            "POST",
            f"/bookings/{{{key}}}/rating",
            expect(200, requesters, hidden),
            {"score": 5, "comment": "好"},
            fresh=fresh_booking(key, BookingStatus.completed),
        )
    )
    return rows


def resource_rows(key: str, owner_admin, owner_staff, blackout_key: str) -> list[Row]:
    managers, operators = owner_admin | {"admin"}, owner_staff | {"admin"}
    return [
        Row("GET", f"/resources/{{{key}}}", everyone(200)),
        Row("PATCH", f"/resources/{{{key}}}", expect(200, managers), {"description": "矩阵描述"}),
        Row("DELETE", f"/resources/{{{key}}}", expect(204, managers), fresh=fresh_resource_of(key)),
        Row("PUT", f"/resources/{{{key}}}/opening-hours", expect(200, managers), ALL_HOURS),
        Row(
            "GET",
            f"/resources/{{{key}}}/blackouts",
            expect(200, operators),
            shows=(("blackout note", secret(blackout_key), operators),),
        ),
        Row(
            "POST",
            f"/resources/{{{key}}}/blackouts",
            expect(201, operators),
            blackout_body,
            fresh=fresh_resource_of(key),
        ),
        Row(
            "DELETE",
            f"/resources/{{{key}}}/blackouts/{{{blackout_key}}}",
            expect(204, operators),
            fresh=fresh_blackout_of(key, blackout_key),
        ),
        Row(
            "GET",
            f"/resources/{{{key}}}/availability?from={{day}}&to={{day_after}}",
            everyone(200),
            shows=(("blackout note", secret(blackout_key), set()), ("b1 purpose", secret("b1"), set())),
        ),
    ]


def report_rows(city_key: str, text_key: str, readers, writer: str) -> list[Row]:
    """Read the 市州's report, save its draft, then submit it (the writer's draft, saved first, is still open)."""
    report = f"/reports/{{{city_key}}}/{{year}}"
    return [
        Row("GET", report, expect(200, readers), shows=(("report text", secret(text_key), readers),)),
        Row("PUT", report, expect(200, {writer}), REPORT_TEXT),
        Row("POST", report + "/submit", expect(200, {writer}), REPORT_TEXT),
    ]


def matrix() -> list[Row]:
    b1_viewers = HOME_REG | P_STAFF | S_ALL
    b2_viewers = FAR_REG | F_ALL
    b3_viewers = HOME_REG | FAR_REG | P_STAFF | F_ALL
    stats_readers = {"admin", "province", "city", "far_city", "p_admin", "partner_admin", "far_admin"}
    regulators = {"admin", "province", "city", "far_city"}
    return [
        # The signed-in user ---------------------------------------------------------------------------------
        Row("GET", "/me", everyone(200)),
        Row("POST", "/me/calendar-token", everyone(200)),
        # Organizations: contacts only to own users, partners, regulators in scope and admins ---------------------
        Row(
            "GET",
            "/organizations?per_page=100",
            everyone(200),
            shows=(
                ("P contacts", secret("phone_P"), HOME_SIDE),
                ("S contacts", secret("phone_S"), HOME_SIDE),
                ("F contacts", secret("phone_F"), FAR_SIDE),
            ),
        ),
        Row("POST", "/organizations", expect(201, {"admin"}), org_body),
        *(
            row
            for key, side, admin in (
                ("P", HOME_SIDE, "p_admin"),
                ("S", HOME_SIDE, "partner_admin"),
                ("F", FAR_SIDE, "far_admin"),
            )
            for row in (
                Row(
                    "GET",
                    f"/organizations/{{{key}}}",
                    everyone(200),
                    shows=(("contacts", secret(f"phone_{key}"), side),),
                ),
                Row("PATCH", f"/organizations/{{{key}}}", expect(200, {"admin", admin}), {"contact_name": "新联系人"}),
            )
        ),
        # Users ----------------------------------------------------------------------------------------------
        *(
            Row(
                "POST", "/users", expect(201, {"admin", admin}), user_body(org, role), scope=("organization_id", "role")
            )
            for org, role, admin in (
                ("S", "member", "partner_admin"),
                ("P", "operator", "p_admin"),
                ("F", "org_admin", "far_admin"),
            )
        ),
        # Partnerships ---------------------------------------------------------------------------------------
        Row(
            "GET",
            "/partnerships?per_page=100",
            everyone(200),
            shows=(("P-S partnership", listed("ps"), HOME_SIDE), ("Q-F partnership", listed("ps2"), FAR_SIDE)),
        ),
        Row("GET", "/partnerships/{ps}", expect(200, HOME_SIDE, SIGNED_IN - HOME_SIDE)),
        Row("GET", "/partnerships/{ps2}", expect(200, FAR_SIDE, SIGNED_IN - FAR_SIDE)),
        Row(
            "POST",
            "/partnerships",
            expect(201, {"admin", "p_admin"}),
            partnership_body("P", {"admin", "p_admin"}),
            scope=("provider_id",),
        ),
        Row("POST", "/partnerships", expect(201, {"admin"}), partnership_body("Q", {"admin"}), scope=("provider_id",)),
        Row(
            "PATCH",
            "/partnerships/{ps}",
            expect(200, {"admin", "p_admin"}, SIGNED_IN - HOME_SIDE),
            {"cooperation": ["resource_sharing", "talent_training"]},
        ),
        Row(
            "PATCH",
            "/partnerships/{ps2}",
            expect(200, {"admin"}, SIGNED_IN - FAR_SIDE),
            {"cooperation": ["resource_sharing", "talent_training"]},
        ),
        # Resources, opening hours, blackouts, availability ----------------------------------------------------
        Row("GET", "/resources?per_page=100", everyone(200)),
        Row("POST", "/resources", expect(201, {"admin", "p_admin"}), resource_body("P"), scope=("organization_id",)),
        Row("POST", "/resources", expect(201, {"admin"}), resource_body("Q"), scope=("organization_id",)),
        # Without organization_id the resource would belong to the caller's own organization: the platform
        # admin's is a regulator, which shares nothing (422).
        Row("POST", "/resources", {**expect(201, {"p_admin"}), "admin": 422}, resource_body(None)),
        *resource_rows("r", {"p_admin"}, P_STAFF, "bl"),
        *resource_rows("r2", set(), set(), "bl2"),
        # Bookings -------------------------------------------------------------------------------------------
        Row("POST", "/bookings", expect(201, REQUESTERS), booking_body),
        Row(
            "GET",
            "/bookings?per_page=100",
            everyone(200),
            shows=(
                ("b1 (S on R)", secret("b1"), b1_viewers),
                ("b2 (F on R2)", secret("b2"), b2_viewers),
                ("b3 (F on R)", secret("b3"), b3_viewers),
            ),
        ),
        *booking_rows("b1", P_STAFF, S_ALL, b1_viewers),
        *booking_rows("b2", set(), F_ALL, b2_viewers),
        Row("GET", "/bookings/{b3}", expect(200, b3_viewers, SIGNED_IN - b3_viewers)),
        # Notifications: one's own only ----------------------------------------------------------------------
        Row(
            "GET",
            "/notifications",
            everyone(200),
            shows=(("n1", secret("n1"), {"p_operator"}), ("n2", secret("n2"), {"partner_member"})),
        ),
        Row("POST", "/notifications/{n1}/read", expect(200, {"p_operator"}, SIGNED_IN)),
        Row("POST", "/notifications/{n2}/read", expect(200, {"partner_member"}, SIGNED_IN)),
        # Statistics (SPEC §3, §5) -----------------------------------------------------------------------------
        Row(
            "GET",
            USAGE,
            expect(200, stats_readers),
            shows=(("R in the figures", lambda w: contains(w.R.name), HOME_REG | {"p_admin"}),),
            optional=True,
        ),
        Row("GET", USAGE + f"&city={FAR}", expect(200, stats_readers - {"city"}), optional=True),
        Row(
            "GET",
            USAGE + "&organization_id={P}",
            expect(200, stats_readers - {"partner_admin", "far_admin"}),
            shows=(("R in the figures", lambda w: contains(w.R.name), HOME_REG | {"p_admin"}),),
            optional=True,
        ),
        Row("GET", "/stats/program?year={year}", expect(200, regulators), optional=True),
        # Annual work reports (SPEC §1, §5): read by the 市州's regulator, the province and admins; written and
        # submitted by the 市州's regulator only. The drafts' text is shown to their readers alone.
        Row("GET", "/reports?year={year}", expect(200, regulators)),
        *report_rows("home", "rep", HOME_REG, "city"),
        *report_rows("far", "rep2", FAR_REG, "far_city"),
        # Last: revoking the token ends every client's session -------------------------------------------------
        Row("DELETE", "/auth/tokens/current", everyone(204)),
    ]


def answer_text(response) -> str:
    """The answer as text, JSON decoded too, so that a secret escaped as ``\\uXXXX`` is still found."""
    text = response.get_data(as_text=True)
    data = response.get_json(silent=True)
    return text if data is None else text + json.dumps(data, ensure_ascii=False)


def route_of(app, method: str, path: str):
    """The url_map rule a request goes to, or None."""
    adapter = app.url_map.bind("booking.test")
    try:
        rule, _args = adapter.match("/api/v1" + path.split("?")[0], method=method, return_rule=True)
    except RouteNotFound:
        return None
    return rule.rule


def api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            routes |= {(m, rule.rule) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes - PUBLIC_ROUTES


def run_matrix(app, api, factory) -> tuple[list[str], int]:
    w = World(app, factory)
    clients = w.clients(api)
    mismatches, requests, covered = [], 0, set()
    for row in matrix():
        route = route_of(app, row.method, row.path.format(**w.ids))
        if route is None:
            if not row.optional:
                mismatches.append(f"{row.method} {row.path}: no such route")
            continue
        covered.add((row.method, route))
        shows = [(label, make(w), roles) for label, make, roles in row.shows]
        for role in ROLES:
            wanted = row.expect[role]
            allowed = 200 <= wanted < 300
            ids = dict(w.ids)
            if allowed and row.fresh is not None:
                ids.update(row.fresh(w, role))
            path = row.path.format(**ids)
            kwargs = {}
            if row.body is not None:
                kwargs["json"] = row.body(w, role) if callable(row.body) else row.body
            response = getattr(clients[role], row.method.lower())(path, **kwargs)
            requests += 1
            text = answer_text(response)
            case = f"{row.method} {path} as {role}"
            if response.status_code != wanted:
                detail = response.get_json(silent=True)
                error = (detail or {}).get("error", {}) if isinstance(detail, dict) else {}
                mismatches.append(f"{case}: {response.status_code} {error.get('code', '')}, expected {wanted}")
            if response.status_code >= 400:
                leaked = [k for k, v in w.secrets.items() if v in text]
                if leaked:
                    mismatches.append(f"{case}: the refusal shows {leaked}")
                error = (response.get_json(silent=True) or {}).get("error", {})
                expected_code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(wanted)
                if response.status_code == wanted and expected_code and error.get("code") != expected_code:
                    mismatches.append(f"{case}: code {error.get('code')!r}, expected {expected_code!r}")
                if "json" in kwargs and row.method != "GET":
                    mismatches += refused_whatever_the_body(row, role, clients[role], path, kwargs["json"], response)
                    requests += len(invalid_bodies(row, kwargs["json"]))
            elif shows:
                data = response.get_json(silent=True)
                for label, check, roles in shows:
                    seen = check(text, data)
                    if seen != (role in roles):
                        mismatches.append(f"{case}: {label} {'shown' if seen else 'not shown'}")
    missing = sorted(api_routes(app) - covered)
    mismatches += [f"{method} {rule}: no row in the matrix" for method, rule in missing]
    mismatches += unchanged(w, clients)
    return mismatches, requests


def unchanged(w: World, clients) -> list[str]:
    """The shared objects, on which only refusals were tried, are as they were; revoked tokens no longer work."""
    problems = []
    db.session.expire_all()
    for key in ("b1", "b2"):
        booking = db.session.get(Booking, w.ids[key])
        if (booking.status, booking.sequence) != (BookingStatus.pending, 1):
            problems.append(f"shared booking {key} changed: {booking.status} sequence {booking.sequence}")
    for key in ("bl", "bl2"):
        if db.session.get(Blackout, w.ids[key]) is None:
            problems.append(f"shared blackout {key} deleted")
    for key in ("r", "r2"):
        if db.session.get(Resource, w.ids[key]).status.value != "normal":
            problems.append(f"shared resource {key} retired")
    for key in ("ps", "ps2"):
        if db.session.get(Partnership, w.ids[key]).status != PartnershipStatus.active:
            problems.append(f"shared partnership {key} changed")
    for city in (HOME, FAR):
        report = db.session.scalars(select(CityReport).where(CityReport.city == city, CityReport.year == w.year)).one()
        if (report.status, report.achievements, report.submitted_by_id) != (
            ReportStatus.submitted,
            REPORT_TEXT["achievements"],
            (w.city if city == HOME else w.far_city).id,
        ):
            problems.append(f"the report of {city} is not the one its regulator submitted")
    for role in SIGNED_IN:
        status = clients[role].get("/me").status_code
        if status != 401:
            problems.append(f"GET /me as {role} after revoking the token: {status}, expected 401")
    return problems


def test_every_route_answers_every_role_as_spec_1_and_3_say(app, api, factory):
    mismatches, requests = run_matrix(app, api, factory)
    report = "\n".join(mismatches)
    assert not mismatches, f"{len(mismatches)} mismatches in {requests} requests:\n{report}"
