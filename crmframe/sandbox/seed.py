"""Deterministic seed data: realistic Accounts, Contacts, Leads (some with ``Lead_Contacts``
subform rows), Deals, Products, Quotes (with line items) and Projects (with subform rows)
from one seed.

The same ``seed`` and counts give the same records, ids and timestamps on every machine.
Products, Quotes and Projects come last and draw from their own generator, so adding them
left every value and id of the first four modules as it was. The Leads' subform rows were
added later still the same way: their own generator, ids drawn after every other record's,
so every other value and id of a seed stayed as it was.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from crmframe.sandbox.clock import format_datetime
from crmframe.sandbox.schema import (
    ACCOUNT_TYPES,
    CONTACT_ROLES,
    INDUSTRIES,
    LANGUAGES,
    LAYOUTS,
    LEAD_SOURCES,
    LEAD_STATUSES,
    PRIORITIES,
    PRODUCT_CATEGORIES,
    PROJECT_STATUSES,
    QUOTE_STAGES,
    RATINGS,
    SALUTATIONS,
    SEGMENTS,
    STAGES,
    USERS,
)
from crmframe.sandbox.subforms import display_name

__all__ = ["BASE_EPOCH", "SeedRecord", "counts_for", "generate"]

#: Seeded records were "created" from this instant on (2024-01-01T00:00:00Z).
BASE_EPOCH = 1_704_067_200

FIRST = [
    "Amelia", "Noah", "Olivia", "Liam", "Emma", "Lucas", "Chloé", "Hugo", "Léa", "Louis",
    "Aarav", "Diya", "Kenji", "Yuki", "Sofia", "Mateo", "Zoë", "Ethan", "Ava", "Jules",
    "Priya", "Arjun", "Hana", "Sven", "Ingrid", "Omar", "Fatima", "Pablo", "Lucía", "Björn",
]
LAST = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Sato", "Suzuki", "Takahashi", "Iyer", "Sharma", "Patel", "Müller", "Schmidt", "O'Brien",
    "Nguyen", "Kowalski", "Rossi",
]
CITIES = [
    ("Paris", "France"), ("Paris", "France"), ("Lyon", "France"), ("London", "United Kingdom"),
    ("Berlin", "Germany"), ("Chennai", "India"), ("Mumbai", "India"), ("Tokyo", "Japan"),
    ("New York", "United States"), ("San Francisco", "United States"), ("Madrid", "Spain"),
    ("Toronto", "Canada"), ("Sydney", "Australia"), ("Austin", "United States"),
]
COMPANY_WORDS = [
    "Zylker", "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne",
    "Tyrell", "Soylent", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Aperture", "Nakatomi",
]
COMPANY_SUFFIX = ["Corp", "Ltd", "Inc.", "GmbH", "SARL", "Labs", "Systems", "Partners"]
#: Offsets (minutes) used for the custom datetime fields, so clients meet them all.
OFFSETS = [330, -420, 0, 60, -300, 540, 120, -180]

SeedRecord = tuple[str, dict[str, Any], float, float]
T = TypeVar("T")


def counts_for(records: int) -> dict[str, int]:
    """How many records each module gets for ``records`` Leads."""
    return {
        "Accounts": max(10, records // 20) if records else 0,
        "Contacts": records // 5,
        "Leads": records,
        "Deals": records // 10,
        "Products": max(5, records // 100) if records else 0,
        "Quotes": max(3, records // 50) if records else 0,
        "Projects": max(3, records // 50) if records else 0,
    }


def _ri(rng: random.Random, low: int, high: int) -> int:
    # random.randint is slow (three calls deep); this is enough for sample data.
    return low + int(rng.random() * (high - low + 1))


def _ch(rng: random.Random, values: Sequence[T]) -> T:
    return values[int(rng.random() * len(values))]


def _pick(rng: random.Random, values: list[str]) -> str | None:
    v = values[int(rng.random() * len(values))]
    return None if v == "-None-" else v


def _dt(epoch: float, rng: random.Random) -> str:
    return format_datetime(epoch, _ch(rng, OFFSETS))


def _date(epoch: float) -> str:
    return format_datetime(epoch, 0)[:10]


def _maybe(rng: random.Random, value: Any, p_null: float = 0.15) -> Any:
    return None if rng.random() < p_null else value


# Seeded records share these objects (one per user, one per layout) instead of copying
# them per record: stored values are never mutated, and the copies were a fair share of
# seeding time. They are the seed's own copies, so no record aliases the schema constants.
_OWNERS: list[dict[str, str]] = [dict(u) for u in USERS]
_CREATOR: dict[str, str] = {"name": USERS[0]["name"], "id": USERS[0]["id"],
                            "email": USERS[0]["email"]}
_LAYOUTS: dict[str, dict[str, str]] = {m: dict(v) for m, v in LAYOUTS.items()}
_VIP: list[dict[str, str]] = [{"name": "vip", "id": "4876876000000000091"}]


def _common(rng: random.Random, module: str, rid: str, created: float,
            modified: float) -> dict[str, Any]:
    # ``id`` first: the values are the stored record as is (no copy to put it in front)
    return {
        "id": rid,
        "Owner": _ch(rng, _OWNERS),
        "Created_By": _CREATOR,
        "Modified_By": _CREATOR,
        "Created_Time": format_datetime(created, 330),
        "Modified_Time": format_datetime(modified, 330),
        "Layout": _LAYOUTS[module],
        "Tag": _VIP if rng.random() < 0.1 else [],
    }


#: Candidate values per custom field (a prime, so fields do not move in step).
POOL = 1009


def _custom_pools(rng: random.Random) -> list[tuple[str, list[Any]]]:
    """Value pools of the Leads custom fields: drawing from them is what makes seeding fast.

    Records share the pooled objects, which is safe: stored values are never mutated.
    """
    start = BASE_EPOCH - 86_400 * 200
    pools: list[tuple[str, list[Any]]] = []

    def pool(name: str, make: Any, p_null: float) -> None:
        pools.append((name, [None if rng.random() < p_null else make() for _ in range(POOL)]))

    for i in range(1, 13):
        pool(f"Custom_Text_{i}", lambda i=i: f"note {i}-{_ri(rng, 0, 9999)}", 0.4)
    for i in range(1, 5):
        pool(f"Custom_Int_{i}", lambda: _ri(rng, -1000, 100000), 0.3)
    for i in range(1, 4):
        pool(f"Custom_Double_{i}", lambda: round(rng.uniform(0, 1000), 2), 0.3)
    for i in range(1, 4):
        pool(f"Custom_Date_{i}", lambda: _date(start + _ri(rng, 0, 86_400 * 800)), 0.3)
    for i in range(1, 3):
        pool(f"Custom_DateTime_{i}", lambda: _dt(start + _ri(rng, 0, 86_400 * 800), rng), 0.3)
    for i in range(1, 3):
        pool(f"Custom_Bool_{i}", lambda: rng.random() < 0.5, 0.0)
    pool("Custom_Currency_1", lambda: round(rng.uniform(0, 10000), 2), 0.3)
    pool("Custom_Percent_1", lambda: float(_ri(rng, 0, 100)), 0.3)
    pool("Custom_Long_1", lambda: str(_ri(rng, 10**15, 10**18 - 1)), 0.3)
    pool("Custom_Email_1", lambda: f"alt{_ri(rng, 0, 10**6)}@example.org", 0.5)
    pool("Custom_Phone_1", lambda: f"+44-20-{_ri(rng, 10000000, 99999999)}", 0.5)
    pool("Custom_URL_1", lambda: f"https://example.com/lead/{_ri(rng, 0, 10**6)}", 0.5)
    pool("Custom_Notes_1", lambda: "Multi-line\nnotes.", 0.7)
    pool("Custom_Pick_1", lambda: _pick(rng, ["-None-", "Alpha", "Beta", "Gamma"]), 0.0)
    pool("Custom_Multi_1", lambda: rng.sample(["Red", "Green", "Blue", "Yellow"],
                                              _ri(rng, 0, 2)), 0.0)
    return pools


def generate(
    seed: int, records: int, next_id: Iterator[str]
) -> Iterator[tuple[str, SeedRecord]]:
    """Yield ``(module, (id, values, created_epoch, modified_epoch))`` for all modules.

    ``values`` holds every field, ``id`` first: it is the record as stored.

    Accounts come first so Contacts, Leads and Deals can point at them.
    """
    rng = random.Random(seed)
    counts = counts_for(records)
    t = float(BASE_EPOCH)
    accounts: list[tuple[str, str]] = []
    contacts: list[tuple[str, str]] = []

    def stamps() -> tuple[float, float]:
        nonlocal t
        t += _ri(rng, 30, 900)
        return t, t + _ri(rng, 0, 86_400 * 30)

    for n in range(counts["Accounts"]):
        rid = next(next_id)
        created, modified = stamps()
        name = f"{_ch(rng, COMPANY_WORDS)} {_ch(rng, COMPANY_SUFFIX)} {n + 1}"
        city, country = _ch(rng, CITIES)
        values = _common(rng, "Accounts", rid, created, modified)
        values.update({
            "Account_Name": name,
            "Account_Number": str(_ri(rng, 10**9, 10**12)),
            "Account_Type": _pick(rng, ACCOUNT_TYPES),
            "Industry": _pick(rng, INDUSTRIES),
            "Rating": _pick(rng, RATINGS),
            "Website": f"www.{name.split()[0].lower()}{n + 1}.example.com",
            "Phone": f"+1-555-{_ri(rng, 1000000, 9999999)}",
            "Employees": _ri(rng, 1, 20000),
            "Annual_Revenue": round(rng.uniform(1e4, 5e7), 2),
            "Billing_City": city,
            "Billing_Country": country,
            "Customer_Since": _maybe(rng, _date(created - _ri(rng, 0, 86_400 * 2000))),
            "Description": None,
        })
        accounts.append((rid, name))
        yield "Accounts", (rid, values, created, modified)

    for _ in range(counts["Contacts"]):
        rid = next(next_id)
        created, modified = stamps()
        first, last = _ch(rng, FIRST), _ch(rng, LAST)
        city, country = _ch(rng, CITIES)
        acc = _ch(rng, accounts) if accounts and rng.random() < 0.85 else None
        values = _common(rng, "Contacts", rid, created, modified)
        values.update({
            "Salutation": _pick(rng, SALUTATIONS),
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Email": f"{first.lower()}.{last.lower().replace(chr(39), '')}.{rid[-6:]}@example.com",
            "Phone": _maybe(rng, f"+33-1-{_ri(rng, 10000000, 99999999)}"),
            "Mobile": _maybe(rng, f"+33-6-{_ri(rng, 10000000, 99999999)}"),
            "Account_Name": {"name": acc[1], "id": acc[0]} if acc else None,
            "Title": _maybe(rng, _ch(rng, ["CEO", "CTO", "Buyer", "Analyst", "VP Sales"])),
            "Department": _maybe(rng, _ch(rng, ["Sales", "IT", "Finance", "Operations"])),
            "Lead_Source": _pick(rng, LEAD_SOURCES),
            "Date_of_Birth": _maybe(rng, _date(BASE_EPOCH - _ri(rng, 20, 65) * 31_557_600)),
            "Email_Opt_Out": rng.random() < 0.1,
            "Mailing_City": city,
            "Mailing_Country": country,
            "Languages_Known": rng.sample(LANGUAGES, _ri(rng, 0, 2)),
            "Last_Contacted": _maybe(rng, _dt(modified, rng)),
            "Description": None,
        })
        contacts.append((rid, f"{first} {last}"))
        yield "Contacts", (rid, values, created, modified)

    pools = _custom_pools(rng)
    # Held back until the other modules are drawn: their subform rows take ids after all.
    leads: list[SeedRecord] = []
    for n in range(counts["Leads"]):
        rid = next(next_id)
        created, modified = stamps()
        first, last = _ch(rng, FIRST), _ch(rng, LAST)
        city, country = _ch(rng, CITIES)
        employees = _maybe(rng, _ri(rng, 1, 5000))
        revenue = _maybe(rng, round(rng.uniform(1000, 2_000_000), 2))
        acc = _ch(rng, accounts) if accounts and rng.random() < 0.3 else None
        company = f"{_ch(rng, COMPANY_WORDS)} {_ch(rng, COMPANY_SUFFIX)}"
        values = _common(rng, "Leads", rid, created, modified)
        values.update({
            "Salutation": _pick(rng, SALUTATIONS),
            "First_Name": first,
            "Last_Name": last,
            "Full_Name": f"{first} {last}",
            "Company": company,
            "Designation": _maybe(rng, _ch(rng, ["Manager", "Director", "Engineer", "Owner"])),
            "Email": f"{first.lower()}.{last.lower().replace(chr(39), '')}.{n}@example.com",
            "Secondary_Email": _maybe(rng, f"{last.lower().replace(chr(39), '')}{n}@mail.example",
                                      0.7),
            "Phone": _maybe(rng, f"+1-555-{_ri(rng, 1000000, 9999999)}"),
            # unique: built from the record number so seeds never collide
            "Mobile": f"+9198{n:08d}",
            "Fax": _maybe(rng, f"+1-555-{_ri(rng, 1000000, 9999999)}", 0.8),
            "Website": _maybe(rng, f"www.{company.split()[0].lower()}.example.com", 0.5),
            "Skype_ID": _maybe(rng, f"{first.lower()}{n}", 0.6),
            "Twitter": _maybe(rng, f"@{first.lower()}{n}", 0.6),
            "Lead_Source": _pick(rng, LEAD_SOURCES),
            "Lead_Status": _pick(rng, LEAD_STATUSES),
            "Industry": _pick(rng, INDUSTRIES),
            "Rating": _pick(rng, RATINGS),
            "No_of_Employees": employees,
            "Annual_Revenue": revenue,
            "Email_Opt_Out": rng.random() < 0.1,
            "Street": _maybe(rng, f"{_ri(rng, 1, 200)} Rue de la Paix"),
            "City": city,
            "State": None,
            "Zip_Code": _maybe(rng, f"{_ri(rng, 10000, 99999)}"),
            "Country": country,
            "Description": _maybe(rng, "Met at the trade show; wants a demo.", 0.7),
            "Date_3": _maybe(rng, _date(created + _ri(rng, 0, 86_400 * 365))),
            "Lead_Number": f"LD-{1000 + n}",
            "Revenue_per_Employee": None,
            "Languages_Known": rng.sample(LANGUAGES, _ri(rng, 0, 3)),
            "Probability_Score": _maybe(rng, float(_ri(rng, 0, 100))),
            "Score_2": _maybe(rng, round(rng.uniform(-50, 50), 3)),
            "External_Ref": _maybe(rng, str(_ri(rng, 10**17, 9 * 10**17))),
            "Last_Contacted": _maybe(rng, _dt(modified - _ri(rng, 0, 86_400 * 10), rng)),
            "Next_Follow_Up": _maybe(rng, _dt(modified + _ri(rng, 0, 86_400 * 60), rng)),
            "Referred_Account": {"name": acc[1], "id": acc[0]} if acc else None,
            "Priority": _pick(rng, PRIORITIES),
            "Segment": _pick(rng, SEGMENTS),
            "Converted__s": False,
            "Last_Activity_Time": None,
        })
        rnd = rng.random
        for name, pool in pools:
            values[name] = pool[int(rnd() * POOL)]
        values["Lead_Contacts"] = []
        leads.append((rid, values, created, modified))

    for n in range(counts["Deals"]):
        rid = next(next_id)
        created, modified = stamps()
        acc = _ch(rng, accounts) if accounts else None
        con = _ch(rng, contacts) if contacts and rng.random() < 0.7 else None
        stage = _ch(rng, STAGES)
        values = _common(rng, "Deals", rid, created, modified)
        values.update({
            "Deal_Name": f"{acc[1] if acc else 'Deal'} - {_ch(rng, ['Renewal', 'Upsell', 'New'])}"
                         f" {n + 1}",
            "Stage": stage,
            "Amount": _maybe(rng, round(rng.uniform(500, 250_000), 2), 0.1),
            "Probability": float({"Closed Won": 100, "Closed Lost": 0}.get(stage,
                                                                           _ri(rng, 10, 90))),
            "Expected_Revenue": None,
            "Closing_Date": _date(created + _ri(rng, 0, 86_400 * 180)),
            "Account_Name": {"name": acc[1], "id": acc[0]} if acc else None,
            "Contact_Name": {"name": con[1], "id": con[0]} if con else None,
            "Type": _pick(rng, ["-None-", "Existing Business", "New Business"]),
            "Lead_Source": _pick(rng, LEAD_SOURCES),
            "Next_Step": _maybe(rng, "Send proposal", 0.6),
            "Deal_Number": f"DL-{n + 1}",
            "Description": None,
        })
        yield "Deals", (rid, values, created, modified)

    yield from _inventory_and_projects(random.Random(f"{seed}:inventory"), counts, next_id,
                                       accounts, t)
    _lead_contacts(random.Random(f"{seed}:lead_contacts"), leads, next_id)
    for lead in leads:
        yield "Leads", lead


PRODUCT_WORDS = ["Router", "Licence", "Support Plan", "Sensor", "Gateway", "Training",
                 "Switch", "Analytics Seat", "Install Kit", "Cloud Storage"]
MILESTONES = ["Kick-off", "Design", "Build", "Pilot", "Go-live", "Review"]


def _row(rid: str, parent_name: str, parent_id: str,
         fields: dict[str, Any]) -> dict[str, Any]:
    """A subform row as stored: its id, its parent, its fields."""
    return {"id": rid, "Parent_Id": {"name": parent_name, "id": parent_id}, **fields}


#: The share of seeded Leads with ``Lead_Contacts`` rows (1 to 3 each).
LEAD_CONTACTS_SHARE = 0.25


def _lead_contacts(rng: random.Random, leads: list[SeedRecord],
                   next_id: Iterator[str]) -> None:
    """Give about a quarter of ``leads`` 1–3 ``Lead_Contacts`` rows, in place.

    Drawn from their own generator, after every other record: the Leads' other values and
    every id of the seed stay what they were before the subform existed.
    """
    for rid, values, _created, _modified in leads:
        if rng.random() >= LEAD_CONTACTS_SHARE:
            continue
        parent = display_name(values, rid)
        rows = []
        for i in range(_ri(rng, 1, 3)):
            first, last = _ch(rng, FIRST), _ch(rng, LAST)
            rows.append(_row(next(next_id), parent, rid, {
                "Contact_Name": f"{first} {last}",
                "Role": _pick(rng, CONTACT_ROLES),
                "Email": _maybe(rng, f"contact{i + 1}.{rid[-6:]}@example.net", 0.3),
                "Phone": _maybe(rng, f"+1-555-{_ri(rng, 1000000, 9999999)}", 0.5),
                "Primary": i == 0,
            }))
        values["Lead_Contacts"] = rows


def _inventory_and_projects(
    rng: random.Random, counts: dict[str, int], next_id: Iterator[str],
    accounts: list[tuple[str, str]], t: float,
) -> Iterator[tuple[str, SeedRecord]]:
    """Products, Quotes with ``Quoted_Items`` and Projects with ``Milestones`` rows
    (``Parent_Id`` set; line totals are computed by the server's ``recompute``)."""

    def stamps() -> tuple[float, float]:
        nonlocal t
        t += _ri(rng, 30, 900)
        return t, t + _ri(rng, 0, 86_400 * 30)

    products: list[tuple[str, str, float]] = []
    for n in range(counts["Products"]):
        rid = next(next_id)
        created, modified = stamps()
        name = f"{_ch(rng, PRODUCT_WORDS)} {n + 1}"
        price = round(rng.uniform(10, 5000), 2)
        values = _common(rng, "Products", rid, created, modified)
        values.update({
            "Product_Name": name,
            "Product_Code": f"P-{1000 + n}",
            "Product_Category": _pick(rng, PRODUCT_CATEGORIES),
            "Unit_Price": price,
            "Qty_in_Stock": float(_ri(rng, 0, 500)),
            "Product_Active": rng.random() < 0.9,
            "Description": None,
        })
        products.append((rid, name, price))
        yield "Products", (rid, values, created, modified)

    for n in range(counts["Quotes"]):
        rid = next(next_id)
        created, modified = stamps()
        acc = _ch(rng, accounts) if accounts and rng.random() < 0.9 else None
        subject = f"Quote {n + 1} - {acc[1] if acc else 'prospect'}"
        items = []
        for _ in range(_ri(rng, 1, 4)):
            pid, pname, price = _ch(rng, products)
            items.append(_row(next(next_id), subject, rid, {
                "Product_Name": {"name": pname, "id": pid},
                "Quantity": float(_ri(rng, 1, 20)),
                "List_Price": price,
                "Discount": _ch(rng, [0.0, 0.0, 5.0, 10.0, 25.5]),
                "Total": None,
                "Description": None,
            }))
        values = _common(rng, "Quotes", rid, created, modified)
        values.update({
            "Subject": subject,
            "Quote_Stage": _ch(rng, QUOTE_STAGES),
            "Valid_Till": _date(created + _ri(rng, 7, 90) * 86_400),
            "Account_Name": {"name": acc[1], "id": acc[0]} if acc else None,
            "Quoted_Items": items,
            "Sub_Total": None,
            "Grand_Total": None,
            "Description": None,
        })
        yield "Quotes", (rid, values, created, modified)

    for n in range(counts["Projects"]):
        rid = next(next_id)
        created, modified = stamps()
        acc = _ch(rng, accounts) if accounts and rng.random() < 0.8 else None
        name = f"Project {n + 1}: {_ch(rng, ['Rollout', 'Migration', 'Audit', 'Upgrade'])}"
        start = created + _ri(rng, 0, 86_400 * 60)
        rows = [_row(next(next_id), name, rid, {
            "Milestone": MILESTONES[i % len(MILESTONES)],
            "Due_Date": _date(start + (i + 1) * 86_400 * _ri(rng, 7, 30)),
            "Hours": _maybe(rng, float(_ri(rng, 4, 200)), 0.2),
            "Done": rng.random() < 0.4,
            "Assignee": _maybe(rng, _ch(rng, _OWNERS), 0.3),
        }) for i in range(_ri(rng, 0, 4))]
        values = _common(rng, "Projects", rid, created, modified)
        values.update({
            "Name": name,
            "Account": {"name": acc[1], "id": acc[0]} if acc else None,
            "Status": _pick(rng, PROJECT_STATUSES),
            "Start_Date": _date(start),
            "Budget": _maybe(rng, round(rng.uniform(5_000, 500_000), 2)),
            "Milestones": rows,
            "Description": None,
        })
        yield "Projects", (rid, values, created, modified)
