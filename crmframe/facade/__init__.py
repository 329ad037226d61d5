"""The analyst's façade: :func:`connect` and :class:`CRM` (one mixin per concern)."""

from __future__ import annotations

from crmframe.facade.crm import CRM, connect

__all__ = ["CRM", "connect"]
