"""The enumerations of SPEC §1–2. Values are the contract's codes; labels are translated in ``booking.labels``."""

import enum


class StrEnum(enum.StrEnum):
    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


class Role(StrEnum):
    platform_admin = "platform_admin"
    province_reviewer = "province_reviewer"
    city_regulator = "city_regulator"
    org_admin = "org_admin"
    operator = "operator"
    member = "member"


class OrgKind(StrEnum):
    lead_enterprise = "lead_enterprise"
    metrology_institute = "metrology_institute"
    testing_center = "testing_center"
    sme = "sme"
    regulator = "regulator"


class Industry(StrEnum):
    rail_transit = "rail_transit"
    construction_machinery = "construction_machinery"
    aerospace = "aerospace"
    solar_pv = "solar_pv"
    environmental = "environmental"
    automotive = "automotive"
    biomedicine = "biomedicine"
    electronic_information = "electronic_information"
    instruments = "instruments"
    petrochemical = "petrochemical"
    other = "other"


class PartnershipStatus(StrEnum):
    active = "active"
    ended = "ended"


class Cooperation(StrEnum):
    tech_assistance = "tech_assistance"
    joint_research = "joint_research"
    resource_sharing = "resource_sharing"
    green_low_carbon = "green_low_carbon"
    talent_training = "talent_training"


class ResourceKind(StrEnum):
    instrument = "instrument"
    standard = "standard"
    lab = "lab"
    dataset = "dataset"


class MetrologyField(StrEnum):
    geometry = "geometry"
    thermal = "thermal"
    mechanics = "mechanics"
    electromagnetism = "electromagnetism"
    radio = "radio"
    time_frequency = "time_frequency"
    optics = "optics"
    acoustics = "acoustics"
    physical_chemistry = "physical_chemistry"
    ionizing_radiation = "ionizing_radiation"


class Traceability(StrEnum):
    verification = "verification"
    calibration = "calibration"


class ResourceStatus(StrEnum):
    normal = "normal"
    standby = "standby"
    faulty = "faulty"
    under_repair = "under_repair"
    retired = "retired"


class SharingMode(StrEnum):
    self_operated = "self_operated"
    assisted = "assisted"
    entrusted = "entrusted"
    remote = "remote"


class ApprovalPolicy(StrEnum):
    always = "always"
    non_partners = "non_partners"
    never = "never"


class BlackoutReason(StrEnum):
    maintenance = "maintenance"
    calibration = "calibration"
    holiday = "holiday"
    other = "other"


class BookingStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    in_use = "in_use"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"
    no_show = "no_show"


ACTIVE_STATUSES = (BookingStatus.pending, BookingStatus.approved, BookingStatus.in_use)
UNAVAILABLE_RESOURCE_STATUSES = (ResourceStatus.retired, ResourceStatus.faulty, ResourceStatus.under_repair)
PROVIDER_KINDS = (OrgKind.lead_enterprise, OrgKind.metrology_institute, OrgKind.testing_center)


class ReportStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class NotificationKind(StrEnum):
    request_received = "request_received"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"
    expired = "expired"
    reminder_24h = "reminder_24h"
    reminder_1h = "reminder_1h"
    no_show = "no_show"
    calibration_warning = "calibration_warning"
    blackout_cancelled = "blackout_cancelled"
    report_reminder = "report_reminder"
