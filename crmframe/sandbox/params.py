"""Request helpers shared by the endpoint modules: the module in the path or query, the
JSON body, query parameters, conditional headers, a custom view's condition.

Each raises :class:`~crmframe.sandbox.envelopes.ApiError` with Zoho's code and details
for bad input, so every endpoint rejects the same mistake the same way.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from crmframe.sandbox.clock import parse_datetime
from crmframe.sandbox.criteria import Cond, CriteriaError, all_of, any_of, condition
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.schema import Module
from crmframe.sandbox.search import parse_criteria, split_values, unescape
from crmframe.sandbox.state import State, Version

__all__ = ["MAX_FIELDS_V8", "MAX_WRITE", "all_modules", "bulk_module", "callback_param",
           "data_array", "fields_param", "find_module", "header_time", "int_param", "invalid_param",
           "job_not_found", "json_body", "module_param", "path_module", "search_condition",
           "settings_module", "subform_module", "view_cond"]

MAX_FIELDS_V8 = 50
MAX_WRITE = 100

#: Zoho's system duplicate-check fields, when a module has no unique field of its own.
DUPLICATE_CHECK = {"Leads": ["Email"], "Contacts": ["Email"], "Accounts": ["Account_Name"],
                    "Deals": ["Deal_Name"], "Products": ["Product_Name"], "Projects": ["Name"]}

#: Top-level names other routes own (``/coql``, ``/upload``...): when werkzeug matched
#: ``/{module}`` for one of them, the method was the wrong one.
_RESERVED = frozenset({"coql", "upload", "org", "users"})


def find_module(sb: State, name: str) -> Module | None:
    """A module by API name (case-insensitive, like Zoho's URLs)."""
    mod = sb.modules.get(name)
    if mod is not None:
        return mod
    folded = name.casefold()
    return next((m for m in sb.modules.values() if m.api_name.casefold() == folded), None)


def subform_module(sb: State, name: str) -> Module | None:
    """The subform module (``Lead_Contacts``, ``Quoted_Items``...) of this API name, if one."""
    folded = name.casefold()
    for mod in sb.modules.values():
        for sub in mod.subforms.values():
            if sub.api_name.casefold() == folded:
                return sub
    return None


def settings_module(sb: State, request: Request, version: Version) -> Module:
    """The ``module`` query parameter of a metadata call, which may also name a subform
    module (``/settings/fields?module=Quoted_Items``: its rows' fields, part 2 §4)."""
    sub = subform_module(sb, request.args.get("module") or "")
    return sub if sub is not None else module_param(sb, request, version)


def all_modules(sb: State) -> list[Module]:
    """Every module ``/settings/modules`` lists: record modules, each followed by its
    subform modules (``generated_type: subform``, as Zoho lists ``Quoted_Items``)."""
    return [m for mod in sb.modules.values() for m in (mod, *mod.subforms.values())]


def path_module(sb: State, version: Version, name: str, *, wrap: bool = False) -> Module:
    """The ``{module}`` of a URL path, checked (``wrap``: v8 error inside ``data[]``)."""
    if name in _RESERVED:
        raise ApiError(400, "INVALID_REQUEST_METHOD",
                       "The http request method type is not a valid one")
    mod = find_module(sb, name)
    if mod is None:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                       {"resource_path_index": 0} if version.modern else {},
                       wrap=wrap and version.modern)
    return mod


def module_param(sb: State, request: Request, version: Version) -> Module:
    """The ``module`` query parameter, checked."""
    name = request.args.get("module")
    if not name:
        raise ApiError(400, "REQUIRED_PARAM_MISSING", "required param is missing",
                       {"param_name": "module"})
    mod = find_module(sb, name)
    if mod is None:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                       {"param_name": "module"} if version.modern else {})
    return mod


def invalid_param(name: str, message: str = "invalid data") -> ApiError:
    """Zoho's ``INVALID_DATA`` for a query parameter."""
    return ApiError(400, "INVALID_DATA", message, {"param_name": name})


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name) from None
    if not low <= value <= high:
        raise invalid_param(name)
    return value


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object body, or Zoho's ``INVALID_DATA`` ``body`` error."""
    # get_json caches its result: the credit count already parsed this body.
    parsed = request.get_json(silent=True, force=True)
    if not isinstance(parsed, dict):
        raise ApiError(400, "INVALID_DATA", "body", {"expected_data_type": "jsonobject"})
    return parsed


def data_array(parsed: dict[str, Any]) -> list[Any]:
    """The non-empty ``data`` array of a write body."""
    data = parsed.get("data")
    if not isinstance(data, list) or not data:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"expected_data_type": "jsonarray", "api_name": "data"})
    return data


