"""Module and field metadata of the sandbox org: Leads (subform ``Lead_Contacts``), Contacts,
Accounts, Deals, Products, Quotes (line items ``Quoted_Items``) and the custom module Projects
(subform ``Milestones``).

Field items are shaped like Zoho's ``/settings/fields`` answer (api_name, data_type,
json_type, field_label, display_label, id, length, decimal_place, read_only,
field_read_only, system_mandatory, unique, mass_update, pick_list_values, lookup, formula,
auto_number...). Leads carries every field of the seeds' sample bodies plus enough custom
fields (more than 60 in all) to exercise the client's 50-field chunking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmframe.core.fieldtypes import (
    TEXT_LENGTH_DEFAULTS,
    Kind,
    is_read_only,
    kind_of_field,
    mass_updatable,
)

__all__ = [
    "CONTACT_ROLES",
    "LAYOUTS",
    "LEAD_STATUSES",
    "ORG",
    "PROFILES",
    "PROJECT_STATUSES",
    "QUOTE_STAGES",
    "USERS",
    "USER_PARTS",
    "CustomView",
    "Module",
    "build_modules",
    "make_id",
    "user_part",
]

#: All sandbox ids are 19 digits: this 9-digit org prefix and a 10-digit counter.
ID_PREFIX = "487687600"


def make_id(n: int) -> str:
    """The 19-digit id number ``n``.

    >>> make_id(42)
    '4876876000000000042'
    """
    return f"{ID_PREFIX}{n:010d}"


ORG: dict[str, Any] = {
    "id": make_id(1),
    "zgid": "700000001",
    "company_name": "crmframe Sandbox Inc.",
    "primary_email": "admin@sandbox.crmframe.test",
    "time_zone": "Asia/Kolkata",
    "iso_code": "USD",
    "currency_symbol": "$",
    "country_code": "US",
    "domain_name": "org700000001",
    "type": "sandbox",
}

#: The org's users; the first one is the API user (the one the tokens belong to).
USERS: list[dict[str, str]] = [
    {"name": "Patricia Boyle", "id": make_id(11), "email": "patricia.boyle@sandbox.crmframe.test"},
    {"name": "Theo Martin", "id": make_id(12), "email": "theo.martin@sandbox.crmframe.test"},
    {"name": "Aiko Tanaka", "id": make_id(13), "email": "aiko.tanaka@sandbox.crmframe.test"},
    {"name": "Rahul Iyer", "id": make_id(14), "email": "rahul.iyer@sandbox.crmframe.test"},
]

#: Parts of a user lookup a query may name (``Owner.last_name``...).
USER_PARTS = frozenset({"id", "name", "email", "first_name", "last_name", "full_name"})


def user_part(user_id: Any, part: str) -> str | None:
    """One part of the user ``user_id`` (:data:`USER_PARTS`); ``None`` for no such user.

    >>> user_part(USERS[1]["id"], "last_name"), user_part("1", "email")
    ('Martin', None)
    """
    user = next((u for u in USERS if u["id"] == user_id), None)
    if user is None:
        return None
    first, _, last = user["name"].partition(" ")
    return {"first_name": first, "last_name": last, "full_name": user["name"]}.get(
        part, user.get(part))


#: The API user's offset (Asia/Kolkata): system times are written in it.
USER_OFFSET_MINUTES = 330

LAYOUTS: dict[str, dict[str, str]] = {
    "Leads": {"name": "Standard", "id": make_id(21)},
    "Contacts": {"name": "Standard", "id": make_id(22)},
    "Accounts": {"name": "Standard", "id": make_id(23)},
    "Deals": {"name": "Standard", "id": make_id(24)},
    "Products": {"name": "Standard", "id": make_id(25)},
    "Quotes": {"name": "Standard", "id": make_id(26)},
    "Projects": {"name": "Standard", "id": make_id(27)},
    "Quoted_Items": {"name": "Standard", "id": make_id(28)},
    "Milestones": {"name": "Standard", "id": make_id(29)},
    "Lead_Contacts": {"name": "Standard", "id": make_id(30)},
}

LEAD_STATUSES = [
    "-None-",
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
]
LEAD_SOURCES = [
    "-None-", "Advertisement", "Cold Call", "Employee Referral", "External Referral",
    "Online Store", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner",
    "Internal Seminar", "Trade Show", "Web Download", "Web Research", "Chat",
]
INDUSTRIES = [
    "-None-", "ASP", "Data/Telecom OEM", "ERP", "Government/Military", "Large Enterprise",
    "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise",
    "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise",
    "Storage Equipment", "Storage Service Provider", "Systems Integrator", "Wireless Industry",
]
RATINGS = ["-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"]
SALUTATIONS = ["-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]
LANGUAGES = ["English", "French", "German", "Spanish", "Japanese", "Hindi", "Tamil"]
STAGES = [
    "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
]
ACCOUNT_TYPES = [
    "-None-", "Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor",
    "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor",
]
PRIORITIES = ["-None-", "Low", "Medium", "High", "Critical"]
SEGMENTS = ["-None-", "SMB", "Mid-Market", "Enterprise", "Public Sector"]
PRODUCT_CATEGORIES = ["-None-", "Hardware", "Software", "CRM Applications", "Services"]
QUOTE_STAGES = ["Draft", "Negotiation", "Delivered", "On Hold", "Confirmed", "Closed Won",
                "Closed Lost"]
PROJECT_STATUSES = ["-None-", "Planned", "Active", "On Hold", "Done"]
CONTACT_ROLES = ["-None-", "Decision Maker", "Evaluator", "Influencer", "Technical Buyer",
                 "Assistant"]

_JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "datetime": "string", "date": "string",
    "bigint": "string", "autonumber": "string", "integer": "integer", "double": "double",
    "currency": "double", "percent": "double", "boolean": "boolean", "lookup": "jsonobject",
    "ownerlookup": "jsonobject", "layout": "jsonobject", "multiselectpicklist": "jsonarray",
    "formula": "double", "subform": "jsonarray",
}


class _Ids:
    def __init__(self, start: int) -> None:
        self.n = start

    def next(self) -> str:
        self.n += 1
        return make_id(self.n)


def _label(api_name: str) -> str:
    return api_name.replace("_", " ").replace(" s", "").strip()


def _field(ids: _Ids, api_name: str, data_type: str, **extra: Any) -> dict[str, Any]:
    custom = bool(extra.pop("custom", False))
    label = extra.pop("label", None) or _label(api_name)
    json_type = extra.pop("json_type", None) or _JSON_TYPES.get(data_type, "string")
    length = extra.pop("length", None)
    if length is None:
        length = TEXT_LENGTH_DEFAULTS.get(data_type) or {
            "integer": 9, "bigint": 18, "double": 16, "currency": 16, "percent": 5,
            "boolean": 5, "date": 20, "datetime": 120, "autonumber": 32,
        }.get(data_type, 120)
    simple = data_type in {
        "text", "picklist", "multiselectpicklist", "integer", "bigint", "double", "currency",
        "percent", "boolean", "date", "datetime", "phone", "website",
    }
    item: dict[str, Any] = {
        "api_name": api_name,
        "data_type": data_type,
        "json_type": json_type,
        "field_label": label,
        "display_label": label,
        "column_name": api_name.upper(),
        "id": ids.next(),
        "length": length,
        "decimal_place": extra.pop("decimal_place", None),
        "read_only": bool(extra.pop("read_only", False)),
        "field_read_only": bool(extra.pop("field_read_only", False)),
        "system_mandatory": bool(extra.get("system_mandatory", False)),
        "mandatory": bool(extra.pop("system_mandatory", False)),
        "custom_field": custom,
        "visible": True,
        "unique": {"casesensitive": False} if extra.pop("unique", False) else {},
        "mass_update": bool(extra.pop("mass_update", simple)),
        "sortable": True,
        "filterable": True,
        "pick_list_values": [],
        "lookup": {},
        "formula": {},
        "auto_number": {},
        "currency": {},
        # Zoho sends null or an object, never a boolean (v7 docs, real capture, v8 spec)
        "history_tracking": None,
        "crypt": None,
        "ui_type": 1,
        "webhook": True,
        "private": None,
    }
    values = extra.pop("values", None)
    if values is not None:
        item["pick_list_values"] = [
            {
                "display_value": v,
                "actual_value": v,
                "id": ids.next(),
                "sequence_number": i + 1,
                "type": "used",
                "maps": [],
                "expected_data_type": "string",
                "colour_code": None,
                "reference_value": v,
            }
            for i, v in enumerate(values)
        ]
    target = extra.pop("target", None)
    if target is not None:
        item["lookup"] = {
            "display_label": target,
            "api_name": api_name,
            "module": {"api_name": target, "id": _MODULE_IDS.get(target, make_id(99))},
            "id": ids.next(),
        }
    if data_type == "currency":
        item["currency"] = {"rounding_option": "normal", "precision": item["decimal_place"] or 2}
    item.update(_zoho_field_keys(api_name, item, custom))
    item.update(extra)
    return item


#: The org's profiles: the API user's Administrator, and Standard (no Deals, reads only
#: Accounts) for the restricted token ``server.access_token(profile="Standard")``.
PROFILES: dict[str, str] = {"Administrator": make_id(41), "Standard": make_id(42)}

#: Fields Zoho marks as a record's display name (the ``display_field`` key).
_DISPLAY_FIELDS = frozenset({"Last_Name", "Account_Name", "Deal_Name", "Subject",
                             "Product_Name", "Name"})


def _zoho_field_keys(api_name: str, item: dict[str, Any], custom: bool) -> dict[str, Any]:
    """The keys of a Zoho field item crmframe does not use, with Zoho's values for a plain
    field (v7 docs' fields sample; amp-labs' real v6 capture)."""
    writable = not item["read_only"] and not item["field_read_only"]
    return {
        "associated_module": None,
        "operation_type": {"web_update": writable, "api_create": writable,
                           "web_create": writable, "api_update": writable},
        "colour_code_enabled_by_system": False,
        "tooltip": None,
        "type": "used",
        "customizable_properties": [],
        "association_details": None,
        "businesscard_supported": False,
        "multi_module_lookup": {},
        "created_time": None,
        "profiles": [{"permission_type": "read_write" if writable else "read_only",
                      "name": name, "id": pid} for name, pid in PROFILES.items()],
        "view_type": {"view": True, "edit": writable, "quick_create": False,
                      "create": writable},
        "separator": False,
        "searchable": item["data_type"] not in ("formula", "multiselectpicklist"),
        "external": None,
        "parent_field": None,
        "child_fields": None,
        "enable_colour_code": False,
        "virtual_field": False,
        "created_source": "custom" if custom else "default",
        "display_type": -1,
        "modified_time": None,
        "quick_sequence_number": None,
        "email_parser": {"fields_update_supported": False,
                         "record_operations_supported": False},
        "rollup_summary": {},
        "display_field": api_name in _DISPLAY_FIELDS,
        "pick_list_values_sorted_lexically": False,
        "global_picklist": None,
        "multiselectlookup": {},
        "address": None,
        "range": None,
        "display_format": None,
        "display_format_properties": None,
        "blueprint_supported": False,
        "hipaa_compliance": None,
        "hipaa_compliance_enabled": False,
    }


_MODULE_IDS = {
    "Leads": make_id(31),
    "Contacts": make_id(32),
    "Accounts": make_id(33),
    "Deals": make_id(34),
    "users": make_id(35),
    "Products": make_id(36),
    "Quotes": make_id(37),
    "Projects": make_id(38),
    "Quoted_Items": make_id(39),
    "Milestones": make_id(40),
    "Lead_Contacts": make_id(43),
}


def _system_fields(ids: _Ids) -> list[dict[str, Any]]:
    return [
        _field(ids, "id", "bigint", label="Record Id", read_only=True, field_read_only=True,
               mass_update=False, length=19),
        _field(ids, "Owner", "ownerlookup", label="Owner", target="users", mass_update=False),
        _field(ids, "Created_By", "ownerlookup", target="users", mass_update=False),
        _field(ids, "Modified_By", "ownerlookup", target="users", mass_update=False),
        # Zoho's own metadata marks these writable (zoho-api.md §2); fieldtypes knows better.
        _field(ids, "Created_Time", "datetime", mass_update=False),
        _field(ids, "Modified_Time", "datetime", mass_update=False),
        _field(ids, "Layout", "layout", mass_update=False),
        _field(ids, "Tag", "text", json_type="jsonarray", mass_update=False),
    ]


def _lead_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    fields = [
        *_system_fields(ids),
        f(ids, "Salutation", "picklist", values=SALUTATIONS),
        f(ids, "First_Name", "text", length=40),
        f(ids, "Last_Name", "text", length=80, system_mandatory=True),
        f(ids, "Full_Name", "text", read_only=True, field_read_only=True, mass_update=False),
        f(ids, "Company", "text", length=200),
        f(ids, "Designation", "text", length=100, label="Title"),
        f(ids, "Email", "email", mass_update=False),
        f(ids, "Secondary_Email", "email", mass_update=False),
        f(ids, "Phone", "phone"),
        f(ids, "Mobile", "phone", unique=True, mass_update=False),
        f(ids, "Fax", "phone"),
        f(ids, "Website", "website"),
        f(ids, "Skype_ID", "text", length=50),
        f(ids, "Twitter", "text", length=50),
        f(ids, "Lead_Source", "picklist", values=LEAD_SOURCES),
        f(ids, "Lead_Status", "picklist", values=LEAD_STATUSES),
        f(ids, "Industry", "picklist", values=INDUSTRIES),
        f(ids, "Rating", "picklist", values=RATINGS),
        f(ids, "No_of_Employees", "integer", label="No. of Employees"),
        f(ids, "Annual_Revenue", "currency", decimal_place=2),
        f(ids, "Email_Opt_Out", "boolean"),
        f(ids, "Street", "text", length=250),
        f(ids, "City", "text", length=100),
        f(ids, "State", "text", length=100),
        f(ids, "Zip_Code", "text", length=30),
        f(ids, "Country", "text", length=100),
        f(ids, "Description", "textarea", mass_update=False),
        f(ids, "Date_3", "date", label="Date 3", custom=True),
        f(ids, "Lead_Number", "autonumber", read_only=True, field_read_only=True,
          mass_update=False, custom=True,
          auto_number={"prefix": "LD-", "suffix": "", "start_number": 1000}),
        f(ids, "Revenue_per_Employee", "formula", json_type="double", read_only=True,
          field_read_only=True, mass_update=False, custom=True, decimal_place=2,
          formula={"return_type": "double",
                   "expression": "Annual_Revenue / No_of_Employees"}),
        f(ids, "Languages_Known", "multiselectpicklist", values=LANGUAGES, custom=True),
        f(ids, "Probability_Score", "percent", custom=True),
        f(ids, "Score_2", "double", decimal_place=3, custom=True),
        f(ids, "External_Ref", "bigint", custom=True),
        f(ids, "Last_Contacted", "datetime", custom=True),
        f(ids, "Next_Follow_Up", "datetime", custom=True),
        f(ids, "Referred_Account", "lookup", target="Accounts", mass_update=False, custom=True),
        f(ids, "Priority", "picklist", values=PRIORITIES, custom=True),
        f(ids, "Segment", "picklist", values=SEGMENTS, custom=True),
        f(ids, "Converted__s", "boolean", read_only=True, field_read_only=True,
          mass_update=False, label="Is Converted"),
        f(ids, "Last_Activity_Time", "datetime", read_only=True, field_read_only=True,
          mass_update=False),
    ]
    for i in range(1, 13):
        fields.append(f(ids, f"Custom_Text_{i}", "text", length=255, custom=True))
    for i in range(1, 5):
        fields.append(f(ids, f"Custom_Int_{i}", "integer", custom=True))
    for i in range(1, 4):
        fields.append(f(ids, f"Custom_Double_{i}", "double", decimal_place=2, custom=True))
    for i in range(1, 4):
        fields.append(f(ids, f"Custom_Date_{i}", "date", custom=True))
    for i in range(1, 3):
        fields.append(f(ids, f"Custom_DateTime_{i}", "datetime", custom=True))
    for i in range(1, 3):
        fields.append(f(ids, f"Custom_Bool_{i}", "boolean", custom=True))
    fields.append(f(ids, "Custom_Currency_1", "currency", decimal_place=2, custom=True))
    fields.append(f(ids, "Custom_Percent_1", "percent", custom=True))
    fields.append(f(ids, "Custom_Long_1", "bigint", custom=True))
    fields.append(f(ids, "Custom_Email_1", "email", mass_update=False, custom=True))
    fields.append(f(ids, "Custom_Phone_1", "phone", custom=True))
    fields.append(f(ids, "Custom_URL_1", "website", custom=True))
    fields.append(f(ids, "Custom_Notes_1", "textarea", mass_update=False, custom=True))
    fields.append(f(ids, "Custom_Pick_1", "picklist", values=["-None-", "Alpha", "Beta", "Gamma"],
                    custom=True))
    fields.append(f(ids, "Custom_Multi_1", "multiselectpicklist",
                    values=["Red", "Green", "Blue", "Yellow"], custom=True))
    return fields


def _contact_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_system_fields(ids),
        f(ids, "Salutation", "picklist", values=SALUTATIONS),
        f(ids, "First_Name", "text", length=40),
        f(ids, "Last_Name", "text", length=80, system_mandatory=True),
        f(ids, "Full_Name", "text", read_only=True, field_read_only=True, mass_update=False),
        f(ids, "Email", "email", mass_update=False),
        f(ids, "Phone", "phone"),
        f(ids, "Mobile", "phone"),
        f(ids, "Account_Name", "lookup", target="Accounts", mass_update=False),
        f(ids, "Title", "text", length=100),
        f(ids, "Department", "text", length=30),
        f(ids, "Lead_Source", "picklist", values=LEAD_SOURCES),
        f(ids, "Date_of_Birth", "date"),
        f(ids, "Email_Opt_Out", "boolean"),
        f(ids, "Mailing_City", "text", length=100),
        f(ids, "Mailing_Country", "text", length=100),
        f(ids, "Languages_Known", "multiselectpicklist", values=LANGUAGES, custom=True),
        f(ids, "Last_Contacted", "datetime", custom=True),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _account_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_system_fields(ids),
        f(ids, "Account_Name", "text", length=200, system_mandatory=True, mass_update=False),
        f(ids, "Account_Number", "bigint"),
        f(ids, "Account_Type", "picklist", values=ACCOUNT_TYPES),
        f(ids, "Industry", "picklist", values=INDUSTRIES),
        f(ids, "Rating", "picklist", values=RATINGS),
        f(ids, "Website", "website"),
        f(ids, "Phone", "phone"),
        f(ids, "Employees", "integer"),
        f(ids, "Annual_Revenue", "currency", decimal_place=2),
        f(ids, "Billing_City", "text", length=100),
        f(ids, "Billing_Country", "text", length=100),
        f(ids, "Customer_Since", "date", custom=True),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _deal_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_system_fields(ids),
        f(ids, "Deal_Name", "text", length=120, system_mandatory=True, mass_update=False),
        f(ids, "Stage", "picklist", values=STAGES, system_mandatory=True),
        f(ids, "Amount", "currency", decimal_place=2),
        f(ids, "Probability", "percent"),
        f(ids, "Expected_Revenue", "formula", json_type="double", read_only=True,
          field_read_only=True, mass_update=False, decimal_place=2,
          formula={"return_type": "currency", "expression": "Amount * Probability / 100"}),
        f(ids, "Closing_Date", "date"),
        f(ids, "Account_Name", "lookup", target="Accounts", mass_update=False),
        f(ids, "Contact_Name", "lookup", target="Contacts", mass_update=False),
        f(ids, "Type", "picklist", values=["-None-", "Existing Business", "New Business"]),
        f(ids, "Lead_Source", "picklist", values=LEAD_SOURCES),
        f(ids, "Next_Step", "text", length=100),
        f(ids, "Deal_Number", "autonumber", read_only=True, field_read_only=True,
          mass_update=False, auto_number={"prefix": "DL-", "suffix": "", "start_number": 1}),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _subform_field(ids: _Ids, api_name: str, subform: str, **extra: Any) -> dict[str, Any]:
    """A subform (or line-item) field of a parent module: its value is the rows' array
    (v7 docs' fields sample: ``associated_module``, ``ui_type`` 500, a virtual field)."""
    return _field(
        ids, api_name, "subform", mass_update=False, sortable=False, filterable=False,
        searchable=False, virtual_field=True, ui_type=500,
        associated_module={"module": subform, "id": _MODULE_IDS[subform]}, **extra)


def _product_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_system_fields(ids),
        f(ids, "Product_Name", "text", length=200, system_mandatory=True, mass_update=False),
        f(ids, "Product_Code", "text", length=40),
        f(ids, "Product_Category", "picklist", values=PRODUCT_CATEGORIES),
        f(ids, "Unit_Price", "currency", decimal_place=2),
        f(ids, "Qty_in_Stock", "double", decimal_place=2),
        f(ids, "Product_Active", "boolean"),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _quote_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_system_fields(ids),
        f(ids, "Subject", "text", length=255, system_mandatory=True, mass_update=False),
        f(ids, "Quote_Stage", "picklist", values=QUOTE_STAGES),
        f(ids, "Valid_Till", "date"),
        f(ids, "Account_Name", "lookup", target="Accounts", mass_update=False),
        # mandatory when inserting into an inventory module (part 2 §4)
        _subform_field(ids, "Quoted_Items", "Quoted_Items", label="Quoted Items",
                       system_mandatory=True),
        f(ids, "Sub_Total", "currency", decimal_place=2, read_only=True, field_read_only=True,
          mass_update=False),
        f(ids, "Grand_Total", "currency", decimal_place=2, read_only=True,
          field_read_only=True, mass_update=False),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _row_fields(ids: _Ids, parent: str) -> list[dict[str, Any]]:
    """What every subform row carries: its ``id`` and its parent (``Parent_Id``)."""
    return [
        _field(ids, "id", "bigint", label="Record Id", read_only=True, field_read_only=True,
               mass_update=False, length=19),
        _field(ids, "Parent_Id", "lookup", target=parent, read_only=True,
               field_read_only=True, mass_update=False),
    ]


def _quoted_item_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_row_fields(ids, "Quotes"),
        f(ids, "Product_Name", "lookup", target="Products", system_mandatory=True,
          mass_update=False),
        f(ids, "Quantity", "double", decimal_place=2, system_mandatory=True),
        f(ids, "List_Price", "currency", decimal_place=2),
        f(ids, "Discount", "currency", decimal_place=2),
        # Quantity × List_Price − Discount, computed like a formula
        f(ids, "Total", "currency", decimal_place=2, read_only=True, field_read_only=True,
          mass_update=False),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _project_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_system_fields(ids),
        # a custom module's record name is ``Name`` (v7 docs' custom-module fields)
        f(ids, "Name", "text", length=120, label="Project Name", system_mandatory=True,
          mass_update=False),
        f(ids, "Account", "lookup", target="Accounts", mass_update=False, custom=True),
        f(ids, "Status", "picklist", values=PROJECT_STATUSES, custom=True),
        f(ids, "Start_Date", "date", custom=True),
        f(ids, "Budget", "currency", decimal_place=2, custom=True),
        _subform_field(ids, "Milestones", "Milestones", custom=True),
        f(ids, "Description", "textarea", mass_update=False),
    ]


