"""The demo program (SPEC §7): fictional organizations and one sign-in per role, password ``demo12345``."""

from datetime import date, timedelta

from sqlalchemy import func, select

from .extensions import db
from .models import Organization
from .models.enums import (
    ApprovalPolicy,
    BlackoutReason,
    Cooperation,
    MetrologyField,
    OrgKind,
    ResourceKind,
    Role,
    SharingMode,
    Traceability,
)
from .services import accounts, bookings, organizations, resources
from .services.clock import local_date, local_midnight, now_utc
from .services.errors import DomainError

PASSWORD = "demo12345"
# The sign-ins the README and SPEC §7 give a newcomer; their organizations stay bookable (``demo_year``).
SIGN_INS = (
    "admin@demo.example",
    "province@demo.example",
    "city@demo.example",
    "provider@demo.example",
    "operator@demo.example",
    "sme@demo.example",
    "sme2@demo.example",
)


def demo_credit_code(n: int) -> str:
    """A valid fictional unified social credit code (GB 32100-2015 checksum)."""
    first = f"91430{n:03d}MA4L{n:05d}"[:17]
    return first + organizations.credit_code_check_char(first)


def database_is_empty() -> bool:
    return (db.session.scalar(select(func.count(Organization.id))) or 0) == 0


def _org(n, name, kind, city, industry, contact):
    org = Organization(
        name=name,
        kind=kind,
        city=city,
        industry=industry,
        credit_code=demo_credit_code(n),
        contact_name=contact,
        contact_phone="0731-8800" + f"{n:04d}",
        contact_email=f"contact{n}@demo.example",
    )
    db.session.add(org)
    db.session.flush()
    return org


def _user(email, name, role, org):
    return accounts.create_user(
        None, dict(email=email, name=name, password=PASSWORD, organization_id=org.id, role=role)
    )


