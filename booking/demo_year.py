"""The demo program's year (SPEC §7, the figures of §5): fictional organizations across every 市州, about 120 shared
resources and a year of bookings with working-day and seasonal patterns, cancellations, no-shows, ratings and some
expired calibrations. Deterministic: the same data on every machine, relative to the day it is loaded."""

import random
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from .database import advance_sequences
from .demo import SIGN_INS
from .extensions import db
from .models import Blackout, Booking, BookingHistory, OpeningHours, Organization, Partnership, Resource, User
from .models.enums import (
    ApprovalPolicy,
    BookingStatus,
    Cooperation,
    Industry,
    MetrologyField,
    OrgKind,
    PartnershipStatus,
    ResourceKind,
    ResourceStatus,
    Role,
    SharingMode,
    Traceability,
)
from .services import accounts, rollups
from .services.clock import local_date, platform_tz
from .services.organizations import credit_code_check_char
from .services.rules import NO_SHOW_LIMIT, NO_SHOW_WINDOW

S = BookingStatus
CHAINS = [i for i in Industry if i != Industry.other]
# Seasonality by month: the Spring Festival in February, the National Day week in October, year-end rush.
SEASON = {1: 0.8, 2: 0.45, 3: 0.95, 4: 1.0, 5: 0.95, 6: 1.05, 7: 0.9, 8: 0.85, 9: 1.05, 10: 0.85, 11: 1.15, 12: 1.1}
INSTRUMENTS = [
    ("三坐标测量机", MetrologyField.geometry, "0–1200 mm", "MPE_E = (1.8 + L/300) μm", 320),
    ("激光干涉仪", MetrologyField.geometry, "0–40 m", "±0.5 ppm", 260),
    ("圆度仪", MetrologyField.geometry, "Φ0.5–350 mm", "0.02 μm", 180),
    ("万能材料试验机", MetrologyField.mechanics, "0–600 kN", "1 级", 200),
    ("扭矩扳子检定仪", MetrologyField.mechanics, "1–2000 N·m", "0.3 级", 120),
    ("高低温试验箱", MetrologyField.thermal, "-70–150 ℃", "±0.5 ℃", 150),
    ("红外热像仪", MetrologyField.thermal, "-20–650 ℃", "±2 ℃", 90),
    ("数字示波器", MetrologyField.radio, "DC–4 GHz", "±1.5%", 110),
    ("矢量网络分析仪", MetrologyField.radio, "9 kHz–26.5 GHz", "±0.1 dB", 280),
    ("频率计数器", MetrologyField.time_frequency, "0.1 Hz–20 GHz", "1×10⁻¹¹", 80),
    ("光谱分析仪", MetrologyField.optics, "600–1700 nm", "±0.02 nm", 240),
    ("声级计校准器", MetrologyField.acoustics, "94/114 dB", "0.2 dB", 60),
    ("气相色谱仪", MetrologyField.physical_chemistry, "ppm 级", "RSD ≤ 1%", 220),
    ("电能表检定装置", MetrologyField.electromagnetism, "0–100 A", "0.05 级", 140),
    ("辐射剂量率仪", MetrologyField.ionizing_radiation, "0.1 μSv/h–10 mSv/h", "±10%", 160),
]
STANDARDS = [
    ("量块标准装置", MetrologyField.geometry, "0.5–100 mm", "K 级"),
    ("活塞式压力计标准装置", MetrologyField.mechanics, "0.1–60 MPa", "0.02 级"),
    ("铂电阻温度计标准装置", MetrologyField.thermal, "-40–420 ℃", "U = 0.02 ℃ (k=2)"),
    ("直流电阻标准装置", MetrologyField.electromagnetism, "10⁻³–10⁶ Ω", "0.01 级"),
    ("砝码标准装置", MetrologyField.mechanics, "1 mg–20 kg", "E2 等"),
]
LABS = [
    ("环境可靠性实验室", MetrologyField.thermal),
    ("电磁兼容实验室", MetrologyField.radio),
    ("材料力学实验室", MetrologyField.mechanics),
    ("精密测量恒温实验室", MetrologyField.geometry),
]
DATASETS = [
    ("零部件尺寸测量数据集", MetrologyField.geometry),
    ("能源计量监测数据集", MetrologyField.electromagnetism),
    ("环境温湿度监测数据集", MetrologyField.thermal),
]
INDUSTRY_WORD = {
    Industry.rail_transit: "轨道交通装备",
    Industry.construction_machinery: "工程机械",
    Industry.aerospace: "航空动力",
    Industry.solar_pv: "光伏新能源",
    Industry.environmental: "环保装备",
    Industry.automotive: "汽车制造",
    Industry.biomedicine: "生物医药",
    Industry.electronic_information: "电子信息",
    Industry.instruments: "仪器仪表",
    Industry.petrochemical: "石油化工",
}
SME_WORDS = [
    "精密零部件",
    "电子元件",
    "机械加工",
    "传感器",
    "新材料",
    "模具",
    "检测技术",
    "智能装备",
    "液压件",
    "电机",
    "涂层材料",
    "光学器件",
    "线缆",
    "紧固件",
    "医疗器械",
    "化工助剂",
]