def _lead_contact_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_row_fields(ids, "Leads"),
        f(ids, "Contact_Name", "text", length=120, system_mandatory=True, custom=True),
        f(ids, "Role", "picklist", values=CONTACT_ROLES, custom=True),
        f(ids, "Email", "email", mass_update=False, custom=True),
        f(ids, "Phone", "phone", custom=True),
        f(ids, "Primary", "boolean", custom=True),
    ]


def _milestone_fields(ids: _Ids) -> list[dict[str, Any]]:
    f = _field
    return [
        *_row_fields(ids, "Projects"),
        f(ids, "Milestone", "text", length=120, system_mandatory=True, custom=True),
        f(ids, "Due_Date", "date", custom=True),
        f(ids, "Hours", "double", decimal_place=2, custom=True),
        f(ids, "Done", "boolean", custom=True),
        f(ids, "Assignee", "ownerlookup", target="users", custom=True, mass_update=False),
    ]


@dataclass(frozen=True)
class CustomView:
    """A custom view: a name and simple criteria ``[(field, op, value), ...]`` all ANDed."""

    id: str
    name: str
    module: str
    criteria: tuple[tuple[str, str, Any], ...] = ()
    system_name: str | None = None

    def to_json(self, field_ids: dict[str, str] | None = None) -> dict[str, Any]:
        """The item of ``/settings/custom_views`` (``field_ids``: api_name → field id)."""
        return {
            "display_value": self.name,
            "created_time": None,
            "system_name": self.system_name,
            "created_by": None,
            "default": self.system_name == "ALLVIEWS",
            "modified_time": "2024-01-01T09:00:00+05:30",
            "name": self.name,
            "system_defined": self.system_name is not None,
            "modified_by": {"name": USERS[0]["name"], "id": USERS[0]["id"]},
            "id": self.id,
            "category": "public_views",
            "last_accessed_time": None,
            "locked": False,
            "favorite": None,
            "criteria": _criteria_json(self.criteria, field_ids or {}),
        }