def load_demo(progress=print, bar=None) -> None:
    """The sign-ins of SPEC §7 and their organizations, then the program's year (``booking.demo_year``).
    ``bar(done, total)`` follows the slow part."""
    now = now_utc()
    progress("Organizations…")
    accounts.ensure_platform_admin("admin@demo.example", PASSWORD)
    province = _org(1, "湖南省市场监督管理局（演示）", OrgKind.regulator, "430100", "other", "省局计量处")
    zhuzhou_reg = _org(2, "株洲市市场监督管理局（演示）", OrgKind.regulator, "430200", "other", "市局计量科")
    lead = _org(3, "株洲轨道装备示范集团（演示）", OrgKind.lead_enterprise, "430200", "rail_transit", "计量中心 王工")
    institute = _org(
        4, "长沙计量检测示范研究院（演示）", OrgKind.metrology_institute, "430100", "instruments", "业务室 李工"
    )
    center = _org(
        5,
        "湘潭工程机械产业计量测试中心（演示）",
        OrgKind.testing_center,
        "430300",
        "construction_machinery",
        "测试部 赵工",
    )
    sme = _org(6, "株洲精密零部件示范有限公司（演示）", OrgKind.sme, "430200", "rail_transit", "质量部 陈工")
    sme2 = _org(7, "衡阳电子元件示范有限公司（演示）", OrgKind.sme, "430400", "electronic_information", "品质部 周工")

    progress("Users…")
    _user("province@demo.example", "省局审核员（演示）", Role.province_reviewer, province)
    city_user = _user("city@demo.example", "株洲市局监管员（演示）", Role.city_regulator, zhuzhou_reg)
    provider = _user("provider@demo.example", "轨道装备 计量主管（演示）", Role.org_admin, lead)
    operator = _user("operator@demo.example", "轨道装备 仪器管理员（演示）", Role.operator, lead)
    sme_user = _user("sme@demo.example", "精密零部件 工程师（演示）", Role.org_admin, sme)
    sme2_user = _user("sme2@demo.example", "电子元件 工程师（演示）", Role.org_admin, sme2)
    _user("institute@demo.example", "计量院 管理员（演示）", Role.org_admin, institute)
    _user("center@demo.example", "测试中心 管理员（演示）", Role.org_admin, center)

    organizations.create_partnership(
        provider,
        lead.id,
        sme.id,
        date(2025, 3, 1),
        [Cooperation.resource_sharing.value, Cooperation.tech_assistance.value, Cooperation.talent_training.value],
        now,
    )

    progress("Resources…")
    valid_until = (now + timedelta(days=300)).date()
    cmm = resources.create_resource(
        provider,
        lead,
        dict(
            name="三坐标测量机",
            kind=ResourceKind.instrument,
            model="CMM-1086",
            manufacturer="示范精密仪器",
            serial_no="ZZ-CMM-0001",
            location="株洲 计量中心 一楼 恒温室",
            metrology_field=MetrologyField.geometry,
            measurement_range="1000 mm × 800 mm × 600 mm",
            uncertainty="MPE_E = (1.5 + L/350) μm",
            traceability=Traceability.calibration,
            traceability_institution="湖南省计量检测研究院（演示）",
            certificate_no="DEMO-JZ-2026-0001",
            certificate_valid_until=valid_until,
            description="几何量精密测量，适用于轨道交通零部件的尺寸与形位公差检测。",
            sharing_mode=SharingMode.assisted,
            rated_hours_per_year=1400,
            hourly_fee=300,
            partner_hourly_fee=150,
            slot_minutes=30,
            min_minutes=60,
            max_minutes=480,
            lead_hours=24,
            horizon_days=60,
            approval=ApprovalPolicy.non_partners,
        ),
        now,
    )
    resources.create_resource(
        provider,
        lead,
        dict(
            name="扭矩标准装置",
            kind=ResourceKind.standard,
            model="TS-2000",
            manufacturer="示范计量设备",
            location="株洲 计量中心 二楼",
            metrology_field=MetrologyField.mechanics,
            measurement_range="1 N·m – 2000 N·m",
            uncertainty="0.1 级",
            traceability=Traceability.verification,
            certificate_no="DEMO-BZ-2026-0002",
            certificate_valid_until=(now + timedelta(days=20)).date(),
            sharing_mode=SharingMode.entrusted,
            rated_hours_per_year=800,
            hourly_fee=200,
            partner_hourly_fee=120,
        ),
        now,
    )
    resources.create_resource(
        provider,
        lead,
        dict(
            name="环境可靠性实验室",
            kind=ResourceKind.lab,
            location="株洲 试验楼 三层",
            metrology_field=MetrologyField.thermal,
            measurement_range="-70 ℃ – 150 ℃",
            capacity=2,
            hourly_fee=500,
            partner_hourly_fee=300,
            approval=ApprovalPolicy.always,
            check_in_required=True,
        ),
        now,
    )
    resources.create_resource(
        provider,
        lead,
        dict(
            name="轨道车辆轮对尺寸测量数据集",
            kind=ResourceKind.dataset,
            metrology_field=MetrologyField.geometry,
            description="脱敏后的轮对几何尺寸测量数据，按日开通访问。",
            approval=ApprovalPolicy.non_partners,
        ),
        now,
    )
    resources.create_resource(
        accounts.user_by_email("institute@demo.example"),
        institute,
        dict(
            name="数字多用表校准装置",
            kind=ResourceKind.standard,
            metrology_field=MetrologyField.electromagnetism,
            location="长沙 计量院 电学楼",
            uncertainty="0.005%",
            traceability=Traceability.calibration,
            certificate_valid_until=valid_until,
            hourly_fee=260,
        ),
        now,
    )
    resources.create_resource(
        accounts.user_by_email("center@demo.example"),
        center,
        dict(
            name="万能材料试验机",
            kind=ResourceKind.instrument,
            metrology_field=MetrologyField.mechanics,
            location="湘潭 测试中心 力学室",
            measurement_range="0 – 600 kN",
            uncertainty="1 级",
            traceability=Traceability.verification,
            certificate_valid_until=valid_until,
            hourly_fee=180,
            approval=ApprovalPolicy.never,
        ),
        now,
    )

    progress("Bookings…")
    resources.add_blackout(
        operator,
        cmm,
        dict(
            start=local_midnight(now.date() + timedelta(days=20)),
            end=local_midnight(now.date() + timedelta(days=21)),
            reason=BlackoutReason.calibration,
            note="年度校准",
        ),
        False,
        now,
    )
    # A partner request (approved at once) and a non-partner request (waiting for approval) in the coming weeks.
    made = 0
    for user, day_offset, hour in ((sme_user, 3, 9), (sme2_user, 4, 14), (sme_user, 8, 10), (sme2_user, 9, 9)):
        day = (now + timedelta(days=day_offset)).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = local_midnight(day) + timedelta(hours=hour)
        try:
            bookings.request_booking(user, cmm.id, start, start + timedelta(hours=2), "零部件尺寸检测", "", now)
            made += 1
        except DomainError:
            continue
    progress(f"{made} bookings requested.")
    db.session.flush()
    progress("A year of the program across every 市州…")
    from .demo_year import load_year

    made = load_year(now, bar)
    progress("{organizations} organizations, {resources} resources, {bookings} bookings over the year.".format(**made))
    progress("Annual work reports…")
    changsha_reg = _org(8, "长沙市市场监督管理局（演示）", OrgKind.regulator, "430100", "other", "市局计量科")
    changsha_user = _user("changsha@demo.example", "长沙市局监管员（演示）", Role.city_regulator, changsha_reg)
    _reports(city_user, changsha_user, now)


def _reports(zhuzhou, changsha, now) -> None:
    """This year's reports: 长沙's submitted, 株洲's a draft in progress; the other 市州 have not started."""
    from .services import reports

    year = local_date(now).year
    reports.submit(
        changsha,
        "430100",
        year,
        now,
        texts={
            "achievements": "全市 2 家龙头企业开放三坐标测量机、计量标准装置等共享资源，服务产业链中小企业，"
            "伙伴企业享受优惠机时价格。",
            "problems": "部分中小企业对共享资源了解不足，预约后未到场的情况时有发生。",
            "next_steps": "扩大计量伙伴覆盖面，按季度通报各单位共享率与利用率。",
        },
    )
    reports.save_draft(
        zhuzhou,
        "430200",
        year,
        "轨道交通装备龙头企业开放几何量、力学计量资源，伙伴中小企业检测等待时间明显缩短。",
        "",
        "",
        now,
    )