class Year:
    def __init__(self, now: datetime, progress):
        self.rng = random.Random(20261130)
        self.now = now
        self.today = local_date(now)
        self.tz = platform_tz()
        self.progress = progress
        self.cities = [c["code"] for c in current_app.config["CITIES"]]
        self.city_names = {
            c["code"]: c["name"].removesuffix("市").removesuffix("土家族苗族自治州")
            for c in current_app.config["CITIES"]
        }
        self.password_hash = generate_password_hash("demo12345")
        self.serial = 100
        # Bookings each sign-in organization may still have counted as no-shows (``no_show_room``).
        self.room: dict[int, int] = {}

    # Organizations -------------------------------------------------------------------------------------------

    def org(self, name, kind, city, industry) -> Organization:
        self.serial += 1
        first = f"91430{self.serial % 1000:03d}MA4D{self.serial:05d}"[:17]
        org = Organization(
            name=name,
            kind=kind,
            city=city,
            industry=industry,
            credit_code=first + credit_code_check_char(first),
            contact_name="联系人（演示）",
            contact_phone=f"0731-8{self.serial:07d}",
            contact_email=f"org{self.serial}@demo.example",
        )
        db.session.add(org)
        return org

    def staff(self, org: Organization, role: Role, label: str) -> User:
        self.serial += 1
        user = User(
            email=f"user{self.serial}@demo.example",
            name=f"{label}（演示）",
            role=role,
            organization=org,
            password_hash=self.password_hash,
        )
        db.session.add(user)
        db.session.flush()
        accounts.rotate_calendar_token(user)  # every user has a private feed (SPEC §3)
        return user

    def organizations(self):
        existing = db.session.scalars(select(Organization)).all()
        providers = [
            o
            for o in existing
            if o.kind in (OrgKind.lead_enterprise, OrgKind.metrology_institute, OrgKind.testing_center)
        ]
        smes = [o for o in existing if o.kind == OrgKind.sme]
        leads_by_city = {o.city for o in existing if o.kind == OrgKind.lead_enterprise}
        institute_cities = {o.city for o in existing if o.kind == OrgKind.metrology_institute}
        chains = iter(self.rng.sample(CHAINS, len(CHAINS)) * 3)
        for city in self.cities:
            target = next(c["target"] for c in current_app.config["CITIES"] if c["code"] == city)
            for _ in range(target - (1 if city in leads_by_city else 0)):
                industry = next(chains)
                providers.append(
                    self.org(
                        f"{self.city_names[city]}{INDUSTRY_WORD[industry]}示范集团（演示）",
                        OrgKind.lead_enterprise,
                        city,
                        industry,
                    )
                )
            if city not in institute_cities:
                providers.append(
                    self.org(
                        f"{self.city_names[city]}市计量检测示范所（演示）",
                        OrgKind.metrology_institute,
                        city,
                        Industry.instruments,
                    )
                )
        for city in self.rng.sample(self.cities[1:], 5):
            industry = self.rng.choice(CHAINS)
            providers.append(
                self.org(
                    f"{self.city_names[city]}{INDUSTRY_WORD[industry]}产业计量测试中心（演示）",
                    OrgKind.testing_center,
                    city,
                    industry,
                )
            )
        weights = [6 if c == "430100" else 3 if c in ("430200", "430300") else 1 for c in self.cities]
        n = 0
        while len(smes) < 80:
            n += 1
            city = self.rng.choices(self.cities, weights)[0]
            industry = self.rng.choice(CHAINS)
            word = SME_WORDS[n % len(SME_WORDS)]
            smes.append(
                self.org(f"{self.city_names[city]}{word}示范有限公司{n:02d}（演示）", OrgKind.sme, city, industry)
            )
        db.session.flush()
        for org in providers + smes:
            if not any(u.role in (Role.org_admin, Role.operator) for u in org.users):
                self.staff(org, Role.org_admin, f"{org.name[:6]} 管理员")
                if org.kind != OrgKind.sme:
                    self.staff(org, Role.operator, f"{org.name[:6]} 仪器管理员")
        db.session.flush()
        return providers, smes

    def partnerships(self, providers, smes):
        existing = {(p.provider_id, p.sme_id) for p in db.session.scalars(select(Partnership))}
        for provider in providers:
            if provider.kind == OrgKind.lead_enterprise:
                count = self.rng.randint(3, 6)
            else:
                count = self.rng.randint(0, 3)
            same_chain = [s for s in smes if s.industry == provider.industry]
            nearby = [s for s in smes if s.city == provider.city]
            pool = list({s.id: s for s in same_chain + nearby + self.rng.sample(smes, 4)}.values())
            for sme in self.rng.sample(pool, min(count, len(pool))):
                if (provider.id, sme.id) in existing:
                    continue
                existing.add((provider.id, sme.id))
                forms = [Cooperation.resource_sharing.value] + self.rng.sample(
                    [c.value for c in Cooperation if c != Cooperation.resource_sharing], self.rng.randint(0, 3)
                )
                started = self.today - timedelta(days=self.rng.randint(200, 900))
                ended = self.rng.random() < 0.06
                db.session.add(
                    Partnership(
                        provider_id=provider.id,
                        sme_id=sme.id,
                        started_on=started,
                        status=PartnershipStatus.ended if ended else PartnershipStatus.active,
                        ended_on=self.today - timedelta(days=30) if ended else None,
                        cooperation=sorted(forms),
                        created_at=self.now,
                        updated_at=self.now,
                    )
                )
        db.session.flush()

    # Resources ---------------------------------------------------------------------------------------------------

    def resource(self, org: Organization, kind: ResourceKind, spec, n: int) -> Resource:
        rng = self.rng
        name, field = spec[0], spec[1]
        data = dict(
            organization=org,
            kind=kind,
            name=name,
            metrology_field=field,
            city=org.city,
            location=f"{self.city_names[org.city]} {org.name[:4]} {rng.randint(1, 6)} 号楼",
            description=f"{name}，面向产业链中小企业开放共享。",
            status=ResourceStatus.normal,
            sharing_mode=rng.choice(list(SharingMode)),
            rated_hours_per_year=rng.choice([1400, 1400, 800]),
            slot_minutes=30,
            min_minutes=60,
            max_minutes=480,
            lead_hours=24,
            horizon_days=60,
            capacity=1,
            approval=rng.choice(
                [ApprovalPolicy.always, ApprovalPolicy.non_partners, ApprovalPolicy.non_partners, ApprovalPolicy.never]
            ),
            check_in_required=kind == ResourceKind.lab or rng.random() < 0.25,
            created_at=self.now,
            updated_at=self.now,
        )
        if kind in (ResourceKind.instrument, ResourceKind.standard):
            data.update(
                measurement_range=spec[2],
                uncertainty=spec[3],
                model=f"DM-{1000 + n}",
                manufacturer="示范仪器有限公司",
                serial_no=f"SN{self.serial:06d}{n:03d}",
                traceability=rng.choice(list(Traceability)),
                traceability_institution="湖南省计量检测研究院（演示）",
                certificate_no=f"DEMO-{self.today.year}-{n:04d}",
            )
            # About one in twelve certificates has lapsed, so the catalog and the rules show it.
            lapsed = rng.random() < 0.08
            data["certificate_valid_until"] = self.today + timedelta(
                days=-rng.randint(5, 90) if lapsed else rng.randint(40, 360)
            )
        fee = Decimal(spec[4] if len(spec) > 4 else rng.choice([80, 150, 260, 400]))
        if kind == ResourceKind.dataset:
            fee = Decimal(0)
        if kind == ResourceKind.lab:
            data["capacity"] = rng.choice([1, 2, 2, 3])
        data.update(hourly_fee=fee, partner_hourly_fee=(fee * Decimal("0.6")).quantize(Decimal("1")))
        if rng.random() < 0.04:
            data["status"] = rng.choice([ResourceStatus.faulty, ResourceStatus.under_repair])
        resource = Resource(**data)
        resource.opening_hours = [
            OpeningHours(weekday=d, start_minute=s, end_minute=e)
            for d in range(5)
            for s, e in ((510, 720), (810, 1050))
        ]
        db.session.add(resource)
        return resource

    def resources(self, providers) -> list[Resource]:
        n = db.session.scalar(select(func.count(Resource.id))) or 0
        for org in providers:
            if org.kind == OrgKind.lead_enterprise:
                plan = [(ResourceKind.instrument, INSTRUMENTS)] * 2 + [
                    (ResourceKind.standard, STANDARDS),
                    (ResourceKind.lab, LABS),
                ]
                if self.rng.random() < 0.5:
                    plan.append((ResourceKind.dataset, DATASETS))
            elif org.kind == OrgKind.metrology_institute:
                plan = [(ResourceKind.standard, STANDARDS), (ResourceKind.instrument, INSTRUMENTS)]
            else:
                plan = [(ResourceKind.instrument, INSTRUMENTS)] * 2 + [(ResourceKind.lab, LABS)]
            owned = {r.name for r in db.session.scalars(select(Resource).where(Resource.organization_id == org.id))}
            for kind, pool in plan:
                spec = self.rng.choice([p for p in pool if p[0] not in owned] or pool)
                owned.add(spec[0])
                n += 1
                self.resource(org, kind, spec, n)
        db.session.flush()
        return list(db.session.scalars(select(Resource).order_by(Resource.id)))

    # Bookings ----------------------------------------------------------------------------------------------------

    def at(self, day, minute: int) -> datetime:
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz).astimezone(self.now.tzinfo)

    def bookings(self, resources, smes, providers):
        rng = self.rng
        partners: dict[int, set[int]] = {}
        for p in db.session.scalars(select(Partnership).where(Partnership.status == PartnershipStatus.active)):
            partners.setdefault(p.provider_id, set()).add(p.sme_id)
        users = {}
        for u in db.session.scalars(select(User).where(User.role.in_((Role.org_admin, Role.operator, Role.member)))):
            users.setdefault(u.organization_id, u)
        orgs = {o.id: o for o in smes + providers}
        sign_ins = select(User.organization_id).where(User.email.in_(SIGN_INS))
        self.room = {org_id: NO_SHOW_LIMIT - 1 for org_id in db.session.scalars(sign_ins)}
        next_id = (db.session.scalar(select(func.max(Booking.id))) or 0) + 1
        taken = {(b.resource_id, local_date(b.start)) for b in db.session.scalars(select(Booking))}
        first_day, last_day = self.today - timedelta(days=365), self.today + timedelta(days=21)
        rows, history, blackouts = [], [], []
        for index, resource in enumerate(resources):
            self.progress(index, len(resources))
            if resource.status != ResourceStatus.normal and rng.random() < 0.5:
                continue
            popularity = rng.uniform(0.1, 0.55)
            closed = {first_day + timedelta(days=rng.randint(0, 386)) for _ in range(rng.randint(0, 3))}
            for day in sorted(closed):
                blackouts.append(
                    dict(
                        resource_id=resource.id,
                        start=self.at(day, 0),
                        end=self.at(day + timedelta(days=1), 0),
                        reason=rng.choice(["maintenance", "calibration", "holiday"]),
                        note="",
                        created_at=self.now,
                    )
                )
            own_partners = sorted(partners.get(resource.organization_id, ()))
            day = first_day
            while day <= last_day:
                if day.weekday() >= 5 or day in closed or (resource.id, day) in taken:
                    day += timedelta(days=1)
                    continue
                chance = popularity * SEASON[day.month]
                if resource.kind == ResourceKind.dataset:
                    chance /= 6
                for block_start, block_end in ((510, 720), (810, 1050)):
                    if rng.random() >= chance:
                        continue
                    requester_org = self.requester(resource, own_partners, smes, providers, orgs)
                    if resource.kind == ResourceKind.dataset:
                        start, end = self.at(day, 0), self.at(day + timedelta(days=rng.randint(1, 5)), 0)
                    else:
                        length = rng.choice([60, 90, 120, 120, 150, 180, 210])
                        length = min(length, block_end - block_start)
                        offset = rng.randrange(0, block_end - block_start - length + 1, 30)
                        start = self.at(day, block_start + offset)
                        end = start + timedelta(minutes=length)
                    if resource.check_in_required and end > self.now and self.room.get(requester_org.id) == 0:
                        # Nobody checks in for the demo's sign-ins: another SME holds this coming booking.
                        requester_org = rng.choice([s for s in smes if s.id not in self.room])
                    requester = users.get(requester_org.id)
                    if requester is None:
                        continue
                    row, hist = self.booking(
                        next_id,
                        resource,
                        requester,
                        requester_org,
                        own_partners,
                        start,
                        end,
                        users.get(resource.organization_id),
                    )
                    rows.append(row)
                    history.extend(hist)
                    next_id += 1
                    if resource.kind == ResourceKind.dataset:
                        break
                day += timedelta(days=1)
        self.progress(len(resources), len(resources))
        for chunk in range(0, len(rows), 2000):
            db.session.execute(insert(Booking), rows[chunk : chunk + 2000])
        for chunk in range(0, len(history), 4000):
            db.session.execute(insert(BookingHistory), history[chunk : chunk + 4000])
        if blackouts:
            db.session.execute(insert(Blackout), blackouts)
        advance_sequences(db.session)  # the bookings above carry their own ids
        # Past bookings written in bulk, without the events that mark the roll-up stale: any day already rolled up
        # is summed again by the next nightly run.
        rollups.forget()
        return len(rows)

    def requester(self, resource, own_partners, smes, providers, orgs) -> Organization:
        roll = self.rng.random()
        if own_partners and roll < 0.5:
            return orgs[self.rng.choice(own_partners)]
        if roll < 0.9:
            same = [s for s in smes if s.industry == resource.organization.industry or s.city == resource.city]
            return self.rng.choice(same or smes)
        if roll < 0.96:
            return self.rng.choice([p for p in providers if p.id != resource.organization_id])
        return resource.organization

    def no_show_room(self, org, start) -> bool:
        """Whether ``org`` may have the booking starting at ``start`` count as a no-show, spending the room if so.
        The sign-in organizations stay below the suspension limit (``rules.is_suspended``) at load and over the
        coming weeks, whose approved bookings that require a check-in become no-shows when nobody checks in: a
        newcomer signing in as any of them can book."""
        if org.id not in self.room or start < self.now - NO_SHOW_WINDOW:
            return True
        if self.room[org.id] == 0:
            return False
        self.room[org.id] -= 1
        return True

    def booking(self, booking_id, resource, requester, org, own_partners, start, end, decider=None):
        rng = self.rng
        created = start - timedelta(hours=rng.randint(30, 24 * 20))
        if created > self.now:  # a booking far ahead was asked for lately, not in the future
            created = self.now - timedelta(hours=rng.uniform(0.5, 30))
        partner = org.kind == OrgKind.sme and org.id in own_partners
        auto = resource.approval == ApprovalPolicy.never or (
            resource.approval == ApprovalPolicy.non_partners and partner
        )
        internal = org.id == resource.organization_id
        rate = Decimal(0) if internal else Decimal(resource.partner_hourly_fee if partner else resource.hourly_fee)
        hours = Decimal((end - start).total_seconds()) / Decimal(3600)
        decided = created if auto else min(created + timedelta(hours=rng.uniform(0.5, 36)), self.now)
        row = dict(
            id=booking_id,
            resource_id=resource.id,
            requester_id=requester.id,
            organization_id=org.id,
            start=start,
            end=end,
            purpose=rng.choice(
                ["尺寸检测", "来料检验", "新产品验证", "校准比对", "工艺试验", "可靠性试验", "数据分析"]
            ),
            sample_description="",
            fee=None,
            hourly_rate=None,
            is_partner=False,
            decision_note="",
            decided_by_id=None,
            decided_at=None,
            auto_approved=auto,
            ever_approved=False,
            checked_in_at=None,
            checked_out_at=None,
            cancelled_by_owner=False,
            counts_as_no_show=False,
            rating=None,
            rating_comment="",
            rated_at=None,
            sequence=1,
            created_at=created,
            updated_at=created,
        )
        steps = [(None, S.pending, "request", created)]
        if end <= self.now:
            status = rng.choices(
                [S.completed, S.cancelled, S.rejected, S.expired, S.no_show],
                [82, 7, 4 if not auto else 0, 2 if not auto else 0, 3],
            )[0]
        elif start <= self.now:
            status = S.in_use if resource.check_in_required else S.approved
        else:
            status = S.approved if auto or rng.random() < 0.6 else S.pending
        if status == S.no_show and not self.no_show_room(org, start):
            status = S.completed
        if status == S.approved and resource.check_in_required and end > self.now:
            self.no_show_room(org, start)  # room kept by the choice of requester in ``bookings``
        if status == S.pending and created < self.now - timedelta(hours=40):
            # Still waiting: asked within the decision window, so the demo opens with requests to decide rather
            # than a first scheduler tick that expires them.
            created = self.now - timedelta(hours=rng.uniform(1, 40))
            row.update(created_at=created, updated_at=created)
            steps = [(None, S.pending, "request", created)]
        if status == S.expired:
            steps.append((S.pending, S.expired, "expire", min(created + timedelta(hours=48), start)))
        elif status == S.rejected:
            row.update(decided_at=decided, decision_note="设备当日已有安排，请改约其他时间")
            steps.append((S.pending, S.rejected, "reject", decided))
        elif status != S.pending:
            row.update(
                decided_at=decided,
                ever_approved=True,
                is_partner=partner,
                hourly_rate=rate,
                fee=(rate * hours).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            )
            steps.append((S.pending, S.approved, "auto_approve" if auto else "approve", decided))
            if status == S.cancelled:
                at = start - timedelta(hours=rng.choice([1, 20, 48, 96]))
                if start - at < timedelta(hours=2) and not self.no_show_room(org, start):
                    at = start - timedelta(hours=48)
                row.update(counts_as_no_show=start - at < timedelta(hours=2))
                steps.append((S.approved, S.cancelled, "cancel", max(at, decided)))
            elif status == S.no_show:
                row.update(counts_as_no_show=True)
                steps.append((S.approved, S.no_show, "no_show", end + timedelta(minutes=30)))
            elif status in (S.completed, S.in_use):
                if resource.check_in_required or rng.random() < 0.5:
                    row["checked_in_at"] = start + timedelta(minutes=rng.randint(-10, 25))
                    steps.append((S.approved, S.in_use, "check_in", row["checked_in_at"]))
                if status == S.completed:
                    out = end + timedelta(minutes=rng.randint(-40, 15)) if row["checked_in_at"] else None
                    row["checked_out_at"] = out
                    steps.append((steps[-1][1], S.completed, "check_out" if out else "complete", out or end))
                    if rng.random() < 0.6:
                        score = rng.choices([5, 4, 3, 2, 1], [55, 30, 10, 3, 2])[0]
                        row.update(
                            rating=score,
                            rated_at=end + timedelta(days=1),
                            rating_comment=rng.choice(["", "", "服务专业，数据可靠", "预约方便", "等待时间较长"]),
                        )
        if row["decided_at"] is not None and not auto and decider is not None:
            row["decided_by_id"] = decider.id
        row["status"] = status
        row["sequence"] = len(steps)
        row["updated_at"] = max(s[3] for s in steps)
        actors = {"request": requester.id, "cancel": requester.id}
        staff = decider.id if decider is not None else None
        history = [
            dict(
                booking_id=booking_id,
                at=at,
                from_status=frm.value if frm else None,
                to_status=to.value,
                action=action,
                note="",
                actor_id=actors.get(
                    action, None if action in ("auto_approve", "expire", "complete", "no_show") else staff
                ),
            )
            for frm, to, action, at in steps
        ]
        return row, history


def load_year(now: datetime, progress=None) -> dict:
    """Add the program's year to a database that holds the core demo; returns what it made."""
    year = Year(now, progress or (lambda done, total: None))
    providers, smes = year.organizations()
    year.partnerships(providers, smes)
    resources = year.resources(providers)
    count = year.bookings(resources, smes, providers)
    return {"organizations": len(providers) + len(smes), "resources": len(resources), "bookings": count}