def header_time(request: Request, name: str) -> float | None:
    """A date header (``If-Modified-Since``, ``If-Unmodified-Since``) as epoch seconds."""
    header = request.headers.get(name)
    if not header:
        return None
    try:
        return parse_datetime(header)
    except ValueError:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"header_name": name}) from None


def fields_param(request: Request, version: Version, mod: Module, *,
                 required: bool) -> list[str] | None:
    """The ``fields`` parameter: mandatory when listing on v8, at most 50 there."""
    raw = request.args.get("fields")
    if raw is None or not raw.strip():
        if required and version.modern:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", "required param is missing",
                           {"param_name": "fields"})
        return None
    names = list(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if version.modern and len(names) > MAX_FIELDS_V8:
        raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded",
                       {"limit": MAX_FIELDS_V8, "param_name": "fields"})
    # Zoho leaves out names it does not know; the record's id always comes back.
    return [n for n in names if n in mod.by_name and n != "id"]


def view_cond(mod: Module, criteria: tuple[tuple[str, str, Any], ...]) -> Cond | None:
    """The condition of a custom view's criteria (``None``: every record)."""
    if not criteria:
        return None
    return all_of([condition(mod, f, op, v) for f, op, v in criteria])


def _search_cond(mod: Module, tree: Any) -> Cond:
    if tree[0] in ("and", "or") and isinstance(tree[1], list):
        parts = [_search_cond(mod, t) for t in tree[1]]
        return all_of(parts) if tree[0] == "and" else any_of(parts)
    name, op, raw = tree
    if op in ("in", "between"):
        value: Any = split_values(raw)
    else:
        value = unescape(raw)
    if value == "${EMPTY}":
        return condition(mod, name, "is_null" if op == "equals" else "is_not_null", None)
    return condition(mod, name, {"equals": "equal"}.get(op, op), value)


def search_condition(mod: Module, request: Request) -> tuple[Cond, tuple[Any, ...]] | None:
    """The condition of the ``criteria``, ``email``, ``phone`` or ``word`` parameter (the
    first given; search and count take them alike) and its key for the view cache;
    ``None`` when none is given. A malformed one is Zoho's ``INVALID_QUERY``."""
    args = request.args
    try:
        if args.get("criteria"):
            cond = _search_cond(mod, parse_criteria(args["criteria"]))
        elif args.get("email"):
            names = [f["api_name"] for f in mod.fields if f["data_type"] == "email"]
            cond = any_of([condition(mod, n, "equal", args["email"]) for n in names])
        elif args.get("phone"):
            names = [f["api_name"] for f in mod.fields if f["data_type"] == "phone"]
            cond = any_of([condition(mod, n, "equal", args["phone"]) for n in names])
        elif args.get("word"):
            word = args["word"].casefold()
            cond = lambda v: any(  # noqa: E731
                isinstance(x, str) and word in x.casefold() for x in v.values())
        else:
            return None
    except (ValueError, CriteriaError) as exc:
        raise ApiError(400, "INVALID_QUERY", "invalid query formed",
                       {"reason": str(exc)}) from None
    key = ("search", args.get("criteria"), args.get("email"), args.get("phone"),
           args.get("word"))
    return cond, key


def bulk_module(sb: State, version: Version, spec: Any, path: str) -> tuple[Module, bool]:
    """The module of a bulk request: a string on v2, ``{"api_name"}`` on v2.1 and later.

    v2.1 takes both; returns the module and whether to echo it as an object.
    """
    if isinstance(spec, str):
        if version.modern:
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"expected_data_type": "jsonobject", "api_name": "module",
                            "json_path": path})
        name, as_object = spec, False
    elif isinstance(spec, dict) and isinstance(spec.get("api_name"), str):
        if version.name == "v2":
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"expected_data_type": "string", "api_name": "module"})
        name, as_object = str(spec["api_name"]), True
    else:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "module", "json_path": path})
    mod = find_module(sb, name)
    if mod is None:
        raise ApiError(400, "MODULE_NOT_AVAILABLE", "the module is not available for bulk",
                       {"api_name": "module", "json_path": path})
    return mod, as_object


def job_not_found(version: Version) -> ApiError:
    """An unknown bulk job or result."""
    # v2's sample (seed 000) answers 400; the v7 docs list 404.
    return ApiError(404 if version.modern else 400, "RESOURCE_NOT_FOUND",
                    "The requested resource doesn't exist.")


def callback_param(parsed: dict[str, Any]) -> dict[str, Any] | None:
    """A bulk job's ``callback`` (``{"url": "http(s)://...", "method": "post"}``)."""
    callback = parsed.get("callback")
    if callback is not None and (not isinstance(callback, dict)
                                 or not str(callback.get("url", "")).startswith(("http://",
                                                                                 "https://"))):
        raise ApiError(400, "INVALID_CALLBACK_URL", "Invalid callback URL provided")
    return callback
