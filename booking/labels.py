"""Human labels of the contract's codes (SPEC §1–2), through the catalogs: Chinese first."""

from flask import current_app
from flask_babel import lazy_gettext as _l

ROLE = {
    "platform_admin": _l("Platform administrator"),
    "province_reviewer": _l("Province reviewer"),
    "city_regulator": _l("City regulator"),
    "org_admin": _l("Organization administrator"),
    "operator": _l("Instrument operator"),
    "member": _l("Member"),
}
ORG_KIND = {
    "lead_enterprise": _l("Lead enterprise"),
    "metrology_institute": _l("Metrology institute"),
    "testing_center": _l("Industrial metrology testing centre"),
    "sme": _l("SME"),
    "regulator": _l("Regulator"),
}
INDUSTRY = {
    "rail_transit": _l("Rail transit"),
    "construction_machinery": _l("Construction machinery"),
    "aerospace": _l("Aerospace"),
    "solar_pv": _l("Solar photovoltaics"),
    "environmental": _l("Environmental protection"),
    "automotive": _l("Automotive manufacturing"),
    "biomedicine": _l("Biomedicine"),
    "electronic_information": _l("Electronic information"),
    "instruments": _l("Instruments and meters"),
    "petrochemical": _l("Petrochemicals"),
    "other": _l("Other"),
}
COOPERATION = {
    "tech_assistance": _l("Metrology technical assistance"),
    "joint_research": _l("Joint metrology research"),
    "resource_sharing": _l("Metrology resource sharing"),
    "green_low_carbon": _l("Green and low-carbon support"),
    "talent_training": _l("Metrology talent training"),
}
RESOURCE_KIND = {
    "instrument": _l("Instrument"),
    "standard": _l("Measurement standard"),
    "lab": _l("Laboratory"),
    "dataset": _l("Metrology dataset"),
}
FIELD = {
    "geometry": _l("Geometry"),
    "thermal": _l("Thermal"),
    "mechanics": _l("Mechanics"),
    "electromagnetism": _l("Electromagnetism"),
    "radio": _l("Radio"),
    "time_frequency": _l("Time and frequency"),
    "optics": _l("Optics"),
    "acoustics": _l("Acoustics"),
    "physical_chemistry": _l("Physical chemistry"),
    "ionizing_radiation": _l("Ionizing radiation"),
}
TRACEABILITY = {"verification": _l("Verification"), "calibration": _l("Calibration")}
RESOURCE_STATUS = {
    "normal": _l("Normal"),
    "standby": _l("Standby"),
    "faulty": _l("Faulty"),
    "under_repair": _l("Under repair"),
    "retired": _l("Retired"),
}
SHARING_MODE = {
    "self_operated": _l("Self-operated use"),
    "assisted": _l("Assisted use"),
    "entrusted": _l("Entrusted testing"),
    "remote": _l("Remote use"),
}
APPROVAL = {
    "always": _l("Every request is approved by staff"),
    "non_partners": _l("Partners are approved at once"),
    "never": _l("Approved at once"),
}
BLACKOUT_REASON = {
    "maintenance": _l("Maintenance"),
    "calibration": _l("Calibration"),
    "holiday": _l("Holiday"),
    "other": _l("Other"),
}
BOOKING_STATUS = {
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "in_use": _l("In use"),
    "completed": _l("Completed"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Expired"),
    "no_show": _l("No-show"),
}
RATING = {1: _l("Very poor"), 2: _l("Poor"), 3: _l("Fair"), 4: _l("Satisfied"), 5: _l("Very satisfied")}
WEEKDAY = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]

TABLES = {
    "role": ROLE,
    "org_kind": ORG_KIND,
    "industry": INDUSTRY,
    "cooperation": COOPERATION,
    "resource_kind": RESOURCE_KIND,
    "field": FIELD,
    "traceability": TRACEABILITY,
    "resource_status": RESOURCE_STATUS,
    "sharing_mode": SHARING_MODE,
    "approval": APPROVAL,
    "blackout_reason": BLACKOUT_REASON,
    "booking_status": BOOKING_STATUS,
    "rating": RATING,
}


def city_name(code: str | None) -> str:
    for city in current_app.config["CITIES"]:
        if city["code"] == code:
            return city["name"]
    return code or ""


def label(table: str, value) -> str:
    """The label of ``value`` (an enum member or its code) in ``table``; the code itself if unknown."""
    if value is None:
        return ""
    key = getattr(value, "value", value)
    if table == "city":
        return city_name(key)
    return str(TABLES[table].get(key, key))


def choices(table: str) -> list[tuple[str, str]]:
    if table == "city":
        return [(c["code"], c["name"]) for c in current_app.config["CITIES"]]
    return [(key, str(text)) for key, text in TABLES[table].items()]