def _criteria_json(criteria: tuple[tuple[str, str, Any], ...],
                   ids: dict[str, str]) -> dict[str, Any] | None:
    items = [
        {"comparator": op, "field": {"api_name": name, "id": ids.get(name)}, "value": value}
        for name, op, value in criteria
    ]
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return {"group_operator": "and", "group": items}


@dataclass
class Module:
    """One module: its metadata and what the server derives from it once."""

    api_name: str
    singular: str
    id: str
    fields: list[dict[str, Any]]
    views: list[CustomView]
    max_mass_fields: int = 1
    #: ``default``, ``custom`` (a custom module) or ``subform`` (rows of a parent's field)
    generated_type: str = "default"
    #: Zoho's internal module name (``CustomModule1``, ``QuotedItems``...); default api_name
    module_name: str = ""
    #: a subform module's parent module
    parent: str | None = None
    #: subform (and line-item) fields of this module: field api_name → the rows' module
    subforms: dict[str, Module] = field(default_factory=dict)
    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    read_only: frozenset[str] = frozenset()
    mass: frozenset[str] = frozenset()
    mandatory: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    picklists: dict[str, frozenset[str]] = field(default_factory=dict)
    lookups: dict[str, str] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.by_name = {f["api_name"]: f for f in self.fields}
        self.kinds = {f["api_name"]: kind_of_field(f) for f in self.fields}
        self.read_only = frozenset(f["api_name"] for f in self.fields if is_read_only(f))
        self.mass = frozenset(f["api_name"] for f in self.fields if mass_updatable(f))
        self.mandatory = tuple(f["api_name"] for f in self.fields if f["system_mandatory"])
        self.unique = tuple(f["api_name"] for f in self.fields if f["unique"])
        self.picklists = {
            f["api_name"]: frozenset(v["actual_value"] for v in f["pick_list_values"])
            for f in self.fields
            if f["pick_list_values"]
        }
        self.lookups = {
            f["api_name"]: f["lookup"]["module"]["api_name"]
            for f in self.fields
            if f["data_type"] in ("lookup", "ownerlookup")
        }
        self.lengths = {f["api_name"]: int(f["length"]) for f in self.fields if f["length"]}
        self.names = tuple(f["api_name"] for f in self.fields)

    def view(self, cvid: str) -> CustomView | None:
        """The custom view with this id, if it belongs to this module."""
        for v in self.views:
            if v.id == cvid:
                return v
        return None

    def to_json(self) -> dict[str, Any]:
        """The item of ``/settings/modules``."""
        return {
            "api_name": self.api_name,
            "module_name": self.module_name or self.api_name,
            "singular_label": self.singular,
            "plural_label": self.api_name,
            "id": self.id,
            "api_supported": True,
            "creatable": True,
            "editable": True,
            "deletable": True,
            "viewable": True,
            "generated_type": self.generated_type,
            "sequence_number": list(_MODULE_IDS).index(self.api_name) + 1,
            "visible": True,
            "modified_time": "2024-01-01T09:00:00+05:30",
            "modified_by": {"name": USERS[0]["name"], "id": USERS[0]["id"]},
            "profiles": [{"name": name, "id": pid} for name, pid in PROFILES.items()],
            # the keys below as in the v7 docs' modules sample
            "has_more_profiles": False,
            "access_type": "org_based",
            "private_profile": None,
            "description": None,
            "recycle_bin_on_delete": True,
            "presence_sub_menu": False,
            "actual_plural_label": self.api_name,
            "actual_singular_label": self.singular,
            "visibility": 1,
            "convertable": self.api_name == "Leads",
            "sub_menu_available": True,
            "show_as_tab": True,
            "web_link": None,
            "quick_create": True,
            "feeds_required": False,
            "arguments": [],
            "profile_count": len(PROFILES),
            "business_card_field_limit": 5,
            "parent_module": ({"api_name": self.parent, "id": _MODULE_IDS[self.parent]}
                              if self.parent else {}),
            "status": "visible",
        }


