"""A national-scale data set for the benchmarks: the program run in 31 provinces in one database.

    .venv/bin/python bench/national_data.py --database-url URL [--resources 50000] [--bookings 5000000]

Deterministic for a given size, seed and day (``--as-of``, default today): 31 provinces of 12 市州 each (Hunan
with its own 14), providing organizations of ~15 resources each, SMEs, one regulator per 市州, partnerships, opening
hours, blackouts, and bookings over three years up to 30 days after ``as_of`` — past ones completed, cancelled,
rejected, expired or no-show; future ones pending, approved or cancelled — with check-ins, fees, partner rates and
ratings. One SME of 株洲 gets 1,000 bookings of Hunan's resources in its calendar window (for the feed benchmark).
The schema is the real one (Alembic migrations); booking history rows are not generated (only a booking's own page
reads them). ``national_load`` puts the rows into the database.
"""

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from booking.demo_year import DATASETS, INDUSTRY_WORD, INSTRUMENTS, LABS, SME_WORDS, STANDARDS  # noqa: E402
from booking.models.enums import BookingStatus, Cooperation, Industry, MetrologyField, OrgKind, Role  # noqa: E402
from booking.models.search import search_text_of  # noqa: E402
from booking.services.accounts import new_calendar_feed  # noqa: E402
from booking.services.organizations import credit_code_check_char  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
S = BookingStatus
# The 31 provincial-level divisions by their GB/T 2260 prefix; 43 is Hunan, whose 市州 are the configured ones.
PROVINCES = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53]
PROVINCES += [54, 61, 62, 63, 64, 65]
HUNAN = ["430100", "430200", "430300", "430400", "430500", "430600", "430700"]
HUNAN += ["430800", "430900", "431000", "431100", "431200", "431300", "433100"]
# Half-day blocks of the three opening-hour patterns (minutes from local midnight); a booking takes part of one.
PATTERNS = {
    "split": ([0, 1, 2, 3, 4], [(510, 720), (810, 1050)]),
    "day": ([0, 1, 2, 3, 4], [(540, 780), (780, 1020)]),
    "long": ([0, 1, 2, 3, 4, 5], [(480, 840), (840, 1200)]),
}
CHAINS = [i for i in Industry if i != Industry.other]
FEED_CITY = "430200"
FEED_EVENTS = 1000
GENERATOR = "3"  # bumped when the data changes, so that a stored data set is rebuilt


def cities_of(province: int) -> list[str]:
    return HUNAN if province == 43 else [f"{province:02d}{n:02d}00" for n in range(1, 13)]


def credit_code(city: str, n: int) -> str:
    first = f"91{city}{n:09d}"
    return first + credit_code_check_char(first)


def utc(day: date, minute: int) -> datetime:
    """The UTC instant of a local wall-clock minute."""
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=TZ)
    return local.astimezone(UTC)


