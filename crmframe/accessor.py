"""``df.crm``: the write-back verbs as a pandas accessor, for analysts who prefer methods.

Importing this module registers the accessor once (importing it again does not register it
again, so pandas never warns about an overridden accessor).

============================================  =============================================
``df.crm.diff(original)``                      :func:`crmframe.core.diff.diff` (edited = df)
``df.crm.plan(crm, original=None, ...)``       :meth:`CRM.plan <crmframe.facade.write.mixin.WritingMixin.plan>`
``df.crm.push(crm, original=None, ...)``       :meth:`CRM.push <crmframe.facade.write.mixin.WritingMixin.push>`
``df.crm.to_snapshot(path)``                   :func:`crmframe.to_snapshot` (read back: :func:`crmframe.read_snapshot`)
``df.crm.module``                              ``df.attrs["module"]``
============================================  =============================================

Examples
--------
>>> import pandas as pd
>>> import crmframe.accessor  # noqa: F401  (registers df.crm)
>>> idx = pd.Index(["3652397000009851001"], dtype="string", name="id")
>>> before = pd.DataFrame({"City": pd.array(["Pune"], dtype="string")}, index=idx)
>>> after = before.copy()
>>> after.loc["3652397000009851001", "City"] = "Goa"
>>> after.crm.diff(before).records()
{'3652397000009851001': {'City': 'Goa'}}
"""  # noqa: E501

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from crmframe.core.diff import ChangeSet, diff

__all__ = ["CrmAccessor"]

_NAME = "crm"


class CrmAccessor:
    """The ``df.crm`` namespace.

    Parameters
    ----------
    frame : DataFrame
        The frame the accessor is attached to (the *edited* frame).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    @property
    def module(self) -> str | None:
        """The module the frame was read from (``df.attrs["module"]``), if known."""
        module = self._frame.attrs.get("module")
        return str(module) if module else None

    def diff(self, original: pd.DataFrame, *, fields: Any = None) -> ChangeSet:
        """What changed from ``original`` to this frame.

        Parameters
        ----------
        original : DataFrame
            The frame as read.
        fields : optional
            Field metadata (e.g. ``crm.read_fields(module)``), for exact comparisons.

        Returns
        -------
        ChangeSet
        """
        return diff(original, self._frame, fields=fields)

    def plan(self, crm: Any, original: pd.DataFrame | None = None, **kwargs: Any) -> Any:
        """``crm.plan(df, original, **kwargs)``: the calls a push would make.

        Examples
        --------
        >>> df.crm.plan(crm, original).summary()     # doctest: +SKIP
        """
        return crm.plan(self._frame, original, **kwargs)

    def push(self, crm: Any, original: pd.DataFrame | None = None, **kwargs: Any) -> Any:
        """``crm.push(df, original, **kwargs)``: send the edits, get a ``PushResult``.

        Examples
        --------
        >>> result = df.crm.push(crm, original, trigger=[])   # doctest: +SKIP
        """
        return crm.push(self._frame, original, **kwargs)


    def to_snapshot(self, path: str | os.PathLike[str]) -> Any:
        """``crmframe.to_snapshot(df, path)``: save the frame as it is (dtypes, list cells,
        ``attrs``) so that ``crmframe.read_snapshot(path)`` gives it back for a later push.

        >>> df.crm.to_snapshot("leads.parquet")                # doctest: +SKIP
        """
        from crmframe.snapshot import to_snapshot

        return to_snapshot(self._frame, path)


def register() -> None:
    """Register ``df.crm`` unless a ``crm`` accessor is already there (idempotent)."""
    # On the class, pandas' accessor descriptor returns the accessor class itself; a
    # reloaded module brings a new class object, so compare by name as well.
    current = getattr(pd.DataFrame, _NAME, None)
    if current is CrmAccessor or (
        isinstance(current, type)
        and current.__module__ == __name__
        and current.__qualname__ == CrmAccessor.__qualname__
    ):
        return
    pd.api.extensions.register_dataframe_accessor(_NAME)(CrmAccessor)


register()
