"""Zoho's data centres: the accounts server, API domain and file-upload host of each.

Examples
--------
>>> data_center("EU").api_domain
'https://www.zohoapis.eu'
>>> data_center("ca").accounts_url     # Canada's accounts host is zohocloud.ca
'https://accounts.zohocloud.ca'
"""

from __future__ import annotations

from dataclasses import dataclass

from crmframe.errors import ConfigurationError
from crmframe.http.redact import shown

__all__ = ["DATA_CENTERS", "DataCenter", "data_center"]


@dataclass(frozen=True)
class DataCenter:
    """The three hosts of one Zoho data centre (full ``https://`` URLs, no trailing slash)."""

    accounts_url: str
    api_domain: str
    upload_domain: str


#: Data centre code → hosts, after Zoho's SDK tables (zoho-api.md §9).
DATA_CENTERS: dict[str, DataCenter] = {
    "us": DataCenter(
        "https://accounts.zoho.com", "https://www.zohoapis.com", "https://content.zohoapis.com"
    ),
    "eu": DataCenter(
        "https://accounts.zoho.eu", "https://www.zohoapis.eu", "https://content.zohoapis.eu"
    ),
    "in": DataCenter(
        "https://accounts.zoho.in", "https://www.zohoapis.in", "https://content.zohoapis.in"
    ),
    "au": DataCenter(
        "https://accounts.zoho.com.au",
        "https://www.zohoapis.com.au",
        "https://content.zohoapis.com.au",
    ),
    "jp": DataCenter(
        "https://accounts.zoho.jp", "https://www.zohoapis.jp", "https://content.zohoapis.jp"
    ),
    "cn": DataCenter(
        "https://accounts.zoho.com.cn",
        "https://www.zohoapis.com.cn",
        "https://content.zohoapis.com.cn",
    ),
    # Canada is the odd one: accounts and uploads live on zohocloud.ca, the API does not.
    "ca": DataCenter(
        "https://accounts.zohocloud.ca", "https://www.zohoapis.ca", "https://upload.zohocloud.ca"
    ),
    "sa": DataCenter("https://accounts.zoho.sa", "https://www.zohoapis.sa", "https://files.zoho.sa"),
}


def data_center(code: str) -> DataCenter:
    """The hosts of data centre ``code`` (case-insensitive: ``us``, ``eu``, ``in``, ...).

    Raises
    ------
    ConfigurationError
        When ``code`` is not a known data centre; the message lists the valid ones.
    """
    key = str(code).strip().lower()
    if key == "com":  # Zoho's own docs sometimes name the US centre by its TLD.
        key = "us"
    try:
        return DATA_CENTERS[key]
    except KeyError:
        valid = ", ".join(sorted(DATA_CENTERS))
        raise ConfigurationError(
            f"unknown Zoho data centre {shown(code)}: expected one of {valid}"
        ) from None
