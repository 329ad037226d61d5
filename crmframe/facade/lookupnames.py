"""Lookup names for bulk exports, so a bulk read gives the frame a page read gives.

A bulk-read CSV carries a lookup as the related record's id only. A page read carries
``{"id", "name"}`` (users also ``email``), and ``Tag`` as ``[{"name", "id"}]`` where the
export joins the names. :class:`LookupNames` closes the gap, cheapest source first:

* **lookups to a module whose name field is known** (``Account_Name`` → Accounts'
  ``Account_Name``): the export itself is asked for the dotted field
  (``Account_Name.Account_Name``, documented by Zoho) — no extra call;
* **user lookups** (``Owner``, ``Created_By``, ``Modified_By``): the org's users, read
  once per read (``GET /users``, 200 users a call) — name and email;
* **other lookups** (``Layout``, lookups to modules without a known name field) and the
  **tag ids**: one record per distinct value is fetched by id (``GET /{module}?ids=``,
  100 records a call) and its page-shaped value copied to every row with the same id.
  Distinct values are few (layouts, tags), so this costs a call or two per read.

Every call made is counted in :attr:`LookupNames.calls` (1 credit each).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.http.paging import iter_record_pages

if TYPE_CHECKING:
    from crmframe.http.client import ZohoClient

__all__ = ["NAME_FIELDS", "LookupNames"]

#: The field whose value Zoho gives as a lookup's ``name``, per standard module.
NAME_FIELDS: dict[str, str] = {
    "Accounts": "Account_Name",
    "Contacts": "Full_Name",
    "Leads": "Full_Name",
    "Deals": "Deal_Name",
    "Products": "Product_Name",
    "Vendors": "Vendor_Name",
    "Campaigns": "Campaign_Name",
    "Price_Books": "Price_Book_Name",
    "Cases": "Subject",
    "Solutions": "Solution_Title",
    "Quotes": "Subject",
    "Sales_Orders": "Subject",
    "Purchase_Orders": "Subject",
    "Invoices": "Subject",
}
_USER_MODULES = frozenset({"users", "Users"})
_PART_ORDER = {"id": 0, "name": 1, "email": 2}


def _is_user_lookup(info: FieldInfo) -> bool:
    return info.data_type == "ownerlookup" or (info.lookup_module or "") in _USER_MODULES


class LookupNames:
    """What a bulk read of ``names`` asks for, and how its frames get the page shape.

    Parameters
    ----------
    client : ZohoClient
    module : str
        The module read.
    fields : field metadata
        Of ``module`` (as for :class:`~crmframe.core.records.RecordsBuilder`).
    names : list of str
        The fields read.

    Examples
    --------
    >>> meta = {"fields": [
    ...     {"api_name": "Owner", "data_type": "ownerlookup"},
    ...     {"api_name": "Referred_Account", "data_type": "lookup",
    ...      "lookup": {"module": {"api_name": "Accounts"}}},
    ...     {"api_name": "Layout", "data_type": "layout"}]}
    >>> names = LookupNames(None, "Leads", meta, ["Owner", "Referred_Account", "Layout"])
    >>> names.export_fields()
    ['id', 'Owner', 'Referred_Account', 'Layout', 'Referred_Account.Account_Name']
    >>> names.renames
    {'Referred_Account.Account_Name': 'Referred_Account.name'}
    >>> names.user_fields, names.by_record
    (['Owner'], ['Layout'])
    """

    def __init__(self, client: ZohoClient | None, module: str, fields: Any,
                 names: Iterable[str]) -> None:
        self.client = client
        self.module = module
        self.names = [n for n in names if n != "id"]
        infos = normalise_fields(fields) if fields is not None else {}
        #: Export header → the lookup part it fills (``X.Account_Name`` → ``X.name``).
        self.renames: dict[str, str] = {}
        #: User lookups, named from the users table.
        self.user_fields: list[str] = []
        #: Lookups named by fetching one record per distinct value.
        self.by_record: list[str] = []
        for name in self.names:
            info = infos.get(name)
            if info is None or info.kind is not Kind.LOOKUP:
                continue
            if _is_user_lookup(info):
                self.user_fields.append(name)
            elif info.lookup_module in NAME_FIELDS:
                self.renames[f"{name}.{NAME_FIELDS[info.lookup_module]}"] = f"{name}.name"
            else:
                self.by_record.append(name)
        tag = infos.get("Tag")
        self.tag = "Tag" in self.names and tag is not None and tag.kind is Kind.LIST
        #: Calls made to fill names (1 credit each).
        self.calls = 0
        self._users: dict[str, dict[str, Any]] | None = None
        self._known: dict[str, dict[str, dict[str, Any]]] = {f: {} for f in self.by_record}
        self._tags: dict[str, str] = {}

    def export_fields(self) -> list[str]:
        """The ``fields`` of the bulk-read job: ``id``, the fields, the dotted names."""
        return ["id", *self.names, *self.renames]

    # -- sources ---------------------------------------------------------------------

    def _load_users(self) -> dict[str, dict[str, Any]]:
        if self._users is None:
            assert self.client is not None
            users: dict[str, dict[str, Any]] = {}
            page = 1
            while True:
                reply = self.client.request(
                    "GET", "users", params={"type": "AllUsers", "page": page, "per_page": 200})
                self.calls += 1
                body = reply.body or {}
                for user in body.get("users") or []:
                    if isinstance(user, dict) and user.get("id") is not None:
                        users[str(user["id"])] = {
                            "name": user.get("full_name") or " ".join(
                                p for p in (user.get("first_name"), user.get("last_name")) if p
                            ) or None,
                            "email": user.get("email"),
                        }
                info = body.get("info") or {}
                if not (isinstance(info, dict) and info.get("more_records")):
                    break
                page += 1
            self._users = users
        return self._users

    def _fetch_representatives(self, frame: pd.DataFrame) -> None:
        """Fetch one record per lookup id / tag name not seen yet."""
        wanted: dict[str, None] = {}
        for name in self.by_record:
            column = f"{name}.id"
            if column not in frame.columns:
                continue
            known = self._known[name]
            ids = frame[column].dropna()
            firsts = ids[~ids.duplicated()]
            for record_id, value in zip(firsts.index, firsts.tolist(), strict=True):
                if value not in known and record_id is not pd.NA:
                    wanted[str(record_id)] = None
        if self.tag and "Tag" in frame.columns:
            for record_id, tags in zip(frame.index, frame["Tag"].tolist(), strict=True):
                if not isinstance(tags, list) or record_id is pd.NA:
                    continue
                for tag in tags:
                    if isinstance(tag, str) and tag not in self._tags:
                        wanted[str(record_id)] = None
                        self._tags[tag] = ""  # placeholder: one record per name is enough
        if not wanted:
            return
        asked = [*self.by_record, *(["Tag"] if self.tag else [])]
        assert self.client is not None
        for body in iter_record_pages(self.client, self.module, fields=["id", *asked],
                                      ids=list(wanted)):
            self.calls += 1
            for record in body.get("data") or []:
                for name in self.by_record:
                    value = record.get(name)
                    if isinstance(value, dict) and value.get("id") is not None:
                        self._known[name][str(value["id"])] = value
                for tag in record.get("Tag") or [] if self.tag else []:
                    if isinstance(tag, dict) and tag.get("name") is not None:
                        self._tags[str(tag["name"])] = str(tag.get("id") or "")
        # Ids Zoho did not return (records deleted meanwhile): counted as known-unknown.
        for name in self.by_record:
            column = f"{name}.id"
            if column in frame.columns:
                for value in frame[column].dropna().unique().tolist():
                    self._known[name].setdefault(str(value), {"id": value})

    # -- filling ---------------------------------------------------------------------

    def fill(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (typed from a bulk CSV) with the lookup parts and tags of a page read."""
        if not (self.user_fields or self.by_record or self.tag):
            return frame
        attrs = dict(frame.attrs)
        parts: dict[str, dict[str, pd.Series]] = {}
        if self.user_fields:
            users = self._load_users()
            for name in self.user_fields:
                ids = frame.get(f"{name}.id")
                if ids is None:
                    continue
                parts[name] = {p: _mapped(ids, {k: v.get(p) for k, v in users.items()})
                               for p in ("name", "email")}
        if self.by_record or self.tag:
            self._fetch_representatives(frame)
        for name in self.by_record:
            ids = frame.get(f"{name}.id")
            if ids is None:
                continue
            known = self._known[name]
            keys = dict.fromkeys(k for v in known.values() for k in v if k != "id")
            keys.setdefault("name")
            parts[name] = {p: _mapped(ids, {k: v.get(p) for k, v in known.items()})
                           for p in keys}
        if parts:
            frame = _with_parts(frame, parts)
        if self.tag and "Tag" in frame.columns:
            tags = self._tags
            frame["Tag"] = pd.Series(
                [[{"name": t, "id": tags.get(t) or None} if isinstance(t, str) else t
                  for t in value] if isinstance(value, list) else value
                 for value in frame["Tag"].tolist()],
                index=frame.index, dtype=object)
        frame.attrs = attrs
        return frame


def _mapped(ids: pd.Series, table: dict[str, Any]) -> pd.Series:
    values = [None if i is pd.NA else table.get(i) for i in ids.tolist()]
    series: pd.Series = pd.Series(pd.array(values, dtype="string"), index=ids.index)
    return series


def _with_parts(frame: pd.DataFrame, parts: dict[str, dict[str, pd.Series]]) -> pd.DataFrame:
    """``frame`` with each lookup's parts set, in the page read's order (id, name, email...)."""
    columns: dict[str, pd.Series] = {}
    done: set[str] = set()
    for column in frame.columns:
        base, dot, _ = str(column).partition(".")
        if dot and base in parts:
            if base in done:
                continue
            done.add(base)
            group = {c.partition(".")[2]: frame[c] for c in frame.columns
                     if str(c).startswith(base + ".")}
            group.update(parts[base])
            for part in sorted(group, key=lambda p: _PART_ORDER.get(p, 3)):
                columns[f"{base}.{part}"] = group[part]
        else:
            columns[str(column)] = frame[column]
    out: pd.DataFrame = pd.DataFrame(columns, index=frame.index, copy=False)
    return out
