"""The pure core: Zoho envelopes, field metadata and edits, with no I/O.

Only pandas and the standard library are imported here (architecture layer 1). Submodules
are imported on their own so that :mod:`crmframe.core.fieldtypes` stays pandas-free for
the sandbox server.
"""