class Generator:
    """Builds the rows table by table; ``bookings()`` streams, everything else is small enough to hold."""

    def __init__(self, resources: int, bookings: int, as_of: date, seed: int = 2026):
        self.rng = random.Random(seed)
        self.n_resources, self.n_bookings, self.as_of = resources, bookings, as_of
        self.first_day = as_of - timedelta(days=3 * 365 - 30)
        self.last_day = as_of + timedelta(days=30)
        self.created = utc(self.first_day - timedelta(days=60), 540)
        self.now = utc(as_of, 0)
        self.orgs, self.users, self.resources, self.hours, self.blackouts, self.partnerships = [], [], [], [], [], []
        self.province_weight = {p: 0.6 + 0.8 * self.rng.random() for p in PROVINCES}
        self.province_weight[43] = 1.0

    # Organizations, users, resources ----------------------------------------------------------------------------

    def _org(self, kind: OrgKind, city: str, name: str, industry: Industry) -> int:
        org_id = len(self.orgs) + 1
        self.orgs.append(
            dict(
                id=org_id,
                name=name,
                kind=kind,
                city=city,
                industry=industry,
                credit_code=credit_code(city, org_id),
                contact_name="联系人",
                contact_phone=f"0731-{80000000 + org_id}",
                contact_email=f"contact{org_id}@org.example",
                created_at=self.created,
            )
        )
        return org_id

    def _user(self, org_id: int, role: Role, email: str, password_hash: str) -> int:
        user_id = len(self.users) + 1
        nonce, _token, token_hash = new_calendar_feed(user_id)  # every user has a private feed, as in the app
        self.users.append(
            dict(
                id=user_id,
                email=email,
                name=f"用户{user_id}",
                password_hash=password_hash,
                role=role,
                organization_id=org_id,
                is_active_user=True,
                calendar_nonce=nonce,
                calendar_token_hash=token_hash,
                created_at=self.created,
            )
        )
        return user_id

    def organizations(self, password_hash: str) -> None:
        rng = self.rng
        total_weight = sum(self.province_weight.values())
        self.cities = [c for p in PROVINCES for c in cities_of(p)]
        self.city_weight = {c: self.province_weight[int(c[:2])] / len(cities_of(int(c[:2]))) for c in self.cities}
        for city in self.cities:
            org = self._org(OrgKind.regulator, city, f"{city}市场监督管理局", Industry.other)
            self._user(org, Role.city_regulator, f"city{city}@bench.example", password_hash)
        hunan_reviewers = self._org(OrgKind.regulator, "430100", "省市场监督管理局", Industry.other)
        self._user(hunan_reviewers, Role.province_reviewer, "province43@bench.example", password_hash)
        n_providers = max(1, self.n_resources // 15)
        n_smes = max(2, self.n_resources * 3 // 10)
        weights = [self.city_weight[c] / total_weight for c in self.cities]
        provider_cities = rng.choices(self.cities, weights, k=n_providers)
        provider_cities[0] = FEED_CITY
        self.providers = []  # (org_id, city, admin_id, operator_id)
        kinds = [OrgKind.lead_enterprise] * 6 + [OrgKind.metrology_institute] * 2 + [OrgKind.testing_center] * 2
        for i, city in enumerate(provider_cities):
            kind, industry = rng.choice(kinds), rng.choice(CHAINS)
            org = self._org(kind, city, f"{INDUSTRY_WORD[industry]}{kind.value[:4]}第{i + 1}号单位", industry)
            admin = self._user(org, Role.org_admin, f"admin{org}@bench.example", password_hash)
            operator = self._user(org, Role.operator, f"operator{org}@bench.example", password_hash)
            self.providers.append((org, city, admin, operator))
        self.smes = []  # (org_id, city, member_id)
        for i, city in enumerate(rng.choices(self.cities, weights, k=n_smes)):
            city = FEED_CITY if i == 0 else city
            org = self._org(OrgKind.sme, city, f"{rng.choice(SME_WORDS)}中小企业{i + 1}号", rng.choice(CHAINS))
            self.smes.append((org, city, self._user(org, Role.member, f"sme{org}@bench.example", password_hash)))
        self.smes_by_province: dict[int, list] = {}
        for sme in self.smes:
            self.smes_by_province.setdefault(int(sme[1][:2]), []).append(sme)

    def partnerships_and_resources(self) -> None:
        rng = self.rng
        self.partners: dict[int, set] = {}
        tasks = list(Cooperation)
        for org, city, _admin, _operator in self.providers:
            pool = self.smes_by_province.get(int(city[:2])) or self.smes
            chosen = {sme[0] for sme in rng.sample(pool, min(len(pool), rng.randint(3, 8)))}
            self.partners[org] = chosen
            for sme in sorted(chosen):
                started = self.first_day - timedelta(days=rng.randint(0, 400))
                self.partnerships.append(
                    dict(
                        provider_id=org,
                        sme_id=sme,
                        started_on=started,
                        ended_on=None,
                        status="active",
                        cooperation=sorted(rng.sample(tasks, rng.randint(1, 3))),
                        created_at=self.created,
                        updated_at=self.created,
                    )
                )
        per_provider = self.n_resources / len(self.providers)
        for index in range(self.n_resources):
            self._resource(index + 1, self.providers[min(len(self.providers) - 1, int(index / per_provider))])

    def _resource(self, resource_id: int, provider: tuple) -> None:
        rng = self.rng
        org, city, _admin, _operator = provider
        roll = rng.random()
        kind = "instrument" if roll < 0.6 else "standard" if roll < 0.8 else "lab" if roll < 0.93 else "dataset"
        capacity, valid_until, traceability = 1, None, None
        if kind == "instrument":
            name, field, span, uncertainty, fee = rng.choice(INSTRUMENTS)
        elif kind == "standard":
            (name, field, span, uncertainty), fee = rng.choice(STANDARDS), rng.choice((150, 200, 300))
        elif kind == "lab":
            (name, field), span, uncertainty, fee = rng.choice(LABS), "", "", rng.choice((300, 500, 800))
            capacity = rng.randint(2, 4)
        else:
            (name, field), span, uncertainty, fee = rng.choice(DATASETS), "", "", 0
        if kind in ("instrument", "standard"):
            valid_until = self.as_of + timedelta(days=rng.randint(-60, 700))
            traceability = rng.choice(("verification", "calibration"))
        pattern = rng.choice(list(PATTERNS)) if kind != "dataset" else None
        self.resources.append(
            dict(
                id=resource_id,
                organization_id=org,
                kind=kind,
                name=f"{name} {chr(65 + rng.randrange(26))}{rng.randint(100, 9999)}",
                description=f"{name}，面向产业链中小企业开放共享，可提供{MetrologyField(field).value}领域测量服务。",
                model=f"M-{rng.randint(100, 99999)}",
                manufacturer=rng.choice(("精测仪器", "华测科技", "中科计量", "湘仪设备", "远方光电")),
                serial_no=f"SN{resource_id:08d}",
                location=f"{rng.randint(1, 9)}号楼{rng.randint(101, 620)}室",
                city=city,
                metrology_field=field,
                measurement_range=span,
                uncertainty=uncertainty,
                traceability=traceability,
                traceability_institution="省计量测试研究院" if traceability else "",
                certificate_no=f"JJ{resource_id:07d}" if valid_until else "",
                certificate_valid_until=valid_until,
                status="normal",
                sharing_mode=rng.choice(("self_operated", "assisted", "entrusted", "remote")),
                rated_hours_per_year=rng.choice((1400, 1400, 800)) if kind != "dataset" else 0,
                hourly_fee=Decimal(fee),
                partner_hourly_fee=(Decimal(fee) * Decimal("0.6")).quantize(Decimal("1")),
                slot_minutes=30,
                min_minutes=30,
                max_minutes=480 if kind != "dataset" else 60 * 24 * 31,
                lead_hours=24,
                horizon_days=60,
                capacity=capacity,
                approval="always",
                check_in_required=False,
                lock_version=0,
                created_at=self.created,
                updated_at=self.created,
            )
        )
        if pattern:
            weekdays, blocks = PATTERNS[pattern]
            for weekday in weekdays:
                if pattern == "split":
                    for start, end in blocks:
                        self.hours.append(
                            dict(resource_id=resource_id, weekday=weekday, start_minute=start, end_minute=end)
                        )
                else:
                    self.hours.append(
                        dict(
                            resource_id=resource_id, weekday=weekday, start_minute=blocks[0][0], end_minute=blocks[1][1]
                        )
                    )
            for _ in range(rng.choice((0, 1, 1, 2))):
                day = self.first_day + timedelta(days=rng.randrange((self.last_day - self.first_day).days))
                self.blackouts.append(
                    dict(
                        resource_id=resource_id,
                        start=utc(day, 0),
                        end=utc(day + timedelta(days=rng.choice((1, 1, 2))), 0),
                        reason=rng.choice(("maintenance", "calibration")),
                        note="",
                        created_at=self.created,
                    )
                )
        self.resources[-1]["_pattern"] = pattern
        self.resources[-1]["search_text"] = search_text_of(self.resources[-1], self.orgs[org - 1]["name"])

    # Bookings ----------------------------------------------------------------------------------------------------

    def booking_counts(self) -> list[int]:
        """How many bookings each resource gets: lognormal popularity, at most two per open day."""
        rng = self.rng
        popularity = [rng.lognormvariate(0, 0.8) for _ in self.resources]
        scale = self.n_bookings / sum(popularity)
        counts = [int(p * scale) for p in popularity]
        for i in rng.sample(range(len(counts)), self.n_bookings - sum(counts)):
            counts[i] += 1
        return counts

    def bookings(self) -> Iterator[tuple]:
        """Rows of ``BOOKING_COLUMNS``, resource by resource."""
        rng = self.rng
        days = [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days)]
        open_days = {name: [d for d in days if d.weekday() in wd] for name, (wd, _blocks) in PATTERNS.items()}
        staff = {org: (admin, operator) for org, _city, admin, operator in self.providers}
        # Inside the feed's window whatever their state: cancelled ones stay 30 days, the window reaches a year ahead.
        feed_first, feed_last = self.as_of - timedelta(days=28), self.as_of + timedelta(days=29)
        self.feed_left = FEED_EVENTS
        booking_id = 0
        for resource, count in zip(self.resources, self.booking_counts(), strict=True):
            pattern = resource["_pattern"]
            if pattern is None:
                slots = [(d, None) for d in rng.sample(days, min(count, len(days)))]
            else:
                choices = open_days[pattern]
                picked = rng.sample(range(len(choices) * 2), min(count, len(choices) * 2))
                slots = [(choices[i // 2], PATTERNS[pattern][1][i % 2]) for i in picked]
            pool = self.smes_by_province.get(int(resource["city"][:2])) or self.smes
            for day, block in slots:
                booking_id += 1
                requester = None
                if self.feed_left and resource["city"].startswith("43") and feed_first <= day <= feed_last:
                    self.feed_left -= 1
                    requester = self.smes[0]
                yield self._booking(
                    booking_id, resource, staff[resource["organization_id"]], day, block, pool, requester
                )

    def _booking(self, booking_id, resource, staff, day, block, pool, requester) -> tuple:
        rng = self.rng
        owner = resource["organization_id"]
        if block is None:  # a dataset's access period: whole days
            start, end = utc(day, 0), utc(day + timedelta(days=rng.randint(1, 7)), 0)
        else:
            length = min(block[1] - block[0], rng.choice((60, 90, 120, 120, 180, 240)))
            offset = 30 * rng.randrange((block[1] - block[0] - length) // 30 + 1)
            start, end = utc(day, block[0] + offset), utc(day, block[0] + offset + length)
        roll = rng.random()
        if requester is None and roll < 0.08:
            org, user = owner, staff[1]  # the owner's own use
        else:
            org, _city, user = requester or rng.choice(pool)
        partner = org in self.partners.get(owner, ())
        rate = resource["partner_hourly_fee"] if partner else resource["hourly_fee"]
        hours = Decimal((end - start).total_seconds()) / Decimal(3600)
        created = start - timedelta(hours=rng.randint(26, 24 * 20))
        past = start < self.now
        roll = rng.random()
        if past:
            status = (
                S.completed
                if roll < 0.78
                else S.cancelled
                if roll < 0.87
                else S.rejected
                if roll < 0.92
                else S.expired
                if roll < 0.95
                else S.no_show
            )
        else:
            status = S.pending if roll < 0.3 else S.approved if roll < 0.9 else S.cancelled
        decided = status not in (S.pending, S.expired) and not (status == S.cancelled and roll > 0.95)
        auto = decided and rng.random() < 0.2
        decided_at = (created if auto else created + timedelta(minutes=rng.randint(20, 60 * 48))) if decided else None
        ever_approved = status in (S.approved, S.completed, S.no_show) or (status == S.cancelled and decided)
        checked_in = checked_out = None
        if status == S.completed and block is not None and rng.random() < 0.6:
            checked_in = start + timedelta(minutes=rng.randint(0, 15))
            checked_out = end + timedelta(minutes=rng.randint(-15, 15))
        rating = rng.choice((3, 4, 4, 5, 5, 5)) if status == S.completed and rng.random() < 0.4 else None
        late = status == S.cancelled and rng.random() < 0.1
        updated = max(t for t in (created, decided_at, checked_out, end if past else None) if t is not None)
        return (
            booking_id, resource["id"], user, org, start, end, "送检样品测量", "", status.value,
            (rate * hours).quantize(Decimal("0.01")) if org != owner else Decimal("0"), rate, partner and org != owner,
            "", None if auto or not decided else staff[1], decided_at, auto, ever_approved, checked_in, checked_out,
            status == S.cancelled and not late and rng.random() < 0.1, late, rating, "",
            end + timedelta(days=1) if rating else None, 1 if status == S.pending else 2, created, updated,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--bookings", type=int, default=5_000_000)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    args = parser.parse_args()
    from national import prepared_app  # the runner owns the database's preparation and calls ``generate``

    with prepared_app(args.database_url, args.resources, args.bookings, args.as_of) as (_app, meta):
        print(meta)


if __name__ == "__main__":
    main()