def build_modules() -> dict[str, Module]:
    """The sandbox's record modules, keyed by API name (deterministic ids).

    Subform modules (``Lead_Contacts``, ``Quoted_Items``, ``Milestones``) are not among
    them: they hang off their parent's :attr:`Module.subforms`, as their rows live in the
    parent record.

    >>> modules = build_modules()
    >>> list(modules)
    ['Leads', 'Contacts', 'Accounts', 'Deals', 'Products', 'Quotes', 'Projects']
    >>> modules["Quotes"].subforms["Quoted_Items"].parent
    'Quotes'
    """
    ids = _Ids(1000)
    # The Leads subform came last: its ids come from their own range, so every other
    # field, view and picklist id stays as it was.
    sub_ids = _Ids(9000)
    leads = Module(
        "Leads", "Lead", _MODULE_IDS["Leads"],
        [*_lead_fields(ids), _subform_field(sub_ids, "Lead_Contacts", "Lead_Contacts",
                                            label="Lead Contacts", custom=True)],
        [
            CustomView(ids.next(), "All Leads", "Leads", (), "ALLVIEWS"),
            CustomView(ids.next(), "Leads in Paris", "Leads", (("City", "equal", "Paris"),)),
            CustomView(ids.next(), "Hot Leads", "Leads", (("Rating", "equal", "Active"),)),
            CustomView(ids.next(), "Not Contacted Leads", "Leads",
                       (("Lead_Status", "equal", "Not Contacted"),)),
        ],
        subforms={"Lead_Contacts": Module(
            "Lead_Contacts", "Lead Contact", _MODULE_IDS["Lead_Contacts"],
            _lead_contact_fields(sub_ids), [], generated_type="subform",
            module_name="LinkingModule2", parent="Leads")},
    )
    contacts = Module(
        "Contacts", "Contact", _MODULE_IDS["Contacts"], _contact_fields(ids),
        [
            CustomView(ids.next(), "All Contacts", "Contacts", (), "ALLVIEWS"),
            CustomView(ids.next(), "Contacts in Paris", "Contacts",
                       (("Mailing_City", "equal", "Paris"),)),
        ],
    )
    accounts = Module(
        "Accounts", "Account", _MODULE_IDS["Accounts"], _account_fields(ids),
        [
            CustomView(ids.next(), "All Accounts", "Accounts", (), "ALLVIEWS"),
            CustomView(ids.next(), "Customers", "Accounts",
                       (("Account_Type", "equal", "Customer"),)),
        ],
    )
    deals = Module(
        "Deals", "Deal", _MODULE_IDS["Deals"], _deal_fields(ids),
        [
            CustomView(ids.next(), "All Deals", "Deals", (), "ALLVIEWS"),
            CustomView(ids.next(), "Open Deals", "Deals",
                       (("Stage", "not_in", ["Closed Won", "Closed Lost"]),)),
        ],
        max_mass_fields=3,
    )
    # Built after the first four so their field and view ids stay as they were.
    products = Module(
        "Products", "Product", _MODULE_IDS["Products"], _product_fields(ids),
        [CustomView(ids.next(), "All Products", "Products", (), "ALLVIEWS"),
         CustomView(ids.next(), "Active Products", "Products",
                    (("Product_Active", "equal", True),))],
    )
    quotes = Module(
        "Quotes", "Quote", _MODULE_IDS["Quotes"], _quote_fields(ids),
        [CustomView(ids.next(), "All Quotes", "Quotes", (), "ALLVIEWS")],
        subforms={"Quoted_Items": Module(
            "Quoted_Items", "Quoted Item", _MODULE_IDS["Quoted_Items"],
            _quoted_item_fields(ids), [], generated_type="subform", module_name="QuotedItems",
            parent="Quotes")},
    )
    projects = Module(
        "Projects", "Project", _MODULE_IDS["Projects"], _project_fields(ids),
        [CustomView(ids.next(), "All Projects", "Projects", (), "ALLVIEWS"),
         CustomView(ids.next(), "Active Projects", "Projects",
                    (("Status", "equal", "Active"),))],
        generated_type="custom", module_name="CustomModule1",
        subforms={"Milestones": Module(
            "Milestones", "Milestone", _MODULE_IDS["Milestones"], _milestone_fields(ids), [],
            generated_type="subform", module_name="LinkingModule1", parent="Projects")},
    )
    return {m.api_name: m for m in (leads, contacts, accounts, deals, products, quotes,
                                    projects)}
